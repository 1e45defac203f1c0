"""Mapping files and column binding: every mistake is a clear error naming file, line and fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.datasets.definitions import load_definitions
from conformance.datasets.mapping import MappingError, bind, detect, load_mapping


@pytest.fixture(scope="module")
def defs():
    return load_definitions()


def mapping(tmp_path: Path, text: str, name: str = "m.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def load(tmp_path: Path, defs, text: str, name: str = "m.yaml"):
    return load_mapping(str(mapping(tmp_path, text, name)), defs)


def test_good_mapping_binds_columns(tmp_path, defs) -> None:
    m = load(tmp_path, defs, "dataset: 患者基本信息\ncolumns:\n  XM: DE02.01.039.00\n  XB: 性别代码\n"
                              "  BZ: '-'\n  SFZ: de02_01_030_00\n")
    sec = m.for_file("any.csv")
    assert sec.dataset == "WS445.1.1"
    ds = defs.datasets["WS445.1.1"]
    b = bind(ds, ["XM", "XB", "BZ", "SFZ", "其他"], ["XM", "XB", "BZ", "SFZ", "其他"], sec)
    assert [(c, e) for c, e, _ in b.bindings] == [(0, "DE02.01.039.00"), (1, "DE02.01.040.00"),
                                                 (3, "DE02.01.030.00")]
    assert b.unmapped == [(4, "其他")]


@pytest.mark.parametrize("text,pattern", [
    ("dataset: WS445.1.1\ncolumns:\n  XM: DE02.01.039.00\n   XB: x\n", r"m\.yaml:4:\d+: YAML syntax error"),
    ("dataset: WS445.9.9\ncolumns: {XM: DE02.01.039.00}\n", r"m\.yaml:1: unknown data set 'WS445\.9\.9'"),
    ("dataset: 患者基本信心\ncolumns: {XM: DE02.01.039.00}\n", r"Did you mean .*患者基本信息"),
    ("dataset: WS445.1.1\ncolumns:\n  XM: 患者姓命\n",
     r"m\.yaml:3: '患者姓命' \(column 'XM'\) is not a data element of WS445\.1\.1 .*Did you mean 患者姓名"),
    ("dataset: WS445.1.1\ncolumns:\n  XM: DE02.01.039.00\n  NAME: 患者姓名\n",
     r"m\.yaml:4: columns 'XM' and 'NAME' both map to 患者姓名"),
    ("dataset: WS445.2.1\ncolumns:\n  A: DE05.01.024.00\n", None),
    ("dataset: WS445.5.2\ncolumns:\n  ZD: DE05.01.024.00\n", r"ambiguous in WS445\.5\.2: it may be "),
    ("dataset: WS445.1.1\ncolumns:\n  XM: [a, b]\n", r"m\.yaml:3: column 'XM' must name one data element"),
    ("dataset: WS445.1.1\ncolumns: [XM]\n", r"m\.yaml:2: 'columns' must map column headers"),
    ("datset: WS445.1.1\ncolumns: {XM: DE02.01.039.00}\n", r"m\.yaml:1: unknown key 'datset'"),
    ("columns:\n  XM: DE99.99.999.99\n", r"m\.yaml:2: 'DE99\.99\.999\.99' \(column 'XM'\) is not a data "
                                         r"element of any data set"),
    ("tables:\n  - dataset: WS445.1.1\n", r"m\.yaml:2: each 'tables' entry needs 'match'"),
    ("- a\n- b\n", r"a YAML mapping with 'columns'"),
])
def test_mapping_mistakes_are_clear(tmp_path, defs, text, pattern) -> None:
    if pattern is None:  # a valid mapping (control)
        load(tmp_path, defs, text)
        return
    with pytest.raises(MappingError, match=pattern):
        load(tmp_path, defs, text)


def test_ambiguous_code_can_be_resolved_with_the_element_id(tmp_path, defs) -> None:
    ds = defs.datasets["WS445.5.2"]
    ids = [e.id for e in ds.elements if e.de == "DE05.01.024.00"]
    assert len(ids) > 1
    m = load(tmp_path, defs, f"dataset: WS445.5.2\ncolumns:\n  ZD: \"{ids[0]}\"\n")
    assert m.for_file("x.csv").columns == {"ZD": ids[0]}


def test_csv_mapping(tmp_path, defs) -> None:
    m = load(tmp_path, defs, "column,element,dataset\nXM,DE02.01.039.00,WS445.1.1\nXB,性别代码,WS445.1.1\n",
             "m.csv")
    assert m.for_file("a.csv").columns == {"XM": "DE02.01.039.00", "XB": "DE02.01.040.00"}
    with pytest.raises(MappingError, match=r"m2\.csv:1: a CSV mapping file needs a header row"):
        load(tmp_path, defs, "a,b\n", "m2.csv")
    with pytest.raises(MappingError, match=r"m3\.csv:3: column 'XM' is mapped twice"):
        load(tmp_path, defs, "column,element\nXM,DE02.01.039.00\nXM,性别代码\n", "m3.csv")


def test_per_file_sections(tmp_path, defs) -> None:
    m = load(tmp_path, defs, "columns: {XM: DE02.01.039.00}\ntables:\n  - match: 'mz_*.csv'\n"
                              "    dataset: WS445.2.1\n    columns: {MZH: 门（急）诊号}\n")
    assert m.for_file("mz_2024.csv").dataset == "WS445.2.1"
    assert m.for_file("other.csv").columns == {"XM": "DE02.01.039.00"}


def test_mapping_gbk_file(tmp_path, defs) -> None:
    p = tmp_path / "g.yaml"
    p.write_bytes("dataset: WS445.1.1\ncolumns:\n  姓名: 患者姓名\n".encode("gbk"))
    assert load_mapping(str(p), defs).for_file("x").columns == {"姓名": "DE02.01.039.00"}


def test_headers_resolve_by_code_name_and_both(defs) -> None:
    ds = defs.datasets["WS445.1.1"]
    cols = ["DE02.01.039.00", "性别代码", "出生日期(DE02.01.005.01)", "DE02_01_030_00", "民 族"]
    b = bind(ds, cols, cols, None)
    assert [e for _, e, _ in b.bindings] == ["DE02.01.039.00", "DE02.01.040.00", "DE02.01.005.01",
                                            "DE02.01.030.00", "DE02.01.025.00"]


def test_duplicate_and_ambiguous_columns(defs) -> None:
    ds = defs.datasets["WS445.5.2"]
    cols = ["患者姓名", "DE02.01.039.00", "DE05.01.024.00"]
    b = bind(ds, cols, cols, None)
    assert b.duplicate and b.duplicate[0][:2] == (1, "DE02.01.039.00")
    assert b.ambiguous and b.ambiguous[0][0] == 2


def test_detect_by_file_name_then_headers(defs) -> None:
    assert detect(defs, ["EHR-DE-11-死亡医学证明信息-T01.xml"], [], [], None, set())[0].id == \
        "EHR-DE-11"
    assert detect(defs, ["2024-住院病案首页.csv"], [], [], None, set())[0].id == "WS445.10.1"
    cols = ["患者姓名", "身份证件号码", "性别代码", "出生日期", "婚姻状况代码", "民族"]
    assert detect(defs, ["x.csv"], cols, cols, None, set())[0].id == "WS445.1.1"
    ds, why = detect(defs, ["x.csv"], ["甲", "乙"], ["甲", "乙"], None, set())
    assert ds is None and "没有任何列" in why


def test_cli_mapping_error_exit_2(tmp_path) -> None:
    m = mapping(tmp_path, "dataset: WS445.1.1\ncolumns:\n  XM: 不存在的数据元\n")
    data = tmp_path / "a.csv"
    data.write_text("XM\n张三\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["validate-dataset", str(data), "--mapping", str(m)])
    assert r.exit_code == 2
    assert "映射文件有误" in r.output and "m.yaml:3" in r.output and "Traceback" not in r.output


def test_cli_mapping_column_absent_is_reported(tmp_path) -> None:
    m = mapping(tmp_path, "dataset: WS445.1.1\ncolumns:\n  XM: 患者姓名\n  XB: 性别代码\n")
    data = tmp_path / "a.csv"
    data.write_text("XM\n张三\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["validate-dataset", str(data), "--mapping", str(m), "--format",
                                  "json", "--lang", "en"])
    import json

    doc = json.loads(r.output)["documents"][0]
    absent = [f for f in doc["findings"] if f["rule"] == "DS.MAPPING_COLUMN_ABSENT"]
    assert absent and "XB" in absent[0]["message"]
