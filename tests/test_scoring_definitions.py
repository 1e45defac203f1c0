"""The assessment definitions as data: the encoded hospital table against its stated sub-totals,
the other index systems against their level tables, and precise errors for malformed files."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.scoring.definition import DefinitionError, get_definition, load_definition, shipped_ids
from conformance.scoring.engine import tier_levels

HOSPITAL = Path(__file__).resolve().parents[1] / "standards" / "assessment" / "hospital-2020.yaml"


def leaf_sum(d, sub: str) -> float:
    return sum(i.points or 0 for i in d.items if i.sub_index == sub and i.rule != "record")


def test_shipped_index_systems() -> None:
    wanted = {"hospital-2020", "regional-2020", "emr-application-2018", "smart-service-2019"}
    assert wanted <= set(shipped_ids())


def test_hospital_sub_totals_match_the_stated_ones() -> None:
    d = get_definition("hospital-2020")
    stated = {"2.1": 15, "2.2": 15, "3.1": 10, "3.2": 25, "3.3": 0, "4.1": 6, "4.2": 5.5, "4.3": 4.1,
              "4.4": 2.4, "5.1": 7.7, "5.2": 4.3}
    subs = {s.id: s for dim in d.dimensions for s in dim.sub_indices}
    assert {k: subs[k].max for k in stated} == stated
    # sub-indices whose rows add up exactly
    for sub in ("3.1", "3.2", "4.1", "4.2", "4.3", "4.4", "5.2"):
        assert math.isclose(leaf_sum(d, sub), stated[sub], abs_tol=1e-9), sub
    # the known gaps of the source, declared rather than hidden
    assert math.isclose(leaf_sum(d, "2.1"), 14.26, abs_tol=1e-9) and subs["2.1"].leaf_sum == 14.26
    assert math.isclose(leaf_sum(d, "2.2"), 14.74, abs_tol=1e-9) and subs["2.2"].leaf_sum == 14.74
    assert math.isclose(leaf_sum(d, "5.1"), 7.6, abs_tol=1e-9) and subs["5.1"].leaf_sum == 7.6
    for sub in ("2.1", "2.2", "5.1"):
        assert subs[sub].provisional and subs[sub].normalize == "proportional"
    dims = {dim.id: dim for dim in d.dimensions}
    assert {k: v.max for k, v in dims.items()} == {"2": 30, "3": 35, "4": 18, "5": 15}
    assert dims["5"].missing_points == 3 and dims["5"].provisional
    assert sum(s.max for s in dims["5"].sub_indices) == pytest.approx(12)


def test_hospital_items_by_kind_and_level() -> None:
    d = get_definition("hospital-2020")
    assert 270 <= len(d.items) <= 320
    data_sets = [i for i in d.items if i.sub_index == "2.1"]
    assert len(data_sets) == 58
    assert Counter(i.level for i in data_sets) == {"一级": 54, "二级": 4}
    docs = [i for i in d.items if i.binding and i.binding.source == "documents"]
    assert len(docs) == 53 and {i.binding.keys[0] for i in docs} == {f"C{n:04d}" for n in range(1, 54)}
    assert Counter(i.level for i in docs) == {"三级": 49, "四级乙等": 4}
    assert d.item("2.2.22.1").binding.keys == ("C0022",)  # the source's "2.2.2.1" typo, corrected
    services = [i for i in d.items if i.sub_index == "3.2"]
    assert len(services) == 69 and all(i.binding.source == "services" for i in services)
    assert Counter(i.level for i in services) == {"三级": 3, "四级乙等": 10, "四级甲等": 33, "五级乙等": 23}
    perf = [i for i in d.items if i.sub_index == "3.3"]
    assert len(perf) == 5 and all(i.rule == "record" and i.points is None for i in perf)
    optional = {i.code for i in d.items if i.optional_business}
    assert {"2.1.3.2", "2.1.6.1", "2.1.11.1", "2.2.5.1", "2.2.14.1", "2.2.33.1"} <= optional
    # thresholds from the table
    assert d.item("5.2.2.5").thresholds == {"三级": 2, "四级乙等": 3, "四级甲等": 5, "五级乙等": 7,
                                            "五级甲等": 9}
    assert d.item("4.4.1.1").thresholds["四级甲等"] == 22
    assert [t["max"] for t in d.item("4.1.2.3").tiers] == [
        {"rto_hours": 24, "rpo_hours": 24}, {"rto_hours": 4, "rpo_hours": 6},
        {"rto_hours": 0.25, "rpo_hours": 0.25}]
    assert d.item("3.1.5.1").level_requires["四级甲等"]["options"] == ("CDR 展现与管理", "数据脱敏配置管理")
    assert d.item("4.3.2.7").level == "四级乙等" and d.item("4.3.2.7").evidence_required
    # every item has provenance; every scored item a required level or tiers
    for i in d.items:
        assert i.source, i.code
        if i.rule not in ("record",):
            assert tier_levels(i, d), i.code
    src = d.sources["hospital-table-2020"]
    assert src["kind"] == "transcription" and "not the official" in src["note"]
    assert d.level_rule.provisional


def test_regional_is_structure_only() -> None:
    d = get_definition("regional-2020")
    assert d.items == [] and len(d.dimensions) == 4
    assert all(dim.max is None and dim.provisional for dim in d.dimensions)
    assert any("not known" in g for g in d.known_gaps)


def test_smart_service_basic_items_match_the_level_table() -> None:
    d = get_definition("smart-service-2019")
    assert len(d.items) == 17 and [lv.id for lv in d.levels] == ["0", "1", "2", "3", "4", "5"]
    table = d.level_rule.params["levels"]
    for lv, row in table.items():
        basic = [i for i in d.items if lv in i.basic_levels]
        assert len(basic) == row["basic"], lv
        assert len(d.items) - len(basic) == row["selectable_of"], lv
    assert [table[k]["min_total"] for k in "12345"] == [10, 20, 30, 41, 51]


def test_emr_rating_table() -> None:
    d = get_definition("emr-application-2018")
    assert len(d.items) == 39 and len(d.dimensions) == 10 and d.top_level_number == 8
    assert Counter(i.dimension for i in d.items)["01"] == 6
    table = d.level_rule.params["levels"]
    assert [table[str(k)]["min_total"] for k in range(1, 9)] == [28, 55, 85, 110, 140, 170, 190, 220]
    assert [table[str(k)]["basic"] for k in range(1, 9)] == [5, 10, 14, 16, 20, 21, 22, 22]
    assert all(i.basic_levels is None for i in d.items)  # not settled by the source
    assert d.item("09.01").data_quality == "none" and d.item("01.01").data_quality == "ratio"


# --------------------------------------------------------------------------------- bad files

def broken(tmp_path: Path, edit) -> Path:
    text = HOSPITAL.read_text(encoding="utf-8")
    new = edit(text)
    assert new != text
    p = tmp_path / "mine.yaml"
    p.write_text(new, encoding="utf-8")
    return p


def line_of(path: Path, needle: str) -> int:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(needle)


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    p = broken(tmp_path, lambda t: t.replace("  text: 患者基本信息子集\n", "  text: [患者基本信息子集\n", 1))
    with pytest.raises(DefinitionError) as exc:
        load_definition(p)
    assert re.search(rf"{re.escape(str(p))}:\d+:\d+: YAML syntax error", exc.value.render("en"))


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    p = broken(tmp_path, lambda t: t.replace("  text: 基本健康信息子集\n",
                                             "  text: 基本健康信息子集\n  text: x\n", 1))
    with pytest.raises(DefinitionError) as exc:
        load_definition(p)
    assert "duplicate key 'text'" in exc.value.render("en")


def test_schema_errors_are_precise_and_all_reported(tmp_path: Path) -> None:
    def edit(t: str) -> str:
        t = t.replace("  rule: yes_no\n", "  rule: yesno\n", 1)
        t = t.replace("  text: 术语注册服务\n", "  txt: 术语注册服务\n", 1)
        return t.replace("  points: 0.19\n", "  points: lots\n", 1)
    p = broken(tmp_path, edit)
    with pytest.raises(DefinitionError) as exc:
        load_definition(p)
    en = exc.value.render("en")
    assert f"{p}:{line_of(p, 'rule: yesno')}: items[2.2.54.1].rule: 'yesno' is not allowed" in en
    txt, lots = line_of(p, "txt: 术语注册服务"), line_of(p, "points: lots")
    assert f"{p}:{txt}: items[3.2.9.1] has an unknown field 'txt' (did you mean 'text'?)" in en
    assert "items[3.2.9.1] lacks the required field 'text'" in en
    assert f"{p}:{lots}: items[2.1.1.1].points must be number or null, found 'lots'" in en
    zh = exc.value.render("zh")
    assert "测评定义文件有误" in zh and "缺少必填字段 “text”" in zh


def test_semantic_errors_name_the_line(tmp_path: Path) -> None:
    def edit(t: str) -> str:
        t = t.replace("  level: 四级甲等\n", "  level: 四级丙等\n", 1)
        t = t.replace("- code: 2.1.1.2\n", "- code: 2.1.1.1\n", 1)
        return t.replace("  sub_index: '4.2'\n", "  sub_index: '4.9'\n", 1)
    p = broken(tmp_path, edit)
    with pytest.raises(DefinitionError) as exc:
        load_definition(p)
    en = exc.value.render("en")
    assert "refers to an unknown level '四级丙等'" in en
    assert f"{p}:{line_of(p, 'level: 四级丙等')}:" in en
    assert "duplicate item code '2.1.1.1'" in en
    assert "refers to an unknown sub-index '4.9'" in en


def test_points_that_do_not_add_up_are_refused(tmp_path: Path) -> None:
    p = broken(tmp_path, lambda t: t.replace("  points: 3.5\n", "  points: 3.6\n", 1))
    with pytest.raises(DefinitionError) as exc:
        load_definition(p)
    en = exc.value.render("en")
    assert "the items of sub-index '3.2' add up to 25.1, not the stated 25" in en
    sub_line = line_of(p, "{id: '3.2'")
    assert f"{p}:{sub_line}:" in en


def test_best_answer_must_equal_item_points(tmp_path: Path) -> None:
    p = broken(tmp_path, lambda t: t.replace("level: 四级乙等, points: 2.5}",
                                             "level: 四级乙等, points: 2.4}", 1))
    with pytest.raises(DefinitionError) as exc:
        load_definition(p)
    assert "item 3.1.1.1 (best answer)" in exc.value.render("en")
    zh = exc.value.render("zh")
    assert "指标 3.1.1.1 的最高得分选项" in zh and "best answer" not in zh


def test_a_definition_that_is_no_mapping_is_named_in_words(tmp_path: Path) -> None:
    p = tmp_path / "list.yaml"
    p.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as exc:
        load_definition(p)
    assert exc.value.render("zh") == f"{p}:1: (top) 应为映射，实际为 '列表'"
    assert exc.value.render("en") == f"{p}:1: (top) must be mapping, found 'array'"


def test_cli_with_own_broken_assessment_exits_2(tmp_path: Path) -> None:
    p = broken(tmp_path, lambda t: t.replace("  level: 四级甲等\n", "  level: 四级丙等\n", 1))
    r = CliRunner().invoke(main, ["init", "--assessment", str(p), "--out", str(tmp_path / "q.yaml")])
    assert r.exit_code == 2
    assert f"{p}:{line_of(p, '四级丙等')}:" in r.output and "四级丙等" in r.output
    r = CliRunner().invoke(main, ["score", "--assessment", str(tmp_path / "nope.yaml"), "--lang", "en"])
    assert r.exit_code == 2 and "file not found" in r.output


def test_cli_with_own_valid_assessment(tmp_path: Path) -> None:
    """An assessor's own scheme (here: the shipped one with a different id and one item more
    strict) is loaded and used."""
    p = broken(tmp_path, lambda t: t.replace("id: hospital-2020\n", "id: hospital-2020-official\n", 1))
    out = tmp_path / "q.yaml"
    r = CliRunner().invoke(main, ["init", "--assessment", str(p), "--out", str(out), "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert "assessment: hospital-2020-official" in out.read_text(encoding="utf-8")


def test_service_bindings_agree_with_the_service_catalog() -> None:
    """Every one of the 69 catalogued hospital services is bound to exactly one 3.2 item, with the
    same required level, its S-code and its Chinese name (the harness reports either)."""
    import yaml

    catalog = Path(__file__).resolve().parents[1] / "standards" / "services" / "hospital.yaml"
    if not catalog.is_file():
        pytest.skip("standards/services/hospital.yaml is not in this checkout")
    listed = yaml.safe_load(catalog.read_text(encoding="utf-8"))["services"]
    services = [s for s in listed if s["order"] <= 69]
    d = get_definition("hospital-2020")
    items = [i for i in d.items if i.binding is not None and i.binding.source == "services"]
    for s in services:
        bound = [i for i in items if s["action"] in i.binding.keys]
        assert len(bound) == 1, s["action"]
        item = bound[0]
        assert s["s_code"] in item.binding.keys and s["name"] in item.binding.keys, s["action"]
        assert item.level == s["level"], (s["action"], item.level, s["level"])
    assert len(services) == len(items) == 69
