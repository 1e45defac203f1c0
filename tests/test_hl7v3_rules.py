"""Every HL7 V3 message rule is produced by a negative message built from the project's own."""

from __future__ import annotations

import re

import pytest

from conformance.hl7v3.builder import MessageBuilder

B = MessageBuilder("hospital")


def _req(action: str = "PatientInfoRegister") -> str:
    return B.build_request(action, {"index": 6, "message_id": "M6"}).decode()


def _ack(**kw) -> str:
    return B.ack(code=kw.get("code", "AA"), target_id=kw.get("target", "M6"),
                 text=kw.get("text", "ok"), receiver="c").decode()


def _query_resp(code: str, records: list[str]) -> str:
    return B.query_response(B.services.service("PatientInfoQuery"), code=code, target_id="M6",
                            text="t", records=records).decode()


SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
ORDER_ROOT = 'root="2.16.156.10011.2.5.1.31"'
ORG_ROOT = 'root="2.16.156.10011.1.26"'
REC = '<patient xmlns="urn:hl7-org:v3"><id><item root="r" extension="e"/></id></patient>'
CASES = {
    "V3.MESSAGE_ID": lambda: _req().replace('extension="M6"', 'extension=""', 1),
    "V3.CREATION_TIME": lambda: re.sub(r'<creationTime value="\d+"/>', '<creationTime value="2024-01-01"/>',
                                       _req()),
    "V3.INTERACTION_ID": lambda: _req().replace('root="2.16.156.10011.2.5.1.2"', 'root="1.2.3"'),
    "V3.INTERACTION_ID_MISMATCH": lambda: _req().replace('extension="PRPA_IN201311UV02"',
                                                         'extension="PRPA_IN201314UV02"'),
    "V3.PROCESSING_CODE": lambda: _req().replace('<processingCode code="P"/>', "<processingCode/>"),
    "V3.ACCEPT_ACK_CODE": lambda: _req().replace('<acceptAckCode code="AL"/>', '<acceptAckCode code="XX"/>'),
    "V3.DEVICE_ID": lambda: _req().replace('extension="conformance-client"', 'extension=""'),
    "V3.CONTROL_ACT": lambda: re.sub(r"<controlActProcess.*</controlActProcess>", "", _req(), flags=re.S),
    "V3.PAYLOAD_REQUIRED": lambda: _req("OrderInfoAdd").replace(ORDER_ROOT, 'root="9"'),
    "V3.QUERY_PARAMETER": lambda: _req("OrganizationInfoQuery").replace(ORG_ROOT, 'root="9"'),
    "V3.SERVICE_AMBIGUOUS": lambda: _req("OrderInfoAdd").replace(ORDER_ROOT, 'root="9"'),
    "V3.DOCUMENT_BASE64": lambda: re.sub(r'(<originalText value=")[^"]*"', r'\1%%%"',
                                         _req("DocumentRegiste")),
    "V3.ROOT_UNKNOWN": lambda: '<ZZZZ_IN000000UV01 xmlns="urn:hl7-org:v3"/>',
    "V3.ACK_MISSING": lambda: re.sub(r"<acknowledgement .*</acknowledgement>", "", _ack(), flags=re.S),
    "V3.ACK_CODE": lambda: _ack(code="OK"),
    "V3.ACK_TARGET": lambda: _ack(target=""),
    "V3.ACK_TEXT": lambda: _ack(text=""),
    "V3.ACK_INCONSISTENT": lambda: _query_resp("AE", [REC]),
    "V3.SOAP_FAULT": lambda: (
        f'<s:Envelope xmlns:s="{SOAP11}"><s:Body><s:Fault><faultcode>s:Server</faultcode>'
        "<faultstring>平台内部错误</faultstring></s:Fault></s:Body></s:Envelope>"),
    "V3.ID_FORM": lambda: _req().replace('<id root="2.16.156.10011.2.5.1.1" extension="M6"/>',
                                         '<id><item root="2.16.156.10011.2.5.1.1" extension="M6"/></id>'),
    "V3.ID_ROOT_ALTERNATIVE": lambda: _req("OrderInfoAdd").replace(ORDER_ROOT,
                                                                   'root="2.16.156.10011.1.28"'),
    "V3.INTERACTION_DISPUTED": lambda: _soap_with_text_message(
        _req("DocumentRetrieve"), cdata=False, action="DocumentAccess").decode(),
    "V3.SOAP_NO_MESSAGE": lambda: (
        f'<s:Envelope xmlns:s="{SOAP12}"><s:Body><HIPMessageServer xmlns="urn:x"><action>a'
        "</action><message>   </message></HIPMessageServer></s:Body></s:Envelope>"),
}


