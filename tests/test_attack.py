"""scripts/attack.py: the attack regression checks of issue 17 run as the script runs them (each
case in its own process under a wall-clock and a memory limit). A fast slice here; the long
cases are marked slow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scripts.attack import BY_NAME, CASES, Case, run_case

pytestmark = pytest.mark.slow    # real servers, deadlines and subprocesses: the full suite runs it

ROOT = Path(__file__).resolve().parents[1]


def attack(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "scripts/attack.py", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_help_list_and_unknown_cases() -> None:
    r = attack("--help")
    assert r.returncode == 0 and "--only" in r.stdout and "drip" in r.stdout
    r = attack("--list")
    assert r.returncode == 0 and [ln.split()[0] for ln in r.stdout.splitlines()] == \
        [c.name for c in CASES]
    r = attack("--only", "nope")
    assert r.returncode == 2 and "unknown case" in r.stderr


def test_a_case_over_its_memory_or_time_limit_is_killed_and_fails(tmp_path: Path) -> None:
    """The limits hold: the child (which runs the case of that name) is killed past either."""
    real = BY_NAME["drip"]
    ok, detail, took, _ = run_case(Case("drip", real.run, wall_s=60, rss_mb=1, item="8"),
                                   tmp_path / "m")
    assert not ok and detail.startswith("killed (memory limit") and took < 30, detail
    ok, detail, took, _ = run_case(Case("drip", real.run, wall_s=1.5, rss_mb=4000, item="8"),
                                   tmp_path / "t")
    assert not ok and detail == "killed (wall-clock limit: 1.5 s)" and took < 10, detail


def test_fast_slice_passes() -> None:
    r = attack("--only", "wsdl-endless", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("PASS wsdl-endless") and "1 passed, 0 failed" in r.stdout


@pytest.mark.slow
def test_the_other_cases_pass() -> None:
    names = ",".join(c.name for c in CASES if c.name != "wsdl-endless")
    r = attack("--only", names, timeout=3600)
    assert r.returncode == 0, r.stdout + r.stderr
