"""`conformance assess` end to end: from nothing to a scored report, against the embedded
reference platform, in a temporary folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.model.folder import RunFolder

pytestmark = pytest.mark.slow  # real servers, whole suites or PDFs: the full run, not the unit loop


def test_assess_produces_every_artifact(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cwd = os.getcwd()
    os.chdir(tmp_path)  # nothing may be written outside the run folder
    try:
        r = CliRunner().invoke(main, ["assess", "--out", str(out)], catch_exceptions=False)
    finally:
        os.chdir(cwd)
    assert r.exit_code == 0, r.output
    for name in ("validate.json", "results.json", "junit.xml", "perf.json", "score.json",
                 "manifest.json", "report.html", "report.pdf"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    score = json.loads((out / "score.json").read_text(encoding="utf-8"))
    assert score["level"] and score["provisional"] is True
    # scored in-process, the folder sealed, score.json added to the manifest
    assert score["schema_version"] == 1 and score["inputs"]["targets"][0].startswith("embedded (")
    assert RunFolder(out).verify(["score.json", "results.json"]).problems == []
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["summary"]["fail"] == 0 and results["summary"]["cases"] >= 219
    html = (out / "report.html").read_text(encoding="utf-8")
    assert score["level"] in html and "暂定" in html
    # the console says the result, not only where it is, and no stale-questionnaire hint
    assert f"达到等级：{score['level']}（暂定）" in r.output and "在问卷生成后有变化" not in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_assess_refuses_a_missing_documents_folder(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["assess", "--out", str(tmp_path / "r"), "--documents",
                                  str(tmp_path / "nope")])
    assert r.exit_code == 2


@pytest.mark.parametrize("profile", ["regional"])
def test_assess_regional_profile(tmp_path: Path, profile: str) -> None:
    out = tmp_path / "run"
    r = CliRunner().invoke(main, ["assess", "--profile", profile, "--out", str(out), "--skip-perf",
                                  "--lang", "en"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    score = json.loads((out / "score.json").read_text(encoding="utf-8"))
    assert score["level"] is None  # the regional index table is not known: no level invented
    assert "Level reached" not in r.output and "level cannot be rated" in r.output, r.output
    assert (out / "report.html").is_file()
