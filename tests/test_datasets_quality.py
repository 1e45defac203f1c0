"""The data-quality scorecard: every coefficient and dimension on a small hand-computed table,
the JSON shape (Chinese name + English id + definition), the problem list, and the same figures
from --jobs and from a Dask local cluster."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conformance.cli import main
from conformance.datasets.definitions import load_definitions
from conformance.datasets.quality import run_quality
from conformance.datasets.readers import expand_sources
from conformance.datasets.runner import RunOptions, SerialExecutor
from conformance.resources import standards_dir
from conformance.resources import test_cases_dir as cases_dir
from conformance.synth import resident_id

GENDER = "2.16.156.10011.2.3.3.4"

TEST_SET = {
    "id": "TEST.1", "profile": "hospital", "name": "测试数据集", "status": "seen",
    "elements_status": "seen",
    "elements": [
        {"id": "DE02.01.039.00", "de": "DE02.01.039.00", "name": "患者姓名", "data_type": "S1",
         "format": "A..50", "required": True, "status": "seen"},
        {"id": "DE02.01.030.00", "de": "DE02.01.030.00", "name": "身份证件号码", "data_type": "S1",
         "format": "AN..18", "required": True, "status": "seen", "check": "resident_id"},
        {"id": "DE02.01.040.00", "de": "DE02.01.040.00", "name": "性别代码", "data_type": "S3",
         "format": "N1", "value_set": GENDER, "status": "seen"},
        {"id": "DE06.00.092.00", "de": "DE06.00.092.00", "name": "入院日期时间", "data_type": "DT",
         "format": "DT15", "status": "seen"},
        {"id": "DE06.00.017.00", "de": "DE06.00.017.00", "name": "出院日期时间", "data_type": "DT",
         "format": "DT15", "status": "seen"},
        {"id": "DE04.10.186.00", "de": "DE04.10.186.00", "name": "体温", "data_type": "N",
         "format": "N..4,1", "status": "seen"},
    ],
}
REG_SET = {
    "id": "REG.1", "profile": "hospital", "name": "登记", "status": "seen", "elements_status": "seen",
    "elements": [
        {"id": "DE02.01.039.00", "de": "DE02.01.039.00", "name": "患者姓名", "data_type": "S1",
         "format": "A..50", "status": "seen"},
        {"id": "DE02.01.030.00", "de": "DE02.01.030.00", "name": "身份证件号码", "data_type": "S1",
         "format": "AN..18", "status": "seen", "check": "resident_id"},
        {"id": "DE02.01.040.00", "de": "DE02.01.040.00", "name": "性别代码", "data_type": "S3",
         "format": "N1", "value_set": GENDER, "status": "seen"},
        {"id": "DE02.01.005.01", "de": "DE02.01.005.01", "name": "出生日期", "data_type": "D",
         "format": "D8", "status": "seen"},
    ],
}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> dict:
    """Definitions with two tiny data sets, a registry and a 5-row table (2 institutions)."""
    tmp = tmp_path_factory.mktemp("quality")
    root = tmp / "datasets"
    (root / "ws445").mkdir(parents=True)
    for f in ("formats.yaml", "profiles.yaml", "rules.yaml"):
        shutil.copy(standards_dir() / "datasets" / f, root / f)
    q = yaml.safe_load((standards_dir() / "datasets" / "quality.yaml").read_text(encoding="utf-8"))
    q["registry_datasets"] = ["REG.1"]
    (root / "quality.yaml").write_text(yaml.safe_dump(q, allow_unicode=True), encoding="utf-8")
    for ds in (TEST_SET, REG_SET):
        (root / "ws445" / f"{ds['id']}.yaml").write_text(yaml.safe_dump(ds, allow_unicode=True),
                                                        encoding="utf-8")
    id1 = resident_id("110101", date(1980, 1, 1), 1, "1")
    id2 = resident_id("110101", date(1985, 5, 5), 2, "2")
    id3 = resident_id("110101", date(1990, 1, 1), 3, "1")
    id4 = resident_id("110101", date(1991, 1, 1), 4, "2")     # not registered
    bad = id1[:17] + ("0" if id1[17] != "0" else "1")         # wrong check character
    (tmp / "REG.1-登记.csv").write_text(
        "患者姓名,身份证件号码,性别代码,出生日期\n"
        f"张三,{id1},1,19800101\n李四,{id2},2,19850505\n王五,{id3},1,19900101\n", encoding="utf-8")
    rows = [
        f"A,张三,{id1},1,20240301T080000,20240305T080000,36.5,2024-03-01 20:00:00",
        f"A,李四,{id2},3,20240302T080000,20240301T080000,36.8,2024-03-04 08:00:00",
        f"B,王五,{id3},1,20240303T080000,,50.0,2024-03-03 09:00:00",
        f"B,赵六,{id4},2,20240304T080000,20240306T080000,37.0,",
        f"B,,{bad},1,20990101T000000,20990102T000000,36.0,2024-03-05 08:00:00",
    ]
    (tmp / "TEST.1-数据.csv").write_text(
        "机构,患者姓名,身份证件号码,性别代码,入院日期时间,出院日期时间,体温,上传时间\n"
        + "\n".join(rows) + "\n", encoding="utf-8")
    return {"tmp": tmp, "root": str(root)}


def scorecard(small: dict, executor=None, **kw) -> dict:
    defs = load_definitions(small["root"])
    opts = RunOptions(quality=True, by="机构", now="20240601000000", max_examples=3,
                      standards_dir=small["root"], **kw)
    srcs = expand_sources([str(small["tmp"] / "TEST.1-数据.csv")])
    reg = expand_sources([str(small["tmp"] / "REG.1-登记.csv")])
    card, problems, io_errors = run_quality(srcs, reg, opts, defs, executor or SerialExecutor(),
                                            {"tool": {"name": "conformance"}})
    assert not problems and not io_errors
    return card


def figures(card: dict, inst: str) -> dict[str, float | None]:
    i = next(x for x in card["institutions"] if x["institution"] == inst)
    d = next(x for x in i["datasets"] if x["dataset"] == "TEST.1")
    out = {f"emr.{v['id']}": v["value"] for v in d["emr_coefficients"].values()}
    out.update({f"gov.{v['id']}": v["value"] for v in d["governance_dimensions"].values()})
    return out


def test_hand_computed_figures(small) -> None:
    card = scorecard(small)
    assert card["registry"]["patients"] == 3
    a = figures(card, "A")
    # A: row 1 clean; row 2 gender "3" (not in GB/T 2261.1), admission after discharge,
    # uploaded 48 h after admission, gender disagrees with the registration
    assert a == {
        "emr.consistency": 0.5,        # 1 of 2 records consistent with the dictionary
        "emr.completeness": 1.0,       # both required elements filled in both records
        "emr.integration": 1.0,        # both ID numbers are registered
        "emr.timeliness": 0.5,         # 4 time items, the 2 of row 2 out of order
        "gov.conformity": round(11 / 12, 4),   # 12 non-empty values, 1 fails (gender 3)
        "gov.completeness": 1.0,       # 4 of 4 required cells
        "gov.accuracy": 1.0,           # 9 plausibility checks, all pass
        "gov.timeliness": 0.5,         # 12 h ok, 48 h late
        "gov.linkage": 0.5,            # row 2 disagrees on the gender code
        "gov.usefulness": 1.0,         # 5 application elements, all filled
    }
    b = figures(card, "B")
    # B: row 3 temperature 50 (implausible), no discharge time; row 4 not registered, no upload
    # time; row 5 no name, a wrong ID check character, dates in the future, uploaded before
    assert b == {
        "emr.consistency": 1.0,
        "emr.completeness": round(2 / 3, 4),
        "emr.integration": round(1 / 3, 4),
        "emr.timeliness": 0.5,         # row 4: 2 items in order; row 5: 2 items in the future
        "gov.conformity": 1.0,         # 16 non-empty values, none fails format/type/value set
        "gov.completeness": round(5 / 6, 4),
        "gov.accuracy": round(10 / 14, 4),
        "gov.timeliness": 0.5,         # 1 h ok; row 5 uploaded before the event
        "gov.linkage": round(1 / 3, 4),
        "gov.usefulness": round((2 / 3 + 1 + 1 + 1 + 2 / 3) / 5, 4),
    }


def test_json_shape_definitions_and_issue_list(small) -> None:
    card = scorecard(small)
    names = [d["name"] for d in card["definitions"]["emr_coefficients"]]
    assert names == ["一致性", "完整性", "整合性", "及时性"]
    gov = card["definitions"]["governance_dimensions"]
    assert [d["name"] for d in gov] == ["规范性", "完整性", "准确性", "及时性", "关联性", "实用性"]
    assert [d["id"] for d in gov] == ["conformity", "completeness", "accuracy", "timeliness",
                                      "linkage", "usefulness"]
    assert all(d["provisional"] and d["definition"] and d["formula"] for d in gov)
    inst = next(x for x in card["institutions"] if x["institution"] == "B")
    fig = inst["datasets"][0]["governance_dimensions"]["准确性"]
    assert fig["id"] == "accuracy" and fig["numerator"] == 10 and fig["denominator"] == 14
    assert "合理性检查" in fig["definition"]
    assert inst["datasets"][0]["governance_dimensions"]["及时性"]["delay_hours"][
        "upload_before_event"] == 1
    rules = {i["rule"]: i for i in inst["issues"]}
    assert {"QA.OUT_OF_RANGE", "QA.UNLINKED", "QA.FUTURE_DATE", "DS.ID_NUMBER_CHECK_DIGIT",
            "DS.REQUIRED_EMPTY", "QA.UPLOAD_BEFORE_EVENT"} <= set(rules)
    assert sum(i["count"] for i in inst["issues"] if i["rule"] == "QA.FUTURE_DATE") == 2
    ex = rules["QA.OUT_OF_RANGE"]["examples"][0]
    assert ex["row"] == 4 and ex["column"] == 7 and ex["value"] == "50.0"
    a = next(x for x in card["institutions"] if x["institution"] == "A")
    assert {i["rule"] for i in a["issues"]} >= {"DS.VALUE_NOT_ALLOWED", "QA.TIME_ORDER",
                                               "QA.LATE_UPLOAD", "QA.IDENTITY_CONFLICT"}
    assert a["overall"]["records"] == 2


def test_local_jobs_give_the_same_figures(small) -> None:
    from conformance.datasets.runner import PoolExecutor

    assert scorecard(small, PoolExecutor(2), jobs=2)["institutions"] == \
        scorecard(small)["institutions"]


@pytest.mark.slow
def test_dask_gives_the_same_figures_as_local(small) -> None:
    distributed = pytest.importorskip("distributed")
    from conformance.datasets.runner import DaskExecutor

    local = scorecard(small)["institutions"]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        ex = DaskExecutor(cluster.scheduler_address, 1)
        try:
            assert scorecard(small, ex, engine="dask")["institutions"] == local
        finally:
            ex.close()


def test_cli_on_the_shipped_quality_example(tmp_path: Path) -> None:
    folder = cases_dir() / "datasets" / "quality"
    out = tmp_path / "card.json"
    r = CliRunner().invoke(main, ["quality", str(folder), "--by", "机构", "--now",
                                  "20240601000000", "--format", "json", "--output", str(out)])
    assert r.exit_code == 0, r.output
    card = json.loads(out.read_text(encoding="utf-8"))
    insts = {i["institution"]: i for i in card["institutions"]}
    assert set(insts) == {"市第一人民医院", "区中医院", "社区卫生服务中心"}
    clean = insts["市第一人民医院"]["overall"]["governance_dimensions"]
    late = insts["区中医院"]["overall"]["governance_dimensions"]
    assert clean["及时性"]["value"] == 1.0 and late["及时性"]["value"] < 0.5
    assert insts["社区卫生服务中心"]["overall"]["emr_coefficients"]["完整性"]["value"] < 1
    assert any(i["rule"] == "QA.IDENTITY_CONFLICT" for i in insts["区中医院"]["issues"])
    r = CliRunner().invoke(main, ["quality", str(folder), "--by", "机构", "--now", "20240601000000"])
    assert r.exit_code == 0
    assert "一致性" in r.output and "规范性" in r.output and "问题清单 · 区中医院" in r.output
    assert "= 与字典一致的记录数 / 记录总数" in r.output


def test_cli_quality_usage_errors(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["quality", str(tmp_path / "none.csv")])
    assert r.exit_code == 2 and "no such file" in r.output
    r = CliRunner().invoke(main, ["quality", str(cases_dir() / "datasets" / "quality"),
                                  "--now", "2024"])
    assert r.exit_code == 2 and "yyyyMMddHHmmss" in r.output
