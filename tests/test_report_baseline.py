"""--baseline: what got better, what regressed; --fail-on and exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.report.baseline import compare_runs, failures
from conformance.report.model import open_run

RUNS = Path(__file__).resolve().parent / "fixtures" / "runs"
CURRENT, BASELINE = RUNS / "current", RUNS / "baseline"


def invoke(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return r.exit_code, r.output


def copy(src: Path, tmp_path: Path, name: str) -> Path:
    dst = tmp_path / name
    shutil.copytree(src, dst)
    return dst


def edit(path: Path, fn) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    fn(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


@pytest.fixture(scope="module")
def cmp():
    return compare_runs(BASELINE, CURRENT)


def test_regressions_are_the_new_failures(cmp) -> None:
    keys = {c.key for c in cmp.regressions}
    assert keys == {
        "validate:tests/fixtures/bad/C0001-id-number-bad-birth.xml:DT.ID_NUMBER_BIRTH_MISMATCH",
        "validate:tests/fixtures/bad/C0001-id-number-bad-birth.xml:DT.ID_NUMBER_INVALID_BIRTH",
        "validate:tests/fixtures/bad/C0001-id-number-birth.xml:DT.ID_NUMBER_BIRTH_MISMATCH",
        "validate:tests/fixtures/bad/C0001-id-number-check.xml:DT.ID_NUMBER_CHECK_DIGIT",
        "validate:tests/fixtures/bad/C0001-id-number-format.xml:DT.ID_NUMBER_FORMAT",
        "validate:tests/fixtures/bad/C0001-id-number-gender.xml:DT.ID_NUMBER_GENDER_MISMATCH",
        "results:EMR-PL-02-个人信息更新服务-F01:ack_code",
        "perf:p95-200",
        "score:2.2.4.1", "score:3.2.2.2",
    }
    assert all(c.kind == "regressed" for c in cmp.regressions)
    assert cmp.new_failures == 10
    ack = next(c for c in cmp.regressions if c.area == "results")
    assert "反向用例应被拒绝" in ack.detail


def test_improvements_and_known_failures(cmp) -> None:
    assert {c.key for c in cmp.improvements} == {
        "validate:test_cases/documents/wst500/EMR-SD-32-住院病案首页-T01-001.xml:"
        "WST500.HEADER.REALM_CODE",
        "results:EMR-PL-03-个人信息查询服务-T01:target_message_id"}
    assert all(c.kind == "fixed" for c in cmp.improvements) and cmp.gone == []
    # the document-registration check failed in both runs: known, not new
    assert cmp.still_failing > 0
    assert "results:EMR-PL-04-电子病历文档注册服务-T01:response_valid" not in {
        c.key for c in cmp.regressions}


def test_level_total_dimensions_and_perf_deltas(cmp) -> None:
    assert cmp.level == {"before": "三级", "after": "四级乙等", "direction": "up",
                         "provisional": True}
    assert cmp.total["delta"] == pytest.approx(2.5)
    dims = {d["id"]: d["delta"] for d in cmp.dimensions}
    assert dims["3"] == pytest.approx(1.5) and dims["4"] == 0
    p95 = next(x for x in cmp.perf if x["users"] == 200 and x["metric"] == "p95_ms")
    assert p95["delta_pct"] == pytest.approx(0.25)


def test_reverse_comparison_sees_level_drop(tmp_path: Path) -> None:
    back = compare_runs(CURRENT, BASELINE)
    assert back.level["direction"] == "down"
    assert back.new_failures == len(back.regressions) + 1
    assert {c.key for c in back.improvements} >= {"results:EMR-PL-02-个人信息更新服务-F01:ack_code"}


def test_new_document_is_a_new_failure(tmp_path: Path) -> None:
    cur = copy(CURRENT, tmp_path, "cur")

    def add_doc(d):
        d["documents"].append({"path": "tests/fixtures/bad/new-one.xml", "document_type": "C0004",
                               "valid": False, "findings": [{"rule": "X.NEW", "severity": "error",
                                                             "layer": "parse", "message": "m",
                                                             "source": "s"}]})
    edit(cur / "validate.json", add_doc)
    c = compare_runs(CURRENT, cur)
    assert [(x.key, x.kind) for x in c.regressions] == [
        ("validate:tests/fixtures/bad/new-one.xml:X.NEW", "new")]


def test_areas_in_one_run_only_are_not_compared(tmp_path: Path) -> None:
    base = copy(BASELINE, tmp_path, "base")
    (base / "perf.json").unlink()
    c = compare_runs(base, CURRENT)
    assert "perf" in c.not_compared and "perf" not in c.compared
    assert not [x for x in c.regressions if x.area == "perf"]


def test_failures_gate(tmp_path: Path) -> None:
    run = open_run(CURRENT)
    gate = failures(run)
    areas = {i.area for i in gate}
    assert areas == {"validate", "results", "perf"}  # indicators are not failures of the run
    assert any(i.key == "perf:p95-200" for i in gate)
    low = copy(CURRENT, tmp_path, "low")
    edit(low / "score.json", lambda d: d.update(min_level="四级甲等", min_level_met=False))
    assert any(i.key == "score:min_level" for i in failures(open_run(low)))


# ------------------------------------------------------------------------------ CLI exit codes
@pytest.mark.slow
def test_exit_codes_fail_on(tmp_path: Path) -> None:
    cur = copy(CURRENT, tmp_path, "cur")
    base = str(BASELINE)
    assert invoke("report", str(cur), "-f", "json")[0] == 1                  # failures exist
    assert invoke("report", str(cur), "-f", "json", "--fail-on", "never")[0] == 0
    code, out = invoke("report", str(cur), "-f", "json", "--baseline", base,
                       "--fail-on", "regression")
    assert code == 1 and "新增失败 10 项，已修复 2 项" in out
    # against itself nothing is new: failures are known, the build passes
    assert invoke("report", str(cur), "-f", "json", "--baseline", str(CURRENT),
                  "--fail-on", "regression")[0] == 0


def test_only_new_failures_fail_the_build(tmp_path: Path) -> None:
    """The baseline already had the failures; fixing some is fine; one new failure is not."""
    cur = copy(CURRENT, tmp_path, "cur")
    assert invoke("report", str(cur), "-f", "json", "--baseline", str(CURRENT),
                  "--fail-on", "regression")[0] == 0

    def fix_one(d):  # the failing ack check now passes: an improvement, still exit 0
        case = next(c for c in d["cases"] if c["id"] == "EMR-PL-02-个人信息更新服务-F01")
        for k in case["checks"]:
            k["result"] = "pass"
        case["result"] = "pass"
    edit(cur / "results.json", fix_one)
    code, out = invoke("report", str(cur), "-f", "json", "--baseline", str(CURRENT),
                       "--fail-on", "regression")
    assert code == 0 and "已修复 1 项" in out

    def break_one(d):
        case = next(c for c in d["cases"] if c["id"] == "EMR-PL-01-个人信息注册服务-T01")
        case["checks"][0].update(result="error", message="connection refused")
        case["result"] = "error"
    edit(cur / "results.json", break_one)
    code, out = invoke("report", str(cur), "-f", "json", "--baseline", str(CURRENT),
                       "--fail-on", "regression", "--lang", "en")
    assert code == 1 and "1 new failures" in out


def test_clean_run_exits_0(tmp_path: Path) -> None:
    run = tmp_path / "clean"
    run.mkdir()
    data = json.loads((CURRENT / "validate.json").read_text(encoding="utf-8"))
    data["documents"] = [d for d in data["documents"] if d["valid"]]
    (run / "validate.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert invoke("report", str(run), "-f", "junit")[0] == 0


@pytest.mark.slow
def test_comparison_in_html_and_json(tmp_path: Path) -> None:
    cur = copy(CURRENT, tmp_path, "cur")
    invoke("report", str(cur), "-f", "html,json", "--baseline", str(BASELINE))
    page = (cur / "report.html").read_text(encoding="utf-8")
    assert 'id="comparison"' in page and "三级 → 四级乙等" in page
    assert 'class="data cmp-regressions"' in page and 'class="data cmp-improvements"' in page
    assert "EMR-PL-02-个人信息更新服务-F01 · ack_code" in page
    report = json.loads((cur / "report.json").read_text(encoding="utf-8"))
    assert report["comparison"]["new_failures"] == 10
    assert report["comparison"]["level"]["direction"] == "up"
