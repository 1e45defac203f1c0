"""The questionnaire: the template `init` writes, and how answers are read — missing,
contradictory and wrong answers, unknown item codes, evidence files."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.scoring.definition import get_definition
from conformance.scoring.engine import score
from conformance.scoring.questionnaire import QuestionnaireError, load_questionnaire
from conformance.scoring.results import RunInputs

from .test_scoring_support import answers_for, write_questionnaire

H = get_definition("hospital-2020")


def init(tmp_path: Path, *args: str) -> Path:
    out = tmp_path / "q.yaml"
    r = CliRunner().invoke(main, ["init", "--out", str(out), *args])
    assert r.exit_code == 0, r.output
    return out


def problems(path: Path, d=H) -> str:
    with pytest.raises(QuestionnaireError) as exc:
        load_questionnaire(path, d)
    return exc.value.render("en")


def line_of(path: Path, needle: str, after: str | None = None) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    start = 0
    if after is not None:
        start = next(n for n, line in enumerate(lines) if after in line)
    for n in range(start, len(lines)):
        if needle in lines[n]:
            return n + 1
    raise AssertionError(needle)


@pytest.mark.parametrize("system", ["hospital-2020", "emr-application-2018", "smart-service-2019",
                                    "regional-2020"])
def test_template_loads_back_unanswered(tmp_path: Path, system: str) -> None:
    d = get_definition(system)
    q = load_questionnaire(init(tmp_path, "--index-system", system), d)
    asked = [i for i in d.items if not i.automated]
    assert all(not q.answers[i.code].answered for i in asked)
    sc, _ = score(d, RunInputs(), q)
    if d.items:
        assert sc.level is None or sc.level.index == 0
        assert all(r.status in ("unanswered", "not_assessed", "recorded") for r in sc.results)


def test_template_content(tmp_path: Path) -> None:
    text = init(tmp_path).read_text(encoding="utf-8")
    assert text.count('\n  "') == 155 + 5  # asked items + optional automated documents
    assert '"3.2.1.1"' not in text and '"2.2.1.1"' not in text  # automated items are not asked
    assert '"2.2.5.1"' in text and "no_business（无此业务）" in text
    assert "等级门槛: 三级 >=14, 0.4 分；四级乙等 >=18" in text
    assert "    #- 门急诊挂号系统" in text
    assert "rto_hours:" in text and "#   app_level: 应用层面整合" in text
    assert "需提供证明材料: 备案证明" in text
    assert "等级评定规则为暂定" in text
    en = init(tmp_path / "en", "--lang", "en").read_text(encoding="utf-8")
    assert "How to fill in" in en and "The level rule is provisional" in en
    emr = init(tmp_path / "emr", "--index-system", "emr-application-2018").read_text(encoding="utf-8")
    assert '"01.01":' in emr and "0–8 达到的功能等级" in emr
    r = CliRunner().invoke(main, ["init", "--out", str(tmp_path / "q.yaml")])
    assert r.exit_code == 2 and "--force" in r.output


def test_ticking_lines_in_the_template(tmp_path: Path) -> None:
    q = init(tmp_path)
    lines = q.read_text(encoding="utf-8").splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith('  "4.4.1.1":'))
    ticked = 0
    for n in range(start, start + 60):
        if lines[n].startswith("    #- ") and ticked < 18:
            lines[n] = "    - " + lines[n][7:]
            ticked += 1
    q.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sc, _ = score(H, RunInputs(), load_questionnaire(q, H))
    r = next(r for r in sc.results if r.item.code == "4.4.1.1")
    assert r.answer["counted"] == 18 and r.points == pytest.approx(0.5)
    assert H.levels[r.achieved].id == "四级乙等"


def test_missing_answers_are_listed_as_unanswered_gaps(tmp_path: Path) -> None:
    answers = answers_for(H, "三级")
    del answers["4.1.1.1"], answers["4.3.2.2"]
    q = load_questionnaire(write_questionnaire(tmp_path / "q.yaml", H, answers), H)
    sc, _ = score(H, RunInputs(), q)
    gap3 = next(g for g in sc.gaps if g.level.id == "三级")
    rows = {r.code: r for r in gap3.missing}
    assert rows["4.1.1.1"].status == "unanswered" and "not answered" not in rows["4.1.1.1"].reason
    assert "问卷未作答" in rows["4.3.2.2"].reason


def test_unknown_item_codes(tmp_path: Path) -> None:
    answers = answers_for(H, "三级")
    answers["9.9.9.9"] = {"answer": "yes"}
    answers["3.1.3.3"] = {"answer": "yes"}
    p = write_questionnaire(tmp_path / "q.yaml", H, answers)
    out = problems(p)
    assert f"{p}:{line_of(p, '9.9.9.9')}: unknown item code '9.9.9.9'" in out
    assert "unknown item code '3.1.3.3' (did you mean 3.1.3.1 / 3.1.3.2?)" in out


def test_unquoted_emr_code_gets_a_hint(tmp_path: Path) -> None:
    d = get_definition("emr-application-2018")
    p = tmp_path / "q.yaml"
    p.write_text("questionnaire: conformance-self-assessment/1\nassessment: emr-application-2018\n"
                 "answers:\n  01.01: {level: 3, application: 0.9, data_quality: 0.8}\n", encoding="utf-8")
    out = problems(p, d)
    assert f"{p}:4: unknown item code '1.01' (did you mean \"01.01\"?)" in out


def test_an_unquoted_code_that_is_no_item_is_named(tmp_path: Path) -> None:
    p = tmp_path / "q.yaml"   # 2.1 arrives as a number and matches no item: a message, no traceback
    p.write_text("questionnaire: conformance-self-assessment/1\nassessment: hospital-2020\n"
                 "answers:\n  2.1: {answer: conformant}\n", encoding="utf-8")
    assert f"{p}:4: unknown item code '2.1'" in problems(p)


@pytest.mark.parametrize("code,answer,expect", [
    ("4.1.1.2", {"selected": ["双机热备模式", "无"]}, "'无' contradicts the other ticks"),
    ("2.1.1.1", {"answer": "no_business"}, "'no_business' only applies to optional"),
    ("4.1.3.1", {"selected": ["三层交换机", "路由器"], "count": 5}, "count = 5 disagrees with the 2 ticked"),
    ("3.1.2.1", {"answer": ["bus", "api"]}, "'bus, api' contradicts"),
    ("4.1.3.1", {"selected": ["三层交换机", "三层交换机"]}, "'三层交换机' is ticked twice"),
    ("5.1.2.1", {"selected": ["医疗一卡通"], "option_values": {"电子病历浏览器": 0.8}},
     "a value is given for '电子病历浏览器', which is not ticked"),
])
def test_contradictory_answers_are_refused(tmp_path: Path, code: str, answer: dict, expect: str) -> None:
    answers = answers_for(H, "三级")
    answers[code] = answer
    p = write_questionnaire(tmp_path / "q.yaml", H, answers)
    out = problems(p)
    assert f"item {code}: " in out and expect in out
    assert re.search(rf"{re.escape(str(p))}:\d+: item {re.escape(code)}", out)


def test_contradictions_between_items(tmp_path: Path) -> None:
    answers = answers_for(H, "四级甲等")
    answers["3.1.3.2"] = {"answer": "no_cdr"}
    answers["5.2.1.3"] = {"selected": ["人力资源管理系统", "财务管理系统", "药品管理系统", "医疗设备管理系统",
                                       "固定资产管理系统", "卫生材料管理系统", "物资供应管理系统"]}
    answers["4.4.3.1"] = {"selected": ["人力资源管理系统", "财务管理系统", "药品管理系统"]}
    p = write_questionnaire(tmp_path / "q.yaml", H, answers)
    out = problems(p)
    assert "3.1.3.2 says there is no CDR, but 3.1.5.1 ticks 'CDR 展现与管理'" in out
    assert f"{p}:{line_of(p, '5.2.1.3')}: more operations systems connected" in out


@pytest.mark.parametrize("code,answer,expect", [
    ("3.1.3.1", {"answer": "maybe"}, "answer = 'maybe' is not valid; allowed: yes, no"),
    ("2.1.1.1", {"answer": "fully"}, "allowed: conformant, partial, absent"),
    ("3.1.1.1", {"answer": "cloud"}, "allowed: data_level, app_level, none"),
    ("5.1.1.1", {"selected": ["患者自助终端"], "values": {"use_ratio": 1.5}},
     "must be a ratio between 0 and 1"),
    ("4.1.2.3", {"values": {"rto_hours": "soon", "rpo_hours": 1}}, "values.rto_hours must be a number"),
    ("4.1.1.1", {"answer": "yes", "evidnce": ["x.pdf"]}, "unknown field 'evidnce'"),
    ("4.4.1.1", {"selected": ["门急诊挂号系"]},
     "'门急诊挂号系' is not in the list of options (did you mean 门急诊挂号系统?)"),
])
def test_wrong_values_name_item_field_and_line(tmp_path: Path, code: str, answer: dict, expect: str) -> None:
    answers = answers_for(H, "三级")
    answers[code] = answer
    p = write_questionnaire(tmp_path / "q.yaml", H, answers)
    out = problems(p)
    assert expect in out and f"item {code}" in out
    assert re.search(rf":\d+: item {re.escape(code)}", out)


def test_level_score_values_are_checked(tmp_path: Path) -> None:
    d = get_definition("emr-application-2018")
    p = write_questionnaire(tmp_path / "q.yaml", d, {
        "01.01": {"level": 9, "application": 0.9, "data_quality": 0.8},
        "01.02": {"level": 3, "application": 0.9},
        "09.01": {"level": 3, "application": True, "data_quality": 0.5}})
    out = problems(p, d)
    assert "item 01.01: level must be 0–8, found 9" in out
    assert "item 01.02: data_quality must be 0–1, not given" in out and "None" not in out
    with pytest.raises(QuestionnaireError) as exc:
        load_questionnaire(p, d)
    assert "指标 01.02：data_quality 应为0–1 之间的比例，未填写" in exc.value.render("zh")
    assert "item 09.01: unknown field 'data_quality'" in out


def test_not_a_questionnaire_or_for_another_scheme(tmp_path: Path) -> None:
    p = tmp_path / "x.yaml"
    p.write_text("hello: world\n", encoding="utf-8")
    assert "not a questionnaire" in problems(p)
    q = write_questionnaire(tmp_path / "emr.yaml", get_definition("emr-application-2018"),
                            {"01.01": {"level": 1, "application": 1, "data_quality": 1}})
    assert "belongs to 'emr-application-2018' but scoring uses 'hospital-2020'" in problems(q)
    bad = tmp_path / "bad.yaml"
    bad.write_text("questionnaire: conformance-self-assessment/1\nanswers: [1, 2\n", encoding="utf-8")
    assert re.search(rf"{re.escape(str(bad))}:\d+:\d+: YAML syntax error", problems(bad))


def test_evidence_files(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    proof = tmp_path / "docs" / "等保备案证明.pdf"
    proof.write_bytes(b"%PDF-1.4 filing certificate\n")
    answers = answers_for(H, "四级乙等")
    answers["4.3.2.7"] = {"answer": "yes", "evidence": ["docs/等保备案证明.pdf"]}
    q = load_questionnaire(write_questionnaire(tmp_path / "q.yaml", H, answers), H)
    ev = q.answers["4.3.2.7"].evidence[0]
    assert ev.sha256 == hashlib.sha256(proof.read_bytes()).hexdigest() and ev.bytes == proof.stat().st_size
    sc, _ = score(H, RunInputs(), q)
    r = next(r for r in sc.results if r.item.code == "4.3.2.7")
    expected = {"kind": "file", "path": "docs/等保备案证明.pdf", "sha256": ev.sha256, "bytes": ev.bytes}
    assert expected in r.evidence
    # the source asks for evidence for 4.3.1.1 too: a warning, not a refusal
    assert ("score.q.evidence_required", {"code": "4.3.1.1", "hint": "机房检测报告等相关证明"}) in q.warnings
    answers["4.3.2.8"] = {"answer": "yes", "evidence": ["docs/演练报告.pdf", "docs/等保备案证明.pdf"]}
    p = write_questionnaire(tmp_path / "q2.yaml", H, answers)
    out = problems(p)
    where = f"{p}:{line_of(p, 'evidence', after='4.3.2.8')}"
    assert f"{where}: item 4.3.2.8: evidence file not found: docs/演练报告.pdf" in out
    zh = QuestionnaireError([]).render("zh")
    assert "自评问卷有误" in zh


def test_evidence_paths_stay_in_the_questionnaires_folder(tmp_path: Path) -> None:
    """A relative evidence path that climbs out (../../etc/passwd, or a link leading out) is
    refused and nothing of it reaches score.json; an absolute path is read, and said."""
    outside = tmp_path / "secret.txt"
    outside.write_text("not for the report\n", encoding="utf-8")
    folder = tmp_path / "q"
    (folder / "docs").mkdir(parents=True)
    (folder / "docs" / "link.pdf").symlink_to(outside)
    answers = answers_for(H, "四级乙等")
    answers["4.3.2.7"] = {"answer": "yes", "evidence": ["../secret.txt"]}
    answers["4.3.2.8"] = {"answer": "yes", "evidence": ["docs/link.pdf"]}
    p = write_questionnaire(folder / "q.yaml", H, answers)
    out = problems(p)
    assert f"item 4.3.2.7: evidence ../secret.txt lies outside the questionnaire's folder ({folder})" in out
    assert "item 4.3.2.8: evidence docs/link.pdf lies outside" in out
    # given absolute on purpose: read, hashed, and a warning says so
    answers["4.3.2.7"] = {"answer": "yes", "evidence": [str(outside)]}
    answers["4.3.2.8"] = {"answer": "yes"}
    q = load_questionnaire(write_questionnaire(folder / "q2.yaml", H, answers), H)
    ev = q.answers["4.3.2.7"].evidence[0]
    assert ev.sha256 == hashlib.sha256(outside.read_bytes()).hexdigest()
    assert ("score.q.evidence_absolute", {"code": "4.3.2.7", "path": str(outside)}) in q.warnings


def test_example_questionnaire_for_the_embedded_platform(tmp_path: Path) -> None:
    """test_cases/self-assessment/hospital-example.yaml (used by `conformance assess`): a fictional
    hospital at 五级乙等 once every automated item passes, with evidence files that exist."""
    from conformance.scoring.results import load_results

    from .test_scoring_support import write_run

    example = Path(__file__).resolve().parents[1] / "test_cases" / "self-assessment" / "hospital-example.yaml"
    q = load_questionnaire(example, H)
    assert q.meta["organization"].startswith("示例医院")
    # written against the shipped definition as it is now (else `assess` warns a newcomer that
    # the definition changed since the questionnaire was generated)
    assert q.meta["assessment_sha256"] == H.sha256 and not q.warnings, q.warnings
    assert {e.item for e in q.evidence} == {"4.3.1.1", "4.3.2.7", "4.3.2.8"}
    asked = [i for i in H.items if not i.automated and i.rule != "record"]
    assert all(q.answers[i.code].answered for i in asked)
    sc, notes = score(H, load_results([write_run(tmp_path / "run", H, perf=True)]), q)
    assert sc.level.id == "五级乙等" and not notes
    assert sc.gaps[0].level.id == "五级甲等" and len(sc.gaps[0].missing) > 5
