"""Hardened parsing: hostile and broken input yields findings with places, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import xmlsafe
from conformance.validate import Validator

from .conftest import rules_of


def test_well_formedness_error_has_line_and_column(validator: Validator) -> None:
    data = b'<?xml version="1.0"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3">\n  <title>x</titl>\n'
    r = validator.validate_bytes(data, "x.xml")
    f = next(f for f in r.findings if f.rule == "PARSE.NOT_WELL_FORMED")
    assert f.severity == "error" and f.line == 3 and f.column and f.column > 1
    assert r.layers["schema"].startswith("skipped")
    assert not r.valid


@pytest.mark.parametrize("data, rule", [
    (b"", "PARSE.EMPTY"),
    (b"   \n  ", "PARSE.EMPTY"),
    (b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>', "PARSE.DOCTYPE_FORBIDDEN"),
    (b"<a>" * 400 + b"</a>" * 400, "PARSE.TOO_DEEP"),
    ('<?xml version="1.0" encoding="GBK"?><a>中文</a>'.encode("gbk"), "PARSE.ENCODING_DECLARED"),
    ("<a>中文</a>".encode("gbk"), "PARSE.ENCODING_NOT_UTF8"),
    # declared GBK, but bytes that are not GBK: the declaration is wrong, still an error
    ('<?xml version="1.0" encoding="GBK"?><a>\u20ac\u00e9</a>'.encode("utf-8"), "PARSE.ENCODING_NOT_UTF8"),
    (bytes(range(256)), "PARSE.NOT_WELL_FORMED"),
])
def test_hostile_and_broken_inputs(validator: Validator, data: bytes, rule: str) -> None:
    r = validator.validate_bytes(data, "bad.xml")
    assert rule in rules_of(r)
    f = next(f for f in r.findings if f.rule == rule)
    assert f.line is not None and f.column is not None
    assert f.message and "Traceback" not in f.message


def test_billion_laughs_is_refused_quickly(validator: Validator) -> None:
    lol = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' + b"".join(
        b'<!ENTITY a%d "&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;">' % ((i,) + (i - 1,) * 10)
        for i in range(1, 10)).replace(b"&a0;", b"&a;") + b"]><l>&a9;</l>"
    r = validator.validate_bytes(lol, "lol.xml")
    assert rules_of(r) == {"PARSE.DOCTYPE_FORBIDDEN"}


@pytest.mark.parametrize("data, at", [
    (b'<!DOCTYPE a><a/>', 0),
    (b'<?xml version="1.0"?>\n<!-- a comment -->\n<?pi x?>\n<!DOCTYPE a []><a/>', 50),
    (b'<!ENTITY e "x"><a/>', 0),
    (b'<a><!-- <!DOCTYPE a> in a comment is text --></a>', None),
    (b'<a><![CDATA[<!DOCTYPE a>]]></a>', None),
    (b'<?xml version="1.0"?><!-- unterminated', None),
])
def test_doctype_is_looked_for_in_the_prolog_only(data: bytes, at: int | None) -> None:
    assert xmlsafe.doctype_offset(data) == at


def test_doctype_outside_the_prolog_scan_is_still_refused(validator: Validator) -> None:
    data = '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'.encode("utf-16")  # BOM + UTF-16
    assert xmlsafe.doctype_offset(data) is None
    with pytest.raises(xmlsafe.ParseProblem) as exc:
        xmlsafe.parse_bytes(data)
    assert exc.value.rule == "PARSE.DOCTYPE_FORBIDDEN"
    r = validator.validate_bytes(data, "utf16.xml")
    assert {"PARSE.DOCTYPE_FORBIDDEN", "PARSE.ENCODING_NOT_UTF8"} <= rules_of(r)


@pytest.mark.parametrize("data", [
    b"<a>\xc0\xaf</a>", b"<a>\xed\xa0\x80</a>", b"<a><!-- \xff --></a>", b'<a b="\xe4\xb8"/>',
    b"<a><![CDATA[\xff]]></a>",
])
def test_invalid_utf8_anywhere_is_found_without_a_full_decode(validator: Validator,
                                                              data: bytes) -> None:
    # the success path relies on libxml2 refusing invalid UTF-8; the finding still points at it
    r = validator.validate_bytes(data, "bad.xml")
    f = next(f for f in r.findings if f.rule == "PARSE.ENCODING_NOT_UTF8")
    assert f.line == 1 and f.column is not None and f.column > 1


def test_invalid_utf8_points_at_the_byte() -> None:
    data = '<?xml version="1.0" encoding="UTF-8"?>\n<a>\n  ok 中文'.encode() + "坏".encode("gbk") + b"</a>"
    p = xmlsafe.check_encoding(data)
    assert p is not None and p.rule == "PARSE.ENCODING_NOT_UTF8"
    assert p.line == 3 and p.column == 8


def test_size_bound(tmp_path) -> None:
    from conformance.validate import ValidatorOptions

    v = Validator(ValidatorOptions(max_bytes=100))
    r = v.validate_bytes(b"<a>" + b"x" * 200 + b"</a>", "big.xml")
    assert rules_of(r) == {"PARSE.TOO_LARGE"}


def test_not_cda_root_is_reported_and_layers_skipped(validator: Validator) -> None:
    r = validator.validate_bytes(b"<html/>", "page.xml")
    assert rules_of(r) == {"CDA.ROOT_UNKNOWN"}
    assert all(v.startswith("skipped") for k, v in r.layers.items() if k != "parse")


def test_xpath_and_column_locate_the_exact_element(validator: Validator, synth, catalog) -> None:
    from lxml import etree

    root = synth.document(catalog.documents["C0004"], 1)
    root.find("{urn:hl7-org:v3}realmCode").set("code", "US")
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    r = validator.validate_bytes(data, "x.xml")
    f = next(f for f in r.findings if f.rule == "WST500.HEADER.REALM_CODE")
    assert f.xpath == "/ClinicalDocument/realmCode[1]/@code"
    line = data.decode().splitlines()[f.line - 1]
    assert line[f.column - 1:].startswith('code="US"')
    assert f.expected == "CN" and f.actual == "US"


def test_locations_in_a_minified_document(validator: Validator, synth, catalog) -> None:
    """One-line documents put many same-named tags on a line: the full-scan fallback still
    points at the exact element and attribute."""
    from lxml import etree

    root = synth.document(catalog.documents["C0001"], 3)
    ns = {"h": "urn:hl7-org:v3"}
    target = root.xpath("//h:observation/h:value[@xsi:type='CD']",
                        namespaces={**ns, "xsi": "http://www.w3.org/2001/XMLSchema-instance"})[1]
    target.set("displayName", "错误的名称")
    data = etree.tostring(root, encoding="UTF-8")  # no pretty print: one line
    assert data.count(b"\n") == 0
    r = validator.validate_bytes(data, "min.xml")
    f = next(f for f in r.findings if f.rule == "VOCAB.DISPLAY_NAME_MISMATCH")
    text = data.decode()
    assert f.line == 1
    assert text[f.column - 1:].startswith('displayName="错误的名称"')
    selected = root.getroottree().xpath(f.xpath.replace("/", "/h:").replace("/h:@", "/@"),
                                        namespaces=ns)
    assert selected == ["错误的名称"]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_byte_order_mark_is_not_utf8(validator: Validator, codec: str) -> None:
    # libxml2 reads it (it guesses UTF-16 from the zero bytes around '<'), so only the
    # encoding check can say it is not the UTF-8 the standard asks for
    data = '<?xml version="1.0" encoding="UTF-16"?>\n<a>中文</a>'.encode(codec)
    r = validator.validate_bytes(data, "u16.xml")
    assert "PARSE.ENCODING_NOT_UTF8" in rules_of(r)


@pytest.mark.parametrize("codec, declared", [
    ("utf-16", "UTF-16"), ("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"), ("gbk", "GBK"),
    ("gb18030", "GB18030"),
])
def test_findings_in_other_encodings_are_located_in_characters(validator: Validator,
                                                                codec: str, declared: str) -> None:
    """A document in another encoding is reported as such and validated all the same; its
    findings sit on the same line and column as in the UTF-8 document (columns count
    characters, so the Chinese text before the element on its line counts once per character,
    whatever its bytes)."""
    from pathlib import Path

    src = next((Path(__file__).resolve().parents[1] / "test_cases" / "documents" / "wst500")
               .glob("EMR-SD-04-*.xml")).read_text(encoding="utf-8")
    src = src.replace('<realmCode code="CN"/>', '<!--境内--><realmCode code="XX"/>', 1)

    def located(data: bytes) -> set[tuple[str, int | None, int | None]]:
        r = validator.validate_bytes(data, "x.xml")
        return {(f.rule, f.line, f.column) for f in r.findings
                if f.rule not in ("PARSE.ENCODING_NOT_UTF8", "PARSE.ENCODING_DECLARED")}

    reference = located(src.encode("utf-8"))
    assert ("WST500.HEADER.REALM_CODE", 3, 23) in reference  # after "  <!--境内--><realmCode "
    assert src.startswith("<?xml version='1.0' encoding='UTF-8'?>")
    other = src.replace("'UTF-8'", f"'{declared}'", 1).encode(codec)
    assert located(other) == reference


def test_xpath_names_the_namespace_where_a_local_name_is_shared(validator: Validator, synth,
                                                                catalog) -> None:
    """A vendor element with the same local name as a CDA element beside it: the plain step
    would be ambiguous, so the CDA element's step names its namespace, and the vendor one's
    too; each path selects exactly the element of the finding."""
    from lxml import etree

    root = synth.document(catalog.documents["C0004"], 1)
    tid = root.find("{urn:hl7-org:v3}templateId")
    vendor = etree.Element("{urn:example:vendor}templateId", root="1.2.3")
    tid.addprevious(vendor)
    tid.set("root", "2.16.156.10011.2.1.1.999")  # not C0004's: a template finding on it
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    r = validator.validate_bytes(data, "x.xml")
    f = next(f for f in r.findings if f.rule == "WST500.HEADER.TEMPLATE_CODE_MISMATCH")
    step = "*[local-name()='templateId' and namespace-uri()='urn:hl7-org:v3'][1]"
    assert f.xpath == f"/ClinicalDocument/{step}/@root"
    parsed = etree.fromstring(data)
    hit = parsed.xpath(f"/*[local-name()='ClinicalDocument']/{step}")
    assert len(hit) == 1 and hit[0].sourceline == f.line
    line = data.decode().splitlines()[f.line - 1]
    assert line[f.column - 1:].startswith('root="2.16.156.10011.2.1.1.999"')
    # elements whose local name no sibling in another namespace shares keep plain steps
    from conformance.xmlsafe import element_xpath

    assert element_xpath(parsed.find("{urn:hl7-org:v3}realmCode")) == \
        "/ClinicalDocument/realmCode[1]"
    vendor_el = parsed.find("{urn:example:vendor}templateId")
    assert element_xpath(vendor_el) == \
        "/ClinicalDocument/*[local-name()='templateId' and namespace-uri()='urn:example:vendor'][1]"


def test_paths_in_a_long_section_and_a_namespace_mix() -> None:
    """Steps of siblings are counted per name (and per namespace where a local name is shared),
    each path selecting its own element, also among thousands of siblings."""
    from lxml import etree

    from conformance.xmlsafe import ElementPaths

    body = "".join(f"<entry n='{i}'/>" + ("<v:entry xmlns:v='urn:v'/>" if i % 100 == 0 else "")
                   + "<!-- c -->" for i in range(3000))
    root = etree.fromstring(f"<doc xmlns='urn:x'><sec>{body}<title/></sec></doc>".encode())
    paths = ElementPaths()
    els = [c for c in root[0] if isinstance(c.tag, str)]
    for el in (els[0], els[1], els[2], els[-2], els[-1]):
        p = paths.xpath(el)
        steps = "/".join(s if s.startswith("*") else f"*[local-name()='{s.split('[')[0]}']"
                         f"[{s.split('[')[1]}" for s in p.split("/")[2:])
        assert root.xpath(f"/*/{steps}") == [el], p
    assert paths.xpath(els[-1]) == "/doc/sec[1]/title[1]"
    assert paths.xpath(els[-2]).endswith("and namespace-uri()='urn:x'][3000]")


@pytest.mark.parametrize("data, single", [
    (b'<a xmlns="urn:x"><b/></a>', True),
    (b'<a xmlns="urn:x"><b xmlns=""/></a>', False),
    (b'<a xmlns="urn:x" xmlns:v="urn:v"><b v:c="1"/></a>', True),   # declared, used on attributes
    (b'<a xmlns="urn:x" xmlns:v="urn:v"><v:b/></a>', False),
    (b'<a xmlns="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><xsi:b/></a>', False),
    (b'<a xmlns="urn:x"><b><c xmlns:v="urn:v"><v:d/></c></b></a>', False),  # declared below
    (b'<a xmlns="urn:x" xmlns:v="urn:x"><v:b/></a>', True),          # another prefix, same URI
    (b"<p:a xmlns:p='urn:x'><p:b/></p:a>", True),
    (b'<a><b/></a>', True),
    (b'<a><b xmlns="urn:y"/></a>', False),
    (b'<?xml version="1.0"?><!-- <x> --><a t=">" xmlns="urn:x" xmlns:v="urn:v"><v:b/></a>', False),
    (b'<?xml version="1.0"?><!-- <x> --><a t=">" xmlns="urn:x" xmlns:v="urn:v"><b/></a>', True),
])
def test_one_namespace_from_the_declarations_agrees_with_the_tree(data: bytes,
                                                                  single: bool) -> None:
    from lxml import etree

    root = etree.fromstring(data)
    assert xmlsafe.in_one_namespace(root, data) is single
    assert xmlsafe.in_one_namespace(root) is single



EXAMPLES = Path(__file__).resolve().parents[1] / "test_cases" / "documents" / "wst500"


@pytest.mark.parametrize("codec, declared", [("gbk", "GBK"), ("gb18030", "GB18030")])
def test_cda_in_gbk_is_a_warning_and_validated_fully(validator: Validator, codec: str,
                                                     declared: str) -> None:
    """A CDA file correctly declared and encoded in GBK / GB 18030 (issue 13 §4): a warning
    (the only basis for UTF-8 is the examples), and the document validated fully, its findings
    at the same lines and columns as in UTF-8."""
    src = next(EXAMPLES.glob("EMR-SD-04-*.xml")).read_text(encoding="utf-8")
    # a defect after Chinese text on the same line: found, at the same line and column
    src = src.replace('<realmCode code="CN"/>', '<!--中国境内--><realmCode code="XX"/>', 1)
    utf8 = validator.validate_bytes(src.encode("utf-8"), "u.xml")
    other = src.replace("'UTF-8'", f"'{declared}'", 1).encode(codec)
    res = validator.validate_bytes(other, "g.xml")
    (enc,) = [f for f in res.findings if f.rule.startswith("PARSE.")]
    assert enc.rule == "PARSE.ENCODING_DECLARED" and enc.severity == "warning"
    assert enc.actual == declared
    assert res.document_type == utf8.document_type == "C0004"
    assert {(f.rule, f.line, f.column) for f in res.findings if f is not enc} == \
        {(f.rule, f.line, f.column) for f in utf8.findings}
    assert "WST500.HEADER.REALM_CODE" in rules_of(res, "error")
    # declared GBK but written in UTF-8: the declaration is wrong, an error
    wrong = src.replace("'UTF-8'", f"'{declared}'", 1).encode("utf-8")
    assert "PARSE.ENCODING_NOT_UTF8" in rules_of(validator.validate_bytes(wrong, "w.xml"), "error")


def test_the_tolerated_encodings_are_data(catalog) -> None:
    conv = catalog.conventions["document_encoding"]
    assert set(conv["tolerated"]) == {"gb2312", "gbk", "gb18030"} and conv["source"]
