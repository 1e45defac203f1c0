"""The writers of a scenario run folder, as event handlers (``model.events.Handler``):

- ``EvidenceFiles``  ``evidence/<case>/<nn>-<step>.request.xml`` / ``.response.xml`` — the
  bodies of every exchange (``ExchangeRecorded``; the request with secrets redacted);
- ``CaseFiles``      ``cases/<case>.json`` — each finished case as it finishes (``CaseFinished``;
  not interrupted ones, not those finished in an earlier session), so that a stopped or killed
  run keeps what it did and ``--resume`` runs only the rest;
- ``ResultsFile``    ``results.json`` — the whole run (``RunFinished``), through the model's
  codec (``model.io.results_json``; its JSON Schema ships in ``conformance/model/schemas/``);
- ``JUnitFile``      ``junit.xml`` — one test case per check, one test suite per scenario suite.

Every file is written atomically (complete or absent).
"""

from __future__ import annotations

from pathlib import Path

from ..model import RunResults, Status
from ..model.events import CaseFinished, Event, ExchangeRecorded, Handler, RunFinished
from ..model.folder import RunFolder
from ..model.io import results_json
from ..output import open_output
from .runner import file_stem


class EvidenceFiles:
    def __init__(self, folder: RunFolder) -> None:
        self.root = folder.path.resolve()

    def handle(self, event: Event) -> None:
        if not isinstance(event, ExchangeRecorded):
            return
        ex = event.exchange
        for rel, body in ((ex.request_file, event.request_body),
                          (ex.response_file, event.response_body)):
            if not rel:
                continue
            path = (self.root / rel).resolve()
            if self.root not in path.parents:  # names come from file_stem: cannot happen
                raise ValueError(f"evidence outside the run folder: {rel}")
            path.parent.mkdir(parents=True, exist_ok=True)
            with open_output(str(path), binary=True) as fh:
                fh.write(body)


class CaseFiles:
    def __init__(self, folder: RunFolder) -> None:
        self.dir = folder.cases_dir

    def handle(self, event: Event) -> None:
        if not isinstance(event, CaseFinished) or event.resumed:
            return
        if event.case.result is Status.INTERRUPTED:
            return  # not a result: --resume runs it again
        self.dir.mkdir(parents=True, exist_ok=True)
        results_json.dump_case(event.case, self.dir / f"{file_stem(event.case.id)}.json")


class ResultsFile:
    def __init__(self, folder: RunFolder) -> None:
        self.folder = folder

    def handle(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            self.folder.write("results", event.results)


class JUnitFile:
    def __init__(self, folder: RunFolder) -> None:
        self.path = folder.path / "junit.xml"

    def handle(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            write_junit(self.path, event.results)


def folder_writers(folder: RunFolder) -> list[Handler]:
    """Every writer of a run folder, in the order they must see an event."""
    return [EvidenceFiles(folder), CaseFiles(folder), ResultsFile(folder), JUnitFile(folder)]


def write_junit(path: Path, results: RunResults) -> None:
    """junit.xml: one test case per check, one test suite per scenario suite — written by the
    one JUnit writer (``report.junit``)."""
    from ..report.junit import JunitWriter

    with open_output(str(path)) as out, JunitWriter(out, name="conformance run") as junit:
        junit.run(results)
