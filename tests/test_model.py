"""The typed run model: the one roll-up, artifact codecs (round trip, precise errors, versions),
the shipped JSON Schemas and the run folder's sealing."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from conformance.model import (
    CaseResult,
    CheckResult,
    DocumentResult,
    Finding,
    RunResults,
    RunSummary,
    Status,
    StepResult,
    ToolStamp,
    roll_up,
)
from conformance.model.folder import RunFolder
from conformance.model.io import CODECS, ArtifactError, results_json, validate_json
from conformance.model.io.schemas import render, shipped

TOOL = ToolStamp(name="conformance", version="0.1.0", ruleset="r1")


@pytest.mark.parametrize(("parts", "whole"), [
    ([], "skip"), (["skip", "skip"], "skip"), (["pass", "skip"], "pass"),
    (["pass", "error"], "error"), (["error", "fail", "pass"], "fail"),
    (["pass", "interrupted"], "interrupted"), (["fail", "interrupted"], "interrupted"),
])
def test_roll_up(parts: list[str], whole: str) -> None:
    assert roll_up(parts) is Status(whole)


def _run() -> RunResults:
    checks = [CheckResult(id="s1/transport", result=Status.PASS, message="HTTP 200"),
              CheckResult(id="s1/ack-code", result=Status.FAIL, message="AE", expected="AA",
                          actual="AE")]
    case = CaseResult(id="C-1", service="PatientInfoRegister", result=Status.FAIL, checks=checks,
                      steps=[StepResult(id="s1", service="PatientInfoRegister",
                                        result=Status.FAIL)])
    cases = [case, CaseResult(id="C-2", result=Status.PASS)]
    return RunResults(tool=TOOL, profile="hospital", cases=cases, summary=RunSummary.of(cases))


def test_results_round_trip_and_summary(tmp_path: Path) -> None:
    run = _run()
    assert run.summary.as_dict()["fail"] == 1 and run.summary.checks.fail == 1
    path = results_json.dump(run, tmp_path / "results.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["schema_version"] == 1 and raw["summary"]["pass"] == 1
    # a check leaves out what it does not have (expected/actual/findings)
    assert "expected" not in raw["cases"][0]["checks"][0]
    assert results_json.load(path) == run


def test_a_wrong_value_is_named_by_its_json_path(tmp_path: Path) -> None:
    data = json.loads(results_json.dumps(_run()))
    data["cases"][1]["result"] = "passed"
    (tmp_path / "results.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ArtifactError) as exc:
        results_json.load(tmp_path / "results.json")
    assert "$.cases[1].result" in str(exc.value) and "conformance run" in str(exc.value)


def test_broken_json_is_placed_by_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "results.json"
    p.write_text('{\n "tool": {"name": "x", "version": "1"},\n "cases": [\n', encoding="utf-8")
    with pytest.raises(ArtifactError, match=r"line 4, column 1: not valid JSON"):
        results_json.load(p)


def test_a_newer_schema_version_is_refused(tmp_path: Path) -> None:
    data = json.loads(results_json.dumps(_run()))
    data["schema_version"] = 2
    data["cases"][0]["result"] = "a-word-of-the-future"
    p = tmp_path / "results.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ArtifactError, match="schema_version 2"):
        results_json.load(p)


def test_older_files_without_a_version_and_unknown_fields_load(tmp_path: Path) -> None:
    data = json.loads(results_json.dumps(_run()))
    del data["schema_version"]
    data["something_new"] = {"x": 1}
    p = tmp_path / "results.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    assert results_json.load(p).schema_version == 1


def test_validate_stream_writer_is_loadable(tmp_path: Path) -> None:
    from conformance.model import Summary

    doc = DocumentResult(path="a.xml", document_type="C0001")
    doc.findings.append(Finding("R.X", "error", "schema", "m", "src", line=3, column=7))
    summary = Summary()
    summary.add(doc)
    with (tmp_path / "validate.json").open("w", encoding="utf-8") as out:
        w = validate_json.StreamWriter(out)
        w.start(TOOL, lang="zh")
        w.document(doc)
        w.finish(summary)
    loaded = validate_json.load(tmp_path / "validate.json")
    assert loaded.documents[0].valid is False and loaded.documents[0].findings[0].line == 3
    assert loaded.summary.errors == 1


@pytest.mark.parametrize("name", sorted(CODECS))
def test_shipped_schemas_are_current_and_valid(name: str) -> None:
    assert json.loads(render(name)) == shipped(name), (
        "run `python -m conformance.model.io.schemas` to regenerate the shipped schemas")
    jsonschema.Draft202012Validator.check_schema(shipped(name))


def test_written_artifacts_validate_against_their_schemas(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    folder.write("results", _run())
    raw = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(raw, shipped("results"))


def test_seal_and_verify_detect_tampering(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    folder.write("results", _run())
    (tmp_path / "evidence").mkdir()
    (tmp_path / "evidence" / "x.xml").write_bytes(b"<a/>")
    folder.seal(TOOL)
    assert folder.verify(["results.json"]).problems == []
    jsonschema.validate(json.loads((tmp_path / "manifest.json").read_text()), shipped("manifest"))
    (tmp_path / "evidence" / "x.xml").write_bytes(b"<b/>")
    (tmp_path / "late.json").write_text("{}")
    keys = [k for k, _ in folder.verify(["results.json", "late.json"]).problems]
    assert keys == ["score.results.tampered", "score.results.unlisted"]


def test_perf_json_of_earlier_versions_loads(tmp_path: Path) -> None:
    """Baselines from earlier versions: no schema_version, the platform written as null."""
    from conformance.model.io import perf_json

    p = tmp_path / "perf.json"
    p.write_text(json.dumps({"schema": "conformance-perf/1", "kind": "perf",
                             "tool": {"name": "conformance", "version": "0.0.9"},
                             "profile": "hospital", "platform": None, "bands": [], "steps": [],
                             "thresholds": []}), encoding="utf-8")
    assert perf_json.load(p).platform is None


def test_schema_command_prints_and_writes_the_shipped_schemas(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from conformance.cli import main

    r = CliRunner().invoke(main, ["schema", "results"])
    assert r.exit_code == 0 and json.loads(r.output) == shipped("results")
    r = CliRunner().invoke(main, ["schema", "--out", str(tmp_path)])
    assert r.exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{n}.schema.json" for n in CODECS)
