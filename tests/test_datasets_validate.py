"""`conformance validate-dataset` end to end: verdicts, the JSON contract, JUnit and SARIF, exit
codes, row and column of findings, truncation, detection, CDA coverage, --jobs."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conformance.cli import main
from conformance.datasets.examples import ExampleData
from conformance.resources import test_cases_dir as cases_dir

EXAMPLES = cases_dir() / "datasets"


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["validate-dataset", *args])
    assert "Traceback" not in r.output, r.output
    return r.exit_code, r.output


def run_json(*args: str) -> tuple[int, dict]:
    code, out = run(*args, "--format", "json")
    return code, json.loads(out)


def touched(data: dict) -> dict[str, dict]:
    return {d["id"]: d for d in data["datasets"] if d["verdict_key"] != "none"}


@pytest.mark.parametrize("case", yaml.safe_load((EXAMPLES / "expected.yaml").read_text(
    encoding="utf-8"))["examples"], ids=lambda c: c["path"])
def test_shipped_examples(case) -> None:
    args = [str(EXAMPLES / case["path"])]
    if case.get("mapping"):
        args += ["--mapping", str(EXAMPLES / case["mapping"])]
    code, data = run_json(*args)
    assert code == case["exit"]
    got = touched(data)
    assert list(got) == [case["dataset"]]
    assert got[case["dataset"]]["verdict_key"] == case["verdict"]


def test_json_contract_shape() -> None:
    code, data = run_json(str(EXAMPLES / "hospital" / "WS445.1.1-患者基本信息-有缺陷.csv"))
    assert code == 1
    assert set(data) >= {"tool", "documents", "datasets", "summary"}
    assert set(data["tool"]) == {"name", "version", "ruleset"}
    doc = data["documents"][0]
    assert set(doc) == {"path", "document_type", "document_name", "valid", "layers", "findings"}
    assert doc["document_type"] == "WS445.1.1" and not doc["valid"]
    for f in doc["findings"]:
        assert set(f) == {"rule", "severity", "layer", "message", "xpath", "line", "column",
                          "expected", "actual", "source", "provisional", "snippet"}
    # all 58 hospital subsets get a verdict: the one with data and 57 × 无此数据
    assert len(data["datasets"]) == 58
    assert sum(d["verdict"] == "无此数据" for d in data["datasets"]) == 57
    v = touched(data)["WS445.1.1"]
    # errors (wrong codes, impossible dates …) make 部分符合 firm, not provisional
    assert v["verdict"] == "部分符合" and v["provisional"] is False
    assert v["records"] == 20 and v["elements"]["covered"] == v["elements"]["total"] == 27
    assert v["element_coverage"] == {"numerator": 27, "denominator": 27, "value": 1.0}
    f = v["format_conformance"]
    # 男, 1980-13-01, "2" for 婚姻状况代码, "1" for 民族 and 19991332 are not in the format;
    # the gender code 3 is (it is not an allowed value)
    assert f["denominator"] == 27 * 20 - 1 and f["numerator"] == f["denominator"] - 5
    assert f["provisional"] is True and f["value"] == round(f["numerator"] / f["denominator"], 4)
    assert v["elements_status"] == "transcribed" and "ws445-transcription" in v["element_list"]
    assert v["assessment_item"] == "2.1.1.1" and v["points"] == 0.19
    s = data["summary"]
    assert s["errors"] == v["errors"] and s["warnings"] == v["warnings"]


def test_findings_carry_row_and_column() -> None:
    _, data = run_json(str(EXAMPLES / "hospital" / "WS445.1.1-患者基本信息-有缺陷.csv"))
    fs = data["documents"][0]["findings"]
    by_rule: dict[str, dict] = {}
    for f in fs:
        by_rule.setdefault(f["rule"], f)   # the first occurrence of each rule
    f = by_rule["DS.ID_NUMBER_CHECK_DIGIT"]
    # defect injected in data row index 4 → file line 6
    header = (EXAMPLES / "hospital" / "WS445.1.1-患者基本信息-有缺陷.csv").read_text(
        encoding="utf-8").splitlines()[0].split(",")
    assert f["line"] == 6 and f["column"] == header.index("患者身份证件号码") + 1
    assert f["xpath"] == "患者身份证件号码" and f["severity"] == "error"
    assert by_rule["DS.VALUE_NOT_ALLOWED"]["line"] == 4   # "男" in row index 2
    assert by_rule["DS.REQUIRED_EMPTY"]["line"] == 12
    dates = [x for x in fs if x["rule"] == "DS.DATE_INVALID"]
    assert [(x["line"], x["actual"], x["severity"]) for x in dates] == [
        (8, "1980-13-01", "error"), (16, "19991332", "error")]


@pytest.mark.parametrize(("lang", "layers"), [
    ("zh", {"parse": "ran: CSV，UTF-8，分隔符 ','", "coverage": "ran: 27/27 个数据元有值，20 行",
            "format": "ran: 534/539 个值符合表示格式"}),
    ("en", {"parse": "ran: CSV, UTF-8, delimiter ','",
            "coverage": "ran: 27/27 elements covered, 20 rows",
            "format": "ran: 534/539 values in the representation format"})])
def test_how_a_table_was_read_is_said_in_the_output_language(lang: str, layers: dict) -> None:
    _, data = run_json(str(EXAMPLES / "hospital" / "WS445.1.1-患者基本信息-有缺陷.csv"),
                       "--lang", lang)
    got = data["documents"][0]["layers"]
    assert {k: got[k] for k in layers} == layers


def test_a_reading_problem_is_said_in_the_output_language() -> None:
    path = str(EXAMPLES / "hospital" / "WS445.1.1-患者基本信息.csv")
    for lang, said in (("zh", "未知的编码 'nosuch'（可用 utf-8、gbk、gb18030、utf-16 等）"),
                       ("en", "unknown encoding 'nosuch' (use e.g. utf-8, gbk, gb18030, utf-16)")):
        code, out = run(path, "--encoding", "nosuch", "--lang", lang)
        assert code == 2 and said in out, out


def test_text_report_and_english() -> None:
    code, out = run(str(EXAMPLES / "hospital" / "WS445.1.1-患者基本信息-有缺陷.csv"))
    assert code == 1 and "数据集判定" in out and "其余 57 个数据集" in out
    assert "部分符合  数据元覆盖 27/27（100.0%）  格式符合 534/539（99.1%，暂定）" in out
    code, out = run(str(EXAMPLES / "hospital" / "WS445.1.1-患者基本信息.csv"), "--lang", "en")
    assert code == 0 and "fully covered and conformant (provisional)" in out
    assert "element coverage 27/27 (100.0%)  format conformance 540/540 (100.0%, provisional)" \
        in out


def test_junit_and_sarif() -> None:
    path = str(EXAMPLES / "hospital" / "WS445.1.1-患者基本信息-有缺陷.csv")
    code, out = run(path, "--format", "junit")
    root = ET.fromstring(out)
    cases = root.findall(".//testcase")
    assert code == 1 and len(cases) == 2
    assert {c.get("classname") for c in cases} == {"WS445.1.1", "dataset"}
    assert all(c.find("failure") is not None for c in cases)
    assert root.get("tests") == "2" and root.get("failures") == "2"
    code, out = run(path, "--format", "sarif")
    sarif = json.loads(out)
    results = sarif["runs"][0]["results"]
    assert any(r["ruleId"] == "DS.ID_NUMBER_CHECK_DIGIT" and
               r["locations"][0]["physicalLocation"]["region"]["startLine"] == 6 for r in results)
    rule_ids = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert "DS.FORMAT" in rule_ids and "VOCAB.CODE_NOT_IN_VALUE_SET" in rule_ids
    props = sarif["runs"][0]["properties"]["datasets"][0]
    assert props["id"] == "WS445.1.1" and props["element_coverage"]["denominator"] == 27
    assert props["format_conformance"]["denominator"] == 539
    verdict = next(c for c in cases if c.get("classname") == "dataset")
    assert "27/27" in verdict.find("failure").get("message")
    assert "534/539" in verdict.find("failure").get("message")


def test_exit_codes_strict_and_usage(tmp_path: Path) -> None:
    gbk = [str(EXAMPLES / "hospital" / "门急诊病历-GBK.csv"), "--mapping",
           str(EXAMPLES / "hospital" / "门急诊病历-mapping.yaml")]
    assert run(*gbk)[0] == 0                       # a warning only
    assert run(*gbk, "--strict")[0] == 1           # but not 完全覆盖且符合
    code, out = run(str(tmp_path / "missing.csv"))
    assert code == 2 and "no such file" in out
    code, out = run(str(EXAMPLES / "hospital"), "--dataset", "WS445.99.1")
    assert code == 2 and "未知的数据集" in out
    code, out = run(str(EXAMPLES / "hospital"), "--dataset", "WS445.1.1", "--auto")
    assert code == 2
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really")
    code, data = run_json(str(bad))
    assert code == 1 and data["documents"][0]["findings"][0]["rule"] == "DS.FILE_FORMAT"


def test_truncation_counts_every_occurrence(tmp_path: Path) -> None:
    ex = ExampleData()
    ds = ex.defs.datasets["WS445.1.1"]
    p = tmp_path / "WS445.1.1-many.csv"
    ex.write_csv(p, ds, 30, defects={i: {"DE02.01.040.00": "5"} for i in range(30)})
    code, data = run_json(str(p), "--max-findings", "2")
    fs = data["documents"][0]["findings"]
    listed = [f for f in fs if f["rule"] == "DS.VALUE_NOT_ALLOWED"]
    assert len(listed) == 2
    trunc = [f for f in fs if f["rule"] == "DS.TRUNCATED"]
    assert trunc and trunc[0]["actual"] == "28" and trunc[0]["expected"] == "30"
    v = touched(data)["WS445.1.1"]
    assert v["defects"]["vocabulary"] == 30 and data["summary"]["errors"] >= 30


def test_detection_needs_a_decision_when_ambiguous(tmp_path: Path) -> None:
    ex = ExampleData()
    p = tmp_path / "export.csv"
    ex.write_csv(p, ex.defs.datasets["EHR-DE-12"], 3)   # same elements as EHR-DE-13
    code, data = run_json(str(p))
    f = data["documents"][0]["findings"][0]
    assert code == 1 and f["rule"] == "DS.DATASET_UNKNOWN"
    assert "EHR-DE-12" in f["message"] and "EHR-DE-13" in f["message"] and "--dataset" in f["message"]
    code, data = run_json(str(p), "--dataset", "EHR-DE-12")
    assert code == 0 and touched(data)["EHR-DE-12"]["verdict_key"] == "full"


def test_missing_and_empty_elements(tmp_path: Path) -> None:
    p = tmp_path / "WS445.3.1-处方.csv"
    p.write_text("患者姓名,性别代码,药物规格\n张三,1,\n李四,2,\n", encoding="utf-8")
    code, data = run_json(str(p))
    rules = [f["rule"] for f in data["documents"][0]["findings"]]
    assert "DS.ELEMENT_MISSING" in rules and "DS.ELEMENT_EMPTY" in rules
    v = touched(data)["WS445.3.1"]
    assert v["verdict_key"] == "partial" and v["elements"]["covered"] == 2
    assert v["element_coverage"]["numerator"] == 2 and v["element_coverage"]["denominator"] == 27
    assert {"id": "HDSD00.04.002", "internal_id": "HDSD00.04.002", "de": "DE01.00.020.00",
            "name": "处方编号"} in v["elements"]["missing"]
    # a missing element of the transcribed list is an error naming that basis
    missing = [f for f in data["documents"][0]["findings"] if f["rule"] == "DS.ELEMENT_MISSING"]
    assert missing and all(f["severity"] == "error" for f in missing)
    assert "厂商转录本" in missing[0]["message"] and v["provisional"] is False


def test_coverage_from_cda_documents(tmp_path: Path, synth, catalog) -> None:
    for code in ("C0001", "C0004", "C0004", "C0032"):
        p = tmp_path / f"{code}-{len(list(tmp_path.iterdir()))}.xml"
        p.write_bytes(synth.document_bytes(catalog.documents[code], 1))
    code, data = run_json(str(tmp_path))
    assert len(data["documents"]) == 4
    assert all(d["document_type"] in ("C0001", "C0004", "C0032") for d in data["documents"])
    got = touched(data)
    assert set(got) == {"WS445.1.1", "WS445.1.2", "WS445.1.3", "WS445.1.4", "WS445.3.1",
                        "WS445.10.1"}
    assert got["WS445.3.1"]["documents"] == 2
    assert got["WS445.3.1"]["elements"]["covered"] > 0


@pytest.mark.slow
def test_jobs_give_the_same_report(tmp_path: Path, monkeypatch) -> None:
    from conformance.datasets import readers

    monkeypatch.setattr(readers, "MIN_PARTITION_BYTES", 16 * 1024)
    ex = ExampleData()
    p = tmp_path / "WS445.1.3-big.csv"
    ex.write_csv(p, ex.defs.datasets["WS445.1.3"], 2000,
                 defects={i: {"DE02.01.060.00": "x"} for i in range(0, 2000, 37)})
    one = run_json(str(p), "--max-findings", "5")[1]
    two = run_json(str(p), "--max-findings", "5", "--jobs", "3")[1]
    auto = run_json(str(p), "--max-findings", "5", "--jobs", "0")[1]  # one per core
    assert auto["jobs"] == (os.cpu_count() or 1)
    for d in (one, two, auto):
        d.pop("jobs")
    assert one == two == auto
    assert touched(one)["WS445.1.3"]["records"] == 2000


@pytest.mark.slow
def test_dask_engine_same_report_as_local(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    ex = ExampleData()
    p = tmp_path / "WS445.1.1-x.csv"
    ex.write_csv(p, ex.defs.datasets["WS445.1.1"], 50,
                 defects={i: {"DE02.01.040.00": "x"} for i in range(0, 50, 7)})
    local = run_json(str(p))[1]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        code, dask = run_json(str(p), "--engine", "dask", "--scheduler",
                              cluster.scheduler_address)
    assert code == 1
    for d in (local, dask):
        d.pop("engine")
    assert dask == local


@pytest.mark.slow
def test_dask_unreachable_scheduler_is_a_usage_error(monkeypatch) -> None:
    from conformance import distributed

    monkeypatch.setattr(distributed, "CONNECT_TIMEOUT", "1s")
    code, out = run(str(EXAMPLES / "hospital" / "WS445.1.1-患者基本信息.csv"), "--engine", "dask",
                    "--scheduler", "tcp://127.0.0.1:9")
    assert code == 2 and "Dask" in out


# ---------------------------------------------------------------- a patient table (issue 13)
def _patient_table(tmp_path: Path, header: list[str]) -> Path:
    """Name, gender, birth date, ID number, an institution column and two time columns; row 2
    has the gender code 3, row 3 an impossible birth date, row 4 an ID number with a wrong
    check character, row 5 no name."""
    from datetime import date

    from conformance.synth import resident_id

    good = [("张三", "1", date(1980, 1, 1)), ("李四", "2", date(1985, 5, 5)),
            ("王五", "1", date(1990, 2, 3)), ("赵六", "2", date(1991, 7, 8)),
            ("钱七", "1", date(1975, 12, 31))]
    rows = []
    for k, (name, gender, birth) in enumerate(good):
        rows.append([name, gender, f"{birth:%Y%m%d}", resident_id("110101", birth, k, gender),
                     "4401060001", f"2024030{k + 1}T080000", f"2024-03-0{k + 1} 09:00:00"])
    rows[1][1] = "3"
    rows[2][2] = "19991332"
    rows[3][3] = rows[3][3][:17] + ("0" if rows[3][3][17] != "0" else "1")
    rows[4][0] = ""
    p = tmp_path / "export.csv"
    p.write_text("\n".join(",".join(r) for r in [header] + rows) + "\n", encoding="utf-8")
    return p


PATIENT_HEADER = ["姓名", "性别代码", "出生日期", "身份证件号码", "建档医疗机构组织机构", "建档日期时间",
                  "更新时间"]


def test_patient_table_is_detected_and_its_defects_are_errors(tmp_path: Path) -> None:
    p = _patient_table(tmp_path, PATIENT_HEADER)
    code, data = run_json(str(p))
    doc = data["documents"][0]
    assert code == 1 and doc["document_type"] == "WS445.1.1"
    fs = doc["findings"]
    det = next(f for f in fs if f["rule"] == "DS.DATASET_DETECTED")
    assert det["severity"] == "info" and "WS445.1.1 患者基本信息" in det["message"]
    assert "7 列中 6 列" in det["message"] and "次选 EHR-DE-" in det["message"]
    planted = {(f["rule"], f["line"], f["column"]) for f in fs if f["severity"] == "error"
               and f["line"] and f["rule"] != "DS.ELEMENT_MISSING"}
    assert planted == {("DS.VALUE_NOT_ALLOWED", 3, 2), ("DS.DATE_INVALID", 4, 3),
                       ("DS.ID_NUMBER_CHECK_DIGIT", 5, 4), ("DS.REQUIRED_EMPTY", 6, 1)}
    v = touched(data)["WS445.1.1"]
    assert v["element_coverage"] == {"numerator": 6, "denominator": 27,
                                     "value": round(6 / 27, 4)}
    assert v["format_conformance"]["denominator"] == 29    # 6 columns × 5 rows, one empty
    assert v["format_conformance"]["numerator"] == 28      # 19991332
    assert v["verdict_key"] == "partial" and not v["provisional"]
    code, out = run(str(p), "--lang", "en")
    assert "DS.DATASET_DETECTED" in out and "runner-up EHR-DE-" in out
    assert "element coverage 6/27 (22.2%)" in out


def test_bare_de_headers_bind_in_order_and_say_so(tmp_path: Path) -> None:
    header = ["DE02.01.039.00", "DE02.01.040.00", "DE02.01.005.01", "DE02.01.030.00",
              "DE08.10.052.00", "DE06.00.218.00", "DE02.01.039.00 联系人姓名"]
    p = _patient_table(tmp_path, header)
    code, data = run_json(str(p), "--dataset", "WS445.1.1")
    fs = data["documents"][0]["findings"]
    warn = [f for f in fs if f["rule"] == "DS.COLUMN_DE_AMBIGUOUS"]
    assert len(warn) == 1 and warn[0]["severity"] == "warning" and warn[0]["column"] == 1
    msg = warn[0]["message"]
    assert "HDSD00.02.027 患者姓名" in msg and "HDSD00.02.034 建档者姓名" in msg
    assert "已按标准中的顺序对应到其中第一个未被其他列占用的：患者姓名（HDSD00.02.027" in msg
    bound = [f for f in fs if f["rule"] == "DS.COLUMN_BOUND"]
    assert [(f["column"], f["actual"], f["expected"]) for f in bound] == [
        (7, "2", "DE02.01.039.00")]
    # the bare column is checked as 患者姓名: its empty value is the required-name error
    assert any(f["rule"] == "DS.REQUIRED_EMPTY" and f["line"] == 6 for f in fs)
    assert code == 1 and touched(data)["WS445.1.1"]["element_coverage"]["numerator"] == 7


def test_every_format_reports_the_two_figures(tmp_path: Path) -> None:
    p = _patient_table(tmp_path, PATIENT_HEADER)
    code, out = run(str(p), "--format", "junit")
    case = next(c for c in ET.fromstring(out).iter("testcase") if c.get("classname") == "dataset")
    assert "数据元覆盖 6/27" in case.find("failure").get("message")
    assert "格式符合 28/29" in case.find("failure").get("message")
    sarif = json.loads(run(str(p), "--format", "sarif")[1])
    v = sarif["runs"][0]["properties"]["datasets"][0]
    assert (v["element_coverage"]["numerator"], v["format_conformance"]["numerator"]) == (6, 28)
    assert any(r["ruleId"] == "DS.DATASET_DETECTED" and r["level"] == "note"
               for r in sarif["runs"][0]["results"])
    clean = cases_dir() / "datasets" / "hospital" / "WS445.1.1-患者基本信息.csv"
    root = ET.fromstring(run(str(clean), "--format", "junit")[1])
    ok = next(c for c in root.iter("testcase") if c.get("classname") == "dataset")
    assert ok.find("failure") is None and "540/540" in ok.find("system-out").text


def test_documents_say_which_missing_elements_they_cannot_locate(tmp_path: Path, synth,
                                                                 catalog) -> None:
    p = tmp_path / "C0004-1.xml"
    p.write_bytes(synth.document_bytes(catalog.documents["C0004"], 1))
    code, data = run_json(str(p))
    v = touched(data)["WS445.3.1"]
    located = {m["name"]: m["located"] for m in v["elements"]["missing"]}
    assert located and not all(located.values()) and v["format_conformance"]["denominator"] == 0
    code, out = run(str(p))
    assert "格式符合 未测（文档）" in out and "在 CDA 文档中的位置未知" in out


def test_profile_of_the_other_inputs() -> None:
    from conformance.datasets.definitions import load_definitions
    from conformance.datasets.runner import RunOptions, TableWork, preferred_profile

    defs = load_definitions()
    hosp, reg = defs.datasets["WS445.4.2"], defs.datasets["EHR-DE-01"]
    works = [TableWork("a", dataset=hosp), TableWork("b", dataset=hosp),
             TableWork("c", dataset=reg), TableWork("d")]
    assert preferred_profile(works, RunOptions()) == "hospital"
    assert preferred_profile(works[1:3], RunOptions()) is None      # split evenly
    assert preferred_profile(works, RunOptions(profiles=("regional",))) == "regional"


def test_scoring_evidence_names_where_the_list_comes_from(tmp_path: Path) -> None:
    """The datasets binding of item 2.1.1.1 scores from the verdict and its evidence says the
    element list is the transcribed WS 445 table."""
    from conformance.scoring.definition import get_definition
    from conformance.scoring.engine import score
    from conformance.scoring.results import load_results

    out = tmp_path / "datasets.json"
    code, _ = run(str(cases_dir() / "datasets" / "hospital" / "WS445.1.1-患者基本信息.csv"),
                  "--format", "json", "-o", str(out))
    assert code == 0
    sc, _ = score(get_definition("hospital-2020"), load_results([], out), None)
    r = next(x for x in sc.results if x.item.code == "2.1.1.1")
    assert r.source == "datasets" and r.status == "met"
    assert "ws445-transcription (transcribed)" in r.evidence[0]["element_list"]


def test_shipped_examples_are_current(tmp_path: Path) -> None:
    """`python -m conformance.datasets.examples` reproduces test_cases/datasets/ (text files;
    the workbook carries timestamps)."""
    from conformance.datasets.examples import build_examples

    for p in build_examples(tmp_path):
        if p.suffix == ".xlsx":
            continue
        shipped = EXAMPLES / p.relative_to(tmp_path)
        assert shipped.read_bytes() == p.read_bytes(), (
            f"{shipped} is out of date: run `python -m conformance.datasets.examples`")


def test_json_decodes_as_the_datasets_artifact(tmp_path: Path) -> None:
    """The figures are the Ratio fields of the datasets.json model (model/datasets.py)."""
    from conformance.model.io import datasets_json

    out = tmp_path / "datasets.json"
    run(str(_patient_table(tmp_path, PATIENT_HEADER)), "--format", "json", "-o", str(out))
    res = datasets_json.loads(out.read_bytes())
    v = next(x for x in res.datasets if x.id == "WS445.1.1")
    assert (v.element_coverage.numerator, v.element_coverage.denominator) == (6, 27)
    assert (v.format_conformance.numerator, v.format_conformance.denominator) == (28, 29)
    assert {m.internal_id for m in v.elements.missing} >= {"HDSD00.02.039", "HDSD00.02.034"}


def test_check_into_a_run_folder_writes_datasets_json_through_the_codec(tmp_path: Path) -> None:
    """The engine API assess uses: datasets.json in the folder, loadable and schema-valid, the
    same verdicts the CLI prints."""
    import jsonschema

    from conformance.datasets import api
    from conformance.model.folder import RunFolder
    from conformance.model.io.schemas import shipped

    folder = RunFolder(tmp_path)
    out = api.check_into(folder, [str(EXAMPLES / "hospital")], api.DatasetOptions(lang="en"))
    loaded = folder.datasets
    assert loaded is not None and loaded.datasets == out.verdicts
    assert any(v.verdict_key != "none" for v in loaded.datasets)
    assert loaded.summary.documents == out.summary.documents > 0
    jsonschema.validate(json.loads((tmp_path / "datasets.json").read_text("utf-8")),
                        shipped("datasets"))
