"""The scenario engine through its in-process API (``run_scenarios``): typed events in order on
the caller's thread, writers as handlers, stop and resume, and the in-process transport to the
embedded platform recording the same exchanges as real HTTP (one round trip per SOAP version)."""

from __future__ import annotations

import threading
from pathlib import Path

import msgspec
import pytest

from conformance.harness.results import write_junit
from conformance.harness.session import NoCases, RunOptions, run_scenarios
from conformance.harness.target import Target
from conformance.model import CaseResult, CheckResult, RunResults, RunSummary, Status, ToolStamp
from conformance.model.events import (
    CaseFinished,
    CaseStarted,
    Event,
    ExchangeRecorded,
    RunFinished,
    RunStarted,
    StepFinished,
)
from conformance.model.folder import RunFolder
from conformance.model.io import results_json

SERVICES = ["PatientInfoRegister", "PatientInfoQuery"]


def _embedded(soap: str = "1.1") -> Target:
    return Target(name="embedded", embedded=True, soap_version=soap)


class Recorder:
    def __init__(self, stop_at: str | None = None, stop: threading.Event | None = None) -> None:
        self.events: list[Event] = []
        self.threads: set[str] = set()
        self.stop_at, self.stop = stop_at, stop

    def handle(self, event: Event) -> None:
        self.events.append(event)
        self.threads.add(threading.current_thread().name)
        if self.stop is not None and isinstance(event, StepFinished) and event.step == self.stop_at:
            self.stop.set()


@pytest.mark.slow
def test_events_come_in_order_on_the_callers_thread(tmp_path: Path) -> None:
    rec = Recorder()
    folder = RunFolder(tmp_path / "r")
    outcome = run_scenarios(folder, _embedded(), RunOptions(services=SERVICES, jobs=4), [rec])
    assert outcome.complete and not outcome.failing and not outcome.interrupted
    assert rec.threads == {threading.current_thread().name}
    assert isinstance(rec.events[0], RunStarted) and isinstance(rec.events[-1], RunFinished)
    assert rec.events[0].cases == len(outcome.results.cases) and rec.events[0].resumed == 0
    per_case: dict[str, list[str]] = {}
    for e in rec.events[1:-1]:
        cid = e.case.id if isinstance(e, CaseFinished) else e.case
        per_case.setdefault(cid, []).append(type(e).__name__)
    for names in per_case.values():
        assert names[0] == "CaseStarted" and names[-1] == "CaseFinished"
        middle = names[1:-1]
        assert middle == ["ExchangeRecorded", "StepFinished"] * (len(middle) // 2)
    # what the writers made of the events is what the engine said
    assert folder.results == outcome.results
    assert results_json.load_cases(folder.path) == {c.id: c for c in outcome.results.cases}
    for e in rec.events:
        if isinstance(e, ExchangeRecorded):
            assert (folder.path / e.exchange.request_file).read_bytes() == e.request_body
            assert (folder.path / e.exchange.response_file).read_bytes() == e.response_body
    assert (folder.path / "junit.xml").is_file()
    assert {type(e) for e in rec.events} >= {CaseStarted, StepFinished}


@pytest.mark.slow
def test_stop_interrupts_and_a_second_session_completes(tmp_path: Path) -> None:
    """Stopped after the first step of the merge case (three steps; one worker, so the stop is
    seen before the next step): that case is interrupted, not pass, not a case file; the cases
    after it never start; a second session runs the rest and the run is complete."""
    folder = RunFolder(tmp_path / "r")
    stop = threading.Event()
    rec = Recorder(stop_at="prepare-survivor", stop=stop)
    options = RunOptions(services=["PatientInfoRegister", "PatientInfoMerge", "OrderInfoAdd"])
    first = run_scenarios(folder, _embedded(), options, [rec], stop=stop)
    assert first.interrupted and not first.complete
    total = rec.events[0].cases
    assert first.results.cases and len(first.results.cases) < total
    *done, merge = first.results.cases
    assert all(c.result is Status.PASS for c in done)
    assert merge.result is Status.INTERRUPTED and first.results.summary.interrupted == 1
    assert [s.result for s in merge.steps] == [Status.PASS, Status.INTERRUPTED, Status.INTERRUPTED]
    assert [k.result for k in merge.checks if k.id.endswith("/step")] == [Status.INTERRUPTED] * 2
    assert set(results_json.load_cases(folder.path)) == {c.id for c in done}
    rec2 = Recorder()
    second = run_scenarios(folder, _embedded(), options, [rec2])
    assert second.complete and not second.interrupted and not second.failing
    assert len(second.results.cases) == total
    resumed = [e.case.id for e in rec2.events if isinstance(e, CaseFinished) and e.resumed]
    assert rec2.events[0].resumed == len(resumed) and resumed == [c.id for c in done]
    assert all(c.result is Status.PASS for c in second.results.cases)


def test_nothing_selected_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NoCases):
        run_scenarios(RunFolder(tmp_path / "r"), _embedded(),
                      RunOptions(level="三级", services=["TerminologyRegister"]))


