"""The report of a real run folder: `conformance assess --skip-perf` (with data sets) against
the embedded platform, every artifact read through its codec and valid against its shipped
schema, rendered as HTML, JSON, JUnit and SARIF."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from lxml import etree
from lxml import html as lxml_html

from conformance import resources
from conformance.cli import main
from conformance.model.folder import ARTIFACTS, RunFolder
from conformance.model.io.schemas import shipped
from conformance.report.render import render_reports

pytestmark = pytest.mark.slow  # real servers, whole suites or PDFs: the full run, not the unit loop


@pytest.fixture(scope="module")
def assessed(tmp_path_factory) -> tuple[RunFolder, Path]:
    out = tmp_path_factory.mktemp("assess") / "run"
    datasets = resources.test_cases_dir() / "datasets" / "hospital"
    r = CliRunner().invoke(main, ["assess", "--out", str(out), "--skip-perf", "--datasets",
                                  str(datasets)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    reports = tmp_path_factory.mktemp("reports")
    render_reports(RunFolder(out), ["html", "json", "junit", "sarif"], "zh",
                   outputs={f: reports / f"report.{f}" for f in ("html", "json", "junit",
                                                                  "sarif")})
    return RunFolder(out), reports


def test_every_artifact_is_valid_against_its_shipped_schema(assessed) -> None:
    folder, _ = assessed
    assert set(folder.present) == {"validate", "datasets", "results", "score"}
    for name in [*folder.present, "manifest"]:
        assert folder.read(name) is not None  # through the codec
        raw = json.loads(folder.file(name).read_text(encoding="utf-8"))
        jsonschema.validate(raw, shipped(name))
    assert "perf" in folder.absent


def test_json_report_figures_are_the_artifacts(assessed) -> None:
    folder, reports = assessed
    report = json.loads((reports / "report.json").read_text(encoding="utf-8"))
    assert report["documents"]["summary"]["documents"] == folder.validate.summary.documents
    assert report["services"]["summary"]["cases"] == len(folder.results.cases)
    touched = [v for v in folder.datasets.datasets if v.touched]
    assert report["datasets"]["summary"]["touched"] == len(touched) > 0
    assert {x["id"] for x in report["datasets"]["by_dataset"]} == {v.id for v in touched}
    assert report["level"]["achieved"] == folder.score.level
    assert report["run"]["absent"] == ["perf.json"]
    assert {i["file"] for i in report["run"]["inputs"]} == {
        f"{n}.json" for n in ARTIFACTS if n != "perf"}


def test_html_has_a_section_per_data_set_linked_from_the_indicators(assessed) -> None:
    folder, reports = assessed
    doc = lxml_html.fromstring((reports / "report.html").read_text(encoding="utf-8"))
    section = doc.get_element_by_id("datasets")
    for v in folder.datasets.datasets:
        if v.touched:
            assert doc.get_element_by_id(f"ds-{v.id}", None) is not None, v.id
    scored = [i for i in folder.score.indicators if i.source == "datasets"]
    assert scored, "assess with --datasets scores the 2.1 items from the data-set test"
    for ind in scored:
        row = doc.get_element_by_id(f"ind-{ind.code}")
        hrefs = {a.get("href") for a in row.iter("a")}
        assert any(h.startswith("#ds-") for h in hrefs), ind.code
    assert "部分符合" in section.text_content()
    for el in doc.iter("a"):  # every in-page link lands
        href = el.get("href") or ""
        if href.startswith("#"):
            assert doc.get_element_by_id(href[1:], None) is not None, href


def test_junit_holds_the_run_as_its_junit_xml_does(assessed) -> None:
    folder, reports = assessed
    ours = etree.parse(str(reports / "report.junit")).getroot()
    runs = etree.parse(str(folder.path / "junit.xml")).getroot()

    def cases(suites) -> Counter:
        return Counter((tc.get("classname"), tc.get("name"),
                        next((c.tag for c in tc), "pass")) for s in suites
                       for tc in s.iter("testcase"))

    run_suites = {s.get("name") for s in runs}
    assert cases(s for s in ours if s.get("name") in run_suites) == cases(runs)
    names = {s.get("name") for s in ours}
    assert any(n.startswith("conformance validate ") for n in names)
    assert any(n.startswith("conformance validate-dataset") for n in names)
    assert "conformance score" in names


def test_sarif_describes_every_rule_it_uses(assessed) -> None:
    folder, reports = assessed
    sarif = json.loads((reports / "report.sarif").read_text(encoding="utf-8"))
    run = sarif["runs"][0]
    rules = {r["id"] for r in run["tool"]["driver"]["rules"]}
    used = {r["ruleId"] for r in run["results"]}
    assert used <= rules
    assert {d["id"] for d in run["properties"]["datasets"]} == {
        v.id for v in folder.datasets.datasets}
    ds_findings = {f.rule for d in folder.datasets.documents for f in d.findings}
    assert ds_findings <= used  # the tables' findings, at their rows and columns
