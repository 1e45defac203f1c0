"""The dependency rule (ARCHITECTURE.md "Layers"): the import-linter contract in pyproject.toml
holds, and a module that imports upwards breaks it (so the check can fail)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("importlinter", reason="import-linter is a test dependency: pip install -e .[test]")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    return subprocess.run([exe, "--no-cache"], cwd=root, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})


def test_the_layers_contract_is_kept() -> None:
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 kept, 0 broken" in done.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "conformance", copy / "conformance",
                    ignore=shutil.ignore_patterns("__pycache__", "_data"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    model = copy / "conformance" / "model" / "status.py"
    model.write_text(model.read_text(encoding="utf-8") + "\nfrom ..report import render  # noqa\n",
                     encoding="utf-8")
    done = _lint(copy)
    assert done.returncode != 0
    assert "conformance.model.status -> conformance.report" in done.stdout
