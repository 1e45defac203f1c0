"""The example city index system (standards/assessment/city-example-2026.yaml): the `fact` rule
type scores items from what a campaign knows (the national level, the EMR rating, data quality,
services seen working); the campaign report ranks by the city score."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.campaign import config as cfg
from conformance.campaign.report import build_report
from conformance.scoring.api import score_folder
from conformance.scoring.definition import DefinitionError, get_definition, load_definition

from .campaign_fixtures import synth_run, write_campaign

FACTS = {"interop.level": "四级甲等", "emr.level": 5, "quality.timeliness": 0.9,
         "quality.conformity": 0.99, "services.passed_ratio": 0.8}


def test_the_example_city_index_system_is_shipped_and_marked_as_an_example() -> None:
    d = get_definition("city-example-2026")
    assert d.status == "provisional" and "example" in d.name_en.lower()
    assert {it.rule for it in d.items} >= {"fact", "yes_no", "choice", "deduction"}
    text = Path(d.path).read_text("utf-8")
    assert text.startswith("# EXAMPLE — NOT A REAL CITY'S SCHEME")


def test_fact_items_score_from_the_facts(tmp_path: Path) -> None:
    folder = synth_run(tmp_path / "h1", level="四级甲等", total=80,
                       fail_services=("PatientInfoQuery",), invalid_types=("C0001",))
    out = score_folder([folder], get_definition("city-example-2026"), None, write=False,
                       facts=FACTS)
    items = {i.code: i for i in out.score.indicators}
    assert (items["1.1"].status, items["1.1"].points) == ("not_met", 15.0)   # 四级甲等 → 15 of 20
    assert items["1.2"].points == 12.0                                        # EMR level 5
    assert items["2.1"].points == 6.0 and "0.9" in items["2.1"].reasons[0]
    assert (items["2.2"].status, items["2.2"].points) == ("met", 10.0)
    assert items["3.1"].points == 3.0
    assert items["8.1"].points == -2.0          # one failing service, one failing document type
    assert out.score.level is None              # 1.1 needs 五级乙等 for 达标 in this example
    out = score_folder([folder], get_definition("city-example-2026"), None, write=False,
                       facts={})
    items = {i.code: i for i in out.score.indicators}
    assert items["1.1"].status == "not_assessed" and "interop.level" in items["1.1"].reasons[0]


def test_a_fact_rule_with_a_step_off_its_scale_is_refused_at_its_line(tmp_path: Path) -> None:
    text = (Path(get_definition("city-example-2026").path).read_text("utf-8")
            .replace("- {at_least: 三级, points: 3}", "- {at_least: 六级, points: 3}"))
    p = tmp_path / "city.yaml"
    p.write_text(text, "utf-8")
    with pytest.raises(DefinitionError) as ei:
        load_definition(p)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "六级" in ln)
    assert f"city.yaml:{line}:" in ei.value.render("en") and "六级" in ei.value.render("en")


def test_the_campaign_ranks_by_the_city_score(tmp_path: Path) -> None:
    insts = [
        {"id": "h1", "name": "甲", "kind": "hospital", "district": "东区",
         "outcomes": {"emr_rating": 3},
         "_run": {"level": "五级乙等", "total": 90, "fail_services": ("PatientInfoQuery",
                                                                    "DocumentRegiste")}},
        {"id": "h2", "name": "乙", "kind": "hospital", "district": "东区",
         "outcomes": {"emr_rating": 6}, "_run": {"level": "四级甲等", "total": 85}},
    ]
    root = tmp_path / "c"
    write_campaign(root, insts, extra="city_index: city-example-2026\n")
    for i in insts:
        synth_run(root / "runs" / i["id"], **i["_run"])
    rep = build_report(cfg.load(root), lang="zh")
    h1, h2 = rep.institution("h1"), rep.institution("h2")
    assert h1.city.index_system == "city-example-2026" and h1.city.total is not None
    assert h2.city.total > h1.city.total            # EMR 6 and no failing services
    assert (h2.rank, h1.rank) == (1, 2)             # ranked by the city score, not the national
    assert h1.city.deductions == 2.0
    assert [d.id for d in h1.city.items][:2] == ["1", "2"]
