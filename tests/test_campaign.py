"""`conformance campaign`: campaign.yaml errors at file:line, collect (verified, tampered and
mixed folders refused), the report (league table, ranks, problems, tasks with deadlines and
owners, levels by district, data quality by district), the follow-up review (fixed, still open,
reopened) and the formats — on synthesized run folders (fast). The end-to-end campaign against
embedded platforms is in test_campaign_e2e.py (slow)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from conformance.campaign import config as cfg
from conformance.campaign.report import build_report, load_previous
from conformance.campaign.runner import collect, run_campaign
from conformance.cli import main
from conformance.model.folder import RunFolder
from conformance.model.io import campaign_json
from conformance.model.io.schemas import shipped

from .campaign_fixtures import TOOL, synth_run, write_campaign

INSTS = [
    {"id": "h01", "name": "第一医院", "kind": "hospital", "district": "东区",
     "_run": {"level": "五级乙等", "total": 91.0, "quality_ratio": 0.995}},
    {"id": "h02", "name": "第二医院", "kind": "hospital", "district": "东区",
     "_run": {"level": "四级甲等", "total": 84.0, "fail_services": ("PatientInfoQuery",),
              "quality_ratio": 0.8}},
    {"id": "h03", "name": "第三医院", "kind": "hospital", "district": "西区",
     "_run": {"level": "四级乙等", "total": 70.0, "not_met": ("3.2.2.2", "4.1.1.1"),
              "fail_services": ("DocumentRegiste", "PatientInfoRegister"),
              "invalid_types": ("C0001",), "quality_ratio": 0.7}},
    {"id": "h04", "name": "第四医院", "kind": "hospital", "district": "西区",
     "_run": {"level": "三级", "total": 61.5, "not_met": ("2.2.4.1",), "quality_ratio": None}},
    {"id": "h05", "name": "第五医院", "kind": "hospital", "district": "西区",
     "_status": "unreachable", "_reason": "connection refused (http://10.0.0.9/hip)"},
]


def make_campaign(root: Path, insts: list[dict] = INSTS, extra: str = "") -> Path:
    write_campaign(root, insts, extra=extra)
    for i in insts:
        if "_run" in i:
            synth_run(root / "runs" / i["id"], **i["_run"])
    return root


# ------------------------------------------------------------------------------ campaign.yaml
def test_init_writes_a_campaign_that_loads(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["campaign", "init", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    camp = cfg.load(tmp_path / "c")
    assert [i.id for i in camp.institutions] == ["h01", "h02"]
    assert camp.institutions[1].target.faults.startswith("seed=")
    r = CliRunner().invoke(main, ["campaign", "init", str(tmp_path / "c")])
    assert r.exit_code == 2 and "--force" in r.output


def test_every_problem_of_campaign_yaml_at_once_with_its_line(tmp_path: Path) -> None:
    text = """schema: conformance-campaign/1
name: 测试
target_levels: {hospital: 六级}
institutions:
  - id: h01
    name: 甲
    kind: hospital
    documnets: docs/
  - id: h01
    name: 乙
    kind: clinic
  - id: h02
    name: 丙
    kind: hospital
    target: {embedded: true, faults: "http500=3"}
    datasets: nowhere/
