"""The checks of one captured exchange, as ``model.CheckResult`` with findings.

SOAP / HL7 V3 exchanges (a POST with an XML body) get, in order:

- ``transport``       an answer came back whole (else PROXY.UPSTREAM_* / RESPONSE_INCOMPLETE),
                      HTTP 200 or a SOAP Fault (PROXY.HTTP_STATUS);
- ``service``         identified from the HIPMessageServer action, the SOAP action or the root
                      of the message (PROXY.SERVICE_UNKNOWN), the root fitting the action
                      (PROXY.ACTION_ROOT);
- ``interaction-id``  the request's interactionId is one of the service's (PROXY.INTERACTION_SERVICE);
- ``request-valid``   the request through the one validator (the SOAP envelope and the HL7 V3
                      message in it);
- ``document-valid``  the CDA documents carried (registrations, query and retrieval answers);
- ``response-root``   the answer's root is the service's response (PROXY.RESPONSE_ROOT);
- ``ack``             AA, or AE / AR (PROXY.ACK_REJECTED), a SOAP Fault is the answer's finding;
- ``target-message``  targetMessage/id echoes the request's message id (PROXY.TARGET_MESSAGE);
- ``response-valid``  the answer through the one validator;
- ``response-time``   the 3.3 band of the response time (recorded, never judged).

A check fails when one of its findings is an error or a warning (``Finding`` rules live in
``standards/rules/``); its findings are those of the validator (errors and warnings; infos are
counted in the statistics only) and of the exchange rules. Other requests (GET ?wsdl …) get
``transport`` only."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .. import xmlsafe
from ..catalog import Catalog, render
from ..hl7v3.services import Service, ServiceCatalog
from ..i18n import t
from ..model import CheckResult, Finding, Status
from .wire import Captured

V3 = "urn:hl7-org:v3"
H = f"{{{V3}}}"
NS = {"hl7": V3}
SOAP = {"http://schemas.xmlsoap.org/soap/envelope/": "1.1",
        "http://www.w3.org/2003/05/soap-envelope": "1.2"}
MAX_FINDINGS = 100                       # per check of one exchange (all are counted)
_DOC_PATH = etree.XPath("//*[local-name()='storageCode']/*[local-name()='originalText']/@value")


@dataclass(slots=True)
class Message:
    """What a SOAP body holds: the HIPMessageServer action and the HL7 V3 message, or a fault."""

    version: str | None = None
    action: str | None = None
    root: etree._Element | None = None
    fault: str | None = None
    problem: str | None = None           # not XML, not SOAP …
    carrier: str | None = None           # the message is text in this element (its path)

    @property
    def local(self) -> str | None:
        return etree.QName(self.root).localname if self.root is not None else None


def open_soap(body: bytes) -> Message:
    """The action and the HL7 V3 message of a SOAP request or response (hardened parse); a bare
    HL7 V3 message is taken as it is."""
    if not body.strip():
        return Message(problem="empty")
    try:
        env = xmlsafe.parse_bytes(body, keep_blank_text=False)
    except xmlsafe.ParseProblem as p:
        return Message(problem=f"not XML ({p.detail})")
    qn = etree.QName(env)
    if qn.namespace == V3:
        return Message(root=env)
    if qn.localname != "Envelope" or qn.namespace not in SOAP:
        return Message(problem=f"not a SOAP envelope (root {qn.localname})")
    msg = Message(version=SOAP[qn.namespace])
    ns = qn.namespace
    body_el = env.find(f"{{{ns}}}Body")
    first = None if body_el is None else next((c for c in body_el if isinstance(c.tag, str)),
                                               None)
    if first is None:
        msg.problem = "empty SOAP Body"
        return msg
    if etree.QName(first).localname == "Fault":
        texts = [" ".join("".join(el.itertext()).split()) for el in first.iter()
                 if isinstance(el.tag, str) and etree.QName(el).localname in
                 ("faultcode", "faultstring", "Value", "Text")]
        msg.fault = ": ".join(x for x in texts if x) or "Fault"
        return msg
    if etree.QName(first).namespace == V3:
        msg.root = first
        return msg
    carrier = None
    for child in first:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        if name == "action":
            msg.action = (child.text or "").strip() or None
        elif name in ("message", "return") or name.endswith("Result"):
            carrier = child
    if carrier is None:
        carrier = first
    inner = next((c for c in carrier.iter() if isinstance(c.tag, str)
                  and etree.QName(c).namespace == V3), None)
    if inner is not None:
        msg.root = inner
        return msg
    text = "".join(carrier.itertext()).strip()
    if not text:
        msg.problem = "no HL7 V3 message"
        return msg
    try:
        msg.root = xmlsafe.parse_bytes(text.encode("utf-8"), keep_blank_text=False)
        msg.carrier = _path(carrier)
    except xmlsafe.ParseProblem as p:
        msg.problem = f"the carried message is not XML ({p.detail})"
    return msg


def is_soap(method: str) -> bool:
    """A POST to a HIPMessageServer endpoint is a SOAP call (whatever its body: a body that is
    not XML is the request's finding); GET ?wsdl and the like are other traffic."""
    return method.upper() == "POST"


def soap_action(headers: dict[str, str]) -> str | None:
    """The action code of the SOAPAction header (1.1) or the action parameter (1.2)."""
    raw = ""
    for k, v in headers.items():
        if k.lower() == "soapaction":
            raw = v
        elif k.lower() == "content-type":
            for part in v.split(";")[1:]:
                key, _, value = part.strip().partition("=")
                if key.lower() == "action":
                    raw = value
    raw = raw.strip().strip('"')
    return raw.rsplit("/", 1)[-1] or None if raw else None


def documents(root: etree._Element | None) -> list[bytes]:
    """The CDA documents a message carries (base64 in storageCode/originalText/@value)."""
    if root is None:
        return []
    out = []
    for value in _DOC_PATH(root):
        try:
            out.append(base64.b64decode("".join(str(value).split()), validate=True))
        except (binascii.Error, ValueError):
            out.append(str(value).encode("utf-8"))
    return out


def _path(el: etree._Element, attr: str | None = None) -> str:
    steps = []
    node: Any = el
    while node is not None and isinstance(node.tag, str):
        steps.append(etree.QName(node).localname)
        node = node.getparent()
    return "/" + "/".join(reversed(steps)) + (f"/@{attr}" if attr else "")


@dataclass
class Verdict:
    """Everything the statistics need from one exchange."""

    service: Service | None = None
    service_key: str = "-"
    soap: bool = False
    ack: str | None = None                 # AA / AE / AR / … / Fault / None
    band: Any = None
    checks: list[CheckResult] = field(default_factory=list)
    all_findings: list[Finding] = field(default_factory=list)   # also infos, for the counts
    validated: bool = False
    too_large: bool = False
    soap_version: str | None = None

    @property
    def result(self) -> Status:
        from ..model import roll_up

        return roll_up(c.result for c in self.checks)


class ExchangeChecker:
    """Judges exchanges of one profile's catalog with one validator."""

    def __init__(self, catalog: Catalog, services: ServiceCatalog, validator: Any,
                 bands: list[Any], lang: str) -> None:
        self.catalog, self.services, self.validator = catalog, services, validator
        self.bands, self.lang = bands, lang
        self.message_id_root = services.wrapper.get("message_id_root")

    # ------------------------------------------------------------------ findings
    def finding(self, rule_id: str, *, status: str | None = None, el: etree._Element | None = None,
                attr: str | None = None, msg: Message | None = None, **values: Any) -> Finding:
        """A finding of an exchange rule, placed in the evidence file (request or response) of
        ``msg``: XPath and line of the element; for a message carried as text, the carrier's
        path ``…/message/text() → <path in the message>`` and no line."""
        rule = self.catalog.rules[rule_id]
        text = render(rule.message.get(self.lang) or rule.message["zh"], values)
        xpath = _path(el, attr) if el is not None else None
        in_text = msg is not None and msg.carrier is not None
        if xpath and in_text:
            assert msg is not None
            xpath = f"{msg.carrier}/text() → {xpath}"
        return Finding(rule=rule_id, severity=rule.severity_for(status), layer=rule.layer,
                       message=text, source=rule.source, xpath=xpath,
                       line=el.sourceline if el is not None and not in_text else None,
                       expected=None if values.get("expected") is None else str(values["expected"]),
                       actual=None if values.get("actual") is None else str(values["actual"]),
                       provisional=status == "provisional")

    def _check(self, cid: str, findings: list[Finding], ok: str = "",
               skip: str | None = None) -> CheckResult:
        if skip is not None:
            return CheckResult(id=cid, result=Status.SKIP, message=skip)
        shown = [f for f in findings if f.severity in ("error", "warning")]
        if not shown:
            return CheckResult(id=cid, result=Status.PASS, message=ok)
        first = shown[0]
        more = len(shown) - 1
        message = f"{first.rule}: {first.message}" + (
            t("proxy.more", self.lang, n=more) if more else "")
        return CheckResult(id=cid, result=Status.FAIL, message=message,
                           expected=first.expected, actual=first.actual,
                           findings=shown[:MAX_FINDINGS])

    # ------------------------------------------------------------------ one exchange
    def judge(self, x: Captured, request: bytes, response: bytes, *, validate: bool,
              max_body: int) -> Verdict:
        v = Verdict()
        lang = self.lang
        v.band = self.band_of(x.duration_ms)
        v.soap = is_soap(x.method)
        if not v.soap:
            v.checks.append(self.transport(x, None))
            return v
        req = open_soap(request)
        resp = open_soap(response) if response else Message(problem="empty")
        v.soap_version = req.version
        v.checks.append(self.transport(x, resp))
        if resp.fault:
            v.ack = "Fault"
        elif resp.root is not None:
            code = resp.root.xpath(".//hl7:acknowledgement/@typeCode", namespaces=NS)
            v.ack = str(code[0]).strip() if code else None
        # service
        svc, f_service = self.identify(x, req)
        v.service = svc
        v.service_key = svc.action if svc else "-"
        status = svc.status if svc else None
        v.checks.append(self._check("service", f_service,
                                    ok=f"{svc.action} {svc.display_name(lang)}" if svc else ""))
        # interaction id
        if svc is None or req.root is None:
            v.checks.append(self._check("interaction-id", [], skip=t("proxy.skip.no_service",
                                                                     lang)))
        else:
            iid = req.root.find(f"{H}interactionId")
            ext = iid.get("extension") if iid is not None else None
            wanted = svc.interaction_ids | svc.roots
            fs = [] if ext in wanted else [self.finding(
                "PROXY.INTERACTION_SERVICE", status=status, msg=req,
                el=iid if iid is not None else req.root,
                attr="extension" if iid is not None else None, name=svc.action, actual=ext or "-",
                expected=" / ".join(sorted(wanted)))]
            v.checks.append(self._check("interaction-id", fs, ok=str(ext)))
        # validation
        too_large = x.request_size > max_body or x.response_size > max_body
        v.too_large = too_large
        if not validate or too_large:
            why = t("proxy.skip.too_large" if too_large else "proxy.skip.overload", lang,
                    max_body=max_body)
            for cid in ("request-valid", "document-valid"):
                v.checks.append(self._check(cid, [], skip=why))
        else:
            v.validated = True
            v.checks.append(self.validate("request-valid", request, "request", v))
            docs = documents(req.root) + documents(resp.root)
            if docs:
                found: list[Finding] = []
                for i, doc in enumerate(docs):
                    found += self.run_validator(doc, f"document-{i + 1}", v)
                v.checks.append(self._check("document-valid", found,
                                            ok=t("proxy.ok.documents", lang, n=len(docs))))
            else:
                v.checks.append(self._check("document-valid", [],
                                            skip=t("proxy.skip.no_document", lang)))
        # the answer
        no_answer = resp.root is None
        why_none = resp.fault and t("proxy.skip.fault", lang) or t("proxy.skip.no_answer", lang)
        if no_answer or svc is None:
            v.checks.append(self._check("response-root", [], skip=why_none if no_answer else
                                        t("proxy.skip.no_service", lang)))
        else:
            fs = [] if resp.local == svc.response_root else [self.finding(
                "PROXY.RESPONSE_ROOT", status=status, msg=resp, el=resp.root, name=svc.action,
                expected=svc.response_root, actual=resp.local)]
            v.checks.append(self._check("response-root", fs, ok=str(resp.local)))
        if no_answer:
            v.checks.append(self._check("ack", [], skip=why_none))
            v.checks.append(self._check("target-message", [], skip=why_none))
        else:
            ack = resp.root.find(f".//{H}acknowledgement")
            fs = []
            if v.ack in ("AE", "AR", "CE", "CR"):
                detail = " ".join(s.strip() for s in resp.root.xpath(
                    ".//hl7:acknowledgementDetail//hl7:text//text() | "
                    ".//hl7:acknowledgementDetail//hl7:text/@value", namespaces=NS)
                    if s.strip())
                fs.append(self.finding("PROXY.ACK_REJECTED", status=status, el=ack, msg=resp,
                                       attr="typeCode", actual=v.ack,
                                       detail=t("sep.colon", lang) + detail if detail else ""))
            v.checks.append(self._check("ack", fs, ok=str(v.ack or "-"),
                                        skip=None if v.ack else t("proxy.skip.no_ack", lang)))
            v.checks.append(self.target_message(req, resp, status))
        if validate and not too_large:
            if response:
                v.checks.append(self.validate("response-valid", response, "response", v))
            else:
                v.checks.append(self._check("response-valid", [],
                                            skip=t("proxy.skip.no_answer", lang)))
        else:
            v.checks.append(self._check("response-valid", [], skip=t(
                "proxy.skip.too_large" if too_large else "proxy.skip.overload", lang,
                max_body=max_body)))
        v.checks.append(self.response_time(x, v.band))
        return v

    def transport(self, x: Captured, resp: Message | None) -> CheckResult:
        lang = self.lang
        if x.error in ("client-gone", "interrupted"):
            return CheckResult(id="transport", result=Status.ERROR, actual=x.error,
                               message=t(f"proxy.transport.{x.error}", lang))
        if x.answered_by_proxy:
            rule = "PROXY.UPSTREAM_TIMEOUT" if x.status == 504 else "PROXY.UPSTREAM_UNREACHABLE"
            return self._check("transport", [self.finding(rule, actual=x.error,
                                                          detail=x.error_detail or "-")])
        if x.error:
            return self._check("transport", [self.finding(
                "PROXY.RESPONSE_INCOMPLETE", actual=x.error, detail=x.error_detail or "-")])
        if resp is not None and x.status != 200 and not resp.fault:
            return self._check("transport", [self.finding("PROXY.HTTP_STATUS",
                                                          actual=str(x.status))])
        fault = " SOAP Fault" if resp is not None and resp.fault else ""
        return CheckResult(id="transport", result=Status.PASS, message=f"HTTP {x.status}{fault}")

    def identify(self, x: Captured, req: Message) -> tuple[Service | None, list[Finding]]:
        action = req.action or soap_action(dict(x.request_headers))
        local = req.local
        if action:
            svc = self.services.get(action)
            if svc is None:
                return None, [self.finding("PROXY.SERVICE_UNKNOWN", el=req.root, msg=req,
                                           actual=action,
                                           detail=local or "-", name=self.services.profile)]
            if local is not None and local not in svc.roots:
                return svc, [self.finding("PROXY.ACTION_ROOT", status=svc.status, el=req.root,
                                          msg=req,
                                          name=svc.action, expected=" / ".join(sorted(svc.roots)),
                                          actual=local)]
            return svc, []
        if req.root is not None:
            cands = self.services.candidates(req.root)
            if cands:
                return cands[0], []
        return None, [self.finding("PROXY.SERVICE_UNKNOWN", el=req.root, msg=req, actual="-",
                                   detail=local or "-", name=self.services.profile)]

    def target_message(self, req: Message, resp: Message, status: str | None) -> CheckResult:
        assert resp.root is not None
        want = None
        if req.root is not None:
            for el in req.root.findall(f"{H}id"):
                if el.get("root") in (self.message_id_root, None) and el.get("extension"):
                    want = el.get("extension").strip()
                    break
        tid = resp.root.find(f".//{H}acknowledgement/{H}targetMessage/{H}id")
        got = tid.get("extension") if tid is not None else None
        if want is None:
            return self._check("target-message", [], skip=t("proxy.skip.no_request_id", self.lang))
        fs = [] if got == want else [self.finding(
            "PROXY.TARGET_MESSAGE", status=status, msg=resp,
            el=tid if tid is not None else resp.root, attr="extension" if tid is not None else None,
            expected=want, actual=got or "-")]
        return self._check("target-message", fs, ok=str(got))

    def validate(self, cid: str, data: bytes, name: str, v: Verdict) -> CheckResult:
        return self._check(cid, self.run_validator(data, name, v),
                           ok=t("proxy.ok.valid", self.lang))

    def run_validator(self, data: bytes, name: str, v: Verdict) -> list[Finding]:
        try:
            result = self.validator.validate_bytes(data, name)
        except Exception as exc:  # a validator bug must not stop the capture
            result_findings = [Finding(rule="INTERNAL.ERROR", severity="error", layer="parse",
                                       message=f"internal error while validating: "
                                               f"{type(exc).__name__}: {exc}",
                                       source="conformance tool")]
        else:
            result_findings = result.findings
        v.all_findings.extend(result_findings)
        return result_findings

    def band_of(self, ms: float) -> Any:
        for b in self.bands:
            if b.max_ms is None or ms <= b.max_ms:
                return b
        return None

    def response_time(self, x: Captured, band: Any) -> CheckResult:
        if band is None:
            return CheckResult(id="response-time", result=Status.SKIP,
                               message=t("proxy.skip.no_bands", self.lang))
        label = band.label_en if self.lang == "en" and band.label_en else band.label
        return CheckResult(id="response-time", result=Status.PASS,
                           message=f"{x.duration_ms:.1f} ms · {label}", actual=band.id)
