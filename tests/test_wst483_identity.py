"""WS/T 483 document identities (issue 13 §2): the HSD codes are the primary document codes
(status vendor-consensus: a wrong code is an error), the one-vendor B00NN form is a variant
(identified as the same type, a warning), templateIds 2.16.156.10011.2.1.1.N stay inferred (a
warning, never an error)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from lxml import etree

from conformance.catalog import STATUS_WORDS, Catalog, CatalogError, load_catalog
from conformance.resources import standards_dir

H = "{urn:hl7-org:v3}"
HSD = re.compile(r"^HSD[ABC]\d\d\.\d\d$")
# notes §2a, part → code
PARTS = {1: "HSDA00.01", 2: "HSDB01.01", 3: "HSDB01.02", 4: "HSDB01.03", 5: "HSDB02.01",
         6: "HSDB02.02", 7: "HSDB02.03", 8: "HSDB02.04", 9: "HSDB03.01", 10: "HSDB03.02",
         11: "HSDB03.03", 12: "HSDB04.01", 13: "HSDB04.02", 14: "HSDB04.03", 15: "HSDB04.04",
         16: "HSDC00.01", 17: "HSDC00.02", 18: "HSDC00.03", 19: "HSDC00.04", 20: "HSDC00.05"}


def _wst483(catalog: Catalog) -> list:
    return sorted((d for d in catalog.documents.values() if d.family == "wst483"),
                  key=lambda d: int(d.raw["part"]))


def _validate(validator, root: etree._Element):
    return validator.validate_bytes(etree.tostring(root, encoding="UTF-8"), "x.xml")


def test_the_twenty_templates_carry_the_hsd_codes(catalog) -> None:
    docs = _wst483(catalog)
    assert {int(d.raw["part"]): d.code for d in docs} == PARTS
    for d in docs:
        n = int(d.raw["part"])
        assert d.id == d.code and HSD.match(d.code)
        assert d.code_system == "2.16.156.10011.2.4"
        assert d.status == "vendor-consensus" and d.template_id_status == "provisional"
        assert d.provisional  # the structure (header items, sections) stays provisional
        assert d.template_id == f"2.16.156.10011.2.1.1.{n}"
        assert [v.code for v in d.variants] == [f"B{n:04d}"]
        assert d.raw["code_evidence"]
        assert (standards_dir() / "cda" / "wst483" / f"{d.code}.yaml").is_file()
    assert catalog.documents["HSDB03.03"].name == "死亡医学证明"


def test_the_codes_inferred_from_order_say_so(catalog) -> None:
    for code in ("HSDC00.02", "HSDC00.04"):
        assert "inferred from order" in catalog.documents[code].raw["code_evidence"].lower()
    for code in set(PARTS.values()) - {"HSDC00.02", "HSDC00.04"}:
        assert "inferred" not in catalog.documents[code].raw["code_evidence"].lower()


def test_only_the_one_vendor_variants_are_observed(catalog) -> None:
    observed = {v.code for d in _wst483(catalog) for v in d.variants if v.status == "observed"}
    assert observed == {"B0001", "B0003"}
    assert catalog.document_for("B0003") is catalog.documents["HSDB01.02"]
    assert catalog.primary_code("B0020") == "HSDC00.05"
    assert catalog.primary_code("HSDC00.05") == "HSDC00.05"
    assert catalog.primary_code("C0004") == "C0004"
    assert catalog.document_for("B0099") is None


@pytest.mark.parametrize("part", sorted(PARTS))
def test_a_b00nn_coded_document_is_its_type_with_a_warning(validator, synth, catalog,
                                                          part: int) -> None:
    doc = catalog.documents[PARTS[part]]
    root = synth.document(doc, part)
    root.find(H + "code").set("code", f"B{part:04d}")
    r = _validate(validator, root)
    assert r.document_type == doc.code and r.document_name == doc.name
    assert r.valid, [(f.rule, f.message) for f in r.findings if f.severity == "error"]
    warnings = [f for f in r.findings if f.severity == "warning"]
    assert [f.rule for f in warnings] == ["CDA.DOCUMENT_CODE_VARIANT"]
    f = warnings[0]
    assert f"B{part:04d}" in f.message and doc.code in f.message
    assert f.expected == doc.code and f.actual == f"B{part:04d}"
    assert f.xpath == "/ClinicalDocument/code[1]/@code" and f.line
    # validated as its type: the template layer ran on it (header items of the type apply)
    assert r.layers["template"] == "ran"


def test_a_variant_document_is_otherwise_validated_as_its_type(validator, synth, catalog) -> None:
    root = synth.document(catalog.documents["HSDA00.01"], 1)
    root.find(H + "code").set("code", "B0001")
    cust = root.find(f"{H}custodian/{H}assignedCustodian/{H}representedCustodianOrganization/{H}id")
    cust.set("root", "2.16.156.10011.1.5")  # a HSDA00.01 header item (provisional)
    r = _validate(validator, root)
    assert {f.rule for f in r.findings if f.severity == "warning"} == {
        "CDA.DOCUMENT_CODE_VARIANT", "WST483.HEADER.ID_ROOT"}


def test_variant_message_in_english(validator_en, synth, catalog) -> None:
    root = synth.document(catalog.documents["HSDB01.02"], 1)
    root.find(H + "code").set("code", "B0003")
    r = _validate(validator_en, root)
    f = next(f for f in r.findings if f.rule == "CDA.DOCUMENT_CODE_VARIANT")
    assert f.severity == "warning" and not f.provisional
    assert "variant" in f.message and "B0003" in f.message and "HSDB01.02" in f.message
    assert "observed in samples" in f.message


def test_a_wrong_code_is_an_error(validator, synth, catalog) -> None:
    root = synth.document(catalog.documents["HSDB01.01"], 1)
    root.find(H + "code").set("code", "HSDB01.09")  # the templateId says 出生医学证明
    r = _validate(validator, root)
    f = next(f for f in r.findings if f.rule == "WST483.HEADER.TEMPLATE_CODE_MISMATCH")
    assert f.severity == "error" and not f.provisional and not r.valid
    assert f.expected == "HSDB01.01" and f.xpath == "/ClinicalDocument/code[1]/@code"
    assert "厂商" in f.message  # the basis is named
    assert r.document_type == "HSDB01.01"


def test_a_wrong_code_system_is_an_error(validator, synth, catalog) -> None:
    root = synth.document(catalog.documents["HSDC00.01"], 1)
    root.find(H + "code").set("codeSystem", "2.16.156.10011.2.5")
    r = _validate(validator, root)
    f = next(f for f in r.findings if f.rule == "WST483.HEADER.CODE_SYSTEM")
    assert f.severity == "error" and not f.provisional


def test_an_empty_code_is_an_error(validator, synth, catalog) -> None:
    root = synth.document(catalog.documents["HSDC00.01"], 1)
    root.find(H + "code").set("code", "")
    r = _validate(validator, root)
    assert r.document_type == "HSDC00.01"  # from the templateId
    f = next(f for f in r.findings if f.rule == "WST483.HEADER.CODE_MISSING")
    assert f.severity == "error"


def test_templateid_is_inferred_a_warning_never_an_error(validator, synth, catalog) -> None:
    root = synth.document(catalog.documents["HSDB01.01"], 1)
    root.find(H + "templateId").set("root", "2.16.156.10011.2.1.1.5")
    r = _validate(validator, root)
    assert r.valid and r.document_type == "HSDB01.01"  # the code decides
    f = next(f for f in r.findings if f.rule == "WST483.HEADER.TEMPLATE_CODE_MISMATCH")
    assert f.severity == "warning" and f.provisional and "暂定" in f.message
    root.remove(root.find(H + "templateId"))
    r = _validate(validator, root)
    f = next(f for f in r.findings if f.rule == "WST483.HEADER.TEMPLATE_MISSING")
    assert r.valid and f.severity == "warning" and f.provisional


def test_variant_code_with_another_parts_templateid(validator, synth, catalog) -> None:
    root = synth.document(catalog.documents["HSDA00.01"], 1)
    root.find(H + "code").set("code", "B0001")
    root.find(H + "templateId").set("root", "2.16.156.10011.2.1.1.2")
    r = _validate(validator, root)
    assert r.valid and r.document_type == "HSDA00.01"
    assert {f.rule: f.severity for f in r.findings if f.severity != "info"} == {
        "CDA.DOCUMENT_CODE_VARIANT": "warning", "WST483.HEADER.TEMPLATE_CODE_MISMATCH": "warning"}


def test_wst500_identity_is_unchanged(validator, synth, catalog) -> None:
    root = synth.document(catalog.documents["C0004"], 1)
    root.find(H + "code").set("code", "")
    r = _validate(validator, root)
    assert next(f for f in r.findings if f.rule == "WST500.HEADER.CODE_MISSING").severity == "error"
    root = synth.document(catalog.documents["C0004"], 1)
    root.remove(root.find(H + "templateId"))
    r = _validate(validator, root)
    f = next(f for f in r.findings if f.rule == "WST500.HEADER.TEMPLATE_MISSING")
    assert f.severity == "error" and not f.provisional


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "standards"
    shutil.copytree(standards_dir(), dst)
    return dst


def _edit(path: Path, edit) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def test_catalog_rejects_an_unknown_status_word(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit(root / "cda" / "wst483" / "HSDA00.01.yaml", lambda d: d.update(status="consensus"))
    with pytest.raises(CatalogError, match="unknown status 'consensus'"):
        Catalog(root)
    assert "vendor-consensus" in STATUS_WORDS


def test_catalog_rejects_a_variant_that_is_another_types_code(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit(root / "cda" / "wst483" / "HSDB01.01.yaml",
          lambda d: d["variants"].append({"code": "HSDA00.01"}))
    with pytest.raises(CatalogError, match="HSDA00.01 defined twice"):
        Catalog(root)


def test_standards_show_resolves_a_variant() -> None:
    from click.testing import CliRunner

    from conformance.cli import main

    out = CliRunner().invoke(main, ["standards", "show", "B0011", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert '"id": "HSDB03.03"' in out.output and "死亡医学证明" in out.output
    listed = CliRunner().invoke(main, ["standards", "list", "--lang", "en"]).output
    assert "HSDA00.01" in listed and "B0001" not in listed


def test_catalog_is_shared() -> None:
    assert load_catalog().documents["HSDA00.01"].family == "wst483"


def test_document_code_value_set_lists_the_same_codes(catalog) -> None:
    vs = catalog.value_sets["2.16.156.10011.2.4"].raw
    docs = _wst483(catalog)
    assert vs["vendor_consensus_codes"] == {d.code: d.name for d in docs}
    assert vs["variant_codes"] == {v.code: d.code for d in docs for v in d.variants}
    assert "provisional_codes" not in vs
