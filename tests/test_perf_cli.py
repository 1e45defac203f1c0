"""`conformance perf` end to end: the embedded platform in its own process, perf.json against its
schema, thresholds and exit codes, the --yes safety, the 3.3 bands."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.model.io.schemas import shipped

pytestmark = pytest.mark.slow  # real servers, whole suites or PDFs: the full run, not the unit loop

QUICK_MIX = """mix: quick
profile: hospital
think_time: 0
pool: 4
transactions:
  - {id: query, weight: 3, scenario: EMR-PL-04-个人信息查询服务-T01}
  - {id: register, weight: 1, scenario: EMR-PL-01-个人信息注册服务-T01}
"""


def perf(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, ["perf", *args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def quick_mix(tmp_path_factory: pytest.TempPathFactory) -> str:
    p = tmp_path_factory.mktemp("mix") / "quick.yaml"
    p.write_text(QUICK_MIX, encoding="utf-8")
    return str(p)


def test_a_load_test_of_another_platform_needs_yes(tmp_path: Path) -> None:
    code, out, err = perf("--target", "http://127.0.0.1:9/hip", "--users", "1", "--duration", "1s",
                          "--out", str(tmp_path / "r"), "--lang", "en")
    assert code == 2 and "This is a load test" in err and "--yes" in err
    assert not (tmp_path / "r" / "perf.json").exists()
    code, _, err = perf("--config", str(tmp_path / "missing.yaml"), "--users", "1")
    assert code == 2 and "file not found" in err and "Traceback" not in err


@pytest.mark.parametrize("args, why", [
    (["--target", "http://127.0.0.1:9/", "--yes", "--users", "1", "--faults", "slow=1:1s"],
     "embedded reference platform only"),
    (["--users", "1", "--threshold", "avg<=1s@50"], "no step with 50 users"),
    (["--users", "1", "--threshold", "speed>3"], "unknown metric"),
    (["--users", "1", "--rate", "5"], "exclude each other"),
    (["--duration", "1s"], "--users"),
    (["--rate", "5", "--engine", "locust"], "open model"),
    (["--users", "1,x"], "not a number"),
    (["--users", "1", "--faults", "slow=2:1s"], "outside 0"),
])
def test_usage_problems_are_explained(args: list[str], why: str) -> None:
    code, out, err = perf(*args, "--lang", "en")
    assert code == 2, (out, err)
    assert why in out + err and "Traceback" not in out + err


def test_thresholds_judge_the_steps_and_set_the_exit_code(tmp_path: Path, quick_mix: str) -> None:
    run = tmp_path / "run"
    code, out, err = perf("--users", "1,3", "--duration", "1s", "--mix", quick_mix, "--out", str(run),
                          "--threshold", "p95<=60s@3", "--threshold", "errors<=1%",
                          "--threshold", "p50<=0.001ms@1", "--lang", "en")
    assert code == 1, (out, err)
    doc = json.loads((run / "perf.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, shipped("perf"))
    res = {t["id"]: t for t in doc["thresholds"]}
    assert res["p95<=60s@3"]["passed"] is True and res["p50<=0.001ms@1"]["passed"] is False
    assert res["errors<=1%@1"]["passed"] is True and res["errors<=1%@3"]["passed"] is True
    assert all(t["source"] == "command line" and t["provisional"] is False for t in res.values())
    assert "✘ p50<=0.001ms@1" in out and "FAIL" in out
    assert [s["users"] for s in doc["steps"]] == [1, 3]
    for s in doc["steps"]:
        assert s["requests"] > 0 and s["error_rate"] == 0
        assert set(s["services"]) == {"PatientInfoQuery", "PatientInfoRegister"}
        assert s["series"] and s["model"] == "closed" and s["engine"] == "builtin"
        assert {"cpu_avg_pct", "loop_lag_p99_ms", "reasons"} <= set(s["generator"])
    assert doc["target"]["embedded"] is True and doc["platform"]["embedded"] is True
    assert doc["tool"]["name"] == "conformance" and doc["mix"]["id"] == "quick"
    # the same folder, a passing threshold: exit 0, and the report command can read it
    code, out, err = perf("--users", "2", "--duration", "1s", "--mix", quick_mix, "--out", str(run),
                          "--threshold", "errors<=5%", "--lang", "en")
    assert code == 0, (out, err)
    doc = json.loads((run / "perf.json").read_text(encoding="utf-8"))
    assert [t["passed"] for t in doc["thresholds"]] == [True]


def test_open_model_through_the_cli(tmp_path: Path, quick_mix: str) -> None:
    code, out, err = perf("--rate", "30", "--duration", "1s", "--mix", quick_mix, "--out",
                          str(tmp_path), "--faults", "seed=3,http500=0.2", "--lang", "en")
    assert code == 0, (out, err)
    doc = json.loads((tmp_path / "perf.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, shipped("perf"))
    (step,) = doc["steps"]
    assert step["model"] == "open" and step["rate"] == 30 and step["users"] is None
    assert 20 <= step["requests"] <= 40
    assert step["errors"]["soap_fault"] > 0 and "service_time" in step
    assert doc["platform"]["faults"] == "seed=3,http500=0.2"


def test_a_scheme_without_bands_records_none(tmp_path: Path) -> None:
    code, out, err = perf("--bands", "--profile", "regional", "--out", str(tmp_path), "--lang", "en")
    assert code == 0 and "regional-2020 has no performance bands" in err
    doc = json.loads((tmp_path / "perf.json").read_text(encoding="utf-8"))
    assert doc["bands"] == [] and doc["profile"] == "regional" and "platform" not in doc


def test_bands_are_recorded_from_the_definition(tmp_path: Path) -> None:
    code, out, err = perf("--bands", "--seed-patients", "300", "--repeat", "2", "--warmup", "0",
                          "--out", str(tmp_path))
    assert code == 0, (out, err)
    doc = json.loads((tmp_path / "perf.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, shipped("perf"))
    items = {b["item"]: b for b in doc["bands"]}
    assert list(items) == ["3.3.1.1", "3.3.1.2", "3.3.2.1", "3.3.3.1", "3.3.3.2"]
    for b in items.values():
        assert b["samples"] == 2 and b["failures"] == 0 and b["band"] == "1秒以内"
        assert b["median_ms"] > 0 and b["spread_ms"] is not None
    assert items["3.3.1.2"]["base_records"] == {"count": 300, "origin": "embedded", "required": 500000}
    assert items["3.3.2.1"]["provisional"] and len(items["3.3.2.1"]["services"]) == 4
    assert doc["provisional"] is True and doc["steps"] == []
    assert [b["label"] for b in doc["band_definitions"]] == ["1秒以内", "1-3秒", "3-5秒", "5-10秒",
                                                            "10秒以上"]
    assert "少于 3.3.1.2 要求的 500000 条" in out and "暂定" in out


def test_a_slow_platform_lands_in_a_slower_band(tmp_path: Path, quick_mix: str) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("plan: one\nprofile: hospital\nassessment: hospital-2020\nitems:\n"
                    "  - item: 3.3.1.1\n    name: 个人信息注册\n"
                    "    steps: [{service: PatientInfoRegister}]\n", encoding="utf-8")
    code, out, err = perf("--bands", "--bands-plan", str(plan), "--repeat", "2", "--warmup", "0",
                          "--seed-patients", "0", "--faults", "slow=1.0:1100ms", "--out", str(tmp_path))
    assert code == 0, (out, err)
    (band,) = json.loads((tmp_path / "perf.json").read_text(encoding="utf-8"))["bands"]
    assert band["band"] == "1-3秒" and 1100 <= band["median_ms"] < 3000
    # a load run into the same folder keeps the bands measured before
    code, out, err = perf("--users", "1", "--duration", "1s", "--mix", quick_mix, "--out", str(tmp_path))
    assert code == 0, (out, err)
    doc = json.loads((tmp_path / "perf.json").read_text(encoding="utf-8"))
    assert [b["item"] for b in doc["bands"]] == ["3.3.1.1"] and len(doc["steps"]) == 1
    assert "bands kept" in " ".join(doc["notes"])


def test_thresholds_from_an_assessment_definition_are_marked_provisional(
        tmp_path: Path, quick_mix: str) -> None:
    from conformance.resources import standards_dir

    text = (standards_dir() / "assessment" / "hospital-2020.yaml").read_text(encoding="utf-8")
    good = tmp_path / "with-perf.yaml"
    good.write_text(text + "\nperformance:\n  thresholds:\n"
                    "    - {id: err-1, metric: error_rate, op: '<=', limit: 0.5, users: 1,\n"
                    "       status: provisional, source: [example-source],\n"
                    "       description: 示例阈值（未核实）}\n", encoding="utf-8")
    code, out, err = perf("--assessment", str(good), "--users", "1", "--duration", "1s", "--mix",
                          quick_mix, "--out", str(tmp_path / "run"))
    assert code == 0, (out, err)
    doc = json.loads((tmp_path / "run" / "perf.json").read_text(encoding="utf-8"))
    (th,) = doc["thresholds"]
    assert th["id"] == "err-1" and th["passed"] is True and th["provisional"] is True
    assert th["source"] == "example-source" and doc["provisional"] is True
    assert "[暂定]" in out
    bad = tmp_path / "bad-perf.yaml"
    bad.write_text(text + "\nperformance:\n  thresholds:\n    - {metric: speed, limit: 1}\n",
                   encoding="utf-8")
    code, out, err = perf("--assessment", str(bad), "--users", "1", "--duration", "1s", "--lang", "en")
    assert code == 2 and "bad-perf.yaml: performance.thresholds[0]: metric" in err


def test_an_unreachable_target_is_a_usage_problem(tmp_path: Path, quick_mix: str) -> None:
    with __import__("socket").socket() as s:      # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    code, out, err = perf("--target", url, "--yes", "--users", "1", "--duration", "1s", "--mix",
                          quick_mix, "--out", str(tmp_path / "a"), "--lang", "en")
    assert code == 2 and "failed" in err and "refused" in err      # preparing the users' data
    reg = tmp_path / "register.yaml"
    reg.write_text("mix: r\nprofile: hospital\nthink_time: 0\ntransactions:\n"
                   "  - {id: r, scenario: EMR-PL-01-个人信息注册服务-T01}\n", encoding="utf-8")
    code, out, err = perf("--target", url, "--yes", "--users", "1", "--duration", "1s", "--mix",
                          str(reg), "--out", str(tmp_path / "b"), "--lang", "en")
    assert code == 2 and "could not be reached (refused)" in err
    (step,) = json.loads((tmp_path / "b" / "perf.json").read_text(encoding="utf-8"))["steps"]
    assert step["errors"]["connection"] == step["requests"] > 0
