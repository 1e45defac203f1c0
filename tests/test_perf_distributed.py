"""Locust's distributed mode driven by the project's mix: 1 master + 2 workers on localhost."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.model.io.schemas import shipped
from conformance.perf.distributed import available

pytestmark = [pytest.mark.skipif(not available(), reason="locust is not installed (pip install locust)"),
              pytest.mark.slow]

QUICK_MIX = """mix: quick
profile: hospital
think_time: 0
transactions:
  - {id: query, weight: 3, scenario: EMR-PL-04-个人信息查询服务-T01}
  - {id: register, weight: 1, scenario: EMR-PL-01-个人信息注册服务-T01}
"""


def test_one_master_two_workers_on_localhost(tmp_path: Path) -> None:
    mix = tmp_path / "quick.yaml"
    mix.write_text(QUICK_MIX, encoding="utf-8")
    run = tmp_path / "run"
    r = CliRunner().invoke(main, ["perf", "--engine", "locust", "--workers", "2", "--users", "4",
                                  "--duration", "2s", "--mix", str(mix), "--out", str(run),
                                  "--threshold", "errors<=5%", "--lang", "en"],
                           catch_exceptions=False)
    assert r.exit_code == 0, (r.stdout, r.stderr)
    doc = json.loads((run / "perf.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, shipped("perf"))
    (step,) = doc["steps"]
    assert step["engine"] == "locust" and step["workers"] == 2 and step["workers_reported"] == 2
    assert step["users"] == 4 and step["requests"] > 0 and step["error_rate"] <= 0.05
    assert set(step["services"]) <= {"PatientInfoQuery", "PatientInfoRegister"}
    assert len(step["generator"]["workers"]) == 2
    assert any(p["requests"] for p in step["series"])
    assert doc["thresholds"][0]["passed"] is True
    plan = json.loads((run / "locust-plan.json").read_text(encoding="utf-8"))
    assert plan["mix"] == str(mix) and plan["url"].startswith("http://127.0.0.1:")


def test_perf_worker_needs_a_target() -> None:
    r = CliRunner().invoke(main, ["perf-worker", "--master", "127.0.0.1"])
    assert r.exit_code == 2 and "--target" in r.output