@pytest.mark.slow
@pytest.mark.parametrize("soap", ["1.1", "1.2"])
def test_in_process_exchanges_look_like_real_http_ones(tmp_path: Path, soap: str) -> None:
    """The embedded platform in-process and over a real loopback socket (one round trip per SOAP
    version): the same checks, and exchanges with the same fields, headers and statuses."""
    runs = {}
    for http in (False, True):
        folder = RunFolder(tmp_path / f"{soap}-{http}")
        outcome = run_scenarios(folder, _embedded(soap), RunOptions(services=SERVICES, http=http))
        assert outcome.complete and not outcome.failing, outcome.results.summary
        runs[http] = outcome.results
    inproc, real = runs[False], runs[True]
    assert inproc.target["endpoint"].startswith("http://")
    assert real.target["endpoint"].startswith("http://127.0.0.1:")
    assert [(c.id, [(k.id, k.result) for k in c.checks]) for c in inproc.cases] == [
        (c.id, [(k.id, k.result) for k in c.checks]) for c in real.cases]
    pairs = [(a, b) for ca, cb in zip(inproc.cases, real.cases, strict=True)
             for a, b in zip(ca.exchanges, cb.exchanges, strict=True)]
    assert pairs
    for a, b in pairs:
        da, db = msgspec.structs.asdict(a), msgspec.structs.asdict(b)
        assert da.keys() == db.keys()
        assert a.url == inproc.target["endpoint"] and b.url == real.target["endpoint"]
        assert a.request_headers == b.request_headers
        assert a.response_headers.keys() == b.response_headers.keys() == {
            "Content-Length", "Content-Type", "Date", "Server"}
        assert a.response_headers["Content-Type"] == b.response_headers["Content-Type"]
        assert a.response_headers["Server"] == b.response_headers["Server"]
        assert int(a.response_headers["Content-Length"]) == a.response_bytes
        assert a.status == b.status == 200 and a.soap_version == b.soap_version == soap
        assert a.duration_ms > 0 and b.duration_ms > 0 and a.started and b.started
        assert a.error is None and b.error is None and not a.truncated


def test_junit_is_written_from_typed_results(tmp_path: Path) -> None:
    checks = [CheckResult(id="s/transport", result=Status.PASS, message="HTTP 200"),
              CheckResult(id="s/ack-code", result=Status.FAIL, message="AE <x>"),
              CheckResult(id="t/step", result=Status.INTERRUPTED, message="stopped")]
    cases = [CaseResult(id="C1", suite="s1", result=Status.INTERRUPTED, checks=checks)]
    run = RunResults(tool=ToolStamp(name="conformance", version="0"), cases=cases,
                     summary=RunSummary.of(cases))
    path = tmp_path / "junit.xml"
    write_junit(path, run)
    text = path.read_text(encoding="utf-8")
    assert 'tests="3" failures="1" errors="0"' in text
    assert 'skipped="1"' in text and "<failure message=\"AE &lt;x&gt;\">" in text
    assert '<skipped message="stopped"/>' in text


@pytest.mark.slow
@pytest.mark.parametrize("fault, check, result", [
    ("wrong-ack=1.0", "ack-code", Status.FAIL),
    ("drop=1.0", "transport", Status.ERROR),
])
def test_faults_of_the_in_process_platform_are_judged_like_over_http(
        tmp_path: Path, fault: str, check: str, result: Status) -> None:
    outcome = run_scenarios(RunFolder(tmp_path / "r"), _embedded(),
                            RunOptions(services=["PatientInfoRegister"], faults=f"seed=7,{fault}"))
    positive = next(c for c in outcome.results.cases if c.kind == "positive")
    hit = next(k for k in positive.checks if k.id.endswith("/" + check))
    assert hit.result is result and positive.result is result, positive.checks
    if fault.startswith("drop"):  # the answer broken off mid-way: as a reset connection
        assert positive.exchanges[0].error == "reset"
