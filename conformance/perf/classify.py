"""Judge one answer for load measurement: success, or an error of one kind.

Kinds (perf.json ``errors``; always all present):

  timeout     no answer in time (connect or read timeout, or the overall deadline)
  connection  refused, reset, DNS, TLS, connection closed mid-answer
  http        an HTTP error status without a SOAP Fault, or another HTTP-level failure
  soap_fault  a SOAP Fault (whatever the HTTP status)
  ack_error   an HL7 V3 acknowledgement other than the one expected (AE / AR for AA)
  invalid     an answer that cannot be judged: not XML, not SOAP, no acknowledgement, too large

``detail`` keeps the finer kind (timeout-read, refused, http-502, AE, AR, no-ack …) for
``errors_detail``. The answer is parsed hardened (xmlsafe) — the harness's unwrapping rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from .. import xmlsafe
from ..hl7v3.soap import SOAP11, SOAP12

ERROR_KINDS = ("timeout", "connection", "http", "soap_fault", "ack_error", "invalid")
TRANSPORT_KINDS = {"timeout-connect": "timeout", "timeout-read": "timeout", "timeout": "timeout",
                   "timeout-total": "timeout",
                   "refused": "connection", "reset": "connection", "dns": "connection",
                   "tls": "connection", "connection": "connection", "too-large": "invalid",
                   "http": "http"}
_V3 = "{urn:hl7-org:v3}"
_ACK_CHILD = _V3 + "acknowledgement"
_ACK = etree.XPath(".//hl7:acknowledgement/@typeCode", namespaces={"hl7": "urn:hl7-org:v3"})


@dataclass(slots=True)
class Verdict:
    kind: str | None                  # None: success
    detail: str | None = None
    message: etree._Element | None = None
    ack: str | None = None

    @property
    def ok(self) -> bool:
        return self.kind is None


def classify(status: int | None, body: bytes, error: str | None,
             expect: tuple[str, ...] = ("AA",)) -> Verdict:
    """``error``: the transport failure kind (harness vocabulary), when there is no answer."""
    if error:
        return Verdict(TRANSPORT_KINDS.get(error, "connection"), error)
    fault, message, problem = _unwrap(body)
    if fault:
        return Verdict("soap_fault", f"fault-{status}" if status else "fault")
    if status is not None and not 200 <= status < 300:
        return Verdict("http", f"http-{status}")
    if message is None:
        return Verdict("invalid", problem or "invalid")
    el = message.find(_ACK_CHILD)
    codes = [el.get("typeCode")] if el is not None and el.get("typeCode") else _ACK(message)
    ack = str(codes[0]).strip() if codes else None
    if ack is None:
        return Verdict("invalid", "no-ack", message)
    if ack not in expect:
        return Verdict("ack_error", ack, message, ack)
    return Verdict(None, None, message, ack)


def _unwrap(body: bytes) -> tuple[bool, etree._Element | None, str | None]:
    """(is a fault, the HL7 V3 message, problem): the harness's ``unwrap`` rules, without the
    work a load generator does not need (fault texts, message bytes) — it runs per answer."""
    if not body.strip():
        return False, None, "empty"
    try:
        root = xmlsafe.parse_bytes(body)
    except xmlsafe.ParseProblem:
        return False, None, "not-xml"
    tag = root.tag if isinstance(root.tag, str) else ""
    ns = tag[1:tag.index("}")] if tag.startswith("{") else ""
    if not tag.endswith("}Envelope") or ns not in (SOAP11, SOAP12):
        return False, None, "not-soap"
    body_el = root.find(f"{{{ns}}}Body")
    if body_el is None:
        return False, None, "empty"
    first = next((c for c in body_el if isinstance(c.tag, str)), None)
    if first is None:
        return False, None, "empty"
    if first.tag == f"{{{ns}}}Fault":
        return True, None, None
    if first.tag.startswith(_V3):
        return False, first, None
    carrier = next((c for c in first if isinstance(c.tag, str)
                    and etree.QName(c).localname == "message"), None)
    holder = carrier if carrier is not None else first
    text = (holder.text or "" if len(holder) == 0 else "".join(holder.itertext())).strip()
    if not text:
        return False, None, "empty"
    try:
        return False, xmlsafe.parse_bytes(text.encode("utf-8")), None
    except xmlsafe.ParseProblem:
        return False, None, "not-xml"
