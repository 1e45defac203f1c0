"""Mapping files and column binding: every mistake is a clear error naming file, line and fix;
elements sharing a DE id are told apart by internal id and name; detection ranks the candidates
and names the runner-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.datasets.definitions import load_definitions
from conformance.datasets.mapping import MappingError, bind, choose, detect, detect_table, load_mapping, rank


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
    m = load(tmp_path, defs, "dataset: 患者基本信息\ncolumns:\n  XM: 患者姓名\n  XB: 性别代码\n"
                              "  BZ: '-'\n  SFZ: de02_01_030_00\n  LXR: HDSD00.02.039\n"
                              "  JDZ: DE02.01.039.00 建档者姓名\n  LXDH: 联系人电话号码(DE02.01.010.00)\n")
    sec = m.for_file("any.csv")
    assert sec.dataset == "WS445.1.1"
    ds = defs.datasets["WS445.1.1"]
    cols = ["XM", "XB", "BZ", "SFZ", "其他", "LXR", "JDZ", "LXDH"]
    b = bind(ds, cols, cols, sec)
    assert [(c, e) for c, e, _ in b.bindings] == [
        (0, "HDSD00.02.027"), (1, "HDSD00.02.050"), (3, "HDSD00.02.025"), (5, "HDSD00.02.039"),
        (6, "HDSD00.02.034"), (7, "HDSD00.02.038")]
    assert b.unmapped == [(4, "其他")] and not b.guessed


def test_mapping_refuses_a_bare_shared_de_id(tmp_path, defs) -> None:
    """A mapping file states the binding: DE02.01.039.00 alone could be three elements of
    患者基本信息, so the file must say which (headers of an export are bound, with a warning)."""
    with pytest.raises(MappingError) as exc:
        load(tmp_path, defs, "dataset: WS445.1.1\ncolumns:\n  XM: DE02.01.039.00\n")
    msg = str(exc.value)
    assert "m.yaml:3:" in msg and "ambiguous in WS445.1.1" in msg
    assert "HDSD00.02.027 患者姓名" in msg and "HDSD00.02.039 联系人姓名" in msg
    assert "HDSD00.02.034 建档者姓名" in msg and "internal id" in msg


@pytest.mark.parametrize("text,pattern", [
    ("dataset: WS445.1.1\ncolumns:\n  XM: DE02.01.039.00\n   XB: x\n", r"m\.yaml:4:\d+: YAML syntax error"),
    ("dataset: WS445.9.9\ncolumns: {XM: DE02.01.039.00}\n", r"m\.yaml:1: unknown data set 'WS445\.9\.9'"),
    ("dataset: 患者基本信心\ncolumns: {XM: DE02.01.039.00}\n", r"Did you mean .*患者基本信息"),
    ("dataset: WS445.1.1\ncolumns:\n  XM: 患者姓命\n",
     r"m\.yaml:3: '患者姓命' \(column 'XM'\) is not a data element of WS445\.1\.1 .*Did you mean 患者姓名"),
    ("dataset: WS445.1.1\ncolumns:\n  XM: HDSD00.02.027\n  NAME: 患者姓名\n",
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
    m = load(tmp_path, defs, "column,element,dataset\nXM,患者姓名,WS445.1.1\nXB,性别代码,WS445.1.1\n"
                              "LXR,HDSD00.02.039,WS445.1.1\n", "m.csv")
    assert m.for_file("a.csv").columns == {"XM": "HDSD00.02.027", "XB": "HDSD00.02.050",
                                           "LXR": "HDSD00.02.039"}
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
    assert load_mapping(str(p), defs).for_file("x").columns == {"姓名": "HDSD00.02.027"}


def test_headers_resolve_by_code_name_and_both(defs) -> None:
    ds = defs.datasets["WS445.1.1"]
    cols = ["性别代码", "出生日期(DE02.01.005.01)", "DE02_01_030_00", "民 族", "HDSD00.02.039",
            "DE02.01.039.00 建档者姓名", "联系人电话号码", "姓名(DE02.01.039.00)", "电话号码"]
    b = bind(ds, cols, cols, None)
    got = {cols[c]: e for c, e, _ in b.bindings}
    assert got == {"性别代码": "HDSD00.02.050", "出生日期(DE02.01.005.01)": "HDSD00.02.004",
                   "DE02_01_030_00": "HDSD00.02.025", "民 族": "HDSD00.02.042",
                   "HDSD00.02.039": "HDSD00.02.039", "DE02.01.039.00 建档者姓名": "HDSD00.02.034",
                   "联系人电话号码": "HDSD00.02.038",
                   "姓名(DE02.01.039.00)": "HDSD00.02.027",   # 患者 is an optional leading word
                   "电话号码": "HDSD00.02.023"}     # the name the project used for 患者电话号码
    assert not b.guessed and not b.unmapped


def test_bare_shared_de_ids_bind_in_order_to_free_occurrences(defs) -> None:
    ds = defs.datasets["WS445.1.1"]
    # 联系人姓名 is named; the two bare DE02.01.039.00 columns take 患者姓名 and 建档者姓名
    cols = ["DE02.01.039.00", "联系人姓名", "DE02.01.039.00", "DE02.01.039.00"]
    b = bind(ds, cols, cols, None)
    assert [(c, e) for c, e, _ in b.bindings] == [(0, "HDSD00.02.027"), (1, "HDSD00.02.039"),
                                                 (2, "HDSD00.02.034")]
    assert [(c, e) for c, _, e, _ in b.guessed] == [(0, "HDSD00.02.027"), (2, "HDSD00.02.034")]
    assert b.guessed[0][3] == ["HDSD00.02.027", "HDSD00.02.039", "HDSD00.02.034"]
    assert b.duplicate == [(3, "DE02.01.039.00", "HDSD00.02.027", "DE02.01.039.00")]


def test_duplicate_columns(defs) -> None:
    ds = defs.datasets["WS445.5.2"]
    cols = ["患者姓名", "DE02.01.039.00 患者姓名", "DE05.01.024.00"]
    b = bind(ds, cols, cols, None)
    assert b.duplicate and b.duplicate[0][:2] == (1, "DE02.01.039.00 患者姓名")
    assert [g[0] for g in b.guessed] == [2]      # 术前诊断编码, the first of the two


def test_detect_by_file_name_then_headers(defs) -> None:
    assert detect(defs, ["EHR-DE-11-死亡医学证明信息-T01.xml"], [], [], None, set())[0].id == \
        "EHR-DE-11"
    assert detect(defs, ["2024-住院病案首页.csv"], [], [], None, set())[0].id == "WS445.10.1"
    ds, why = detect(defs, ["x.csv"], ["甲", "乙"], ["甲", "乙"], None, set())
    assert ds is None and "没有任何列" in why


def test_detection_ranks_columns_then_share_then_profile(defs) -> None:
    # 建档日期时间 and 建档医疗机构组织机构 are elements of 患者基本信息 only: it explains 6 of the 7
    # columns, the regional sets that carry the patient's identification 4
    cols = ["患者姓名", "性别代码", "出生日期", "身份证件号码", "建档医疗机构组织机构", "建档日期时间",
            "更新日期时间"]
    d = detect_table(defs, ["export.csv"], cols, cols, None, set())
    assert d.dataset.id == "WS445.1.1" and d.how == "headers"
    assert (d.best.columns, d.runner_up.columns) == (6, 4)
    text = d.describe(len(cols), "zh")
    assert "7 列中 6 列" in text and "6/27" in text and f"次选 {d.runner_up.dataset.id}" in text
    # equal columns: the larger share of the data set wins, the runner-up is named
    cols = ["患者姓名", "身份证件号码", "性别代码", "出生日期", "婚姻状况代码", "民族"]
    cands = rank(defs, cols, cols, None, set())
    d = choose(cands)
    assert d.dataset.id == "EHR-DE-01" and d.runner_up.dataset.id == "WS445.1.1"
    # equal columns and share in both profiles: the profile of the other inputs decides
    a, b = cands[0], cands[1]
    from conformance.datasets.mapping import Candidate

    tie = [Candidate(b.dataset, 6, 0.5), Candidate(a.dataset, 6, 0.5)]
    assert choose(tie).dataset is None and "同样程度" in choose(tie).reason
    d = choose(tie, prefer="regional", lang="en")
    assert d.dataset is a.dataset and d.by_profile == "regional"
    assert "because the other inputs are regional" in d.describe(9, "en")
    # a real tie (EHR-DE-12 and -13 hold the same elements) is refused, naming both
    ds12 = defs.datasets["EHR-DE-12"]
    cols = [e.name for e in ds12.elements]
    ds, why = detect(defs, ["x.csv"], cols, cols, None, set())
    assert ds is None and "EHR-DE-12" in why and "EHR-DE-13" in why


def test_cli_mapping_error_exit_2(tmp_path) -> None:
    m = mapping(tmp_path, "dataset: WS445.1.1\ncolumns:\n  XM: 不存在的数据元\n")
    data = tmp_path / "a.csv"
    data.write_text("XM\n张三\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["validate-dataset", str(data), "--mapping", str(m)])
    assert r.exit_code == 2
    assert "映射文件有误" in r.output and "m.yaml:3" in r.output and "Traceback" not in r.output
    assert "'不存在的数据元'（列 'XM'）不是 WS445.1.1 患者基本信息 的数据元。" in r.output, r.output
    r = CliRunner().invoke(main, ["validate-dataset", str(data), "--mapping", str(m), "--lang",
                                  "en"])
    assert "'不存在的数据元' (column 'XM') is not a data element of WS445.1.1" in r.output


@pytest.mark.parametrize(("text", "zh"), [
    ("dataset: WS445.9.9\ncolumns: {XM: DE02.01.039.00}\n",
     "m.yaml:1: 未知的数据集 'WS445.9.9'。是否想写 WS445.9.6, WS445.9.5, WS445.9.4？"),
    ("dataset: WS445.1.1\ncolumns:\n  XM: DE02.01.039.00\n   XB: x\n",
     "请检查缩进，并给含有 ':' 或 '#' 的值加引号。"),
    ("datset: WS445.1.1\ncolumns: {XM: DE02.01.039.00}\n",
     "m.yaml:1: 未知的键 'datset'；映射文件只有 'dataset'、'columns' 和 'tables'")])
def test_mapping_mistakes_are_said_in_chinese(tmp_path, defs, text: str, zh: str) -> None:
    with pytest.raises(MappingError) as exc:
        load(tmp_path, defs, text)
    assert zh in exc.value.render("zh") and "。" not in str(exc.value)


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
