"""Shared helpers of the platform tests: post SOAP to an embedded platform, read the answer."""

from __future__ import annotations

from typing import Any

import requests
from lxml import etree

from conformance.hl7v3.builder import MessageBuilder, soap_envelope, soap_headers, unwrap_soap

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