"""
    (tmp_path / "campaign.yaml").write_text(text, "utf-8")
    with pytest.raises(cfg.CampaignError) as ei:
        cfg.load(tmp_path, "en")
    msg = str(ei.value)
    assert "campaign.yaml:8: institutions[h01]: unknown key documnets (did you mean documents?)" \
        in msg
    assert "campaign.yaml:11: institutions[h01].kind: clinic is not one of hospital, district" in msg
    # meaning checks come once the shape is right
    (tmp_path / "campaign.yaml").write_text(text.replace("    documnets: docs/\n", "")
                                            .replace("kind: clinic", "kind: hospital"), "utf-8")
    with pytest.raises(cfg.CampaignError) as ei:
        cfg.load(tmp_path, "en")
    msg = str(ei.value)
    assert "campaign.yaml:3: target level 六级 of hospital is not a level" in msg
    assert "campaign.yaml:8: institution id h01 given twice (first at line 5)" in msg
    assert "campaign.yaml:14: h02: faults:" in msg and "outside 0" in msg
    assert "campaign.yaml:15:" in msg and "nowhere does not exist" in msg
    r = CliRunner().invoke(main, ["campaign", "run", str(tmp_path), "--lang", "en"])
    assert r.exit_code == 2 and "4 problems" in r.output and "Traceback" not in r.output


# ------------------------------------------------------------------------------ collect
def test_collect_accepts_a_sealed_folder_and_refuses_tampered_mixed_and_unsealed(
        tmp_path: Path) -> None:
    camp_dir = tmp_path / "camp"
    write_campaign(camp_dir, [{**i, "_status": "missing"} for i in INSTS
                              if i["id"] in ("h01", "h02", "h03")])
    sub = tmp_path / "submitted"
    good = synth_run(sub / "h01", level="四级甲等", total=82)
    tampered = synth_run(sub / "20260501-090000-h02", level="四级甲等", total=80)
    score = json.loads((tampered.path / "score.json").read_text("utf-8"))
    score["level"] = "五级甲等"   # edited after sealing
    (tampered.path / "score.json").write_text(json.dumps(score, ensure_ascii=False), "utf-8")
    mixed = synth_run(sub / "mixed", level="三级", total=60)
    res = mixed.results
    res.tool.version = "0.0.9"    # results.json from another version, resealed by hand
    mixed.write("results", res)
    mixed.seal(TOOL)
    other = synth_run(sub / "other-target", level="三级", total=60)
    from conformance.model.perf import PerfResults

    other.write("perf", PerfResults(tool=TOOL, target={"name": "另一家医院平台"}))
    other.seal(TOOL)                 # perf.json of another platform, sealed in by hand
    unsealed = synth_run(sub / "unsealed", level="三级", total=60)
    (unsealed.path / "manifest.json").unlink()
    camp = cfg.load(camp_dir)
    subs = {s.path.name: s for s in collect(camp, [str(good.path), str(tampered.path),
                                                   f"h03={mixed.path}", f"h03={unsealed.path}",
                                                   f"h03={other.path}",
                                                   str(sub / "nobody")], "en")}
    assert subs["h01"].accepted and subs["h01"].institution == "h01"
    assert (camp_dir / "runs" / "h01" / "score.json").is_file()
    assert RunFolder(camp_dir / "runs" / "h01").verify([]).problems == []
    t = subs["20260501-090000-h02"]
    assert not t.accepted and t.institution == "h02"
    assert any("score.json" in r and "manifest" in r for r in t.reasons), t.reasons
    assert not (camp_dir / "runs" / "h02").exists()
    m = subs["mixed"]
    assert not m.accepted and any("mixed folder" in r and "0.0.9" in r for r in m.reasons)
    o = subs["other-target"]
    assert not o.accepted and any("different targets" in r and "另一家医院平台" in r
                                  for r in o.reasons), o.reasons
    assert not subs["unsealed"].accepted and "manifest.json" in subs["unsealed"].reasons[0]
    assert not subs["nobody"].accepted and "which institution" in subs["nobody"].reasons[0]
    report = build_report(cfg.load(camp_dir), lang="en")
    rows = {r.id: r for r in report.institutions}
    assert rows["h01"].status == "assessed" and rows["h01"].source == "submitted"
    assert rows["h02"].status == "refused" and "manifest" in (rows["h02"].reason or "")
    r = CliRunner().invoke(main, ["campaign", "collect", str(camp_dir), str(tampered.path)])
    assert r.exit_code == 1


# ------------------------------------------------------------------------------ report
def test_league_table_ranks_levels_problems_tasks_and_quality(tmp_path: Path) -> None:
    camp_dir = make_campaign(tmp_path / "c")
    report = build_report(cfg.load(camp_dir), lang="zh")
    rows = {r.id: r for r in report.institutions}
    assert [rows[i].rank for i in ("h01", "h02", "h03", "h04")] == [1, 2, 3, 4]
    assert rows["h05"].status == "unreachable" and rows["h05"].rank is None
    assert "connection refused" in (rows["h05"].reason or "")
    assert report.below_target == ["h03", "h04"]
    assert rows["h02"].target_met is True and rows["h04"].target_met is False
    dist = {(d.district, d.kind): d.counts for d in report.distribution}
    assert dist[("东区", "hospital")] == {"五级乙等": 1, "四级甲等": 1}
    assert dist[("西区", "hospital")] == {"四级乙等": 1, "三级": 1, "": 1}
    # 问题清单: indicators, services, documents, data quality, with counts and examples
    keys = {p.key: p for p in rows["h03"].problems}
    assert {"indicator:3.2.2.2", "indicator:4.1.1.1", "service:DocumentRegiste",
            "service:PatientInfoRegister", "document:C0001"} <= set(keys)
    assert any(k.startswith("quality:") for k in keys)
    assert keys["indicator:3.2.2.2"].blocking
    svc = keys["service:PatientInfoRegister"]
    assert svc.count >= 1 and svc.examples and "AE" in svc.examples[0].message
    doc = keys["document:C0001"]
    assert doc.examples[0].where.endswith(":3") and "WST500.HEADER.REALM_CODE" in \
        doc.examples[0].message
    assert rows["h01"].problems == []
    # 任务清单: one task per problem, deadline from the policy, owner
    tasks = {tk.problem: tk for tk in rows["h03"].tasks}
    assert set(tasks) == set(keys)
    assert tasks["indicator:3.2.2.2"].deadline == "2026-07-01"      # blocking: 30 days
    assert tasks["indicator:4.1.1.1"].deadline == "2026-07-01"
    assert tasks["service:DocumentRegiste"].deadline == "2026-07-31"  # services: 60 days
    assert tasks["document:C0001"].owner == "信息科（电子病历）"
    assert all(tk.status == "open" for tk in tasks.values())
    # data quality per institution, district (sums of numerators / denominators), region
    q = {(r.scope, r.id): r for r in report.quality}
    east = q[("district", "东区")]
    conf = {f.id: f for f in east.governance}["conformity"]
    assert (conf.numerator, conf.denominator) == (995 + 800, 2000)
    assert conf.value == pytest.approx(0.8975)
    assert q[("district", "西区")].institutions == 1      # h04 has no data-set exports
    assert ("region", "*") in q and len(q[("region", "*")].emr) == 4
    assert [f.id for f in q[("institution", "h02")].governance] == [
        "conformity", "completeness", "accuracy", "timeliness", "linkage", "usefulness"]


@pytest.mark.slow
def test_report_formats_json_schema_html_links_and_xlsx_sheets(tmp_path: Path) -> None:
    camp_dir = make_campaign(tmp_path / "c")
    out = tmp_path / "out"
    for fmt in ("json", "html", "xlsx"):
        r = CliRunner().invoke(main, ["campaign", "report", str(camp_dir), "--format", fmt,
                                      "-o", str(out / f"c.{fmt}")])
        assert r.exit_code == 0, r.output
    data = json.loads((out / "c.json").read_text("utf-8"))
    jsonschema.validate(data, shipped("campaign"))
    assert campaign_json.load(out / "c.json").institution("h02").rank == 2
    assert (camp_dir / "campaign.json").is_file()          # the record --previous reads
    html = (out / "c.html").read_text("utf-8")
    assert 'href="../c/runs/h03/report.html"' in html       # each figure links to its report
    assert html.count("<svg") >= 2 and "table.sortable" in html and "<script>" in html
    assert "src=" not in html and "<link" not in html       # self-contained
    assert "第五医院" in html and "无法连接" in html
    from openpyxl import load_workbook

    wb = load_workbook(out / "c.xlsx")
    assert wb.sheetnames == ["排行榜", "等级分布", "问题清单", "任务清单", "数据质量"]
    ws = wb["排行榜"]
    assert ws.auto_filter.ref.startswith("A1:")
    assert ws["A2"].value == "第一医院" and ws["A2"].hyperlink is not None
    assert all(wb[n].auto_filter.ref for n in wb.sheetnames)


def test_the_english_dashboard_punctuates_in_english(tmp_path: Path) -> None:
    from conformance.campaign.views import render_html_string

    camp_dir = make_campaign(tmp_path / "c")
    for lang, said in (("zh", ["第五医院（h05）：无法连接 — connection refused", "问题清单（"]),
                       ("en", ["第五医院 (h05): unreachable — connection refused",
                               "Problem list ("])):
        html = render_html_string(build_report(cfg.load(camp_dir), lang=lang), camp_dir,
                                  tmp_path / "out", lang)
        assert all(s in html for s in said), (lang, [s for s in said if s not in html])
        if lang == "en":
            assert "）：" not in html and "第一医院（" not in html
    from openpyxl import load_workbook

    from conformance.campaign.views import write_xlsx

    write_xlsx(build_report(cfg.load(camp_dir), lang="en"), camp_dir, tmp_path / "c.xlsx", "en")
    head = [c.value for c in load_workbook(tmp_path / "c.xlsx")["Data quality"][1]]
    assert any(str(h).endswith(" (EMR-rating data-quality coefficient)") for h in head), head


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("fc-list") is None, reason="no fontconfig: PDF not checked")
def test_report_pdf(tmp_path: Path) -> None:
    pytest.importorskip("pypdf")
    from pypdf import PdfReader

    camp_dir = make_campaign(tmp_path / "c")
    r = CliRunner().invoke(main, ["campaign", "report", str(camp_dir), "--format", "pdf"])
    assert r.exit_code == 0, r.output
    text = PdfReader(str(camp_dir / "campaign.pdf")).pages[0].extract_text()
    assert "综合排行榜" in text


# ------------------------------------------------------------------------------ follow-up
def test_follow_up_review_fixed_still_open_and_reopened(tmp_path: Path) -> None:
    first = make_campaign(tmp_path / "2025", INSTS[:3])
    r = CliRunner().invoke(main, ["campaign", "report", str(first), "--format", "json"])
    assert r.exit_code == 0, r.output
    # a year later: h03 fixed PatientInfoRegister and 4.1.1.1, still fails DocumentRegiste,
    # reported C0001 and 3.2.2.2 done — C0001 is fixed, 3.2.2.2 is found again (reopened)
    (tmp_path / "fb").mkdir()
    (tmp_path / "fb" / "h03.yaml").write_text(
        "done: [document:C0001, indicator:3.2.2.2]\n", "utf-8")
    later = [dict(i) for i in INSTS[:3]]
    later[2] = {**later[2], "rectification": "../fb/h03.yaml",
                "_run": {"level": "四级甲等", "total": 78.0, "not_met": ("3.2.2.2",),
                         "fail_services": ("DocumentRegiste",), "quality_ratio": 0.9}}
    later[1] = {**later[1], "_run": {"level": "四级乙等", "total": 75.0,
                                     "fail_services": ("PatientInfoQuery", "DocumentAccess"),
                                     "quality_ratio": 0.8}}
    second = make_campaign(tmp_path / "2026", later)
    r = CliRunner().invoke(main, ["campaign", "report", str(second), "--previous", str(first),
                                  "--format", "json", "-o", str(tmp_path / "f.json")])
    assert r.exit_code == 0, r.output
    rep = campaign_json.load(tmp_path / "f.json")
    follow = {f.task: f for f in rep.follow_up if f.institution == "h03"}
    assert follow["h03:service:PatientInfoRegister"].status == "fixed"
    assert follow["h03:indicator:4.1.1.1"].status == "fixed"
    assert follow["h03:service:DocumentRegiste"].status == "still_open"
    assert follow["h03:document:C0001"].status == "fixed"
    assert follow["h03:document:C0001"].reported_done
    assert follow["h03:indicator:3.2.2.2"].status == "reopened"
    h03 = rep.institution("h03")
    assert {tk.problem: tk.status for tk in h03.tasks} == {
        "indicator:3.2.2.2": "reopened", "service:DocumentRegiste": "still_open",
        "quality:DS.FORMAT:WS445.1.1:DE02.01.039.00": "still_open"}
    ch = h03.change
    assert ch.previous_level == "四级乙等" and ch.level_step == 1 and ch.score_delta == 8.0
    assert "service:PatientInfoRegister" in ch.fixed_failures
    h02 = rep.institution("h02")
    assert h02.change.level_step == -1 and h02.change.new_failures == ["service:DocumentAccess"]
    assert h02.change.rank_delta == -1                    # overtaken by h03
    # a --previous folder without campaign.json is built from its own runs
    (first / "campaign.json").unlink()
    again = load_previous(first, "zh")
    assert again.institution("h03").tasks


# ------------------------------------------------------------------------------ run
def test_why_a_platform_is_unreachable_is_said_in_the_campaign_language() -> None:
    from conformance.campaign.runner import reachable

    url = "http://127.0.0.1:9/services"
    assert reachable(url, 2, "zh") == f"连接被拒绝（{url}）"
    assert reachable(url, 2, "en") == f"connection refused ({url})"


@pytest.mark.slow
def test_run_records_an_unreachable_institution_and_skips_what_is_done(tmp_path: Path) -> None:
    insts = [{"id": "h01", "name": "甲", "kind": "hospital", "district": "东区",
              "_run": {"level": "四级甲等", "total": 80}},
             {"id": "h09", "name": "乙", "kind": "hospital", "district": "东区",
              "target": {"url": "http://127.0.0.1:9/services"}, "_status": "missing"}]
    camp_dir = make_campaign(tmp_path / "c", insts)
    events: list[tuple[str, str]] = []
    out = run_campaign(cfg.load(camp_dir), jobs=1, yes=True,
                       on_event=lambda e, i, s: events.append((e, i)))
    assert out.skipped == ["h01"]                      # assessed and still verifying: resumed
    assert out.states["h09"].status == "unreachable"
    assert out.states["h09"].reason == "连接被拒绝（http://127.0.0.1:9/services）"   # in zh
    assert out.exit_code == 1 and ("done", "h09") in events
    state = json.loads((camp_dir / "state.json").read_text("utf-8"))
    assert state["institutions"]["h09"]["status"] == "unreachable"
    assert state["institutions"]["h01"]["status"] == "assessed"
    r = CliRunner().invoke(main, ["campaign", "run", str(camp_dir), "--only", "h77"])
    assert r.exit_code == 2 and "h77" in r.output


@pytest.mark.slow
def test_the_data_quality_of_an_institutions_exports_is_kept_in_its_sealed_folder(
        tmp_path: Path) -> None:
    from conformance.campaign.quality import quality_into
    from conformance.resources import test_cases_dir

    folder = synth_run(tmp_path / "h1", quality_ratio=None)
    quality_into(folder, test_cases_dir() / "datasets" / "quality", "zh")
    assert RunFolder(folder.path).verify(["quality.json"]).problems == []
    q = RunFolder(folder.path).read("quality")
    assert [f.id for f in q.overall.governance] == [
        "conformity", "completeness", "accuracy", "timeliness", "linkage", "usefulness"]
    assert [f.id for f in q.overall.emr] == ["consistency", "completeness", "integration",
                                            "timeliness"]
    timely = q.overall.figure("timeliness")
    assert timely.denominator and timely.value is not None and timely.value < 1
    assert q.issues and q.issues[0].count > 0 and q.issues[0].examples
    jsonschema.validate(json.loads((folder.path / "quality.json").read_text("utf-8")),
                        shipped("quality"))
