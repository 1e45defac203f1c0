"""Bindings from run results to items, verification of the run folder (manifest, versions), and
the `conformance score` / `conformance manifest` commands end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.model.folder import RunFolder, sha256_file
from conformance.model.io import datasets_json
from conformance.scoring.definition import get_definition
from conformance.scoring.engine import score
from conformance.scoring.results import ResultsError, load_results

from .test_scoring_support import (
    TOOL,
    answers_for,
    datasets_results,
    verdict,
    write_questionnaire,
    write_run,
)

H = get_definition("hospital-2020")


def run_cli(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return r.exit_code, r.output


def result_of(sc, code: str):
    return next(r for r in sc.results if r.item.code == code)


def test_document_and_service_bindings(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "run", H, failing_docs=("C0032",), missing_docs=("C0053",),
                       failing_services=("PatientInfoMerge",), no_negative=("ProviderInfoQuery",))
    sc, _ = score(H, load_results([folder]), None)
    doc = result_of(sc, "2.2.32.1")
    assert doc.status == "not_met" and doc.source == "validate"
    assert doc.evidence[0]["samples"] == 2 and doc.evidence[0]["failed"] == 1
    assert doc.evidence[0]["failing"][0]["rules"] == ["x.rule"]
    assert result_of(sc, "2.2.1.1").status == "met" and result_of(sc, "2.2.1.1").points == pytest.approx(0.26)
    assert result_of(sc, "2.2.53.1").status == "not_assessed"
    merge = result_of(sc, "3.2.2.3")
    assert merge.status == "not_met" and "反向用例 0/1 通过" in merge.reasons[0]
    no_neg = result_of(sc, "3.2.4.3")
    assert no_neg.status == "not_met" and any("缺少反向用例" in x for x in no_neg.reasons)
    ok = result_of(sc, "3.2.1.1")
    assert ok.status == "met" and ok.points == 3.5
    assert [c["kind"] for c in ok.evidence[0]["cases"]] == ["positive", "negative"]


def test_service_aliases_match_s_codes_and_chinese_names(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    cases = [{"id": "a", "service": "S0001", "kind": "positive", "result": "pass", "checks": []},
             {"id": "b", "service": "个人信息注册服务", "kind": "negative", "result": "pass", "checks": []}]
    (folder / "results.json").write_text(json.dumps({"tool": TOOL, "cases": cases}), encoding="utf-8")
    sc, _ = score(H, load_results([folder]), None)
    assert result_of(sc, "3.2.2.1").status == "met"
    assert result_of(sc, "3.2.2.2").status == "not_assessed"


def test_performance_bands_are_recorded(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "run", H, perf=True)
    sc, _ = score(H, load_results([folder]), None, "en")
    reg, query, access = (result_of(sc, c) for c in ("3.3.1.1", "3.3.1.2", "3.3.3.2"))
    assert reg.band == "lt1s" and query.band == "1to3s" and access.band == "gt10s"
    assert reg.points == 0 and reg.status == "recorded" and "median 120 ms → within 1 s" in reg.reasons[0]
    assert result_of(sc, "3.3.2.1").reasons[0].startswith("not measured")
    assert sc.sub_scores["3.3"].score == 0


def test_dataset_result_overrides_the_questionnaire(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "run", H)
    RunFolder(folder).write("datasets", datasets_results(
        verdict("full", id="WS445.1.1"), verdict("partial", id="X-2", name="基本健康信息子集"),
        verdict("none", id="WS445.6.1")))
    answers = answers_for(H, "五级甲等")
    answers["2.1.6.1"] = {"answer": "no_business"}
    q = write_questionnaire(tmp_path / "q.yaml", H, answers)
    from conformance.scoring.questionnaire import load_questionnaire
    sc, notes = score(H, load_results([folder]), load_questionnaire(q, H))
    assert result_of(sc, "2.1.1.1").source == "datasets" and result_of(sc, "2.1.1.1").status == "met"
    assert result_of(sc, "2.1.1.2").status == "not_met"
    # an untouched "无此数据" (no records, no documents) leaves the item to the questionnaire
    assert result_of(sc, "2.1.6.1").status == "no_business"
    assert result_of(sc, "2.1.6.1").source == "questionnaire"
    assert result_of(sc, "2.1.1.3").source == "questionnaire"        # no result for it
    assert ("score.q.contradicts_auto",
            {"code": "2.1.1.2", "answer": "conformant", "auto": "partial"}) in notes
    assert sc.level is None  # 2.1.1.2 is required from 一级


def test_dataset_result_in_the_validate_dataset_shape(tmp_path: Path) -> None:
    """`conformance validate-dataset --format json` output: verdict_key, assessment_item, and
    untouched sets (no records, no documents) that must not override the questionnaire."""
    ds = tmp_path / "ds.json"
    ds.write_text(json.dumps({"tool": TOOL, "documents": [], "datasets": [
        {"id": "X-1", "name": "x", "verdict": "部分符合", "verdict_en": "partial", "verdict_key": "partial",
         "records": 10,
         "documents": 0, "assessment_item": "2.1.2.1", "element_list": "WS 445; element list: x"},
        {"id": "WS445.1.2", "name": "基本健康信息", "verdict": "无此数据", "verdict_key": "none",
         "records": 0, "documents": 0}]}, ensure_ascii=False), encoding="utf-8")
    from conformance.scoring.questionnaire import load_questionnaire
    q = load_questionnaire(write_questionnaire(tmp_path / "q.yaml", H, answers_for(H, "二级")), H)
    sc, _ = score(H, load_results([], ds), q)
    assert result_of(sc, "2.1.2.1").source == "datasets" and result_of(sc, "2.1.2.1").status == "not_met"
    assert result_of(sc, "2.1.2.1").evidence[0]["element_list"] == "WS 445; element list: x"
    assert result_of(sc, "2.1.1.2").source == "questionnaire" and result_of(sc, "2.1.1.2").status == "met"
    assert sc.level.id == "一级"
    assert result_of(sc, "2.1.2.1").reasons == ["数据集测试结论：部分符合"]
    sc, _ = score(H, load_results([], ds), q, "en")   # the verdict in the output's language
    assert result_of(sc, "2.1.2.1").reasons == ["data-set test verdict: partial"]


# ------------------------------------------------------------------------------- verification

def seal(folder: Path) -> None:
    code, out = run_cli("manifest", str(folder))
    assert code == 0, out


def test_manifest_seal_and_verify(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "run", H, perf=True)
    (folder / "evidence").mkdir()
    (folder / "evidence" / "001.xml").write_text("<x/>", encoding="utf-8")
    seal(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["schema"] == "conformance-manifest/1" and manifest["tool"]["name"] == "conformance"
    paths = {a["path"]: a for a in manifest["artifacts"]}
    assert set(paths) == {"validate.json", "results.json", "perf.json", "evidence/001.xml"}
    assert paths["perf.json"]["sha256"] == sha256_file(folder / "perf.json")
    assert run_cli("manifest", str(folder), "--verify")[0] == 0
    inp = load_results([folder])
    assert all(i["verified"] for i in inp.inputs) and not inp.warnings


def test_tampered_results_are_refused(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "run", H)
    seal(folder)
    data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    data["cases"][0]["result"] = "pass" if data["cases"][0]["result"] == "fail" else "fail"
    (folder / "results.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ResultsError) as exc:
        load_results([folder])
    assert "results.json does not match the checksum in manifest.json" in exc.value.render("en")
    code, out = run_cli("score", "--results", str(folder), "--lang", "en")
    assert code == 2 and "Refusing to score" in out and not (folder / "score.json").exists()
    code, out = run_cli("manifest", str(folder), "--verify")
    assert code == 1 and "manifest.json" in out
    # a file added after sealing, and a listed file that disappeared
    folder2 = write_run(tmp_path / "run2", H)
    (folder2 / "results.json").unlink()
    seal(folder2)
    write_run(tmp_path / "run2", H)
    with pytest.raises(ResultsError) as exc:
        load_results([folder2])
    assert "results.json is not listed in manifest.json" in exc.value.render("en")
    (folder2 / "validate.json").unlink()
    with pytest.raises(ResultsError) as exc:
        load_results([folder2])
    assert "validate.json is listed in manifest.json but missing" in exc.value.render("en")


def test_mixed_versions_and_rulesets_are_refused(tmp_path: Path) -> None:
    a = write_run(tmp_path / "a", H)
    b = write_run(tmp_path / "b", H)
    data = json.loads((b / "results.json").read_text(encoding="utf-8"))
    data["tool"] = {**data["tool"], "version": "0.0.9"}
    (b / "results.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ResultsError) as exc:
        load_results([a, b])
    assert "refusing mixed-version inputs" in exc.value.render("en") and "0.0.9" in exc.value.render("en")
    assert "拒绝混合版本的输入" in exc.value.render("zh")
    c = write_run(tmp_path / "c", H)
    data = json.loads((c / "validate.json").read_text(encoding="utf-8"))
    data["tool"]["ruleset"] = "wst-cda-2025.01"
    (c / "validate.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ResultsError) as exc:
        load_results([a, c])
    assert "refusing inputs with different rulesets" in exc.value.render("en")
    # a manifest sealed by another version than the files it covers
    d = write_run(tmp_path / "d", H)
    seal(d)
    m = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    m["tool"]["version"] = "9.9.9"
    (d / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(ResultsError) as exc:
        load_results([d])
    assert "manifest.json records 9.9.9" in exc.value.render("en")


@pytest.mark.parametrize("content,expect", [
    ("{not json", "line 1, column 2: not valid JSON"),
    ('{"cases": []}', "no 'tool' stamp"),
    ('{"tool": {"name": "conformance", "version": ""}, "cases": []}', "no 'tool' stamp"),
    ('{"tool": {"name": "conformance", "version": "x"}, "cases": [{"id": "c", "kind": "smoke", '
     '"result": "pass"}]}', "cases[0].kind must be positive, negative or workflow"),
    ('{"tool": {"name": "conformance", "version": "x"}, "cases": [{"id": "c", "result": "passed"}]}',
     "$.cases[0].result"),
    ('{"tool": {"name": "conformance", "version": "x"}, "cases": [{"kind": "positive"}]}',
     "missing required field `id`"),
])
def test_malformed_results_are_refused(tmp_path: Path, content: str, expect: str) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "results.json").write_text(content, encoding="utf-8")
    with pytest.raises(ResultsError) as exc:
        load_results([folder])
    assert expect in exc.value.render("en")


def test_dataset_verdicts_must_agree_with_their_key(tmp_path: Path) -> None:
    """A verdict word that contradicts verdict_key (a file not written by validate-dataset, say
    without verdict_key at all) is refused rather than read as 无此数据."""
    ds = tmp_path / "ds.json"
    ds.write_text(json.dumps({"tool": TOOL, "datasets": [
        {"id": "WS445.1.1", "verdict": "完全覆盖且符合", "records": 3}]}, ensure_ascii=False),
        encoding="utf-8")
    with pytest.raises(ResultsError) as exc:
        load_results([], ds)
    assert "verdict '完全覆盖且符合' disagrees with verdict_key 'none'" in exc.value.render("en")
    datasets_json.dump(datasets_results(verdict("full", id="WS445.1.1")), ds)
    assert load_results([], ds).datasets[0].verdict == "conformant"


def test_interrupted_run_is_a_warning(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "run", H)
    run = RunFolder(folder)
    results = run.results
    results.complete = False
    run.write("results", results)
    inp = load_results([folder])
    assert [k for k, _ in inp.warnings] == ["score.results.no_manifest", "score.results.incomplete"]
    assert inp.targets == ["embedded"]


def test_empty_or_missing_folder(tmp_path: Path) -> None:
    code, out = run_cli("score", "--results", str(tmp_path / "nope"), "--lang", "en")
    assert code == 2 and "results folder not found" in out
    (tmp_path / "empty").mkdir()
    code, out = run_cli("score", "--results", str(tmp_path / "empty"), "--lang", "en")
    assert code == 2 and "holds no result file" in out


# ------------------------------------------------------------------------------- the command

def test_score_command_end_to_end(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "run", H, perf=True)
    seal(folder)
    (tmp_path / "proof.pdf").write_bytes(b"%PDF-1.4\n")
    answers = answers_for(H, "四级甲等")
    answers["4.3.2.7"] = {"answer": "yes", "evidence": ["proof.pdf"]}
    q = write_questionnaire(tmp_path / "q.yaml", H, answers)
    code, out = run_cli("score", "--results", str(folder), "--self-assessment", str(q))
    assert code == 0, out
    assert "达到等级：四级甲等（暂定）" in out and "距 五级乙等 还差" in out and "已写入" in out
    data = json.loads((folder / "score.json").read_text(encoding="utf-8"))
    for key in ("level", "total", "dimensions", "indicators", "gaps", "provisional"):
        assert key in data
    assert data["schema"] == "conformance-score/1" and data["level"] == "四级甲等"
    assert {"id", "name", "score", "max", "provisional"} <= set(data["dimensions"][0])
    assert data["gaps"][0]["level"] == "五级乙等" and data["gaps"][0]["missing"]
    assert data["next_level"] == "五级乙等" and data["levels"][0] == "一级"
    assert all(i["verified"] for i in data["inputs"]["results"])
    assert data["inputs"]["evidence"][0]["sha256"] == sha256_file(tmp_path / "proof.pdf")
    assert data["inputs"]["questionnaire"]["sha256"] == sha256_file(q)
    assert data["assessment"]["sha256"] and data["assessment"]["level_rule"]["status"] == "provisional"
    inds = {i["code"]: i for i in data["indicators"]}
    assert inds["3.2.1.1"]["source"] == "run" and inds["3.2.1.1"]["met"] is True
    assert inds["3.3.1.1"]["met"] is None and inds["3.3.1.1"]["band"] == "lt1s"
    # score.json is added to the folder's manifest and verifies
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert "score.json" in {a["path"] for a in manifest["artifacts"]}
    assert run_cli("manifest", str(folder), "--verify")[0] == 0
    # scoring again (score.json now present and sealed) still works
    assert run_cli("score", str(folder), "--self-assessment", str(q))[0] == 0


def test_min_level_gate_and_languages(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "run", H)
    q = write_questionnaire(tmp_path / "q.yaml", H, answers_for(H, "四级乙等"))
    out_dir = tmp_path / "out"
    code, out = run_cli("score", "--results", str(folder), "--self-assessment", str(q), "--out", str(out_dir),
                        "--min-level", "四级甲等", "--lang", "en")
    assert code == 1
    assert "Level reached: Level 4B (provisional)" in out
    assert "level Level 4B is below the required Level 4A" in out
    data = json.loads((out_dir / "score.json").read_text(encoding="utf-8"))
    assert data["min_level"] == "四级甲等" and data["min_level_met"] is False
    assert (out_dir / "manifest.json").is_file()
    code, out = run_cli("score", "--results", str(folder), "--self-assessment", str(q), "--out", str(out_dir),
                        "--min-level", "Level 4B")
    assert code == 0 and "满足要求的" in out
    code, out = run_cli("score", "--results", str(folder), "--self-assessment", str(q), "--min-level", "六级")
    assert code == 2 and "is not a level" in out or "不是" in out
    code, out = run_cli("score", "--results", str(folder), "--self-assessment", str(q), "--format", "json",
                        "--out", str(out_dir))
    assert code == 0 and json.loads(out)["level"] == "四级乙等"


def test_no_manifest_is_a_warning_and_other_index_systems(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "run", H)
    q = write_questionnaire(tmp_path / "q.yaml", H, answers_for(H, "三级"))
    code, out = run_cli("score", str(folder), "--self-assessment", str(q), "--lang", "en")
    assert code == 0 and "has no manifest.json, integrity cannot be verified" in out
    # the folder is sealed after scoring: a second run verifies every input
    names = {a["path"] for a in json.loads((folder / "manifest.json").read_text())["artifacts"]}
    assert names == {"validate.json", "results.json", "score.json"}
    code, out = run_cli("score", str(folder), "--self-assessment", str(q), "--lang", "en")
    assert code == 0 and "integrity cannot be verified" not in out
    emr = get_definition("emr-application-2018")
    answers = {}
    for i in emr.items:
        answers[i.code] = {"level": 4, "application": True if i.application == "applied" else 1.0}
        if i.data_quality != "none":
            answers[i.code]["data_quality"] = 1.0
    qe = write_questionnaire(tmp_path / "emr.yaml", emr, answers)
    code, out = run_cli("score", "--self-assessment", str(qe), "--out", str(tmp_path / "e"),
                        "--min-level", "4级")
    assert code == 0, out
    assert "达到等级：4级（暂定）" in out
    data = json.loads((tmp_path / "e" / "score.json").read_text(encoding="utf-8"))
    assert data["assessment"]["id"] == "emr-application-2018" and data["total"] == 156
