"""Build HL7 V3 messages from data: request messages for any service (templates under
test_cases/messages/), acknowledgements and query responses (templates under standards/hl7v3/),
and SOAP envelopes (1.1 / 1.2, bare body or HIPMessageServer(action, message)).

The reference platform, its tests and the scenario harness all build messages through this module:

    >>> b = MessageBuilder("hospital")
    >>> xml = b.build_request("PatientInfoRegister", {"index": 3})
    >>> env = soap_envelope(xml, version="1.2", action="PatientInfoRegister")
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

import jinja2
from markupsafe import Markup

from ..catalog import load_catalog
from ..errors import ConformanceError
from ..resources import standards_dir, test_cases_dir
from .services import Service, ServiceCatalog, load_services

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
SOAP_NS = {"1.1": SOAP11_NS, "1.2": SOAP12_NS}
CONTENT_TYPES = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}
_GENDER = {"1": "男性", "2": "女性", "0": "未知的性别", "9": "未说明的性别"}


def timestamp(when: datetime | None = None) -> str:
    return (when or datetime.now()).strftime("%Y%m%d%H%M%S")


def _env() -> jinja2.Environment:
    loader = jinja2.FileSystemLoader([str(test_cases_dir() / "messages"), str(standards_dir() / "hl7v3")])
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.ChainableUndefined,
                             keep_trailing_newline=True, trim_blocks=False, lstrip_blocks=False)
    return env


_ENV: jinja2.Environment | None = None


def environment() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        _ENV = _env()
    return _ENV


class BuildError(ConformanceError):
    """A message could not be built (unknown service, template error)."""


class MessageBuilder:
    """Render requests and responses for one profile's services."""

    def __init__(self, profile: str = "hospital", services: ServiceCatalog | None = None) -> None:
        self.services = services or load_services(profile)
        self.profile = self.services.profile
        self._synth: Any = None

    # ------------------------------------------------------------------ helpers
    @property
    def synth(self) -> Any:
        if self._synth is None:
            from ..synth import Synthesizer

            self._synth = Synthesizer(load_catalog())
        return self._synth

    def resolve(self, service: Service | str) -> Service:
        if isinstance(service, Service):
            return service
        svc = self.services.get(service)
        if svc is None:
            raise BuildError(f"unknown service {service!r} in profile {self.profile}")
        return svc

    def person(self, i: int) -> dict[str, str]:
        p = self.synth.person(i)
        return {"name": p.name, "gender": p.gender, "gender_name": _GENDER.get(p.gender, ""),
                "birth": p.birth.strftime("%Y%m%d"), "id_number": p.id_number,
                "phone": f"138{i % 100000000:08d}", "address": "北京市东城区东华门街道 1 号"}

    def document_bytes(self, doc_code: str, index: int = 1) -> bytes:
        cat = load_catalog()
        tpl = cat.documents.get(doc_code)
        if tpl is None:
            raise BuildError(f"unknown document type {doc_code!r}")
        return self.synth.document_bytes(tpl, index, self.synth.person(index))

    def variables(self, service: Service | str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The full template context: service vars, generated defaults, then caller overrides."""
        svc = self.resolve(service)
        given = dict(variables or {})
        i = int(given.get("index", 1))
        now = datetime.now()
        ctx: dict[str, Any] = {
            "w": self.services.wrapper, "root": svc.request_root, "interaction_id": svc.interaction_id,
            "action": svc.action, "entity": svc.entity, "message_id": str(uuid.uuid4()),
            "creation_time": timestamp(now), "now": timestamp(now), "today": now.strftime("%Y%m%d"),
            "sender": "conformance-client", "receiver": self.services.wrapper["platform_device_id"],
            "patient_id": f"P{i:08d}", "organization_id": "ORG00001", "organization_name": "测试医院",
            "organization_address": "北京市东城区", "department_id": "DEPT01", "dept_code": "A03.01",
            "provider_id": f"DOC{i:05d}", "title_code": "231", "marital_code": "10", "version": "1",
            "visit_number": f"V{i:08d}", "visit_times": "1", "visit_key": f"VK{i:08d}", "by": "key",
            "index": i, "act_id_root": None, "doc_filter": None,
        }
        ctx.update(svc.vars)
        ctx["patient"] = self.person(i)
        ctx.update(given)
        if "key" not in given:
            ctx["key"] = self.default_key(svc, ctx)
        if svc.op == "merge" and "merged_key" not in given:
            ctx["merged_key"] = f"P{i + 500000:08d}"
        if svc.doc_content and "document_b64" not in given:
            code = str(ctx.get("doc_code") or "C0001")
            data = given.get("document") or self.document_bytes(code, i)
            ctx["document_b64"] = base64.b64encode(data).decode("ascii")
            tpl = load_catalog().documents.get(code)
            ctx.setdefault("doc_name", tpl.name if tpl else code)
        ctx.setdefault("doc_name", "")
        return ctx

    def default_key(self, svc: Service, ctx: dict[str, Any]) -> str:
        i = ctx["index"]
        if svc.entity in ("patient", "resident"):
            return str(ctx["patient_id"])
        if svc.op in ("time", "notifications", "audit", "node_verify"):
            return ""
        if svc.entity == "organization":
            return f"ORG{i:05d}"
        if svc.entity == "provider":
            return str(ctx["provider_id"])
        return f"{svc.entity.upper().replace('_', '')[:6]}{i:06d}"

    # ------------------------------------------------------------------ rendering
    def build_request(self, service: Service | str, variables: dict[str, Any] | None = None) -> bytes:
        svc = self.resolve(service)
        ctx = self.variables(svc, variables)
        try:
            tpl = environment().get_template(svc.template)
            text = tpl.render(**ctx)
        except jinja2.TemplateError as exc:
            raise BuildError(f"{svc.action}: template {svc.template}: {exc}") from None
        return text.encode("utf-8")

    def ack(self, *, code: str, target_id: str, text: str, message_id: str | None = None,
            receiver: str = "", sender: str | None = None, warnings: Sequence[str] = ()) -> bytes:
        return environment().get_template("MCCI_IN000002UV01.xml.j2").render(
            w=self.services.wrapper, message_id=message_id or str(uuid.uuid4()),
            creation_time=timestamp(), sender=sender or self.services.wrapper["platform_device_id"],
            receiver=receiver, ack_code=code, target_id=target_id, ack_text=text,
            warnings=list(warnings)).encode("utf-8")

    def query_response(self, svc: Service, *, code: str, target_id: str, text: str,
                       records: list[str], query_id: str = "", receiver: str = "",
                       response_code: str | None = None, root: str | None = None,
                       warnings: Sequence[str] = ()) -> bytes:
        """The service's query response; ``root`` overrides its response interaction (the one
        that matches an alternative request root, e.g. RCMR_IN000032UV01 for …031UV01)."""
        assert svc.query is not None
        if response_code is None:
            response_code = "OK" if records else ("NF" if code == "AA" else "AE")
        return environment().get_template("query-response.xml.j2").render(
            w=self.services.wrapper, root=root or svc.response_root, message_id=str(uuid.uuid4()),
            creation_time=timestamp(), sender=self.services.wrapper["platform_device_id"],
            receiver=receiver, ack_code=code, target_id=target_id, ack_text=text,
            records=[Markup(r) for r in records], wrap=svc.query.wrap, query_id=query_id,
            response_code=response_code, warnings=list(warnings)).encode("utf-8")


_BUILDERS: dict[str, MessageBuilder] = {}


def builder(profile: str = "hospital") -> MessageBuilder:
    if profile not in _BUILDERS:
        _BUILDERS[profile] = MessageBuilder(profile)
    return _BUILDERS[profile]


def build_request(service: Service | str, variables: dict[str, Any] | None = None,
                  profile: str | None = None) -> bytes:
    """Render the request message of a service (action code, S-code or Service) as UTF-8 bytes."""
    prof = service.profile if isinstance(service, Service) else (profile or "hospital")
    return builder(prof).build_request(service, variables)


# ---------------------------------------------------------------------- SOAP
def soap_envelope(message: bytes | str, version: str = "1.1", action: str | None = None,
                  namespace: str = "urn:conformance:hip-message-server",
                  operation: str = "HIPMessageServer", header: str = "") -> bytes:
    """Wrap an HL7 V3 message in a SOAP 1.1/1.2 envelope: as HIPMessageServer(action, message)
    when an action is given (the message travels as escaped text), else as the bare body."""
    if version not in SOAP_NS:
        raise ValueError(f"SOAP version must be 1.1 or 1.2, not {version!r}")
    text = message.decode("utf-8") if isinstance(message, bytes) else message
    if action is not None:
        body = (f'<h:{operation} xmlns:h="{escape(namespace)}"><h:action>{escape(action)}</h:action>'
                f"<h:message>{escape(text)}</h:message></h:{operation}>")
    else:
        body = _strip_declaration(text)
    head = f"<soap:Header>{header}</soap:Header>" if header else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope xmlns:soap="{SOAP_NS[version]}">'
            f"{head}<soap:Body>{body}</soap:Body></soap:Envelope>").encode()


def _strip_declaration(text: str) -> str:
    t = text.lstrip("\ufeff").lstrip()
    if t.startswith("<?xml"):
        end = t.find("?>")
        t = t[end + 2:] if end >= 0 else t
    return t


def soap_headers(version: str = "1.1", soap_action: str = "") -> dict[str, str]:
    """HTTP headers for a SOAP request of the given version."""
    if version == "1.2":
        ct = CONTENT_TYPES["1.2"] + (f'; action="{soap_action}"' if soap_action else "")
        return {"Content-Type": ct}
    return {"Content-Type": CONTENT_TYPES["1.1"], "SOAPAction": f'"{soap_action}"'}
