"""`run --faults` (and AssessOptions.faults): the embedded platform of a run injects the fault
profile, as `serve --faults` does; a real target refuses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main


def _run(tmp_path: Path, *extra: str) -> tuple[int, dict]:
    out = tmp_path / "run"
    r = CliRunner().invoke(main, ["run", "--services", "PatientInfoRegister", "--out", str(out),
                                  "--no-progress", *extra])
    data = json.loads((out / "results.json").read_text("utf-8")) if (
        out / "results.json").is_file() else {}
    return r.exit_code, data


@pytest.mark.slow
def test_faults_reach_the_embedded_platform(tmp_path: Path) -> None:
    code, clean = _run(tmp_path / "a")
    assert code == 0 and clean["summary"]["fail"] + clean["summary"]["error"] == 0
    code, broken = _run(tmp_path / "b", "--faults", "seed=1,http500=1")
    assert code == 1
    assert broken["summary"]["pass"] < clean["summary"]["pass"]
    run_json = json.loads((tmp_path / "b" / "run" / "run.json").read_text("utf-8"))
    assert run_json["options"]["faults"] == "seed=1,http500=1"   # --resume keeps them


def test_faults_are_refused_for_a_real_target_and_when_malformed(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["run", "--target", "http://127.0.0.1:9/", "--faults",
                                  "http500=1", "--out", str(tmp_path / "r")])
    assert r.exit_code == 2 and "embedded" in r.output
    r = CliRunner().invoke(main, ["run", "--faults", "http500=7", "--out", str(tmp_path / "s")])
    assert r.exit_code == 2 and "0 … 1" in r.output
