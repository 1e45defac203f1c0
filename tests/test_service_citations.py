"""The hospital service catalog cites the published WS/T 846.1–.11-2024 医院信息平台交互标准
beside the 2020 assessment scheme (issue 13 §3); the listing and the report print the citation
from the catalog's data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from lxml import html as lxml_html

from conformance.catalog import CatalogError, load_catalog
from conformance.cli import main
from conformance.hl7v3.services import ServiceCatalog, load_services
from conformance.report.html import service_citations
from conformance.report.render import render_reports
from conformance.resources import standards_dir

RUNS = Path(__file__).resolve().parent / "fixtures" / "runs"


def test_sources_know_the_published_standard() -> None:
    s = load_catalog().sources["wst846-2024"]
    assert s["published"] == "2024-10-28" and s["effective"] == "2025-04-01"
    assert "医院信息平台交互标准" in s["title"] and len(s["parts"]) == 11
    assert "hospital-scheme-2020" in load_catalog().sources


def test_hospital_catalog_cites_wst846_and_the_2020_scheme() -> None:
    cat = load_services("hospital")
    assert cat.standard.startswith("WS/T 846.1–.11-2024")
    assert [c["id"] for c in cat.cites] == ["wst846-2024", "hospital-scheme-2020"]
    zh = cat.citations("zh")
    assert "WS/T 846.1–.11-2024 医院信息平台交互标准" in zh[0]["text"]
    assert "2024-10-28 发布" in zh[0]["text"] and "2025-04-01 实施" in zh[0]["text"]
    assert "2020年版" in zh[1]["text"]
    en = cat.citations("en")
    assert "issued 2024-10-28, in force 2025-04-01" in en[0]["text"]
    assert "assessment scheme" in en[1]["text"]


def test_hospital_services_name_their_part() -> None:
    cat = load_services("hospital")
    assert cat.service("PatientInfoRegister").part == "WS/T 846.2-2024"
    assert cat.service("DocumentRegiste").part == "WS/T 846.6-2024"
    parts = {s.part for s in cat.services if s.category != "检验检查结果信息交互服务"}
    assert parts == {f"WS/T 846.{n}-2024" for n in range(2, 12)}
    # the CDA result services are not one of the 11 part titles: no part is claimed
    assert {s.part for s in cat.services if s.category == "检验检查结果信息交互服务"} == {None}
    assert cat.service("PatientInfoRegister").summary()["part"] == "WS/T 846.2-2024"


def test_regional_catalog_cites_wst790() -> None:
    assert [c["id"] for c in load_services("regional").cites] == ["wst790-2021"]


def test_an_unknown_cited_source_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "standards"
    shutil.copytree(standards_dir(), root)
    p = root / "services" / "hospital.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("source: wst846-2024",
                                                       "source: wst999-2099"), encoding="utf-8")
    with pytest.raises(CatalogError, match="wst999-2099"):
        ServiceCatalog("hospital", root)


def test_services_listing_prints_the_citation() -> None:
    out = CliRunner().invoke(main, ["standards", "services"]).output
    head = out.splitlines()[:2]
    assert head[0].startswith("依据：WS/T 846.1–.11-2024 医院信息平台交互标准")
    assert "2020年版" in head[1]
    out = CliRunner().invoke(main, ["standards", "services", "--lang", "en"]).output
    assert out.startswith("Cites: WS/T 846.1–.11-2024")
    rows = yaml.safe_load(CliRunner().invoke(
        main, ["standards", "services", "--format", "json"]).output)
    assert rows[0]["part"] == "WS/T 846.2-2024"


def _report(tmp_path: Path, lang: str) -> lxml_html.HtmlElement:
    run = tmp_path / "current"
    shutil.copytree(RUNS / "current", run)
    render_reports(run, ["html"], lang)
    return lxml_html.fromstring((run / "report.html").read_text(encoding="utf-8"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_cites_the_catalogs_standards(tmp_path: Path, lang: str) -> None:
    doc = _report(tmp_path, lang)
    box = doc.get_element_by_id("service-standards")
    assert box.getparent().get("id") == "services"
    items = [" ".join(li.text_content().split()) for li in box.iter("li")]
    assert items == [c["text"] for c in service_citations("hospital", lang)]
    assert "WS/T 846.1–.11-2024" in items[0] and "2020" in items[1]


def test_report_citation_is_read_from_the_catalog(tmp_path: Path, monkeypatch) -> None:
    """Change the catalog's data, and the report changes with it (no literal in a template)."""
    from conformance.hl7v3 import services as services_mod

    real = services_mod.load_services

    def patched(profile: str, root: str | None = None) -> ServiceCatalog:
        cat = real(profile, root)
        cat.cites = [dict(cat.cites[0], title="TEST-CITATION 标准")]
        return cat

    monkeypatch.setattr(services_mod, "load_services", patched)
    box = _report(tmp_path, "zh").get_element_by_id("service-standards")
    assert "TEST-CITATION 标准" in box.text_content()
    assert "WS/T 846" not in box.text_content()
    assert "846" not in (Path(__file__).resolve().parents[1] / "templates" / "report"
                         / "report.html.j2").read_text(encoding="utf-8")


def test_no_citation_without_results(tmp_path: Path) -> None:
    run = tmp_path / "validate-only"
    shutil.copytree(RUNS / "validate-only", run)
    render_reports(run, ["html"], "en")
    doc = lxml_html.fromstring((run / "report.html").read_text(encoding="utf-8"))
    assert not doc.xpath("//*[@id='service-standards']")
    assert service_citations(None, "en") == [] and service_citations("other", "zh") == []
