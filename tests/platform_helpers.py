"""Shared helpers of the platform tests: post SOAP to an embedded platform, read the answer."""

from __future__ import annotations

from typing import Any

import requests
from lxml import etree

from conformance import xmlsafe
from conformance.hl7v3.builder import MessageBuilder, soap_envelope, soap_headers

H = "{urn:hl7-org:v3}"


def call(url: str, builder: MessageBuilder, action: str, variables: dict[str, Any] | None = None,
         version: str = "1.1", wrapped: bool = True) -> tuple[int, etree._Element]:
    msg = builder.build_request(action, variables or {})
    env = soap_envelope(msg, version, action=action if wrapped else None)
    r = requests.post(url, data=env, headers=soap_headers(version), timeout=30)
    kind, el = unwrap_soap(r.content)
    assert kind == "message", r.text[:500]
    return r.status_code, el


def ack_of(el: etree._Element) -> str:
    return el.find(f"{H}acknowledgement").get("typeCode")


def ack_text(el: etree._Element) -> str:
    return el.find(f"{H}acknowledgement/{H}acknowledgementDetail/{H}text").get("value")


def records(el: etree._Element) -> list[etree._Element]:
    cap = el.find(f"{H}controlActProcess")
    return [] if cap is None else cap.findall(f"{H}subject")


def unwrap_soap(data: bytes) -> tuple[str, etree._Element]:
    """Parse a SOAP response: (kind, element) where kind is 'message' (HL7 V3 root element),
    'fault' (the Fault element) — raises ValueError on anything else."""
    root = xmlsafe.parse_bytes(data)
    if etree.QName(root).localname != "Envelope":
        raise ValueError("not a SOAP envelope")
    body = next((c for c in root if isinstance(c.tag, str) and etree.QName(c).localname == "Body"), None)
    if body is None or len(body) == 0:
        raise ValueError("SOAP envelope without body content")
    child = next(c for c in body if isinstance(c.tag, str))
    local = etree.QName(child).localname
    if local == "Fault":
        return "fault", child
    if local.endswith("Response"):
        result = next((c for c in child if isinstance(c.tag, str)), None)
        if result is None or not (result.text or "").strip():
            raise ValueError("empty HIPMessageServerResult")
        return "message", xmlsafe.parse_bytes(xmlsafe.text_as_utf8(result.text.strip()))
    return "message", child
