"""`conformance run` end to end: against the embedded platform every case passes; against a
platform that misbehaves in known ways each fault is reported as the right check failing or
erroring; the run folder is complete, resumable, golden-stable and re-validatable offline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.platform.server import EmbeddedPlatform

pytestmark = pytest.mark.slow  # whole scenario runs against the platform: the full run

GOLDEN = Path(__file__).resolve().parent / "golden" / "run-patient-services.json"


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return r.exit_code, r.output


def results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text(encoding="utf-8"))


@pytest.mark.slow
@pytest.mark.parametrize("profile, minimum", [("hospital", 219), ("regional", 72)])
def test_every_case_passes_against_the_embedded_platform(tmp_path: Path, profile: str,
                                                         minimum: int) -> None:
    out = tmp_path / profile
    code, text = run("run", "--profile", profile, "--out", str(out), "--jobs", "2", "--no-progress")
    assert code == 0, text
    d = results(out)
    assert d["summary"]["cases"] >= minimum and d["summary"]["pass"] == d["summary"]["cases"]
    assert d["complete"] is True and d["profile"] == profile and d["tool"]["name"] == "conformance"
    kinds = {c["kind"] for c in d["cases"]}
    assert kinds == {"positive", "negative", "workflow"}
    services = {c["service"] for c in d["cases"] if c["kind"] == "positive"}
    from conformance.hl7v3.services import load_services

    assert services == {s.action for s in load_services(profile).services}
    case = d["cases"][0]
    assert set(case) >= {"id", "service", "kind", "result", "checks", "exchanges"}
    ex = case["exchanges"][0]
    assert set(ex) >= {"url", "action", "soap_version", "request_headers", "status", "started",
                       "duration_ms", "request_file", "response_file"}
    assert (out / ex["request_file"]).read_bytes().startswith(b"<?xml")
    assert (out / "junit.xml").is_file() and (out / "run.json").is_file()
    if profile == "hospital":  # all 53 WS/T 500 document types round-trip byte-identical
        docs = [c for c in d["cases"] if c["id"].startswith("WF-DOC-")]
        assert len(docs) == 53 and all(c["result"] == "pass" for c in docs)
        assert all(any(k["id"].endswith("/cda") and "一致" in k["message"] for k in c["checks"])
                   for c in docs)


@pytest.mark.parametrize("fault, check, result", [
    ("wrong-ack=1.0", "ack-code", "fail"),
    ("http500=1.0", "soap-fault", "fail"),
    ("bad-schema=1.0", "response-valid", "fail"),
    ("drop=1.0", "transport", "error"),
])
def test_injected_faults_are_reported_by_the_right_check(tmp_path: Path, fault: str, check: str,
                                                         result: str) -> None:
    with EmbeddedPlatform(profile="hospital", faults=f"seed=7,{fault}") as url:
        code, text = run("run", "--target", url, "--services", "PatientInfoRegister",
                         "--out", str(tmp_path / "r"), "--no-progress", "--timeout", "3")
    assert code == 1, text
    d = results(tmp_path / "r")
    positive = next(c for c in d["cases"] if c["kind"] == "positive")
    hits = [k for k in positive["checks"] if k["id"].endswith("/" + check)]
    assert hits and hits[0]["result"] == result, positive["checks"]
    assert positive["result"] == result


@pytest.mark.slow
def test_a_slow_platform_times_out_as_error(tmp_path: Path) -> None:
    with EmbeddedPlatform(profile="hospital", faults="seed=1,slow=1.0:3s") as url:
        code, _ = run("run", "--target", url, "--services", "PatientInfoRegister",
                      "--out", str(tmp_path / "r"), "--no-progress", "--timeout", "0.5")
    d = results(tmp_path / "r")
    t = [k for c in d["cases"] for k in c["checks"] if k["id"].endswith("/transport")]
    assert code == 1 and t and all(k["result"] == "error" and "timeout" in k["message"] for k in t)


def test_a_refused_target_is_error_not_crash(tmp_path: Path) -> None:
    code, text = run("run", "--target", "http://127.0.0.1:9/", "--services", "PatientInfoQuery",
                     "--out", str(tmp_path / "r"), "--no-progress", "--timeout", "1")
    d = results(tmp_path / "r")
    assert code == 1 and d["summary"]["error"] == d["summary"]["cases"]


@pytest.mark.slow
def test_level_and_services_filters(tmp_path: Path) -> None:
    code, _ = run("run", "--level", "三级", "--out", str(tmp_path / "l"), "--no-progress")
    d = results(tmp_path / "l")
    from conformance.hl7v3.services import load_services

    cat = load_services("hospital")
    assert code == 0 and {cat.get(c["service"]).level for c in d["cases"]} == {"三级"}
    code, text = run("run", "--services", "NoSuchService", "--out", str(tmp_path / "x"))
    assert code == 2 and "NoSuchService" in text
    code, text = run("run", "--level", "六级", "--out", str(tmp_path / "y"))
    assert code == 2 and "六级" in text


def test_resume_completes_an_interrupted_run(tmp_path: Path) -> None:
    out = tmp_path / "r"
    code, _ = run("run", "--services", "PatientInfoRegister,PatientInfoQuery,OrderInfoAdd",
                  "--out", str(out), "--no-progress")
    assert code == 0
    first = results(out)
    # simulate an interruption: two cases never finished
    gone = sorted((out / "cases").glob("*.json"))[:2]
    for p in gone:
        p.unlink()
    doc = dict(first)
    doc["complete"] = False
    (out / "results.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    before = {p.name: p.stat().st_mtime_ns for p in (out / "cases").glob("*.json")}
    code, text = run("run", "--resume", str(out), "--no-progress")
    assert code == 0, text
    again = results(out)
    assert again["complete"] and again["summary"]["cases"] == first["summary"]["cases"]
    after = {p.name: p.stat().st_mtime_ns for p in (out / "cases").glob("*.json")}
    assert {p.name for p in gone} <= set(after)
    assert all(after[n] == t for n, t in before.items())  # finished cases were not re-run


def test_target_config_soap12_wsse_secrets_never_recorded(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HIP_SECRET", "pw-9f8e7d")
    with EmbeddedPlatform(profile="hospital") as url:
        cfg = tmp_path / "target.yaml"
        cfg.write_text(f"name: 测试平台\nprofile: hospital\nendpoint: {url}\nsoap_version: '1.2'\n"
                       "action_style: s-code\nnamespace: urn:conformance:hip-message-server\n"
                       "auth:\n  type: wsse\n  username: tester\n  password: ${ENV:HIP_SECRET}\n"
                       "headers:\n  X-Api-Key: ${ENV:HIP_SECRET}\n", encoding="utf-8")
        code, text = run("run", "--config", str(cfg), "--services", "PatientInfoRegister",
                         "--out", str(tmp_path / "r"), "--no-progress")
    assert code == 0, text
    d = results(tmp_path / "r")
    assert d["target"]["soap_version"] == "1.2" and d["cases"][0]["exchanges"][0]["action"] == "S0001"
    for p in (tmp_path / "r").rglob("*"):
        if p.is_file():
            assert b"pw-9f8e7d" not in p.read_bytes(), p


def test_bad_config_is_a_usage_error(tmp_path: Path) -> None:
    cfg = tmp_path / "t.yaml"
    cfg.write_text("endpoint: ftp://x\n", encoding="utf-8")
    code, text = run("run", "--config", str(cfg))
    assert code == 2 and "http" in text


def _normalize(d: dict) -> dict:
    """Drop what changes from run to run (times, ids, ports) for the golden comparison."""
    volatile = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|"
                          r"\b[0-9a-f]{32}\b|\b[0-9a-f]{12}\b|\bP\d{7,}|\b\d{14}\b|127\.0\.0\.1:\d+|"
                          r"\b[A-Z]{3,9}\d{6,}\b|\d+(\.\d+)? ms")
    keep = {"id", "service", "kind", "result", "checks", "title", "suite", "level"}
    cases = []
    for c in d["cases"]:
        cc = {k: v for k, v in c.items() if k in keep}
        cc["checks"] = [{"id": k["id"], "result": k["result"],
                         "message": volatile.sub("~", k["message"].split(" → ")[0])}
                        for k in c["checks"]]
        cases.append(cc)
    return {"profile": d["profile"], "summary": d["summary"], "cases": cases}


def test_golden_results_of_a_small_deterministic_run(tmp_path: Path) -> None:
    code, _ = run("run", "--services", "PatientInfoRegister,PatientInfoUpdate,PatientInfoMerge,"
                  "PatientInfoQuery", "--out", str(tmp_path / "r"), "--no-progress", "--lang", "en")
    assert code == 0
    got = _normalize(results(tmp_path / "r"))
    if not GOLDEN.exists():  # first run writes it; commit the file
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(got, ensure_ascii=False, indent=1), encoding="utf-8")
    assert got == json.loads(GOLDEN.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_run_folder_is_revalidated_offline(tmp_path: Path) -> None:
    out = tmp_path / "r"
    run("run", "--services", "DocumentRegiste,PatientInfoRegister", "--out", str(out), "--no-progress")
    code, text = run("validate", "--format", "json", str(out))
    d = json.loads(text)
    types = {x["document_type"] for x in d["documents"]}
    assert {"PRPA_IN201311UV02", "MCCI_IN000002UV01", "RCMR_IN000002UV02"} <= types
    assert any(t and t.startswith("C00") for t in types)  # the registered CDA document itself
    invalid = [x for x in d["documents"] if not x["valid"]]
    assert invalid and all("-F01" in x["path"] for x in invalid)  # only the broken requests


@pytest.mark.slow
def test_ctrl_c_leaves_a_consistent_run_that_resume_completes(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "r"
    with EmbeddedPlatform(profile="hospital", faults="seed=3,slow=1.0:0.2s") as url:
        proc = subprocess.Popen([sys.executable, "-m", "conformance.cli", "run", "--target", url,
                                 "--services", "PatientInfoRegister,PatientInfoUpdate,"
                                 "PatientInfoQuery,OrderInfoAdd,OrderInfoQuery",
                                 "--out", str(out), "--no-progress"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while not list((out / "cases").glob("*.json")) and time.time() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err.decode()
        partial = results(out)
        assert partial["complete"] is False and 0 < partial["summary"]["cases"] < 10
        assert "--resume" in err.decode()
        code, text = run("run", "--resume", str(out), "--target", url, "--no-progress")
    assert code == 0, text
    final = results(out)
    assert final["complete"] is True and final["summary"]["cases"] >= 10
    assert final["summary"]["cases"] > partial["summary"]["cases"]


@pytest.mark.slow
def test_baseline_shows_regressions_and_gates_on_new_failures(tmp_path: Path) -> None:
    before = tmp_path / "before"
    code, _ = run("run", "--services", "PatientInfoRegister", "--out", str(before), "--no-progress")
    assert code == 0
    with EmbeddedPlatform(profile="hospital", faults="seed=7,wrong-ack=1.0") as url:
        code, text = run("run", "--target", url, "--services", "PatientInfoRegister",
                         "--out", str(tmp_path / "after"), "--no-progress",
                         "--baseline", str(before), "--fail-on", "regression")
    assert code == 1 and "✘" in text, text
    code, text = run("run", "--services", "PatientInfoRegister", "--out", str(tmp_path / "again"),
                     "--no-progress", "--baseline", str(before), "--fail-on", "regression")
    assert code == 0, text
    code, text = run("run", "--services", "PatientInfoRegister", "--out", str(tmp_path / "x"),
                     "--fail-on", "regression")
    assert code == 2
