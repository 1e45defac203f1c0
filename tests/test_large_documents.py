"""Large documents: the layers switch to selections that stay linear in the document's size
(see LARGE_DOCUMENT in validate/context.py); the findings are the same either way."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from lxml import etree

from conformance import xmlsafe
from conformance.validate import Validator, datatype, vocabulary

from .conftest import FIXTURES

EXAMPLES = Path(__file__).resolve().parents[1] / "test_cases" / "documents"
H = "{urn:hl7-org:v3}"


def _findings(v: Validator, data: bytes) -> list[tuple]:
    r = v.validate_bytes(data, "x.xml")
    return [(f.rule, f.xpath, f.line, f.column, f.actual) for f in r.findings]


def test_both_selections_give_the_same_findings(validator: Validator, monkeypatch) -> None:
    """The large-document forms (predicate selections, the Locator's sibling index) on every
    example and negative fixture: the same findings, XPaths, lines and columns."""
    files = sorted(EXAMPLES.rglob("*.xml")) + sorted((FIXTURES / "bad").glob("*.xml"))
    usual = {p.name: _findings(validator, p.read_bytes()) for p in files}
    monkeypatch.setattr(vocabulary, "LARGE_DOCUMENT", 0)
    monkeypatch.setattr(datatype, "LARGE_DOCUMENT", 0)
    monkeypatch.setattr(xmlsafe, "LARGE_DOCUMENT", 0)
    large = {p.name: _findings(validator, p.read_bytes()) for p in files}
    assert large == usual
    assert any(usual.values())  # the fixtures do produce findings to compare


@pytest.fixture(scope="module")
def big_document() -> bytes:
    """A prescription with 3,000 more entries (about 1.4 MB): an unknown data element in the
    last one, an empty id extension in the header."""
    src = next((EXAMPLES / "wst500").glob("EMR-SD-04-*.xml")).read_bytes()
    root = etree.fromstring(src)
    sec = root.find(f".//{H}section")
    entries = sec.findall(f"{H}entry")
    for i in range(3000):
        sec.append(copy.deepcopy(entries[i % len(entries)]))
    last = sec.findall(f"{H}entry")[-1]
    coded = next(el for el in last.iter() if el.get("codeSystem") == "2.16.156.10011.2.2.1")
    coded.set("code", "DE99.99.999.99")
    ident = next(el for el in root.iter(f"{H}id") if el.get("extension"))
    ident.set("extension", "")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_large_document_findings(validator: Validator, big_document: bytes) -> None:
    assert len(big_document) > xmlsafe.LARGE_DOCUMENT
    r = validator.validate_bytes(big_document, "big.xml")
    rules = {f.rule: f for f in r.findings}
    assert {"VOCAB.DE_UNKNOWN", "DT.EMPTY_VALUE"} <= set(rules)
    assert rules["VOCAB.DE_UNKNOWN"].actual == "DE99.99.999.99"
    lines = big_document.decode().splitlines()
    f = rules["VOCAB.DE_UNKNOWN"]
    assert lines[f.line - 1][f.column - 1:].startswith('code="DE99.99.999.99"')


def test_many_schema_errors_are_each_placed(validator: Validator) -> None:
    """300 unexpected elements in a long section: 300 schema findings, each on its element
    (errors are matched to elements through one index of the document's lines)."""
    from scripts.fuzz_validate import problems

    src = next((EXAMPLES / "wst500").glob("EMR-SD-04-*.xml")).read_bytes()
    root = etree.fromstring(src)
    sec = root.find(f".//{H}section")
    entries = sec.findall(f"{H}entry")
    for i in range(300):
        entry = copy.deepcopy(entries[i % len(entries)])
        entry.insert(0, etree.Element(f"{H}unexpected"))
        sec.append(entry)
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    r = validator.validate_bytes(data, "many.xml")
    schema = [f for f in r.findings if f.rule == "SCHEMA.INVALID"]
    assert len(schema) == 300
    assert all(f.xpath.endswith("/unexpected[1]") for f in schema)
    assert len({f.line for f in schema}) == 300
    assert problems(validator, data, "many.xml") == []
