"""The registry of rule types and level rules, and the deduction rule (扣分项) added as one class:
a test city index system (tests/fixtures/assessment/city-test.yaml) scored from a questionnaire
and from machine results, never below its floor; its definition and answer errors at file:line;
and the in-process entry point `score_folder`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.errors import ConformanceError
from conformance.model.folder import RunFolder
from conformance.model.io.schemas import shipped
from conformance.scoring.api import ScoreUsageError, resolve_definition, score_folder
from conformance.scoring.definition import DefinitionError, definition_schema, load_definition
from conformance.scoring.questionnaire import QuestionnaireError, load_questionnaire, write_template
from conformance.scoring.results import ResultsError
from conformance.scoring.rules import level_rule_types, rule_types

from .test_scoring_support import write_questionnaire, write_run

CITY = Path(__file__).resolve().parent / "fixtures" / "assessment" / "city-test.yaml"
RULES = {"conformance", "yes_no", "choice", "checklist", "measures", "record", "level_score",
         "deduction", "fact"}


def city_answers(incidents: int | None = 0, late: int | None = 0) -> dict:
    counts = {}
    if incidents is not None:
        counts["security_incident"] = incidents
    if late is not None:
        counts["late_upload"] = late
    return {"2.1": {"counts": counts}}


def rated(tmp_path: Path, answers: dict, **run: object):
    d = load_definition(CITY)
    q = write_questionnaire(tmp_path / "q.yaml", d, answers)
    folder = write_run(tmp_path / "run", resolve_definition(index_system="hospital-2020"), **run)
    outcome = score_folder([RunFolder(folder)], d, q, lang="en")
    return outcome, {i.code: i for i in outcome.score.indicators}


# ------------------------------------------------------------------------------- the registry

def test_rule_types_and_level_rules_are_found_by_name() -> None:
    assert set(rule_types()) == RULES
    assert set(level_rule_types()) == {"all_required", "basic_selectable"}
    item = definition_schema()["properties"]["items"]["items"]
    assert set(item["properties"]["rule"]["enum"]) == RULES
    # the item schema is assembled from the rule types' fragments
    for kind in rule_types().values():
        for key, fragment in kind.fields.items():
            assert item["properties"][key] == fragment, (kind.name, key)
    lr = definition_schema()["properties"]["level_rule"]["properties"]
    assert lr["type"]["enum"] == ["all_required", "basic_selectable"] and "levels" in lr


def test_a_rule_that_does_not_bind_refuses_a_binding(tmp_path: Path) -> None:
    text = CITY.read_text(encoding="utf-8").replace(
        "    rule: deduction\n    points: 10\n",
        "    rule: deduction\n    points: 10\n    binding: {source: services, services: [S0001]}\n", 1)
    p = tmp_path / "city.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as exc:
        load_definition(p)
    assert "items[2.1]: the field 'binding' does not apply to rule deduction" in exc.value.render("en")


# ------------------------------------------------------------------------------- deduction

def test_questionnaire_deductions_down_to_the_floor(tmp_path: Path) -> None:
    _, ind = rated(tmp_path / "a", city_answers(incidents=1, late=2))
    row = ind["2.1"]
    assert row.rule == "deduction" and row.status == "scored" and row.met is None
    assert row.points == 3 and row.max_points == 10                   # 10 - 5 - 2
    assert row.answer == {"counts": {"security_incident": 1, "late_upload": 2},
                          "deducted": {"security_incident": 5.0, "late_upload": 2.0}}
    assert row.reasons[0] == "starts at 10, 7 deducted, 3 earned (never below 0)"
    assert "a security incident: 1 × → -5" in row.reasons
    # each entry's cap, then the item's floor
    _, ind = rated(tmp_path / "b", city_answers(incidents=0, late=9))
    assert ind["2.1"].points == 7                                      # late uploads: at most 3
    _, ind = rated(tmp_path / "c", city_answers(incidents=3, late=3))
    assert ind["2.1"].points == 0                                      # never below the floor
    _, ind = rated(tmp_path / "d", city_answers())
    assert ind["2.1"].points == 10 and ind["2.1"].reasons == [
        "starts at 10, 0 deducted, 10 earned (never below 0)"]


def test_unanswered_deductions_earn_the_floor(tmp_path: Path) -> None:
    _, ind = rated(tmp_path / "a", {})
    assert ind["2.1"].status == "unanswered" and ind["2.1"].points == 0
    _, ind = rated(tmp_path / "b", city_answers(incidents=0, late=None))   # one entry left blank
    assert ind["2.1"].status == "unanswered"
    assert "not answered in the questionnaire: scored at the floor, 0" in ind["2.1"].reasons


def test_deductions_counted_from_machine_results(tmp_path: Path) -> None:
    outcome, ind = rated(tmp_path / "a", city_answers(), failing_services=("PatientInfoMerge",),
                         failing_docs=("C0004",))
    row = ind["3.1"]
    assert row.points == -3 and row.max_points == 0 and row.source == "run+validate"
    assert row.answer["counts"] == {"failing_services": 1, "failing_documents": 1}
    assert {"kind": "deduction", "entry": "failing_services", "source": "services",
            "found": ["PatientInfoMerge"]} in row.evidence
    assert "a failing interaction service: 1 (PatientInfoMerge) → -2" in row.reasons
    dims = {d.id: d for d in outcome.score.dimensions}
    assert dims["3"].score == -3 and dims["3"].max == 0
    assert outcome.score.total == 10 + 10 - 3 and outcome.score.level == "pass"
    # never below the floor: 3 failing services (-6) and 2 failing document types (-2)
    _, ind = rated(tmp_path / "b", city_answers(),
                   failing_services=("PatientInfoMerge", "DocumentRetrieve", "PatientInfoQuery"),
                   failing_docs=("C0004", "C0005"))
    assert ind["3.1"].points == -4
    # all passing: nothing deducted
    _, ind = rated(tmp_path / "c", city_answers())
    assert ind["3.1"].points == 0 and ind["3.1"].answer["counts"] == {
        "failing_services": 0, "failing_documents": 0}


def test_machine_bound_entries_without_results_deduct_nothing(tmp_path: Path) -> None:
    d = load_definition(CITY)
    q = write_questionnaire(tmp_path / "q.yaml", d, city_answers())
    outcome = score_folder([], d, q, lang="en")
    row = {i.code: i for i in outcome.score.indicators}["3.1"]
    assert row.points == 0 and row.status == "scored"
    assert "a failing interaction service: no test result (run), nothing deducted" in row.reasons
    assert outcome.written is None


def test_the_questionnaire_asks_the_counts(tmp_path: Path) -> None:
    d = load_definition(CITY)
    text, asked, auto = write_template(d, "zh")
    assert (asked, auto) == (2, 1)
    assert ("扣分: 起始 10 分；发生网络安全事件 每次 -5，最多 -10；数据未按时上传 每次 -1，最多 -3；"
            "最低 0 分") in text
    assert "    counts:\n      security_incident:          # 发生网络安全事件；次数（未发生填 0）" in text
    assert "failing_services: 交互服务测试未通过（由测试结果自动计数）" in text
    # the written template loads back, unanswered
    p = tmp_path / "q.yaml"
    p.write_text(text, encoding="utf-8")
    q = load_questionnaire(p, d)
    assert not q.answers["2.1"].answered


def test_wrong_deduction_answers_name_their_line(tmp_path: Path) -> None:
    d = load_definition(CITY)
    p = write_questionnaire(tmp_path / "q.yaml", d, {"2.1": {"counts": {
        "security_incident": "many", "late_upload": -1, "failing_services": 2, "bogus": 1}}})
    with pytest.raises(QuestionnaireError) as exc:
        load_questionnaire(p, d)
    out = exc.value.render("en")
    lines = p.read_text(encoding="utf-8").splitlines()

    def at(needle: str) -> str:
        return f"{p}:{next(n for n, line in enumerate(lines, 1) if needle in line)}: item 2.1: "

    assert at("security_incident") + "counts.security_incident must be an integer, found 'many'" in out
    assert at("late_upload") + "counts.late_upload must be a non-negative integer" in out
    assert at("failing_services") + "unknown field 'counts.failing_services'; fields: " \
        "security_incident, late_upload" in out
    assert at("bogus") + "unknown field 'counts.bogus'" in out


def test_deduction_definition_errors_all_at_once(tmp_path: Path) -> None:
    text = CITY.read_text(encoding="utf-8")
    text = text.replace("    points: 0\n    floor: -4\n", "    points: 0\n    floor: 2\n", 1)
    text = text.replace("{id: late_upload,", "{id: security_incident,", 1)
    text = text.replace("binding: {source: services}}", "binding: {source: services, datasets: [x]}}")
    text = text.replace("label_en: a security incident, points: 5,",
                        "label_en: a security incident, pionts: 5,", 1)
    p = tmp_path / "city.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as exc:
        load_definition(p)
    en = exc.value.render("en")
    assert re.search(r"has an unknown field 'pionts' \(did you mean 'points'\?\)", en)
    assert "lacks the required field 'points'" in en
    assert all(re.search(rf"{re.escape(str(p))}:\d+: ", row) for row in en.splitlines()[1:])
    # a sound schema, wrong meaning
    text = CITY.read_text(encoding="utf-8")
    text = text.replace("    points: 0\n    floor: -4\n", "    points: 0\n    floor: 2\n", 1)
    text = text.replace("{id: late_upload,", "{id: security_incident,", 1)
    text = text.replace("binding: {source: services}}", "binding: {source: services, datasets: [x]}}")
    p.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as exc:
        load_definition(p)
    en = exc.value.render("en")
    lines = text.splitlines()
    floor_line = next(n for n, line in enumerate(lines, 1) if "points: 0" in line)
    assert f"{p}:{floor_line}: items[3.1].points must be >= 2.0, found 0" in en
    assert "duplicate deduction entry 'security_incident'" in en
    assert "扣分条目 “security_incident” 重复" in exc.value.render("zh")
    assert "the field 'datasets' does not apply to rule binding: services" in en


# ------------------------------------------------------------------------------- score_folder

def test_score_folder_writes_reseals_and_gates(tmp_path: Path) -> None:
    d = load_definition(CITY)
    q = write_questionnaire(tmp_path / "q.yaml", d, city_answers(incidents=1))
    folder = RunFolder(write_run(tmp_path / "run", resolve_definition(index_system="hospital-2020")))
    outcome = score_folder([folder], d, q, min_level="Pass", lang="en")
    assert outcome.written == folder.path / "score.json" and outcome.exit_code == 0
    assert folder.verify(["score.json"]).problems == []
    raw = json.loads(outcome.written.read_text(encoding="utf-8"))
    jsonschema.validate(raw, shipped("score"))
    assert raw["schema_version"] == 1 and raw["min_level_met"] is True
    assert RunFolder(folder.path).score == outcome.score
    # the level is not reached when the interoperability item fails
    bad = RunFolder(write_run(tmp_path / "bad", resolve_definition(index_system="hospital-2020"),
                              failing_services=("PatientInfoRegister",)))
    outcome = score_folder([bad], d, q, min_level="pass", write=False)
    assert outcome.exit_code == 1 and outcome.written is None and outcome.score.level is None
    assert not (bad.path / "score.json").exists()
    with pytest.raises(ScoreUsageError) as exc:
        score_folder([folder], d, q, min_level="gold")
    assert isinstance(exc.value, ConformanceError) and "'gold' is not a level of city-test" \
        in exc.value.render("en")


def test_user_errors_are_conformance_errors(tmp_path: Path) -> None:
    for cls in (DefinitionError, QuestionnaireError, ResultsError, ScoreUsageError):
        assert issubclass(cls, ConformanceError)
    with pytest.raises(ResultsError):
        score_folder([RunFolder(tmp_path / "nope")], load_definition(CITY))


def test_cli_scores_the_city_index_system(tmp_path: Path) -> None:
    d = load_definition(CITY)
    q = write_questionnaire(tmp_path / "q.yaml", d, city_answers(incidents=1, late=1))
    folder = write_run(tmp_path / "run", resolve_definition(index_system="hospital-2020"),
                       failing_docs=("C0004",))
    r = CliRunner().invoke(main, ["score", str(folder), "--assessment", str(CITY),
                                  "--self-assessment", str(q), "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert "Total: 13 / 20" in r.output and "Level reached: Pass (provisional)" in r.output
    data = json.loads((folder / "score.json").read_text(encoding="utf-8"))
    rows = {i["code"]: i for i in data["indicators"]}
    assert rows["2.1"]["points"] == 4 and rows["3.1"]["points"] == -1


# the punctuation around the data (option names, labels, units stay as the index system writes
# them) is the output language's: no '；', '、' or '（…）' of ours in English
@pytest.mark.parametrize(("code", "zh", "en"), [
    ("3.1.5.1", "含 CDR 展现与管理、数据脱敏配置管理；五级乙等 >=8；",
     "incl. CDR 展现与管理, 数据脱敏配置管理; Level 5B >=8; "),
    ("4.1.2.3", "rpo_hours:          # RPO 恢复点目标（小时）",
     "rpo_hours:          # RPO 恢复点目标 (小时)"),
    ("2.2.54.1", "# yes | no（有此文档 / 无此文档）", "# yes | no (有此文档 / 无此文档)"),
    ("2.1.3.2", "# conformant（有且完全符合国家标准） | partial（有，部分符合国家标准）",
     "# conformant (有且完全符合国家标准) | partial (有，部分符合国家标准)"),
])
def test_explanations_and_questions_punctuate_in_their_language(code: str, zh: str,
                                                                en: str) -> None:
    from conformance.scoring.definition import get_definition
    from conformance.scoring.rules import rule_type

    d = get_definition("hospital-2020")
    item = next(i for i in d.items if i.code == code)
    kind = rule_type(item.rule)
    said = {lang: kind.explain(item, d, lang) + "\n" + "\n".join(kind.question(item, d, lang))
            for lang in ("zh", "en")}
    assert zh in said["zh"] and en in said["en"], said
