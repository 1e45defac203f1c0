"""SARIF 2.1.0: the one writer every producer feeds — findings with file, line and column so
code hosts annotate the exact place.

API (typed; nothing here reads a file)::

    from conformance.report.sarif import SarifWriter

    with open_output(path) as out, SarifWriter(out, lang, rules=catalog.rules) as sarif:
        sarif.start(tool)                        # ToolStamp (or its dict): the driver
        sarif.document(doc)                      # DocumentResult | DocumentRecord: its findings
                                                 #   at the document's path
        sarif.case(case, run_dir)                # CaseResult: findings of response validation
                                                 #   and every failed / errored check, at the
                                                 #   response file its step recorded
        sarif.run(results, run_dir)              # the same for every case of a RunResults
        sarif.thresholds(perf.thresholds, perf_file, lang)  # failed (and unmeasured) thresholds
        sarif.datasets(verdicts)                 # DatasetVerdicts: run properties ``datasets``
        sarif.handle(event)                      # DocumentValidated, CaseFinished,
                                                 #   DatasetChecked, ValidationFinished
        sarif.close(summary)                     # or leave the block: writes the file

``rules``: the rule registry (``catalog.rules``); with ``all_rules=True`` (the default, what
``conformance validate`` writes) the driver lists every rule of it, else only those used.
Rule ids a result uses that the registry does not know (check kinds, message rules) get a
descriptor of their own. Results are spooled to a temporary file until ``close``, so memory
stays flat for any number of findings.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import msgspec

from ..i18n import t
from ..model import (
    CaseResult,
    DatasetVerdict,
    DocumentRecord,
    DocumentResult,
    Finding,
    RunResults,
    Status,
    Summary,
    Threshold,
    ToolStamp,
)
from ..model.events import (
    CaseFinished,
    DatasetChecked,
    DocumentValidated,
    Event,
    ValidationFinished,
    ValidationStarted,
)

_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_SPOOL = 4 << 20


def artifact_uri(path: str) -> str:
    """A SARIF artifact URI: relative to the working directory when below it (code hosts
    resolve it against the repository root), members of archives as ``archive!/member``."""
    archive, sep, member = path.partition("!/")
    p = archive
    try:
        rel = os.path.relpath(p)
        if not rel.startswith(".."):
            p = rel
    except ValueError:
        pass
    p = p.replace(os.sep, "/")
    return quote(p, safe="/") + (sep + quote(member, safe="/") if sep else "")


def finding_result(f: Finding, uri: str, document_type: str | None = None) -> dict[str, Any]:
    """One SARIF result for a finding located in the artifact ``uri``."""
    region: dict[str, int] = {}
    if f.line:
        region["startLine"] = f.line
        if f.column:
            region["startColumn"] = f.column
    loc: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": uri}}}
    if region:
        loc["physicalLocation"]["region"] = region
    if f.xpath:
        loc["logicalLocations"] = [{"fullyQualifiedName": f.xpath, "kind": "element"}]
    return {"ruleId": f.rule, "level": _LEVEL.get(f.severity, "warning"),
            "message": {"text": f.message}, "locations": [loc],
            "properties": {"layer": f.layer, "source": f.source,
                           "expected": f.expected, "actual": f.actual,
                           "provisional": f.provisional,
                           "documentType": document_type}}


def _descriptor(rid: str, text: str | None = None, level: str | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {"id": rid, "name": rid.replace(".", "_").replace("/", "_"),
                         "shortDescription": {"text": text or rid}}
    if level:
        d["defaultConfiguration"] = {"level": level}
    return d


def check_kind(check_id: str) -> str:
    """The kind of a check from its id (``<step>/<check>`` in a case: ``pos-1/ack_code`` →
    ``ack_code``), the stable part a SARIF rule is named by."""
    return check_id.rsplit("/", 1)[-1]


def _check_message(message: str, expected: str | None, actual: str | None) -> str:
    extra = [f"{k}: {v}" for k, v in (("expected", expected), ("actual", actual))
             if v is not None]
    return message + (f" ({'; '.join(extra)})" if extra else "")


# checks of a captured exchange that judge the request (the others judge the answer)
REQUEST_SIDE_CHECKS = frozenset({"service", "interaction-id", "request-valid"})


def _response_file(case: CaseResult, check_id: str) -> str | None:
    """The response the check judged: its step's exchange, else the case's last one."""
    step_id = check_id.rsplit("/", 1)[0] if "/" in check_id else None
    for step in case.steps:
        if step.id == step_id and step.exchange is not None and step.exchange.response_file:
            return step.exchange.response_file
    for ex in reversed(case.exchanges):
        if ex.response_file and (step_id is None or ex.step in (None, step_id)):
            return ex.response_file
    return None


class SarifWriter:
    """One SARIF run: the driver and its rules, then every result (``close`` writes it)."""

    def __init__(self, out: IO[str], lang: str = "zh", rules: Mapping[str, Any] | None = None,
                 *, all_rules: bool = True, tool: ToolStamp | Mapping[str, Any] | None = None
                 ) -> None:
        self.out, self.lang = out, lang
        self.rules = dict(rules or {})
        self.all_rules = all_rules
        self.tool: dict[str, Any] = {}
        self.start(tool)
        self.properties: dict[str, Any] = {}
        self._extra: dict[str, dict[str, Any]] = {}
        self._used: set[str] = set()
        self._spool = tempfile.SpooledTemporaryFile(_SPOOL, mode="w+",  # noqa: SIM115
                                                    encoding="utf-8")
        self._results = 0
        self._closed = False

    def __enter__(self) -> SarifWriter:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self._closed = True
            self._spool.close()

    # ------------------------------------------------------------------ generic
    def start(self, tool: ToolStamp | Mapping[str, Any] | None = None) -> None:
        """The tool that made the results (the driver's name, version and ruleset)."""
        if isinstance(tool, ToolStamp):
            self.tool = msgspec.to_builtins(tool)
        elif tool:
            self.tool = dict(tool)

    def rule(self, descriptor: dict[str, Any]) -> None:
        """A reportingDescriptor for results whose rule is not in the registry."""
        self._extra.setdefault(descriptor["id"], descriptor)

    def result(self, res: dict[str, Any]) -> None:
        self._used.add(res["ruleId"])
        if self._results:
            self._spool.write(",\n")
        self._results += 1
        self._spool.write(json.dumps(res, ensure_ascii=False))

    # ------------------------------------------------------------------ typed feeds
    def document(self, doc: DocumentResult | DocumentRecord) -> None:
        uri = artifact_uri(doc.path)
        for f in doc.findings:
            self.result(finding_result(f, uri, doc.document_type))

    def case(self, case: CaseResult, run_dir: str | Path | None = None) -> None:
        base = Path(run_dir) if run_dir is not None else Path()
        fallback = artifact_uri(str(base / "results.json"))
        if any(step.checks for step in case.steps):
            self._captured(case, base, fallback)
            return
        for x in case.checks:
            rel = _response_file(case, x.id)
            uri = artifact_uri(str(base / rel)) if rel else fallback
            for f in x.findings:
                res = finding_result(f, uri)
                res["properties"]["case"] = case.id
                self.result(res)
            if not x.result.failing:
                continue
            kind = f"check.{check_kind(x.id)}"
            self.rule(_descriptor(kind, f"interaction check {check_kind(x.id)}", "error"))
            text = _check_message(x.message, x.expected, x.actual)
            self.result({
                "ruleId": kind, "level": "error" if x.result == Status.FAIL else "warning",
                "message": {"text": f"{case.id}: {text}"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}},
                               "logicalLocations": [{"fullyQualifiedName": case.id,
                                                     "kind": "module"}]}],
                "properties": {"case": case.id, "check": x.id, "service": case.service,
                               "result": x.result.value,
                               "provisional": any(f.provisional for f in x.findings)}})

    def _captured(self, case: CaseResult, base: Path, fallback: str) -> None:
        """Captured traffic (proxy runs): the case's checks are sums over its exchanges; each
        step (one exchange) holds its own checks — their findings and failures go to that
        exchange's request file (checks of the request) or response file (the others)."""
        for step in case.steps:
            ex = step.exchange
            for x in step.checks or []:
                rel = None
                if ex is not None:
                    rel = ex.request_file if check_kind(x.id) in REQUEST_SIDE_CHECKS \
                        else ex.response_file or ex.request_file
                uri = artifact_uri(str(base / rel)) if rel else fallback
                for f in x.findings:
                    res = finding_result(f, uri)
                    res["properties"].update(case=case.id, exchange=step.id)
                    self.result(res)
                if not x.result.failing:
                    continue
                kind = f"check.{check_kind(x.id)}"
                self.rule(_descriptor(kind, f"interaction check {check_kind(x.id)}", "error"))
                self.result({
                    "ruleId": kind, "level": "error" if x.result == Status.FAIL else "warning",
                    "message": {"text": f"{case.id} {step.id}: "
                                        f"{_check_message(x.message, x.expected, x.actual)}"},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}}}],
                    "properties": {"case": case.id, "exchange": step.id, "check": x.id,
                                   "service": case.service, "result": x.result.value}})

    def run(self, results: RunResults, run_dir: str | Path | None = None) -> None:
        for c in results.cases:
            self.case(c, run_dir)

    def thresholds(self, thresholds: Iterable[Threshold], perf_file: str | Path,
                   lang: str | None = None) -> None:
        """Failed thresholds (error) and thresholds nothing was measured for (warning)."""
        lang = lang or self.lang
        uri = artifact_uri(str(perf_file))
        for th in thresholds:
            if th.passed is True:
                continue
            self.rule(_descriptor("perf.threshold", "performance threshold", "error"))
            measured = "not measured" if th.actual is None else f"measured {th.actual:g}"
            prov = f" [{t('report.provisional', lang)}]" if th.provisional else ""
            self.result({"ruleId": "perf.threshold",
                         "level": "error" if th.passed is False else "warning",
                         "message": {"text": f"{th.description or th.id}: {th.metric} {th.op} "
                                             f"{th.limit:g}, {measured}{prov}"},
                         "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}}}],
                         "properties": {"provisional": th.provisional, "users": th.users,
                                        "rate": th.rate, "limit": th.limit}})

    def datasets(self, verdicts: Iterable[DatasetVerdict]) -> None:
        """The data-set verdicts, as the run's ``properties.datasets`` (their findings are the
        documents' — tables with row and column)."""
        self.properties["datasets"] = [msgspec.to_builtins(v) for v in verdicts]

    def handle(self, event: Event) -> None:
        """A handler of the engines' events (``model.events.dispatch``)."""
        if isinstance(event, DocumentValidated):
            self.document(event.document)
        elif isinstance(event, CaseFinished):
            self.case(event.case)
        elif isinstance(event, DatasetChecked):
            self.properties.setdefault("datasets", []).append(
                msgspec.to_builtins(event.verdict))
        elif isinstance(event, ValidationStarted):
            self.start(event.header.get("tool"))
        elif isinstance(event, ValidationFinished):
            self.properties["summary"] = event.summary.to_dict()

    # ------------------------------------------------------------------ output
    def _rules(self) -> list[dict[str, Any]]:
        known = sorted(r for r in self.rules if self.all_rules or r in self._used)
        out = [{"id": rid, "name": rid.replace(".", "_"),
                "shortDescription": {"text": r.message.get(self.lang, r.message["zh"])[:200]},
                "properties": {"layer": r.layer, "source": r.source},
                "defaultConfiguration": {"level": _LEVEL.get(r.severity, "warning")}}
               for rid in known for r in (self.rules[rid],)]
        extra = dict(self._extra)
        for rid in self._used:
            if rid not in self.rules and rid not in extra:
                extra[rid] = _descriptor(rid)
        return out + sorted(extra.values(), key=lambda d: d["id"])

    def close(self, summary: Summary | None = None) -> None:
        """Write the SARIF file (once); ``summary``: the documents' counts (run properties)."""
        if self._closed:
            return
        self._closed = True
        if summary is not None:
            self.properties["summary"] = summary.to_dict()
        tool = self.tool
        head = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0"}
        driver = {"name": tool.get("name", "conformance"), "version": tool.get("version"),
                  "informationUri": "https://example.invalid/conformance",
                  "properties": {"ruleset": tool.get("ruleset")}, "rules": self._rules()}
        self.out.write(json.dumps(head, ensure_ascii=False)[:-1])
        self.out.write(', "runs": [{"tool": {"driver": ')
        self.out.write(json.dumps(driver, ensure_ascii=False))
        self.out.write('}, "results": [\n')
        self._spool.seek(0)
        while chunk := self._spool.read(1 << 16):
            self.out.write(chunk)
        self._spool.close()
        self.out.write('\n], "properties": ')
        self.out.write(json.dumps(self.properties, ensure_ascii=False))
        self.out.write("}]}\n")


# ---------------------------------------------------------------------- validate's reporter
class SarifReporter:
    """``conformance validate --format sarif`` (start / document / finish); ``datasets()``
    adds the verdicts of ``validate-dataset`` to the run's properties."""

    def __init__(self, out: IO[str], lang: str, rules: Mapping[str, Any]) -> None:
        self.lang = lang
        self.writer = SarifWriter(out, lang, rules)

    def start(self, meta: dict[str, Any]) -> None:
        self.writer.start(meta.get("tool"))

    def document(self, doc: DocumentResult) -> None:
        self.writer.document(doc)

    def datasets(self, verdicts: Iterable[DatasetVerdict]) -> None:
        self.writer.datasets(verdicts)

    def handle(self, event: Event) -> None:
        self.writer.handle(event)

    def finish(self, summary: Summary) -> None:
        self.writer.close(summary)


__all__ = ["SarifReporter", "SarifWriter", "artifact_uri", "check_kind", "finding_result"]
