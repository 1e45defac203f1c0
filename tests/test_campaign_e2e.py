"""A campaign end to end against embedded platforms: institutions with different fault
profiles, documents and questionnaires reach different levels and ranks; an unreachable one is
recorded with its reason and does not stop the others; an interrupted campaign resumes. Slow
(each institution is a whole assessment): `pytest -m slow`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.model.io import campaign_json

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _fixtures(root: Path) -> None:
    docs = root / "docs-broken"
    shutil.copytree(REPO / "test_cases" / "documents" / "wst500", docs)
    for i, p in enumerate(sorted(docs.glob("*.xml"))):
        if i % 2 == 0:   # half the document types break the header
            p.write_text(p.read_text("utf-8").replace('realmCode code="CN"', 'realmCode code="XX"'),
                         "utf-8")
    q = root / "q"
    shutil.copytree(REPO / "test_cases" / "self-assessment", q)
    text = (q / "hospital-example.yaml").read_text("utf-8")
    (q / "city.yaml").write_text(CITY_ANSWERS, "utf-8")
    (q / "weak.yaml").write_text(text.replace("answer: conformant", "answer: partial"), "utf-8")


CITY_ANSWERS = """questionnaire: conformance-self-assessment/1
assessment: city-example-2026
answers:
  "4.1": yes
  "4.2": yes
  "5.1": A
  "5.2": yes
  "6.1": yes
  "6.2": {counts: {security_incident: 0}}
  "7.1": provincial
"""

CAMPAIGN = """schema: conformance-campaign/1
name: 测试市2026年度测评
region: 测试市
period: "2026"
target_levels: {hospital: 四级甲等}
city_index: city-example-2026
deadlines: {issued: "2026-06-01"}
settings: {jobs: 2, perf: false, formats: [html]}
institutions:
  - {id: h1, name: 甲医院, kind: hospital, district: 东区, target: embedded,
     city_questionnaire: q/city.yaml, outcomes: {emr_rating: 5}}
  - {id: h2, name: 乙医院, kind: hospital, district: 东区,
     target: {embedded: true, faults: "seed=3,http500=0.04"}}
  - {id: h3, name: 丙医院, kind: hospital, district: 西区, target: embedded,
     documents: docs-broken}
  - {id: h4, name: 丁医院, kind: hospital, district: 西区, target: embedded,
     questionnaire: q/weak.yaml}
  - {id: h5, name: 戊医院, kind: hospital, district: 西区,
     target: {embedded: true, faults: "seed=5,wrong-ack=0.15"}}
  - {id: d1, name: 东区平台, kind: district, district: 东区, target: embedded}
  - {id: h9, name: 失联医院, kind: hospital, district: 西区,
     target: {url: "http://127.0.0.1:9/services/HIPMessageServer"}}
"""


def test_a_campaign_of_embedded_platforms(tmp_path: Path) -> None:
    camp = tmp_path / "camp"
    camp.mkdir()
    _fixtures(camp)
    (camp / "campaign.yaml").write_text(CAMPAIGN, "utf-8")
    r = CliRunner().invoke(main, ["campaign", "run", str(camp), "--only", "h1,h9"])
    assert r.exit_code == 1, r.output                # h9 unreachable: recorded, h1 assessed
    state = json.loads((camp / "state.json").read_text("utf-8"))["institutions"]
    assert state["h1"]["status"] == "assessed" and state["h9"]["status"] == "unreachable"
    r = CliRunner().invoke(main, ["campaign", "run", str(camp)])
    assert r.exit_code == 1, r.output
    assert "h1" in r.output and "已评估，跳过" in r.output   # resumed: h1 not run again
    state = json.loads((camp / "state.json").read_text("utf-8"))["institutions"]
    assert {k for k, v in state.items() if v["status"] == "assessed"} == {
        "h1", "h2", "h3", "h4", "h5", "d1"}, state
    r = CliRunner().invoke(main, ["campaign", "report", str(camp), "--format", "json"])
    assert r.exit_code == 0, r.output
    rep = campaign_json.load(camp / "campaign.json")
    rows = {i.id: i for i in rep.institutions}
    hospitals = [rows[i] for i in ("h1", "h2", "h3", "h4", "h5")]
    assert len({(h.level, h.total) for h in hospitals}) >= 4, [(h.level, h.total)
                                                              for h in hospitals]
    assert sorted(h.rank for h in hospitals) == [1, 2, 3, 4, 5]
    assert rows["h1"].rank == 1
    assert rows["h1"].city.total is not None and rows["h1"].city.total > max(
        (rows[i].city.total or 0) for i in ("h2", "h3", "h4", "h5")), [r.city for r in hospitals]
    assert rows["h9"].status == "unreachable" and "连接被拒绝" in rows["h9"].reason
    assert rows["d1"].kind == "district" and rows["d1"].status == "assessed", rows["d1"].reason
    h3 = {p.key for p in rows["h3"].problems}
    assert any(k.startswith("document:") for k in h3)
    assert any(k.startswith("service:") for k in {p.key for p in rows["h2"].problems})
    assert (camp / "runs" / "h2" / "report.html").is_file()
    r = CliRunner().invoke(main, ["campaign", "report", str(camp), "--format", "html"])
    assert r.exit_code == 0
    assert 'href="runs/h1/report.html"' in (camp / "campaign.html").read_text("utf-8")