def test_every_v3_rule_has_a_case(catalog):
    assert {r for r in catalog.rules if r.startswith("V3.")} == set(CASES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_is_reported_with_its_place(validator, validator_en, rule):
    data = CASES[rule]().encode()
    res = validator.validate_bytes(data, f"{rule}.xml")
    found = [f for f in res.findings if f.rule == rule]
    assert found, [f.rule for f in res.findings]
    f = found[0]
    assert f.message and f.source and f.line
    en = [x for x in validator_en.validate_bytes(data, "x.xml").findings if x.rule == rule][0]
    assert en.message != f.message and re.search(r"[A-Za-z]", en.message)


def _soap_with_text_message(message: str, cdata: bool, action: str = "PatientInfoRegister") -> bytes:
    """A captured request as platforms send it: the V3 message as the text of
    HIPMessageServer/message (escaped, or in a CDATA section), pretty-printed on many lines."""
    from lxml import etree

    env = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"soap": SOAP11})
    call = etree.SubElement(etree.SubElement(env, f"{{{SOAP11}}}Body"), "{urn:x}HIPMessageServer")
    etree.SubElement(call, "{urn:x}action").text = action
    carrier = etree.SubElement(call, "{urn:x}message")
    carrier.text = etree.CDATA(message) if cdata else message
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@pytest.mark.parametrize("cdata", [False, True], ids=["escaped", "cdata"])
def test_message_carried_as_text_is_validated_and_placed_in_the_file(validator, cdata):
    """The message inside HIPMessageServer/message: validated as the message it is; each
    finding's line and column are those of the file (through the escapes), its XPath the
    carrier's followed by the path inside the message."""
    message = _req().replace('extension="conformance-client"', 'extension=""')
    message = message.replace("><", ">\n  <")  # several lines, as captured traffic has
    data = _soap_with_text_message(message, cdata)
    res = validator.validate_bytes(data, "captured.xml")
    assert res.document_type == "PRPA_IN201311UV02"
    f = next(f for f in res.findings if f.rule == "V3.DEVICE_ID")
    assert f.xpath.startswith("/Envelope/Body[1]/HIPMessageServer[1]/message[1]/text() → "
                              "/PRPA_IN201311UV02/sender[1]")
    lines = data.decode().splitlines()
    assert lines[f.line - 1][f.column - 1:].startswith(
        ("&lt;sender", "<sender") if f.xpath.endswith("]") else "extension")
    # without the defect the same capture is valid
    clean = validator.validate_bytes(_soap_with_text_message(
        _req().replace("><", ">\n  <"), cdata), "clean.xml")
    assert [x.rule for x in clean.findings if x.severity == "error"] == []


def test_message_embedded_as_elements_is_validated_in_place(validator):
    from lxml import etree

    message = etree.fromstring(_req().replace('extension="M6"', 'extension=""', 1).encode())
    env = etree.Element(f"{{{SOAP12}}}Envelope")
    etree.SubElement(env, f"{{{SOAP12}}}Body").append(message)
    data = etree.tostring(env, encoding="UTF-8", pretty_print=True)
    res = validator.validate_bytes(data, "captured.xml")
    f = next(f for f in res.findings if f.rule == "V3.MESSAGE_ID")
    assert f.xpath.startswith("/Envelope/Body[1]/PRPA_IN201311UV02[1]/id[1]")
    hit = etree.fromstring(data).xpath("/*/*/*/*[local-name()='id']")
    assert hit and hit[0].sourceline == f.line
