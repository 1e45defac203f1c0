"""Defects that real vendor files exposed (issue 13 §5), each reproduced on a document or message
written here: minified documents, registrations carrying a document, data-element code systems,
internals in messages, the platform's acknowledgement texts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
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


# ---------------------------------------------------------------- 2. documents carried in messages
def _variants(b) -> dict[str, tuple[dict, str]]:
    """Registrations of one patient's 住院病案首页 (document written by the project's
    synthesizer), each with one defect of its own: name → (template variables, expected ack)."""
    import base64

    good = b.document_bytes("C0032", 3)

    def edited(change) -> bytes:
        root = etree.fromstring(good)
        change(root)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def drop(tag):
        return lambda r: r.remove(r.find(f"{H}{tag}"))

    def vendor_element(r):
        etree.SubElement(r.find(f"{H}recordTarget/{H}patientRole"), f"{H}vendorNote")

    def empty_title(r):
        r.find(f"{H}title").text = ""

    def de_code_system(r):  # a data element named in a code system that is not the catalog
        next(el for el in r.iter(f"{H}code") if (el.get("code") or "").startswith("DE")).set(
            "codeSystem", "2.16.156.10011.2.2.9")

    message = b.build_request("PatientInfoRegister", {"index": 4})
    docs = {
        "conformant": ({"document": good}, "AA"),
        "warning-only": ({"document": edited(empty_title)}, "AA"),
        "header-element-missing": ({"document": edited(drop("effectiveTime"))}, "AE"),
        "schema-invalid": ({"document": edited(vendor_element)}, "AE"),
        "data-element-code-system": ({"document": edited(de_code_system)}, "AE"),
        "not-base64": ({"document_b64": "这不是 Base64!"}, "AE"),
        "not-xml": ({"document_b64": base64.b64encode(b"plain text").decode()}, "AE"),
        "a-message-not-a-document": ({"document": message}, "AE"),
        "no-document": ({"document_b64": ""}, "AE"),
    }
    return {name: ({"index": 3, "key": f"DOC-{i}", "doc_code": "C0032", **v}, ack)
            for i, (name, (v, ack)) in enumerate(docs.items())}


@pytest.mark.slow
def test_validate_and_the_platform_agree_on_registrations(tmp_path: Path) -> None:
    import json

    import requests
    from click.testing import CliRunner

    from conformance.cli import main
    from conformance.hl7v3.builder import MessageBuilder, soap_envelope, soap_headers
    from conformance.platform.server import EmbeddedPlatform

    from .platform_helpers import ack_of, ack_text, call, unwrap_soap

    b = MessageBuilder("hospital")
    variants = _variants(b)
    acks = {}
    with EmbeddedPlatform(profile="hospital") as url:
        assert ack_of(call(url, b, "PatientInfoRegister", {"index": 3})[1]) == "AA"
        for name, (v, _) in variants.items():
            message = b.build_request("DocumentRegiste", v)
            (tmp_path / f"{name}.xml").write_bytes(message)
            r = requests.post(url, data=soap_envelope(message, action="DocumentRegiste"),
                              headers=soap_headers("1.1"), timeout=30)
            _, el = unwrap_soap(r.content)
            acks[name] = (ack_of(el), ack_text(el))
    out = CliRunner().invoke(main, ["validate", "--format", "json", str(tmp_path)])
    report = {Path(d["path"]).stem: d for d in json.loads(out.output)["documents"]}
    for name, (_, expected) in variants.items():
        ack, text = acks[name]
        assert ack == expected, (name, text)
        assert report[name]["valid"] == (ack == "AA"), (name, text, report[name]["findings"])
    # the document's findings are placed in the message file, at the carrying attribute
    carrier = "/RCMR_IN000002UV02/controlActProcess[1]/subject[1]/clinicalDocument[1]/" \
        "storageCode[1]/originalText[1]/@value"
    missing = next(f for f in report["header-element-missing"]["findings"]
                   if f["severity"] == "error")
    assert missing["xpath"].startswith(carrier + " → /ClinicalDocument")
    text = (tmp_path / "header-element-missing.xml").read_text("utf-8").split("\n")
    assert text[missing["line"] - 1][missing["column"] - 1:].startswith("value=")
    assert report["header-element-missing"]["layers"]["schema"] == "ran (所载 CDA 文档)"
    rules = {n: {f["rule"] for f in d["findings"] if f["severity"] == "error"}
             for n, d in report.items()}
    assert rules["not-base64"] == {"V3.DOCUMENT_BASE64"}
    assert "PARSE.NOT_WELL_FORMED" in rules["not-xml"]
    assert "CDA.ROOT_UNKNOWN" in rules["a-message-not-a-document"]
    assert "V3.PAYLOAD_REQUIRED" in rules["no-document"]
    assert not rules["warning-only"] and any(
        f["severity"] == "warning" for f in report["warning-only"]["findings"])


def test_documents_in_query_responses_are_validated(validator: Validator) -> None:
    import base64

    from conformance.hl7v3.builder import MessageBuilder
    from conformance.platform.engine import Platform

    b = MessageBuilder("hospital")
    platform = Platform("hospital")
    try:
        assert platform.handle(b.build_request("PatientInfoRegister", {"index": 5})).ack == "AA"
        v = {"index": 5, "key": "DOC-Q", "doc_code": "C0032", "document": b.document_bytes(
            "C0032", 5)}
        assert platform.handle(b.build_request("DocumentRegiste", v)).ack == "AA"
        for action in ("DocumentRetrieve", "DocumentAccess"):
            out = platform.handle(b.build_request(action, {"index": 5, "key": "DOC-Q"}))
            assert out.ack == "AA"
            r = validator.validate_bytes(out.response, "response.xml")
            assert r.valid, [(f.rule, f.message) for f in r.findings]
            assert r.layers["schema"] == "ran (所载 CDA 文档)"
    finally:
        platform.close()
    # the same response carrying a document without effectiveTime: its error is the response's
    root = etree.fromstring(out.response)
    carrier = next(root.iter(f"{H}originalText"))
    doc = etree.fromstring(base64.b64decode(carrier.get("value")))
    doc.remove(doc.find(f"{H}effectiveTime"))
    carrier.set("value", base64.b64encode(etree.tostring(doc)).decode())
    r = validator.validate_bytes(etree.tostring(root), "response.xml")
    errors = [f for f in r.findings if f.severity == "error"]
    assert errors and all(" → /ClinicalDocument" in f.xpath for f in errors)
    assert errors[0].xpath.startswith(f"/{etree.QName(root).localname}/controlActProcess[1]/"
                                      "subject[1]/clinicalDocument[1]/")


# ---------------------------------------------------------------- 3. data-element code systems
def test_a_data_element_code_in_any_other_code_system_is_an_error(validator: Validator) -> None:
    root = _prescription()
    de_codes = [el for el in root.iter(f"{H}code")
                if el.get("codeSystem") == "2.16.156.10011.2.2.1"]
    assert len(de_codes) >= 3
    systems = ["2.16.156.10011.2.2.9", "2.16.156.10011.2.2.2", "1.2.3.4"]  # unknown, typo, other
    for el, cs in zip(de_codes, systems, strict=False):
        el.set("codeSystem", cs)
    # a code of an unknown value-set system that is not a data element stays advisory
    value = next(el for el in root.iter(f"{H}value") if el.get("codeSystem"))
    value.set("codeSystem", "2.16.156.10011.2.3.9999")
    r = validator.validate_bytes(etree.tostring(root), "de.xml")
    de = [f for f in r.findings if f.rule == "VOCAB.DE_CODE_SYSTEM"]
    assert sorted(f.actual for f in de) == sorted(systems)
    assert all(f.severity == "error" and f.xpath.endswith("/@codeSystem") for f in de)
    assert all(f.expected == "2.16.156.10011.2.2.1" for f in de)
    unknown = [f for f in r.findings if f.rule == "VOCAB.CODE_SYSTEM_UNKNOWN"]
    assert [f.actual for f in unknown] == ["2.16.156.10011.2.3.9999"]
    assert unknown[0].severity == "info"


# ---------------------------------------------------------------- 4. no internals in messages
_CJK = re.compile(r"[\u4e00-\u9fff]")


def test_layer_statuses_speak_the_output_language(validator: Validator,
                                                  validator_en: Validator) -> None:
    from conformance.i18n import bundle
    from conformance.validate import schema
    from conformance.validate.context import DocContext

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
    layer_keys = [k for k in bundle("zh") if k.startswith("validate.layer.")]
    assert layer_keys
    for key in layer_keys:
        assert _CJK.search(bundle("zh")[key]) and not _CJK.search(bundle("en")[key]), key


_TUPLE_REPR = re.compile(r"[(\[]\s*['\"(]|['\"]\s*,\s*['\"]|\(\s*\)|\[\s*\]")
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
_VALUE_SETS = {
    "none": dict.fromkeys(("expected", "actual", "detail", "name", "path"), None),
    "empty": dict.fromkeys(("expected", "actual", "detail", "name", "path"), ""),
    "blank": dict.fromkeys(("expected", "actual", "detail", "name", "path"), "  "),
    "sequence": {"expected": ("A1", "B2"), "actual": ["x", "y"], "detail": ("d",),
                 "name": ("n1", "n2"), "path": "a/b"},
    "usual": {"expected": "2.16.156.10011.2.2.1", "actual": "DE02.01.039.00",
              "detail": "C0032", "name": "patient name", "path": "recordTarget/patientRole"},
}


def test_every_rule_message_renders_without_internals(catalog) -> None:
    """Every rule of the registry (CDA, WS/T 500 and 483 families, HL7 V3), with values that
    are missing, empty, blank, sequences or usual, in both languages: no None, no Python
    representation of a tuple or list, no placeholder left, Chinese in zh (the templates are;
    values here are ASCII), no Chinese in en, and an empty value called empty."""
    from conformance.model.findings import DocumentResult
    from conformance.validate.context import DocContext

    root = etree.fromstring(b'<ClinicalDocument xmlns="urn:hl7-org:v3"><id value=""/>'
                            b'</ClinicalDocument>')
    el = root[0]
    problems = []
    for lang in ("zh", "en"):
        ctx = DocContext(catalog, lang, etree.tostring(root), root, DocumentResult(path="x"))
        for rule_id, rule in sorted(catalog.rules.items()):
            template = rule.message[lang]
            for case, values in _VALUE_SETS.items():
                f = ctx.report(rule_id, el, attr="value", **values)
                m = f.message
                where = (lang, rule_id, case, m)
                if "None" in m or _TUPLE_REPR.search(m) or _PLACEHOLDER.search(m):
                    problems.append(where)
                if (lang == "zh") != bool(_CJK.search(m)):
                    problems.append(where)
                if case in ("empty", "blank") and "{actual}" in template and \
                        ("空值" if lang == "zh" else "empty") not in m:
                    problems.append(where)
                for text in (f.actual, f.expected):
                    if text is not None and (_TUPLE_REPR.search(text) or text == "None"):
                        problems.append((lang, rule_id, case, text))
    assert problems == []


def test_findings_of_real_defects_show_no_internals(validator: Validator,
                                                    validator_en: Validator) -> None:
    from conformance.hl7v3.builder import MessageBuilder

    b = MessageBuilder("hospital")
    message = b.build_request("PatientInfoRegister", {"index": 2, "message_id": "M-2"}).decode()
    no_root = re.sub(r'<id root="2\.16\.156\.10011\.2\.5\.1\.1" extension="M-2"/>',
                     '<id extension=""/>', message, count=1)
    bad_time = re.sub(r'<creationTime value="\d+"/>', '<creationTime value="20241301120000"/>',
                      message)
    empty_body = (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
                  b"<s:Body/></s:Envelope>")
    root = _prescription()
    de = next(el for el in root.iter(f"{H}code") if (el.get("code") or "").startswith("DE"))
    de.set("codeSystem", "")
    root.find(f"{H}effectiveTime").set("value", "20240230")
    cases = {"no-root": no_root.encode(), "bad-time": bad_time.encode(),
             "empty-body": empty_body, "empty-code-system": etree.tostring(root),
             "broken": b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title></ClinicalDocument>',
             "not-cda": b'<report xmlns="urn:example"/>'}
    for name, data in cases.items():
        for v in (validator, validator_en):
            r = v.validate_bytes(data, name)
            assert r.findings, name
            for f in r.findings:
                assert "None" not in f.message and not _TUPLE_REPR.search(f.message), f.message
                if v is validator:
                    assert _CJK.search(f.message), f.message
                    assert not re.search(r"[A-Za-z]{3,} [a-z]{3,} [a-z]{3,}", f.message), f.message
    zh = {n: [f.message for f in validator.validate_bytes(d, n).findings]
          for n, d in cases.items()}
    assert any('<id extension=""/>' in m for m in zh["no-root"])
    assert any("20241301120000（月份 13 无效）" in m for m in zh["bad-time"])
    assert any("Body 为空" in m for m in zh["empty-body"])
    assert any("实际为 空值" in m for m in zh["empty-code-system"])
    assert any("20240230" in m and "日 30 无效" in m for m in zh["empty-code-system"])
    assert any("开始标签 title" in m for m in zh["broken"])
    assert any('report xmlns="urn:example"' in m for m in zh["not-cda"])


def test_text_report_header_and_unread_files(tmp_path: Path) -> None:
    import io

    from click.testing import CliRunner

    from conformance.cli import main
    from conformance.report.text import TextReporter

    out = io.StringIO()
    TextReporter(out, "zh").start({})
    TextReporter(out, "zh").start({"tool": {"name": "conformance", "version": "1",
                                            "ruleset": "r1"}})
    assert out.getvalue() == "conformance\nconformance 1 · 规则集 r1\n"
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "locked.xml").write_bytes(b"<a/>")
    (folder / "locked.xml").chmod(0)
    r = CliRunner().invoke(main, ["validate", str(folder / "locked.xml")])
    (folder / "locked.xml").chmod(0o644)
    if "PARSE.IO_ERROR" in r.output:  # not when the tests run as root
        assert "PermissionError" not in r.output and "Errno" not in r.output


# ---------------------------------------------------------------- 5. the platform's texts
def _texts(platform, b, steps):
    out = []
    for action, message in steps:
        o = platform.handle(message if isinstance(message, bytes) else
                            b.build_request(action, message), action)
        out.append((o.ack, o.detail))
    return out


def test_platform_acknowledgements_name_the_actual_problem() -> None:
    from conformance.hl7v3.builder import MessageBuilder
    from conformance.platform.engine import Platform

    b = MessageBuilder("hospital")
    reg = b.build_request("PatientInfoRegister", {"index": 7, "message_id": "M-7"}).decode()
    wid = "2.16.156.10011.2.5.1.1"
    pid = "2.16.156.10011.2.5.1.4"
    order = b.build_request("OrderInfoAdd", {"index": 7}).decode()
    cases = {
        # a leading space in the message id's root is not a missing message id
        "root-space": (reg.replace(f'root="{wid}"', f'root=" {wid}"', 1),
                       "AE", ["“ 2.16.156.10011.2.5.1.1”", "空格"], ["缺少消息流水号"]),
        "other-root": (reg.replace(f'root="{wid}"', 'root="1.2.3"', 1),
                       "AE", ["“1.2.3”", wid], []),
        "empty-extension": (reg.replace('extension="M-7"', 'extension=""', 1),
                            "AE", ["extension 为空", "“”"], []),
        "no-id": (re.sub(r'<id root="2\.16\.156\.10011\.2\.5\.1\.1"[^>]*/>', "", reg, count=1),
                  "AE", ["没有 id 元素"], []),
        # the patient id under another root: the root found is named
        "patient-root": (reg.replace(f'root="{pid}"', 'root="2.16.156.10011.1.11"'),
                         "AE", ["患者标识", "“2.16.156.10011.1.11”", pid], []),
        "patient-empty": (re.sub(rf'(root="{re.escape(pid)}" extension=")[^"]*"', r'\1 "', reg),
                          "AE", ["患者标识", "为空", "“ ”"], []),
        "order-unknown-patient": (order, "AE", ["未注册"], []),
        "not-xml": ("<PRPA_IN201311UV02 xmlns='urn:hl7-org:v3'><id></PRPA_IN201311UV02>", "AR",
                    ["第 1 行", "开始标签 id"], ["Opening and ending"]),
        "not-hl7": ('<PRPA_IN201311UV02 xmlns="urn:example"/>', "AR",
                    ["PRPA_IN201311UV02", "urn:example"], ["{urn"]),
    }
    platform = Platform("hospital")
    try:
        for name, (message, ack, wanted, unwanted) in cases.items():
            action = "OrderInfoAdd" if name.startswith("order") else "PatientInfoRegister"
            out = platform.handle(message.encode(), action)
            assert out.ack == ack, (name, out.detail)
            for w in wanted:
                assert w in out.detail, (name, w, out.detail)
            for u in unwanted:
                assert u not in out.detail, (name, u, out.detail)
        # a registered patient without orders is not an unknown patient
        assert platform.handle(reg.encode(), "PatientInfoRegister").ack == "AA"
        by_patient = b.build_request("OrderInfoQuery", {"index": 7, "by": "patient"})
        out = platform.handle(by_patient, "OrderInfoQuery")
        assert out.ack == "AE" and "已登记" in out.detail and "未注册" not in out.detail, out.detail
        stranger = b.build_request("OrderInfoQuery", {"index": 8, "by": "patient"})
        out = platform.handle(stranger, "OrderInfoQuery")
        assert out.ack == "AE" and "P00000008" in out.detail and "未注册" in out.detail
        # of two alternative places, the one where a value was found is named
        query = re.sub(rf'root="{re.escape(pid)}"', 'root="9.9"',
                       b.build_request("PatientInfoQuery", {"index": 7}).decode())
        out = platform.handle(query.encode(), "PatientInfoQuery")
        assert out.ack == "AE" and "“9.9”" in out.detail, out.detail
        # the carried document: where, and the value found
        bad = b.build_request("DocumentRegiste", {"index": 7, "document_b64": "@@not base64@@"})
        out = platform.handle(bad, "DocumentRegiste")
        assert out.ack == "AE" and "storageCode/originalText/@value" in out.detail
        assert "“@@not base64@@”" in out.detail
        doc = etree.fromstring(b.document_bytes("C0001", 7))
        doc.remove(doc.find(f"{H}effectiveTime"))
        out = platform.handle(b.build_request("DocumentRegiste", {
            "index": 7, "document": etree.tostring(doc)}), "DocumentRegiste")
        assert out.ack == "AE" and "（/ClinicalDocument" in out.detail, out.detail
    finally:
        platform.close()
    en = Platform("hospital", lang="en")
    try:
        out = en.handle(cases["root-space"][0].encode(), "PatientInfoRegister")
        assert out.ack == "AE" and "stray spaces" in out.detail and not _CJK.search(out.detail)
    finally:
        en.close()


@pytest.mark.slow
def test_soap_faults_name_elements_as_written() -> None:
    import requests

    from conformance.platform.server import EmbeddedPlatform

    with EmbeddedPlatform(profile="hospital") as url:
        for body in (b"<Envelope><Body/></Envelope>", b'<x:Root xmlns:x="urn:example"/>',
                     b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
                     b'<q:Call xmlns:q="urn:example"/></s:Body></s:Envelope>', b"<a><b></a>"):
            r = requests.post(url, data=body, headers={"Content-Type": "text/xml"}, timeout=10)
            text = r.content.decode("utf-8")
            assert r.status_code == 400 and "None" not in text and "{urn" not in text, text
            assert "Opening and ending" not in text and _CJK.search(text), text


def test_every_platform_text_renders_in_both_languages() -> None:
    from conformance.i18n import bundle
    from conformance.platform.safe import phrase

    keys = [k for k in bundle("zh") if k.startswith("platform.")]
    assert len(keys) > 50
    for key in keys:
        texts = {lang: bundle(lang)[key] for lang in ("zh", "en")}
        values = {k: "v" for k in re.findall(r"\{(\w+)\}", texts["zh"] + texts["en"])}
        zh, en = phrase(key, "zh", **values), phrase(key, "en", **values)
        words = re.sub(r"\{\w+\}", "", texts["zh"])
        # Chinese, unless the text is only the values it joins (a rule id, a place, a message)
        assert _CJK.search(zh) or not re.search(r"[A-Za-z]", words), key
        assert not _CJK.search(en), key
        assert not _PLACEHOLDER.search(zh + en), key


def test_calendar_details_in_chinese_and_precision_untouched() -> None:
    from conformance.validate.datatype import ts_detail, ts_problem, ts_text

    assert ts_detail("month 13", "zh") == "月份 13 无效"
    assert ts_detail("month 13", "en") == "month 13"
    assert ts_detail("12", "zh") == "12"  # DT.TS_PRECISION's detail: a number of digits
    assert ts_text("20240230", ts_problem("20240230"), "zh") == "20240230（日 30 无效）"
    assert ts_text("2024-01-01", ts_problem("2024-01-01"), "en") == "2024-01-01"
