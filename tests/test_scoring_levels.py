"""Level boundaries — just below, at and above each level — for the hospital scheme, the EMR
application rating and the smart-service rating; the gap lists; provisional propagation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.scoring.definition import get_definition
from conformance.scoring.engine import score
from conformance.scoring.questionnaire import load_questionnaire
from conformance.scoring.rating import Rating as Score
from conformance.scoring.report import build_score_json, console_summary
from conformance.scoring.results import RunInputs, load_results

from .test_scoring_support import STAMP, answers_for, level_answers, write_questionnaire, write_run

H = get_definition("hospital-2020")
LEVELS = [lv.id for lv in H.levels]


def rate(tmp_path: Path, answers: dict[str, Any], *, up_to: str | None, **run: Any) -> Score:
    folder = write_run(tmp_path / "run", H, up_to=up_to, **run)
    q = load_questionnaire(write_questionnaire(tmp_path / "q.yaml", H, answers), H)
    sc, _ = score(H, load_results([folder]), q)
    return sc


def got(sc: Score) -> str | None:
    return sc.level.id if sc.level else None


# One way to fall just below each level: (item code, answer) — the item becomes required there.
BREAK = {
    "一级": ("2.1.4.1", {"answer": "partial"}),
    "二级": ("2.1.2.1", {"answer": "absent"}),
    "三级": ("3.1.3.1", {"answer": "no"}),
    "四级乙等": ("4.3.2.7", {"answer": "no"}),
    "四级甲等": ("5.2.2.5", {"selected": ["银行", "医保及新农合", "保险", "公安"]}),
    "五级乙等": ("4.1.2.3", {"values": {"rto_hours": 1, "rpo_hours": 1}}),
    "五级甲等": ("5.1.2.7", {"selected": ["临床预警提示", "临床辅助诊断决策支持", "辅助诊疗决策支持"],
                         "values": {"warning_nodes": 49}}),
}


@pytest.mark.parametrize("level", LEVELS)
def test_hospital_at_level(tmp_path: Path, level: str) -> None:
    sc = rate(tmp_path, answers_for(H, level), up_to=level)
    assert got(sc) == level
    if level != LEVELS[-1]:
        assert sc.gaps[0].level.id == LEVELS[LEVELS.index(level) + 1] and sc.gaps[0].missing
    else:
        assert sc.gaps == []


@pytest.mark.parametrize("level", LEVELS)
def test_hospital_just_below_level(tmp_path: Path, level: str) -> None:
    answers = answers_for(H, level)
    code, broken = BREAK[level]
    answers[code] = broken
    sc = rate(tmp_path, answers, up_to=level)
    i = LEVELS.index(level)
    assert got(sc) == (LEVELS[i - 1] if i else None)
    gap = sc.gaps[0]
    assert gap.level.id == level
    assert [row.code for row in gap.missing] == [code]
    assert gap.missing[0].needed


@pytest.mark.parametrize("level", LEVELS[:-1])
def test_hospital_above_level(tmp_path: Path, level: str) -> None:
    above = LEVELS[LEVELS.index(level) + 1]
    sc = rate(tmp_path, answers_for(H, above), up_to=above)
    assert got(sc) == above


def test_hospital_automated_items_gate_levels(tmp_path: Path) -> None:
    """A service whose negative case fails, or a document type with one failing sample, keeps the
    platform below the level that requires it."""
    answers = answers_for(H, "五级甲等")
    sc = rate(tmp_path / "a", answers, up_to=None, failing_services=("DocumentRetrieve",))
    assert got(sc) == "二级"
    row = sc.gaps[0].missing[0]
    assert row.code == "3.2.1.2" and row.source == "run" and row.points == 3.5
    sc = rate(tmp_path / "b", answers, up_to=None, failing_docs=("C0004",))
    assert got(sc) == "三级" and [r.code for r in sc.gaps[0].missing] == ["2.2.4.1"]
    sc = rate(tmp_path / "c", answers, up_to=None, missing_docs=("C0033",))
    assert got(sc) == "二级"
    assert sc.gaps[0].missing[0].status == "not_assessed"


def test_hospital_optional_business_counts_as_met(tmp_path: Path) -> None:
    answers = answers_for(H, "五级甲等")
    answers["2.1.6.1"] = {"answer": "no_business"}
    answers["2.2.14.1"] = {"answer": "no_business"}  # automated, no samples submitted
    sc = rate(tmp_path, answers, up_to=None, missing_docs=("C0014",))
    assert got(sc) == "五级甲等"
    by = {r.item.code: r for r in sc.results}
    assert by["2.1.6.1"].status == "no_business" and by["2.1.6.1"].points == pytest.approx(0.19)
    assert by["2.2.14.1"].status == "no_business"


def test_hospital_gaps_are_ordered_by_level_then_points(tmp_path: Path) -> None:
    sc = rate(tmp_path, answers_for(H, "三级"), up_to="三级")
    rows = sc.gaps[-1].missing
    keys = [(H.level_index(r.required_level), -(r.points or 0)) for r in rows]
    assert keys == sorted(keys)
    assert sc.gaps[-1].level.id == "五级甲等" and len(rows) > len(sc.gaps[0].missing)


def test_hospital_points_and_normalisation(tmp_path: Path) -> None:
    sc = rate(tmp_path, answers_for(H, "五级甲等"), up_to=None)
    subs = sc.sub_scores
    assert subs["2.1"].score == pytest.approx(15)
    assert subs["2.1"].earned_leaf_points == pytest.approx(14.26)
    assert subs["2.2"].score == pytest.approx(15)
    assert subs["3.2"].score == pytest.approx(25)
    assert subs["3.1"].score == pytest.approx(10)
    assert subs["3.3"].score == 0
    dims = {d.id: d for d in sc.dim_scores}
    assert dims["5"].max == 15 and dims["5"].achievable_max == 12
    assert sc.total_max == 98


def test_provisional_flags_propagate(tmp_path: Path) -> None:
    sc = rate(tmp_path, answers_for(H, "四级甲等"), up_to="四级甲等")
    data = build_score_json(sc, load_results([tmp_path / "run"]), None, STAMP, [], "zh")
    assert data.level_provisional and data.provisional and data.total_provisional
    dims = {d.id: d for d in data.dimensions}
    assert dims["2"].provisional and dims["5"].provisional
    assert not dims["3"].provisional and not dims["4"].provisional
    subs = {s.id: s for d in data.dimensions for s in d.sub_indices}
    assert subs["2.1"].provisional and subs["5.1"].provisional and subs["5.2"].provisional
    assert not subs["4.1"].provisional and not subs["3.2"].provisional
    inds = {i.code: i for i in data.indicators}
    assert inds["5.1.2.5"].provisional and not inds["5.1.2.4"].provisional
    assert all(g.provisional for g in data.gaps)
    assert all(m.provisional for g in data.gaps for m in g.missing)
    text = console_summary(data, "zh")
    assert "达到等级：四级甲等（暂定）" in text and "（暂定）" in text.split("总分")[1].splitlines()[0]
    en = console_summary(build_score_json(sc, RunInputs(), None, STAMP, [], "en"), "en")
    assert "Level reached: Level 4A (provisional)" in en
    # the reasons score.json gives programs ("level_rule", "dimension 2" …) read as phrases
    assert data.provisional_reasons[:2] == ["level_rule", "sub-index 2.1"]
    note = text.splitlines()[-1]
    assert "（等级评定规则、子指标 2.1、子指标 2.2、维度 5、子指标 5.1、2 个指标）" in note, note
    assert "(level-rating rule, sub-index 2.1, " in en.splitlines()[-1]


def test_definition_without_provisional_inputs_is_not_flagged(tmp_path: Path) -> None:
    d = get_definition("smart-service-2019")
    q = load_questionnaire(write_questionnaire(tmp_path / "q.yaml", d, level_answers(
        d, {i.code: (3, 1.0, 1.0) for i in d.items})), d)
    sc, _ = score(d, RunInputs(), q)
    data = build_score_json(sc, RunInputs(), q, STAMP, [], "zh")
    assert data.level == "3" and not data.provisional and not data.level_provisional
    assert "暂定" not in console_summary(data, "zh")


# ------------------------------------------------------------------------ smart service

S = get_definition("smart-service-2019")


def smart(tmp_path: Path, values: dict[str, tuple[int, float, float]]) -> Score:
    q = load_questionnaire(write_questionnaire(tmp_path / "q.yaml", S, level_answers(S, values)), S)
    return score(S, RunInputs(), q)[0]


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_smart_service_boundaries(tmp_path: Path, level: int) -> None:
    at = {i.code: (level, 1.0, 1.0) for i in S.items}
    assert got(smart(tmp_path / "at", at)) == str(level)
    if level < 5:
        above = {i.code: (level + 1, 1.0, 1.0) for i in S.items}
        assert got(smart(tmp_path / "above", above)) == str(level + 1)
    # just below: one basic item of this level reaches only level - 1
    basic = next(i for i in S.items if str(level) in i.basic_levels)
    below = dict(at)
    below[basic.code] = (level - 1, 1.0, 1.0)
    sc = smart(tmp_path / "below", below)
    assert got(sc) == str(level - 1)
    assert basic.code in [r.code for r in sc.gaps[0].missing]
    # a ratio basic item under 80 % application does not count as reaching the level
    # (it stays a selectable item, >= 50 %, at the levels where it is not basic)
    ratio_basic = [i for i in S.items if str(level) in i.basic_levels and i.application == "ratio"]
    if ratio_basic:
        item = ratio_basic[0]
        low = dict(at)
        low[item.code] = (level, 0.79, 1.0)
        expect = max([lv for lv in range(level) if str(lv) not in item.basic_levels], default=0)
        assert got(smart(tmp_path / "low", low)) == str(expect)
        low[item.code] = (level, 0.8, 1.0)
        assert got(smart(tmp_path / "ok", low)) == str(level)


def test_smart_service_selectable_count_boundary(tmp_path: Path) -> None:
    # level 3: 8 basic items, at least 4 of the 9 selectable items
    basic3 = [i.code for i in S.items if "3" in i.basic_levels]
    selectable3 = [i.code for i in S.items if "3" not in i.basic_levels]
    values = {c: (3, 1.0, 1.0) for c in basic3}
    values.update({c: (2, 1.0, 1.0) for c in selectable3})
    for c in selectable3[:3]:
        values[c] = (3, 1.0, 1.0)
    sc = smart(tmp_path / "3", values)
    assert got(sc) == "2" and sc.gaps[0].missing[-1].kind == "selectable"
    values[selectable3[3]] = (3, 1.0, 1.0)
    assert got(smart(tmp_path / "4", values)) == "3"


def test_smart_service_minimum_total_boundary(tmp_path: Path) -> None:
    # level 4 with every requirement met but the total: 41 is the minimum
    values = {i.code: (0, 0.0, 1.0) for i in S.items}
    for i in S.items:
        if "4" in i.basic_levels:
            values[i.code] = (4, 0.8 if i.application == "ratio" else 1.0, 1.0)
    for code, app in (("03", 0.5), ("10", 0.5), ("02", 1.0)):
        values[code] = (4, app, 1.0)
    values["01"] = (4, 0.85, 1.0)
    sc = smart(tmp_path / "at", values)
    assert sc.total == pytest.approx(41.0) and got(sc) == "4"
    values["01"] = (4, 0.84, 1.0)
    sc = smart(tmp_path / "below", values)
    assert sc.total == pytest.approx(40.96) and got(sc) != "4"
    gap4 = next(g for g in sc.gaps if g.level.id == "4")
    assert [r.code for r in gap4.missing] == ["total"]


# ------------------------------------------------------------------------ EMR application rating

E = get_definition("emr-application-2018")


def emr(tmp_path: Path, values: dict[str, tuple[int, float, float]]) -> Score:
    q = load_questionnaire(write_questionnaire(tmp_path / "q.yaml", E, level_answers(E, values)), E)
    return score(E, RunInputs(), q)[0]


@pytest.mark.parametrize("level", range(1, 9))
def test_emr_boundaries(tmp_path: Path, level: int) -> None:
    codes = [i.code for i in E.items]
    at = {c: (level, 1.0, 1.0) for c in codes}
    sc = emr(tmp_path / "at", at)
    assert got(sc) == str(level) and sc.level_provisional  # basic items judged by count
    if level < 8:
        assert got(emr(tmp_path / "above", {c: (level + 1, 1.0, 1.0) for c in codes})) == str(level + 1)
    row = E.level_rule.params["levels"][str(level)]
    reach = row["basic"] + row["selectable_need"]
    below = {c: (level if n < reach - 1 else level - 1, 1.0, 1.0) for n, c in enumerate(codes)}
    sc = emr(tmp_path / "below", below)
    assert got(sc) == str(level - 1)
    assert {r.kind for r in sc.gaps[0].missing} & {"selectable", "basic_count", "total"}


def test_emr_minimum_total_boundary(tmp_path: Path) -> None:
    codes = [i.code for i in E.items]
    values = {c: (4, 1.0, 1.0) for c in codes[:26]}            # 16 basic + 10 selectable at level 4
    values.update({c: (0, 0.0, 1.0) for c in codes[26:]})
    values[codes[26]] = (6, 1.0, 1.0)                           # 26 × 4 + 6 = 110 = the minimum
    sc = emr(tmp_path / "at", values)
    assert sc.total == pytest.approx(110) and got(sc) == "4"
    values[codes[26]] = (6, 0.99, 1.0)                          # 109.94
    sc = emr(tmp_path / "below", values)
    assert got(sc) == "3" and [r.code for r in sc.gaps[0].missing] == ["total"]
    assert sc.gaps[0].level.id == "4"


def test_emr_data_quality_thresholds(tmp_path: Path) -> None:
    codes = [i.code for i in E.items]
    values = {c: (3, 1.0, 1.0) for c in codes}
    ratio = [i.code for i in E.items if i.data_quality == "ratio"]
    # 14 basic + 12 selectable needed at level 3: with data quality 0.49 on 14 items only 25 reach it
    for c in ratio[:14]:
        values[c] = (3, 1.0, 0.49)
    assert got(emr(tmp_path / "low", values)) == "2"
    for c in ratio[:14]:
        values[c] = (3, 1.0, 0.5)
    assert got(emr(tmp_path / "ok", values)) == "3"


def test_emr_exact_when_classification_is_known(tmp_path: Path) -> None:
    """With basic_levels filled in (an assessor's official table), a named basic item that misses
    the level blocks it, and the level is no longer provisional."""
    import dataclasses

    items = [dataclasses.replace(i, basic_levels=tuple(str(x) for x in range(1, 9)) if n < 22 else ())
             for n, i in enumerate(E.items)]
    exact = dataclasses.replace(E, items=items)
    codes = [i.code for i in items]
    values = {c: (5, 1.0, 1.0) for c in codes}
    q = load_questionnaire(write_questionnaire(tmp_path / "q.yaml", E, level_answers(E, values)), exact)
    sc = score(exact, RunInputs(), q)[0]
    assert got(sc) == "5" and not sc.level_provisional
    values[codes[0]] = (5, 0.7, 1.0)   # a basic item under 80 % application
    q = load_questionnaire(write_questionnaire(tmp_path / "q2.yaml", E, level_answers(E, values)), exact)
    sc = score(exact, RunInputs(), q)[0]
    assert got(sc) == "0"
    assert codes[0] in [r.code for r in sc.gaps[0].missing]


def test_regional_level_cannot_be_rated() -> None:
    d = get_definition("regional-2020")
    sc, _ = score(d, RunInputs(), None)
    assert sc.level is None and not sc.determinable and sc.gaps == []
    data = build_score_json(sc, RunInputs(), None, STAMP, [], "en")
    assert data.provisional and data.dimensions[0].max is None
    assert "level cannot be rated" in console_summary(data, "en")
