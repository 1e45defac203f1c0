"""Reading a SOAP response: the HL7 V3 message it carries (as an element or as escaped text in
``HIPMessageServerResult``), or its fault, or what makes it unreadable. Shared by the harness
(answers on the wire) and the validator (recorded exchanges), so it lives below both."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from .. import xmlsafe
from .builder import SOAP11_NS as SOAP11
from .builder import SOAP12_NS as SOAP12

__all__ = ["SOAP11", "SOAP12", "SoapReply", "unwrap"]


@dataclass
class SoapReply:
    """What the platform answered, unwrapped: the V3 message or a fault."""

    message: etree._Element | None = None
    message_bytes: bytes | None = None
    fault: str | None = None
    problem: str | None = None       # not XML, not SOAP, empty result …



def unwrap(body: bytes) -> SoapReply:
    """Find the V3 message (or the fault) inside a SOAP response, parsing hardened."""
    if not body.strip():
        return SoapReply(problem="empty response")
    try:
        root = xmlsafe.parse_bytes(body)
    except xmlsafe.ParseProblem as p:
        return SoapReply(problem=f"response is not XML ({p.detail}, line {p.line})")
    ns = etree.QName(root).namespace
    if etree.QName(root).localname != "Envelope" or ns not in (SOAP11, SOAP12):
        return SoapReply(problem=f"response is not a SOAP envelope (root {root.tag})")
    body_el = root.find(f"{{{ns}}}Body")
    if body_el is None or len(body_el) == 0:
        return SoapReply(problem="SOAP envelope has an empty Body")
    first = body_el[0]
    if etree.QName(first).localname == "Fault":
        if ns == SOAP11:
            code = first.findtext("faultcode") or ""
            reason = first.findtext("faultstring") or ""
        else:
            code = first.findtext(f"{{{ns}}}Code/{{{ns}}}Value") or ""
            reason = first.findtext(f"{{{ns}}}Reason/{{{ns}}}Text") or ""
        return SoapReply(fault=f"{code.strip()}: {reason.strip()}".strip(": "))
    if etree.QName(first).namespace == "urn:hl7-org:v3":
        return SoapReply(message=first, message_bytes=etree.tostring(first, encoding="UTF-8"))
    # HIPMessageServerResponse/HIPMessageServerResult holds the V3 message as text (in a
    # recorded request, HIPMessageServer/message does)
    carrier = next((c for c in first if isinstance(c.tag, str)
                    and etree.QName(c).localname == "message"), None)
    text = "".join((carrier if carrier is not None else first).itertext()).strip()
    if not text:
        return SoapReply(problem="the operation returned an empty result")
    data = xmlsafe.text_as_utf8(text)  # decoded by the SOAP layer: its own declaration no longer applies
    try:
        inner = xmlsafe.parse_bytes(data)
    except xmlsafe.ParseProblem as p:
        return SoapReply(problem=f"the result is not XML ({p.detail})")
    return SoapReply(message=inner, message_bytes=data)
