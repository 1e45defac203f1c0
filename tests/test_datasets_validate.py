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
    assert v["verdict"] == "部分符合" and v["provisional"] is True
    assert v["records"] == 20 and v["elements"]["covered"] == v["elements"]["total"]
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
    # defect injected in data row index 4 → file line 6; 身份证件号码 is the 5th column
    header = (EXAMPLES / "hospital" / "WS445.1.1-患者基本信息-有缺陷.csv").read_text(
        encoding="utf-8").splitlines()[0].split(",")
    assert f["line"] == 6 and f["column"] == header.index("身份证件号码") + 1
    assert f["xpath"] == "身份证件号码" and f["severity"] == "error"
    assert by_rule["DS.VALUE_NOT_ALLOWED"]["line"] == 4   # "男" in row index 2
    assert by_rule["DS.REQUIRED_EMPTY"]["line"] == 12


def test_text_report_and_english() -> None:
    code, out = run(str(EXAMPLES / "hospital" / "WS445.1.1-患者基本信息-有缺陷.csv"))
    assert code == 1 and "数据集判定" in out and "部分符合（暂定）" in out and "其余 57 个数据集" in out
    code, out = run(str(EXAMPLES / "hospital" / "WS445.1.1-患者基本信息.csv"), "--lang", "en")
    assert code == 0 and "fully covered and conformant (provisional)" in out


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
    assert sarif["runs"][0]["properties"]["datasets"][0]["id"] == "WS445.1.1"


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
    assert {"id": "DE02.01.030.00", "name": "身份证件号码"} in v["elements"]["missing"]


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


def test_dask_unreachable_scheduler_is_a_usage_error(monkeypatch) -> None:
    from conformance.datasets import runner

    monkeypatch.setattr(runner, "DASK_CONNECT_TIMEOUT", "1s")
    code, out = run(str(EXAMPLES / "hospital" / "WS445.1.1-患者基本信息.csv"), "--engine", "dask",
                    "--scheduler", "tcp://127.0.0.1:9")
    assert code == 2 and "Dask" in out
