"""The one JUnit writer and the one SARIF writer, fed typed entities by every producer: the
scenario runner (RunResults / CaseFinished events), validate (documents), data sets (verdicts),
perf (thresholds) and the report's CI export."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from lxml import etree

from conformance.model import (
    CaseResult,
    CheckResult,
    DatasetVerdict,
    DocumentResult,
    ElementCoverage,
    Exchange,
    Finding,
    Ratio,
    Status,
    StepResult,
    Summary,
    Threshold,
    ToolStamp,
)
from conformance.model.events import (
    CaseFinished,
    DatasetChecked,
    DocumentValidated,
    ThresholdsJudged,
    ValidationFinished,
    ValidationStarted,
    dispatch,
)
from conformance.model.io import results_json
from conformance.report.junit import JunitWriter
from conformance.report.sarif import SarifWriter

RUNS = Path(__file__).resolve().parent / "fixtures" / "runs"
TOOL = ToolStamp(name="conformance", version="0.1.0", ruleset="r1")


def canonical(xml: str, drop: tuple[str, ...] = ()) -> list[tuple]:
    """Elements in document order with their attributes and stripped text (whitespace between
    elements is formatting)."""
    root = etree.fromstring(xml.encode("utf-8"))
    return [(el.tag, {k: v for k, v in el.attrib.items() if (el.tag, k) not in drop},
             (el.text or "").strip()) for el in root.iter()]


def junit(feed) -> str:
    out = io.StringIO()
    with JunitWriter(out, name="conformance run") as w:
        feed(w)
    return out.getvalue()


# ------------------------------------------------------------------------------ JUnit
def test_run_results_give_what_the_harness_junit_xml_holds(tmp_path: Path) -> None:
    """One test case per check, a suite per scenario suite: the run's junit.xml
    (harness/results.write_junit) is written by this writer."""
    from conformance.harness.results import write_junit

    results = results_json.load(RUNS / "current" / "results.json")
    got = junit(lambda w: w.run(results))
    write_junit(tmp_path / "junit.xml", results)  # typed: RunResults
    assert canonical(got) == canonical((tmp_path / "junit.xml").read_text(encoding="utf-8"))
    root = etree.fromstring(got.encode("utf-8"))
    n_checks = sum(len(c.checks) for c in results.cases)
    assert root.get("name") == "conformance run" and int(root.get("tests")) == n_checks
    assert [s.get("name") for s in root] == ["hospital-services", "workflows"]
    fails = sum(k.result is Status.FAIL for c in results.cases for k in c.checks)
    assert int(root.get("failures")) == fails == len(root.findall(".//failure"))


def test_case_events_stream_into_suites_and_interrupted_is_skipped() -> None:
    cases = [
        CaseResult(id="A-1", suite="s1", result=Status.FAIL, checks=[
            CheckResult(id="pos-1/ack_code", result=Status.FAIL, message="AE <expected AA>"),
            CheckResult(id="pos-1/transport", result=Status.PASS, message="HTTP 200")]),
        CaseResult(id="B-1", result=Status.INTERRUPTED, checks=[
            CheckResult(id="pos-1/transport", result=Status.INTERRUPTED, message="stopped")]),
        CaseResult(id="A-2", suite="s1", result=Status.ERROR, checks=[
            CheckResult(id="pos-1/transport", result=Status.ERROR, message="timeout \x00")]),
    ]
    out = io.StringIO()
    w = JunitWriter(out)
    list(dispatch([CaseFinished(c) for c in cases], [w]))
    w.close()
    root = etree.fromstring(out.getvalue().encode("utf-8"))  # also: \x00 did not break the XML
    suites = {s.get("name"): s for s in root}
    assert list(suites) == ["s1", "cases"]
    assert suites["s1"].get("tests") == "3" and suites["s1"].get("errors") == "1"
    assert suites["cases"].find(".//skipped").get("message") == "stopped"
    assert root.get("skipped") == "1" and root.get("failures") == "1"
    failure = suites["s1"].find(".//failure")
    assert failure.get("message") == "AE <expected AA>" and failure.get("type") is None


def _verdict(key: str, records: int = 10, provisional: bool = True) -> DatasetVerdict:
    words = {"full": "完全覆盖且符合", "partial": "部分符合", "none": "无此数据"}
    return DatasetVerdict(id=f"WS445.{key}", name=key, verdict=words[key], verdict_key=key,
                          verdict_en=key, provisional=provisional,
                          records=records if key != "none" else 0,
                          elements=ElementCoverage(total=4, present=3, covered=3),
                          element_coverage=Ratio(numerator=3, denominator=4, value=0.75),
                          format_conformance=Ratio(numerator=18, denominator=20, value=0.9,
                                                   provisional=True),
                          defects={"format": 2} if key == "partial" else {})


def test_documents_and_dataset_verdicts_one_test_case_each() -> None:
    doc = DocumentResult(path="t.csv", document_type="WS445.partial")
    doc.findings.append(Finding("DS.FORMAT", "error", "format", "bad", "src", line=3, column=2))
    events = [ValidationStarted(inputs=1, header={"tool": TOOL}), DocumentValidated(doc),
              *(DatasetChecked(_verdict(k)) for k in ("full", "partial", "none"))]
    out = io.StringIO()
    w = JunitWriter(out)
    list(dispatch(events, [w]))
    w.close()
    root = etree.fromstring(out.getvalue().encode("utf-8"))
    (suite,) = root
    assert suite.get("name") == "conformance validate r1"
    cases = suite.findall("testcase")
    assert [c.get("classname") for c in cases] == ["WS445.partial", "dataset", "dataset"]
    assert cases[0].find("failure").get("type") == "DS.FORMAT"
    assert "数据元覆盖 3/4（75.0%）" in cases[1].find("system-out").text  # full: the figures
    partial = cases[2].find("failure")
    assert partial.get("message") == ("部分符合（暂定）: 数据元覆盖 3/4（75.0%）  "
                                      "格式符合 18/20（90.0%，暂定）, 问题 2")
    assert json.loads(partial.text)["verdict_key"] == "partial"
    assert suite.get("failures") == "2" and suite.get("tests") == "3"


def test_thresholds_judged_and_unmeasured() -> None:
    ths = [Threshold(id="p95", metric="p95_ms", op="<=", limit=400, users=200, actual=480.0,
                     passed=False, result="fail", provisional=True),
           Threshold(id="tps", metric="tps", op=">=", limit=100, rate=50.0, actual=None,
                     passed=None, result="not_measured")]
    root = etree.fromstring(junit(lambda w: w.handle(ThresholdsJudged(ths))).encode("utf-8"))
    failed, unmeasured = root.iter("testcase")
    assert failed.find("failure").get("message") == "p95_ms <= 400: 480"
    assert "暂定" in failed.get("name")
    assert unmeasured.find("error").get("message") == "tps >= 100: -"


# ------------------------------------------------------------------------------ SARIF
def _sarif(feed, **kw) -> dict:
    out = io.StringIO()
    with SarifWriter(out, "zh", tool=TOOL, **kw) as w:
        feed(w)
    return json.loads(out.getvalue())


def test_checks_are_placed_at_the_response_their_step_recorded() -> None:
    ex = [Exchange(url="u", step=s, response_file=f"evidence/C/{n}-{s}.response.xml")
          for n, s in ((1, "register"), (2, "query"))]
    case = CaseResult(
        id="C", service="S", result=Status.FAIL,
        checks=[CheckResult(id="register/ack_code", result=Status.FAIL, message="AE",
                            expected="AA", actual="AE"),
                CheckResult(id="query/response_valid", result=Status.ERROR, message="x",
                            findings=[Finding("V3.X", "error", "schema", "m", "s", line=4,
                                              column=9, provisional=True)]),
                CheckResult(id="query/transport", result=Status.PASS, message="ok")],
        steps=[StepResult(id=e.step, exchange=e) for e in ex], exchanges=ex)
    s = _sarif(lambda w: w.case(case, "run"), all_rules=False)
    results = s["runs"][0]["results"]
    by_rule = {r["ruleId"]: r for r in results}
    assert set(by_rule) == {"check.ack_code", "check.response_valid", "V3.X"}
    uri = {k: r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
           for k, r in by_rule.items()}
    assert uri["check.ack_code"] == "run/evidence/C/1-register.response.xml"
    assert uri["check.response_valid"] == uri["V3.X"] == "run/evidence/C/2-query.response.xml"
    assert by_rule["check.ack_code"]["message"]["text"] == "C: AE (expected: AA; actual: AE)"
    assert by_rule["check.ack_code"]["properties"]["check"] == "register/ack_code"
    assert by_rule["check.response_valid"]["level"] == "warning"
    assert by_rule["check.response_valid"]["properties"]["provisional"] is True
    rules = {r["id"] for r in s["runs"][0]["tool"]["driver"]["rules"]}
    assert rules == set(by_rule)  # every result's rule is described


def test_validate_stream_lists_every_catalog_rule_and_the_summary() -> None:
    from conformance.catalog import load_catalog

    rules = load_catalog().rules
    doc = DocumentResult(path="d.xml", document_type="C0001")
    doc.findings.append(Finding("NOT.IN.CATALOG", "warning", "schema", "m", "s", line=1))
    summary = Summary()
    summary.add(doc)
    events = [ValidationStarted(inputs=1, header={"tool": TOOL}), DocumentValidated(doc),
              DatasetChecked(_verdict("partial")), ValidationFinished(summary)]
    s = _sarif(lambda w: list(dispatch(events, [w])), rules=rules)
    run = s["runs"][0]
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert set(rules) < set(ids) and "NOT.IN.CATALOG" in ids
    assert run["tool"]["driver"]["properties"]["ruleset"] == "r1"
    assert run["properties"]["summary"]["documents"] == 1
    assert run["properties"]["datasets"][0]["id"] == "WS445.partial"


def test_thresholds_in_sarif() -> None:
    ths = [Threshold(id="a", metric="p95_ms", op="<=", limit=400, actual=300.0, passed=True),
           Threshold(id="b", metric="p95_ms", op="<=", limit=400, actual=500.0, passed=False),
           Threshold(id="c", metric="tps", op=">=", limit=1, passed=None)]
    s = _sarif(lambda w: w.thresholds(ths, "run/perf.json"), all_rules=False)
    levels = [(r["message"]["text"].split(":")[0], r["level"]) for r in s["runs"][0]["results"]]
    assert levels == [("b", "error"), ("c", "warning")]


@pytest.mark.parametrize("writer", [JunitWriter, SarifWriter])
def test_nothing_is_written_when_the_producer_fails(writer) -> None:
    out = io.StringIO()
    with pytest.raises(RuntimeError), writer(out) as w:
        w.document(DocumentResult(path="x.xml"))
        raise RuntimeError("boom")
    assert out.getvalue() == ""


def test_sarif_places_captured_exchange_findings_in_their_own_evidence_file() -> None:
    """Proxy runs: a step is one exchange with its own checks; request checks go to its request
    file, the others to its response file (not the case's last exchange)."""
    from conformance.model import Exchange, Finding
    from conformance.report.sarif import SarifWriter

    def ex(n: int) -> Exchange:
        return Exchange(url="http://x/", request_file=f"evidence/s/{n}.request.xml",
                        response_file=f"evidence/s/{n}.response.xml")

    bad = Finding("V3.PAYLOAD_REQUIRED", "error", "message", "m", "s", xpath="/a", line=2)
    case = CaseResult(id="PatientInfoRegister", service="PatientInfoRegister",
                      result=Status.FAIL, kind="workflow", steps=[
                          StepResult(id="x1", result=Status.PASS, exchange=ex(1), checks=[
                              CheckResult(id="request-valid", result=Status.PASS)]),
                          StepResult(id="x2", result=Status.FAIL, exchange=ex(2), checks=[
                              CheckResult(id="request-valid", result=Status.FAIL,
                                          findings=[bad]),
                              CheckResult(id="ack", result=Status.FAIL, message="AE")])],
                      checks=[CheckResult(id="request-valid", result=Status.FAIL,
                                          findings=[bad])])
    out = io.StringIO()
    with SarifWriter(out, "en") as w:
        w.case(case, "run")
    results = json.loads(out.getvalue())["runs"][0]["results"]
    where = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
             for r in results}
    assert where == {("V3.PAYLOAD_REQUIRED", "run/evidence/s/2.request.xml"),
                     ("check.request-valid", "run/evidence/s/2.request.xml"),
                     ("check.ack", "run/evidence/s/2.response.xml")}
