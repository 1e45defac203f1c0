"""Honest runs (issue 17, items 4 and 5): an interrupted case is not a result and runs again on
``--resume``; ids never collide across runs, workers and resumes, and repeat with ``--seed``."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.platform.server import EmbeddedPlatform

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return r.exit_code, r.output


def results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text(encoding="utf-8"))


def _checks(d: dict) -> int:
    return sum(d["summary"]["checks"].values())


@pytest.mark.slow
def test_ctrl_c_with_jobs_then_resume_counts_every_check_once(tmp_path: Path) -> None:
    """Ctrl-C a full hospital run with --jobs 4, resume it: the cases that were running are
    reported interrupted (never pass) and run again, so the resumed run has exactly the checks of
    an uninterrupted one (was: 3,890 instead of 4,074, the unfinished steps recorded as skip)."""
    clean = tmp_path / "clean"
    code, text = run("run", "--out", str(clean), "--jobs", "2", "--no-progress")
    assert code == 0, text
    expected = _checks(results(clean))
    out = tmp_path / "r"
    # a slow platform keeps every worker inside a case when the signal comes
    with EmbeddedPlatform(profile="hospital", faults="seed=1,slow=1.0:0.03s") as url:
        proc = subprocess.Popen([sys.executable, "-m", "conformance.cli", "run", "--target", url,
                                 "--jobs", "4", "--out", str(out), "--no-progress"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 120
        while len(list((out / "cases").glob("*.json"))) < 20 and time.time() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err.decode()
        partial = results(out)
        assert partial["complete"] is False
        for c in partial["cases"]:
            unfinished = [s for s in c["steps"] if s["result"] == "interrupted"]
            if unfinished:  # never rolled up to pass, never written as a finished case
                assert c["result"] == "interrupted", c
                assert all(k["result"] == "interrupted" for k in c["checks"]
                           if k["id"].endswith("/step"))
                assert not (out / "cases" / f"{c['id']}.json").exists()
        interrupted = partial["summary"].get("interrupted", 0)
        assert interrupted >= 1, partial["summary"]
        code, text = run("run", "--resume", str(out), "--target", url, "--no-progress")
    assert code == 0, text
    final = results(out)
    assert final["complete"] is True and final["summary"]["pass"] == final["summary"]["cases"]
    assert final["summary"]["cases"] == results(clean)["summary"]["cases"]
    assert _checks(final) == expected, (final["summary"], expected)
    state = json.loads((out / "run.json").read_text(encoding="utf-8"))
    blocks = [s["id_block"] for s in state["sessions"]]
    assert len(blocks) == 2 and len(set(blocks)) == 2  # the resumed cases took fresh ids


@pytest.mark.slow
def test_two_runs_against_one_persistent_platform_both_pass(tmp_path: Path) -> None:
    """Back to back against the same platform store (was: the second run reused the first's
    patient and record ids, the platform answered AE "已存在" and the tool reported failures)."""
    services = "PatientInfoRegister,PatientInfoUpdate,PatientInfoMerge,PatientInfoQuery,OrderInfoAdd"
    with EmbeddedPlatform(profile="hospital", db=str(tmp_path / "platform.sqlite")) as url:
        for name in ("first", "second"):
            code, text = run("run", "--target", url, "--services", services, "--jobs", "2",
                             "--out", str(tmp_path / name), "--no-progress")
            assert code == 0, (name, text)


def _patient_ids(run_dir: Path) -> list[str]:
    found: list[str] = []
    for p in sorted((run_dir / "evidence").rglob("*.request.xml")):
        found += re.findall(r'extension="(P\d+)"', p.read_text(encoding="utf-8"))
    return found


@pytest.mark.slow
def test_seed_makes_the_ids_reproducible(tmp_path: Path) -> None:
    args = ("run", "--services", "PatientInfoRegister,PatientInfoQuery", "--no-progress")
    for name in ("a", "b"):
        code, text = run(*args, "--seed", "42", "--out", str(tmp_path / name))
        assert code == 0, text
    code, _ = run(*args, "--out", str(tmp_path / "c"))
    assert code == 0
    a, b, c = (_patient_ids(tmp_path / n) for n in "abc")
    assert a and a == b and set(a).isdisjoint(c)
    msg = re.compile(r'&lt;id root="2\.16\.156\.10011\.2\.5\.1\.1" extension="(\w+)"')
    first = sorted(tmp_path.joinpath("a", "evidence").rglob("*.request.xml"))[0]
    again = tmp_path.joinpath("b", first.relative_to(tmp_path / "a"))
    assert msg.findall(first.read_text(encoding="utf-8")) == msg.findall(
        again.read_text(encoding="utf-8"))
