"""`conformance report`: formats, outputs, bad input, JUnit/SARIF/JSON contents."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from conformance.cli import main

RUNS = Path(__file__).resolve().parent / "fixtures" / "runs"


def invoke(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return r.exit_code, r.output


@pytest.fixture()
def run(tmp_path: Path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(RUNS / "current", dst)
    return dst


# ------------------------------------------------------------------------------ usage / input
def test_missing_and_empty_run_folders(tmp_path: Path) -> None:
    code, out = invoke("report", str(tmp_path / "nope"), "--lang", "en")
    assert code == 2 and "does not exist" in out
    code, out = invoke("report", str(tmp_path / "nope"))
    assert code == 2 and out.strip() == f"无法生成报告：运行目录 {tmp_path / 'nope'} 不存在。"
    code, out = invoke("report", str(tmp_path), "--lang", "en")
    assert code == 2 and "nothing to report" in out and "validate.json" in out
    code, out = invoke("report", str(tmp_path))
    assert code == 2 and "没有可报告的内容" in out and "validate.json" in out
    f = tmp_path / "x.json"
    f.write_text("{}")
    code, out = invoke("report", str(f), "--lang", "en")
    assert code == 2 and "is not a folder" in out


def test_malformed_json_names_file_line_and_column(run: Path) -> None:
    (run / "perf.json").write_text('{"steps": [\n  {"users": 1,}\n]}', encoding="utf-8")
    code, out = invoke("report", str(run), "--lang", "en")
    assert code == 2
    assert "perf.json: line 2, column 15: not valid JSON" in out and "Traceback" not in out
    code, out = invoke("report", str(run))
    assert "perf.json: 第 2 行第 15 列：不是有效的 JSON：" in out and "——文件不完整" in out
    assert not (run / "report.html").exists()


def test_wrong_shape_is_explained(run: Path) -> None:
    tool = '"tool": {"name": "conformance", "version": "0.1.0"}'
    (run / "results.json").write_text(f'{{{tool}, "cases": {{"a": 1}}}}', encoding="utf-8")
    code, out = invoke("report", str(run), "--lang", "en")
    assert code == 2 and "results.json: not a valid results.json" in out
    assert "Expected `array`, got `object` - at `$.cases`" in out and "conformance run" in out
    (run / "results.json").write_text(f'{{{tool}, "cases": [{{"id": "x", "checks": "ok"}}]}}')
    code, out = invoke("report", str(run))
    assert code == 2 and "at `$.cases[0].checks`" in out
    (run / "results.json").write_text("[]")
    code, out = invoke("report", str(run))
    assert code == 2 and "Expected `object`, got `array`" in out and "Traceback" not in out
    (run / "results.json").write_text('{"schema_version": 9, "cases": []}')
    code, out = invoke("report", str(run))
    assert code == 2 and "schema_version 9" in out and "请升级 conformance" in out
    code, out = invoke("report", str(run), "--lang", "en")
    assert code == 2 and "schema_version 9" in out and "upgrade conformance" in out


def test_usage_errors(run: Path, tmp_path: Path) -> None:
    code, out = invoke("report", str(run), "--fail-on", "regression")
    assert code == 2 and "--baseline" in out
    code, out = invoke("report", str(run), "-f", "html,pdf", "-o", str(tmp_path / "r.html"))
    assert code == 2 and "--output" in out
    code, out = invoke("report", str(run), "-f", "docx")
    assert code == 2 and "'docx' is not one of" in out
    code, out = invoke("report", str(run), "--baseline", str(tmp_path / "missing"))
    assert code == 2 and "不存在" in out


def test_unwritable_output_is_exit_2(run: Path, tmp_path: Path) -> None:
    code, out = invoke("report", str(run), "-f", "json", "-o", str(tmp_path / "no" / "r.json"))
    assert code == 2 and "does not exist" in out


def test_atomic_write_leaves_previous_report(run: Path, monkeypatch) -> None:
    (run / "report.html").write_text("previous", encoding="utf-8")
    import conformance.report.html as html_mod

    def boom(ctx, out):
        out.write("<html>half")
        raise OSError("disk full")
    monkeypatch.setattr(html_mod, "render_html", boom)
    code, out = invoke("report", str(run))
    assert code == 2 and "disk full" in out
    assert (run / "report.html").read_text(encoding="utf-8") == "previous"
    assert not [p for p in run.iterdir() if p.name.endswith(".part")]


@pytest.mark.parametrize(("lang", "internal", "interrupted"), [
    ("zh", "无法生成报告：内部错误：RuntimeError: boom——请连同运行目录中的 JSON 文件一起报告", "已中断"),
    ("en", "Cannot render the report: internal error: RuntimeError: boom — please report it "
           "with the run folder's JSON files", "interrupted")])
def test_a_defect_and_an_interruption_are_said_in_the_report_language(
        run: Path, monkeypatch, lang: str, internal: str, interrupted: str) -> None:
    import conformance.report.render as render_mod

    def boom(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(render_mod, "render_reports", boom)
    code, out = invoke("report", str(run), "--lang", lang)
    assert (code, out.strip()) == (2, internal)

    def stop(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(render_mod, "render_reports", stop)
    code, out = invoke("report", str(run), "--lang", lang)
    assert (code, out.strip()) == (130, interrupted)


def test_default_names_and_stdout(run: Path) -> None:
    code, out = invoke("report", str(run), "-f", "html,json,junit,sarif", "--fail-on", "never")
    assert code == 0
    for name in ("report.html", "report.json", "report-junit.xml", "report.sarif"):
        assert (run / name).is_file() and f"已写入 {run / name}" in out
    r = CliRunner().invoke(main, ["report", str(run), "-f", "json", "-o", "-"])
    assert json.loads(r.stdout)["level"]["achieved"] == "四级乙等"
    assert oct((run / "report.html").stat().st_mode & 0o777) != "0o600"


# ------------------------------------------------------------------------------ JSON
def test_json_headline(run: Path) -> None:
    invoke("report", str(run), "-f", "json")
    d = json.loads((run / "report.json").read_text(encoding="utf-8"))
    assert d["format"] == 1 and d["run"]["target"].startswith("示例医院集成平台")
    assert d["level"]["achieved"] == "四级乙等" and d["level"]["provisional"] is True
    assert d["level"]["next"]["level"] == "四级甲等" and d["level"]["next"]["missing"] == 6
    assert [x["id"] for x in d["dimensions"]] == ["2", "3", "4", "5"]
    assert d["documents"]["summary"]["documents"] == 132
    assert {s["service"] for s in d["services"]["by_service"]} >= {"PatientInfoUpdate"}
    assert d["performance"]["generator_saturated_at"] == [200]
    assert d["failures"] > 0 and d["run"]["absent"] == []
    assert {i["file"] for i in d["run"]["inputs"]} == {"validate.json", "datasets.json",
                                                      "results.json", "perf.json", "score.json"}
    assert d["datasets"]["summary"] == {"datasets": 58, "touched": 6, "full": 2, "partial": 4,
                                        "none": 52, "provisional": True}
    lab = next(x for x in d["datasets"]["by_dataset"] if x["id"] == "WS445.4.2")
    assert lab["verdict"] == "部分符合" and lab["defects"]["coverage"] == 2
    assert lab["format_conformance"] == {"numerator": 387, "denominator": 390, "value": 0.9923}


# ------------------------------------------------------------------------------ JUnit
def test_junit_one_test_case_per_check(run: Path) -> None:
    invoke("report", str(run), "-f", "junit")
    root = etree.parse(str(run / "report-junit.xml")).getroot()
    results = json.loads((run / "results.json").read_text(encoding="utf-8"))
    validate = json.loads((run / "validate.json").read_text(encoding="utf-8"))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"conformance validate wst-cda-2026.11",
                           "conformance validate-dataset wst-cda-2026.11", "hospital-services",
                           "workflows", "conformance perf", "conformance score"}
    n_checks = sum(len(c["checks"]) for c in results["cases"])  # as the run's junit.xml
    run_cases = [tc for name in ("hospital-services", "workflows")
                 for tc in suites[name].iter("testcase")]
    assert len(run_cases) == n_checks
    assert len(list(suites["conformance validate wst-cda-2026.11"].iter("testcase"))) == \
        len(validate["documents"])
    ack = next(tc for tc in run_cases if tc.get("classname") == "EMR-PL-02-个人信息更新服务-F01"
               and tc.get("name") == "ack_code")
    assert ack.find("failure") is not None and "平台却返回 AA" in ack.find("failure").get("message")
    datasets = list(suites["conformance validate-dataset wst-cda-2026.11"].iter("testcase"))
    verdicts = [tc for tc in datasets if tc.get("classname") == "dataset"]
    assert len(verdicts) == 6 and len(datasets) == 6 + 4  # the data sets with data + inputs
    lab = next(tc for tc in verdicts if tc.get("name") == "WS445.4.2 检验记录")
    assert lab.find("failure").get("message") == (
        "部分符合: 数据元覆盖 39/41（95.1%）  格式符合 387/390（99.2%）, 问题 5")
    timeout = next(tc for tc in run_cases if tc.get("name") == "transport"
                   and tc.find("error") is not None)
    assert "读取超时" in timeout.find("error").get("message")
    assert any(tc.find("skipped") is not None for tc in run_cases)
    perf = list(suites["conformance perf"].iter("testcase"))
    assert sum(tc.find("failure") is not None for tc in perf) == 1
    assert any("暂定" in tc.get("name") for tc in perf)
    levels = list(suites["conformance score"].iter("testcase"))
    assert levels[0].get("name").startswith("四级乙等") and levels[0].find("failure") is None
    assert all(tc.find("skipped") is not None for tc in levels[1:])  # not reached, not failed
    total = int(root.get("tests"))
    assert total == sum(int(s.get("tests")) for s in suites.values())
    assert int(root.get("failures")) == sum(len(s.findall(".//failure")) for s in suites.values())


# ------------------------------------------------------------------------------ SARIF
def test_sarif_locates_findings_and_checks(run: Path) -> None:
    invoke("report", str(run), "-f", "sarif")
    s = json.loads((run / "report.sarif").read_text(encoding="utf-8"))
    assert s["version"] == "2.1.0"
    results = s["runs"][0]["results"]
    rules = {r["id"] for r in s["runs"][0]["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in results} <= rules
    realm = next(r for r in results if r["ruleId"] == "WST500.HEADER.REALM_CODE")
    loc = realm["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].endswith("tests/fixtures/bad/C0004-realm-us.xml")
    assert loc["region"]["startLine"] > 1 and loc["region"]["startColumn"] > 1
    ack = next(r for r in results if r["ruleId"] == "check.ack_code")
    uri = ack["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.endswith(".response.xml") and "EMR-PL-02" in ack["message"]["text"]
    v3 = next(r for r in results if r["ruleId"] == "V3.ACK.TARGET_MESSAGE_MISSING")
    assert v3["locations"][0]["physicalLocation"]["region"] == {"startLine": 1, "startColumn": 412}
    assert v3["properties"]["provisional"] is True
    perf = next(r for r in results if r["ruleId"] == "perf.threshold")
    assert perf["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("perf.json")
    assert "暂定" in perf["message"]["text"]
