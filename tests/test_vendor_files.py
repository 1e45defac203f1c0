"""Defects that real vendor files exposed (issue 13 §5), each reproduced on a document or message
written here: minified documents, registrations carrying a document, data-element code systems,
internals in messages, the platform's acknowledgement texts."""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from conformance.validate import Validator
from conformance.xmlsafe import Locator, NodePaths, parse_bytes

EXAMPLES = Path(__file__).resolve().parents[1] / "test_cases" / "documents"
H = "{urn:hl7-org:v3}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


def _one_line(root: etree._Element) -> bytes:
    for el in root.iter():
        el.tail = None
        if isinstance(el.tag, str) and el.text is not None and not el.text.strip():
            el.text = None
    return etree.tostring(root, encoding="UTF-8")  # no declaration: the whole file is one line


def _prescription() -> etree._Element:
    src = next((EXAMPLES / "wst500").glob("EMR-SD-04-*.xml")).read_bytes()
    return etree.fromstring(src, etree.XMLParser(remove_blank_text=True))


# ---------------------------------------------------------------- 1. minified documents
def test_schema_findings_of_a_minified_document_are_on_their_own_elements(
        validator: Validator) -> None:
    root = _prescription()
    ids = root.findall(f"{H}recordTarget/{H}patientRole/{H}id")
    assert len(ids) >= 2
    ids[1].set("vendorFlag", "1")  # not allowed: the second of several ids on the line
    observations = list(root.iter(f"{H}observation"))
    assert len(observations) >= 2
    etree.SubElement(observations[-1], f"{H}vendorNote").text = "x"  # not expected there
    data = _one_line(root)
    assert data.count(b"\n") == 0
    r = validator.validate_bytes(data, "one-line.xml")
    schema = [f for f in r.findings if f.rule == "SCHEMA.INVALID"]
    assert len(schema) == 2
    tree = root.getroottree()
    text = data.decode("utf-8")

    by_attr = next(f for f in schema if "vendorFlag" in f.message)
    assert by_attr.xpath == "/ClinicalDocument/recordTarget[1]/patientRole[1]/id[2]/@vendorFlag"
    assert (by_attr.line, by_attr.column) == (1, text.index("vendorFlag=") + 1)
    # the snippet is a window around the column, not the first 300 characters of the line
    assert "vendorFlag" in by_attr.snippet and by_attr.snippet.startswith("…")
    assert len(by_attr.snippet) <= 302

    by_el = next(f for f in schema if "vendorNote" in f.message)
    assert by_el.xpath == ("/ClinicalDocument/component[1]/structuredBody[1]/component[3]/"
                           "section[1]/entry[1]/observation[1]/vendorNote[1]")
    assert len(tree.xpath("//*[local-name()='observation']")) > 1  # not the first one
    assert (by_el.line, by_el.column) == (1, text.index("<vendorNote") + 1)
    assert "<vendorNote>" in by_el.snippet
    # the same document indented: the same findings on the same elements
    pretty = etree.tostring(root, pretty_print=True, encoding="UTF-8")
    again = [f for f in validator.validate_bytes(pretty, "x.xml").findings
             if f.rule == "SCHEMA.INVALID"]
    assert sorted((f.xpath, f.message) for f in again) == sorted(
        (f.xpath, f.message) for f in schema)


def test_many_schema_errors_on_one_line_are_each_placed_once(validator: Validator) -> None:
    root = _prescription()
    sec = root.find(f".//{H}section")
    entry = sec.find(f"{H}entry")
    for i in range(200):
        extra = etree.fromstring(etree.tostring(entry))
        extra.set("vendorIndex", str(i))
        sec.append(extra)
    data = _one_line(root)
    r = validator.validate_bytes(data, "many.xml")
    schema = [f for f in r.findings if f.rule == "SCHEMA.INVALID"]
    assert len(schema) == 200
    assert len({f.xpath for f in schema}) == 200
    assert len({f.column for f in schema}) == 200
    text = data.decode("utf-8")
    for f in schema[:5] + schema[-5:]:
        assert text[f.column - 1:].startswith("vendorIndex=")


def test_node_paths_resolve_what_libxml2_writes() -> None:
    """lxml's getpath() is libxml2's xmlGetNodePath, the path schema errors carry."""
    root = parse_bytes(
        b'<a xmlns="urn:x" xmlns:p="urn:p"><b/><p:c/><p:c k="1"/><d xmlns=""/><d xmlns=""/>'
        b'<!--note--><b><e/></b><p:c/></a>', keep_blank_text=False)
    tree = root.getroottree()
    paths = NodePaths(root)
    for el in root.iter(etree.Element):
        assert paths.resolve(tree.getpath(el)) == (el, None), tree.getpath(el)
    third = root.findall("{urn:p}c")[1]
    assert paths.resolve(tree.getpath(third) + "/@k") == (third, "k")
    assert paths.resolve("/*/*[99]") == (None, None)
    assert paths.resolve("/*/q:c[1]") == (None, None)
    assert paths.resolve(None) == (None, None)


def test_snippet_of_a_long_line_is_a_window_around_the_column() -> None:
    body = "".join(f'<item n="{i}"/>' for i in range(200))
    data = f"<list>{body}</list>".encode()
    root = parse_bytes(data)
    loc = Locator(data, root)
    at = data.decode().index('<item n="150"/>') + 1
    snip = loc.snippet(1, column=at)
    assert '<item n="150"/>' in snip and snip.startswith("…") and snip.endswith("…")
    assert len(snip) == 302
    assert loc.snippet(1).startswith("<list><item") and loc.snippet(1).endswith("…")
    short = b"<a>\n  <b/>\n</a>"
    assert Locator(short, parse_bytes(short)).snippet(2, column=3) == "<b/>"


# ---------------------------------------------------------------- 4. no internals in messages
_CJK = re.compile(r"[\u4e00-\u9fff]")


def test_layer_statuses_speak_the_output_language(validator: Validator,
                                                  validator_en: Validator) -> None:
    from conformance.validate import schema
    from conformance.validate.context import DocContext
    from conformance.validate.status import LAYER_TEXTS

    inputs = {"not-cda.xml": b"<report><x/></report>", "broken.xml": b"<ClinicalDocument><",
              "unknown-type.xml": b'<ClinicalDocument xmlns="urn:hl7-org:v3"/>'}
    for name, data in inputs.items():
        zh = validator.validate_bytes(data, name).layers
        en = validator_en.validate_bytes(data, name).layers
        for layer, state in zh.items():
            assert state == "ran" or state.startswith(("ran (", "skipped: ")), state
            if state != "ran":
                assert _CJK.search(state), (name, layer, state)
                assert not _CJK.search(en[layer]), (name, layer, en[layer])
    assert validator.validate_bytes(inputs["not-cda.xml"], "x").layers["schema"] == \
        "skipped: 根元素 report 不是 CDA 文档的 ClinicalDocument"
    ctx = DocContext(validator.catalog, "zh", b"<a/>", etree.fromstring(b"<a/>"),
                     validator.validate_bytes(b"<a/>", "x"))
    assert schema.run(ctx, None, "-") == "skipped: 无法使用 CDA 模式：-"
    for key, texts in LAYER_TEXTS.items():
        assert set(texts) == {"zh", "en"} and _CJK.search(texts["zh"]), key
