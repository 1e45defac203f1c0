"""Honest runs (issue 17, item 4): an interrupted case is not a result and runs again on
``--resume``."""

from __future__ import annotations

import json
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

