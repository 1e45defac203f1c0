"""Template-layer behaviour that needs a modified catalog (requirements the shipped data does
not make, because no source settles them)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from lxml import etree

from conformance.catalog import Catalog
from conformance.resources import standards_dir
from conformance.validate import Validator, ValidatorOptions

from .conftest import rules_of


def _custom_standards(tmp_path: Path, edit) -> str:
    dst = tmp_path / "standards"
    shutil.copytree(standards_dir(), dst)
    p = dst / "cda" / "wst500" / "C0004.yaml"
    doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    edit(doc)
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return str(dst)


@pytest.mark.slow
def test_required_section_and_entry(tmp_path: Path, synth, catalog) -> None:
    def edit(doc):
        sec = next(s for s in doc["sections"] if s["code"] == "48768-6")
        sec["card"], sec["status"] = "1..1", "seen"
        diag = next(s for s in doc["sections"] if s["code"] == "29548-5")
        diag["entries"][0]["card"], diag["entries"][0]["status"] = "1..1", "seen"
        diag["entries"].append({"de": "DE05.01.025.00", "name": "诊断名称", "card": "1..1",
                                "status": "seen"})

    v = Validator(ValidatorOptions(standards_dir=_custom_standards(tmp_path, edit)))
    root = synth.document(catalog.documents["C0004"], 1)
    ns = {"h": "urn:hl7-org:v3"}
    pay = root.xpath("//h:component[h:section/h:code/@code='48768-6']", namespaces=ns)[0]
    pay.getparent().remove(pay)
    diag = root.xpath("//h:section[h:code/@code='29548-5']", namespaces=ns)[0]
    entry = diag.find("{urn:hl7-org:v3}entry")
    entry.addnext(etree.fromstring(etree.tostring(entry)))
    r = v.validate_bytes(etree.tostring(root, encoding="UTF-8"), "x.xml")
    errors = rules_of(r, "error")
    assert {"WST500.SECTION.MISSING", "WST500.ENTRY.MISSING", "WST500.ENTRY.TOO_MANY"} <= errors


@pytest.mark.slow
def test_observed_requirement_is_only_a_warning(tmp_path: Path, synth, catalog) -> None:
    def edit(doc):
        sec = next(s for s in doc["sections"] if s["code"] == "48768-6")
        sec["card"], sec["status"] = "1..1", "observed"

    v = Validator(ValidatorOptions(standards_dir=_custom_standards(tmp_path, edit)))
    root = synth.document(catalog.documents["C0004"], 1)
    pay = root.xpath("//h:component[h:section/h:code/@code='48768-6']",
                     namespaces={"h": "urn:hl7-org:v3"})[0]
    pay.getparent().remove(pay)
    r = v.validate_bytes(etree.tostring(root, encoding="UTF-8"), "x.xml")
    f = next(f for f in r.findings if f.rule == "WST500.SECTION.MISSING")
    assert f.severity == "warning" and "参考样例" in f.message
    assert r.valid


@pytest.mark.slow
def test_generic_value_mismatch_rule(tmp_path: Path, synth, catalog) -> None:
    def edit(doc):
        doc.setdefault("header", []).append({
            "path": "recordTarget/patientRole/patient/administrativeGenderCode", "card": "1..1",
            "status": "seen", "name": "性别代码",
            "attrs": [{"attr": "codeSystem", "equals": "2.16.156.10011.2.3.3.4"}]})

    v = Validator(ValidatorOptions(standards_dir=_custom_standards(tmp_path, edit)))
    root = synth.document(catalog.documents["C0004"], 1)
    g = root.find(".//{urn:hl7-org:v3}administrativeGenderCode")
    g.set("codeSystem", "2.16.156.10011.2.3.3.99")
    r = v.validate_bytes(etree.tostring(root, encoding="UTF-8"), "x.xml")
    assert "WST500.HEADER.VALUE_MISMATCH" in rules_of(r, "error")


def test_code_and_template_disagree(validator, synth, catalog) -> None:
    root = synth.document(catalog.documents["C0004"], 1)
    root.find("{urn:hl7-org:v3}templateId").set("root", catalog.documents["C0032"].template_id)
    r = validator.validate_bytes(etree.tostring(root, encoding="UTF-8"), "x.xml")
    f = next(f for f in r.findings if f.rule == "WST500.HEADER.TEMPLATE_CODE_MISMATCH")
    assert f.severity == "error" and f.expected == "2.16.156.10011.2.1.1.24"
    assert r.document_type == "C0004"


def test_wst483_findings_are_provisional(validator, synth, catalog) -> None:
    root = synth.document(catalog.documents["HSDA00.01"], 1)
    root.find("{urn:hl7-org:v3}languageCode").set("code", "en")
    r = validator.validate_bytes(etree.tostring(root, encoding="UTF-8"), "x.xml")
    f = next(f for f in r.findings if f.rule == "WST483.HEADER.LANGUAGE")
    assert f.severity == "warning" and f.provisional and "暂定" in f.message


@pytest.mark.slow
def test_catalog_rejects_unknown_rule_reference(tmp_path: Path) -> None:
    import pytest

    from conformance.catalog import CatalogError

    dst = tmp_path / "standards"
    shutil.copytree(standards_dir(), dst)
    p = dst / "cda" / "wst500" / "C0004.yaml"
    doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    doc["header"].append({"path": "title", "card": "1..1",
                          "attrs": [{"attr": "x", "equals": "y", "rule": "HEADER.NO_SUCH"}]})
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogError, match="HEADER.NO_SUCH"):
        Catalog(dst)


def test_catalog_yaml_error_names_file_and_line(tmp_path: Path) -> None:
    import pytest

    from conformance.catalog import CatalogError

    dst = tmp_path / "standards"
    shutil.copytree(standards_dir(), dst)
    (dst / "cda" / "wst500" / "C0004.yaml").write_text("id: C0004\nname: [unclosed\n",
                                                     encoding="utf-8")
    with pytest.raises(CatalogError, match=r"C0004\.yaml:\d+:\d+"):
        Catalog(dst)


def test_precompile_builds_every_plan_before_workers_fork() -> None:
    from conformance import xmlsafe
    from conformance.model.findings import DocumentResult
    from conformance.synth import Synthesizer
    from conformance.validate.context import DocContext

    v = Validator()
    v.precompile()
    plans = v.catalog.compiled.header_plans
    assert {f"doc:{code}" for code in v.catalog.documents} <= set(plans)
    assert set(v.catalog.compiled.template_index) == set(v.catalog.documents)
    # the plan hands every assertion the node-set its own XPath selects
    synth = Synthesizer(v.catalog)
    for doc in list(v.catalog.documents.values())[::9]:
        data = synth.document_bytes(doc, 7)
        root = xmlsafe.parse_bytes(data, keep_blank_text=False)
        ctx = DocContext(v.catalog, "zh", data, root, DocumentResult(path="x"))
        plan = plans[f"doc:{doc.code}"]
        for a, nodes in zip(plan.assertions, plan.select(ctx), strict=True):
            assert nodes == a.xpath(root), a.path


def test_header_plan_agrees_with_xpath_on_the_negative_fixtures() -> None:
    from conformance import xmlsafe
    from conformance.model.findings import DocumentResult
    from conformance.validate import template
    from conformance.validate.context import DocContext

    v = Validator()
    v.precompile()
    plans = v.catalog.compiled.header_plans
    checked = 0
    for path in sorted((Path(__file__).parent / "fixtures" / "bad").glob("*.xml")):
        data = path.read_bytes()
        try:
            root = xmlsafe.parse_bytes(data, keep_blank_text=False)
        except xmlsafe.ParseProblem:
            continue
        ctx = DocContext(v.catalog, "zh", data, root, DocumentResult(path=path.name))
        doc = template.identify(ctx)
        if doc is None:
            continue
        plan = plans[f"doc:{doc.code}"]
        for a, nodes in zip(plan.assertions, plan.select(ctx), strict=True):
            assert nodes == a.xpath(root), (path.name, a.path)
        checked += 1
    assert checked >= 30
