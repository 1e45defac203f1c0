"""The reference platform's application logic: take one HL7 V3 message (and optionally the
HIPMessageServer action), work out the service from the catalog, check it, apply it to the store
in one transaction, and answer with an acknowledgement or a query response.

Outcomes: AA (accepted), AE (application error: missing ids, unknown patient, not found,
non-conformant document …), AR (rejected: not XML, not HL7 V3, unknown action, interaction that
does not fit the action). Nothing here knows a service by name: it is all catalog data.

Tolerance where sources disagree (all of it catalog data): an interaction a recorded
disagreement lets the other service take (request.alternatives with ``disputed``), an id under an
alternative root (shapes.yaml root_alternatives), an id written in the other form (II / DSET,
shapes.yaml id_forms) are accepted; each such difference is a warning, in the answer (one
acknowledgementDetail typeCode="W" per warning), in the audit trail (appended to the detail) and
in the log. An identical write message sent again (same message id, same content: a retry after
a timeout) gets the answer the first one got, kept in the store with it (table exchanges).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .. import xmlsafe
from ..catalog import HL7_NS, load_catalog
from ..hl7v3.builder import MessageBuilder
from ..hl7v3.services import PathSpec, Service, ServiceCatalog, first_value, load_services, read_id
from ..i18n import t
from ..validate import carried
from ..validate.diagnostics import parse_detail
from . import explain
from .safe import clip, phrase
from .store import Store, Tx, now

log = logging.getLogger("conformance.platform")
H = f"{{{HL7_NS}}}"
MAX_MESSAGE_BYTES = 20 * 1024 * 1024


class Reject(Exception):
    """Stop processing and answer with this acknowledgement code and text."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


@dataclass(slots=True)
class Outcome:
    response: bytes
    ack: str
    detail: str
    service: Service | None = None
    interaction: str = ""
    message_id: str = ""
    findings: list[Any] = field(default_factory=list)


class Platform:
    """One profile's platform over one store. Thread-safe: the store serialises writes."""

    def __init__(self, profile: str = "hospital", db: str = ":memory:", lang: str = "zh",
                 services: ServiceCatalog | None = None,
                 max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.services = services or load_services(profile)
        self.profile = self.services.profile
        self.builder = MessageBuilder(self.profile, self.services)
        self.store = Store(db)
        self.lang = lang
        self.max_message_bytes = max_message_bytes
        self._validator: Any = None
        self.doc_entities = {s.entity for s in self.services.services if s.doc_content}

    def close(self) -> None:
        self.store.close()

    @property
    def validator(self) -> Any:
        if self._validator is None:
            from ..validate import Validator, ValidatorOptions

            self._validator = Validator(ValidatorOptions(lang=self.lang))
        return self._validator

    def t(self, key: str, **kw: Any) -> str:
        return phrase(key, self.lang, **kw)

    # ------------------------------------------------------------------ entry point
    def handle(self, data: bytes | str, action: str | None = None) -> Outcome:
        """Answer one message: bytes as received, or text already decoded (a message carried
        as a string in a SOAP envelope), whose own XML declaration then no longer applies."""
        if isinstance(data, str):
            data = xmlsafe.text_as_utf8(data)
        if action is not None:  # logged, audited, echoed: bounded (safe.py)
            action = clip(action)
        target_id, sender, interaction, digest = "", "", "", ""
        svc: Service | None = None
        warnings: list[str] = []
        try:
            try:
                root = xmlsafe.parse_bytes(data, max_bytes=self.max_message_bytes)
            except xmlsafe.ParseProblem as p:
                raise Reject("AR", self.t("platform.not_xml", detail=parse_detail(p.detail, self.lang),
                                          line=p.line or 1, column=p.column or 1)) from None
            interaction = clip(etree.QName(root).localname)
            target_id = clip(self._message_id(root, warnings))
            sender = clip(first_value([_SENDER], root))
            if etree.QName(root).namespace != HL7_NS:
                raise Reject("AR", self.t("platform.not_hl7", root=etree.QName(root).localname,
                                          ns=etree.QName(root).namespace
                                          or self.t("platform.no_namespace")))
            svc = self._service(root, action, warnings)
            if not target_id:
                raise Reject("AE", explain.message_id_problem(
                    root, self.services.wrapper["message_id_root"], self.lang))
            self._device_forms(root, warnings)
            if svc.kind == "write":
                digest = _digest(root, svc.action)
                prior = self.store.exchange(target_id, digest)
                if prior is not None:
                    return self._replay(svc, prior, target_id, sender, interaction)
                return self._write(svc, root, target_id, sender, warnings, digest)
            return self._query(svc, root, target_id, sender, warnings)
        except Reject as r:
            out = self._answer(svc, r.code, target_id, r.text, sender, records=None,
                               interaction=interaction, warnings=warnings)
            out.interaction = interaction
            self._log_warnings(action or (svc.action if svc else ""), target_id, warnings)
            self._audit_only(action or (svc.action if svc else ""), interaction, target_id, sender,
                             r.code, _with_warnings(r.text, warnings, self.lang),
                             exchange=(digest, out) if digest else None)
            return out

    def _message_id(self, root: etree._Element, warnings: list[str]) -> str:
        hit = read_id(root, self.services.wrapper["message_id_root"])
        if hit is None:
            return ""
        self._form_warning("message_id", hit[1], self.t("v3.id.message"), warnings)
        return hit[0]

    def _device_forms(self, root: etree._Element, warnings: list[str]) -> None:
        for part in ("sender", "receiver"):
            device = root.find(f"{H}{part}/{H}device")
            hit = read_id(device) if device is not None else None
            if hit is not None:
                self._form_warning("device_id", hit[1], self.t(f"v3.id.{part}"), warnings)

    def _form_warning(self, which: str, form: str, name: str, warnings: list[str]) -> None:
        preferred = self.services.id_forms.get(which)
        if preferred and form != preferred:
            warnings.append(self.t("platform.warn.id_form", name=name, actual=_FORM_TEXT[form],
                                   expected=_FORM_TEXT[preferred]))

    def _service(self, root: etree._Element, action: str | None,
                 warnings: list[str] | None = None) -> Service:
        local = etree.QName(root).localname
        if action is not None and action.strip():
            svc = self.services.get(action)
            if svc is None:
                raise Reject("AR", self.t("platform.unknown_action", action=action.strip()))
            if local not in svc.roots:
                raise Reject("AR", self.t("platform.wrong_interaction", actual=local, action=svc.action,
                                          expected=" / ".join(sorted(svc.roots))))
            dispute = svc.disputed(local)
            if dispute and warnings is not None:
                summary = self.services.disputes[dispute].get("summary") or {}
                warnings.append(self.t(
                    "platform.warn.disputed", action=svc.action, actual=local, expected=svc.request_root,
                    summary=summary.get(self.lang) or summary.get("zh") or dispute,
                    response=svc.response_root_for(local)))
            return svc
        cands = self.services.candidates(root)
        if not cands:
            raise Reject("AR", self.t("platform.unknown_interaction", root=local))
        return cands[0]

    def _value(self, spec: PathSpec, root: etree._Element, warnings: list[str]) -> str | None:
        """A shape value; one read under an alternative root (shapes.yaml root_alternatives)
        adds a warning that names the root found."""
        value, hit = spec.lookup(root)
        if hit is not None:
            alt = hit.alternative
            text = self.t("platform.warn.id_root", name=alt.name.get(self.lang) or alt.name["zh"],
                          actual=alt.root, expected=alt.preferred)
            if text not in warnings:
                warnings.append(text)
        return value

    def _replay(self, svc: Service, prior: dict[str, Any], target_id: str, sender: str,
                interaction: str) -> Outcome:
        """The answer the first copy of this message got, returned again (and audited)."""
        text = self.t("platform.replayed", id=target_id, ack=prior["ack"])
        self._audit_only(svc.action, interaction, target_id, sender, prior["ack"], text)
        log.info("%s %s: %s", svc.action, target_id, text)
        return Outcome(prior["response"], prior["ack"], prior["detail"] or "", svc, interaction,
                       target_id)

    # ------------------------------------------------------------------ writes
    def _write(self, svc: Service, root: etree._Element, target_id: str, sender: str,
               warnings: list[str], digest: str) -> Outcome:
        assert svc.key is not None and svc.record is not None
        lang = self.lang
        key = self._value(svc.key, root, warnings)
        missing = [] if key else [explain.absent_spec(svc.key, root, lang)]
        merged = None
        if svc.merged is not None:
            merged = self._value(svc.merged, root, warnings)
            if not merged:
                missing.append(explain.absent_spec(svc.merged, root, lang))
        for req in svc.required:
            if not self._value(req, root, warnings):
                missing.append(explain.absent_spec(req, root, lang))
        refs: list[tuple[Any, str]] = []
        for ref in svc.references:
            v = self._value(ref, root, warnings)
            if v:
                refs.append((ref, v))
            elif ref.required:
                missing.append(explain.absent_spec(ref, root, lang))
        if missing:
            raise Reject("AE", self.t("platform.missing", what="; ".join(missing)))
        found = svc.record(root)
        if not found:
            raise Reject("AE", self.t("platform.missing", what=explain.absent(
                [svc.record_path or ""], svc.display_name(lang), root, lang)))
        record_el = copy.deepcopy(found[0])
        content: bytes | None = None
        code = first_value(svc.doc_code, root) if svc.doc_code else _child_code(record_el)
        if code and svc.doc_code:  # a variant document code (B0001) is stored as its primary code
            code = load_catalog().primary_code(code)
        if svc.doc_content:
            content = self._document(root, svc)
            for el in record_el.iter(f"{H}originalText"):
                if el.getparent() is not None and etree.QName(el.getparent()).localname == "storageCode":
                    el.attrib.pop("value", None)
        xml = etree.tostring(record_el, encoding="unicode")
        patient = None
        interaction = etree.QName(root).localname
        with self.store.transaction() as tx:
            # looked for again inside the transaction: of two identical messages sent at once,
            # the second finds the first one's answer here and applies nothing
            prior = tx.exchange(target_id, digest)
            if prior is None:
                code_, text = "AA", ""
                try:
                    with tx.savepoint():
                        for ref, v in refs:
                            if not tx.exists(ref.entity, v):
                                raise Reject("AE", self.t("platform.unknown_ref", what=ref.label(self.lang),
                                                          value=v))
                            if ref.patient:
                                patient = tx.resolve(ref.entity, v)
                        if svc.entity in ("patient", "resident") or (svc.op == "merge"):
                            patient = None
                        text = self._apply(tx, svc, key, merged, xml, patient, code, content,
                                           target_id, sender, root)
                except Reject as r:
                    code_, text = r.code, r.text
                out = self._answer(svc, code_, target_id, text, sender, records=None,
                                   interaction=interaction, warnings=warnings)
                detail = _with_warnings(text, warnings, self.lang)
                tx.audit(svc.action, svc.request_root, target_id, sender, code_, detail)
                tx.record_exchange(target_id, digest, svc.action, code_, text, out.response)
        if prior is not None:
            return self._replay(svc, prior, target_id, sender, interaction)
        self._log_warnings(svc.action, target_id, warnings)
        return out

    def _apply(self, tx: Tx, svc: Service, key: str, merged: str | None, xml: str,
               patient: str | None, code: str | None, content: bytes | None, target_id: str,
               sender: str, root: etree._Element) -> str:
        e = svc.entity
        kw = {"patient": patient, "code": code, "content": content, "service": svc.action,
              "message_id": target_id, "sender": sender}
        if svc.op == "add":
            if tx.exists(e, key):
                raise Reject("AE", self.t("platform.duplicate", what=svc.key.label(self.lang), value=key))
            tx.insert(e, key, xml, **kw)
            text = self.t("platform.added", what=svc.key.label(self.lang), value=key)
        elif svc.op == "update":
            if not tx.exists(e, key):
                raise Reject("AE", self.t("platform.not_found_update", what=svc.key.label(self.lang),
                                          value=key))
            version = tx.replace(e, key, xml, **kw)
            text = self.t("platform.updated", what=svc.key.label(self.lang), value=key, version=version)
        elif svc.op == "put":
            version = tx.replace(e, key, xml, **kw)
            text = self.t("platform.updated", what=svc.key.label(self.lang), value=key, version=version)
        else:  # merge
            assert merged is not None and svc.merged is not None
            survivor, obsolete = tx.resolve(e, key), tx.resolve(e, merged)
            for v in (key, merged):
                if not tx.exists(e, v):
                    raise Reject("AE", self.t("platform.unknown_ref", what=svc.key.label(self.lang), value=v))
            if survivor == obsolete:
                raise Reject("AE", self.t("platform.merge_same", value=key))
            tx.merge(e, survivor, obsolete)
            return self.t("platform.merged", merged=merged, survivor=key)
        for spec in svc.index:
            v = spec.value(root)
            if v:
                tx.index(e, v, tx.resolve(e, key))
        if e in self.doc_entities and patient:
            for sub in tx.subscriptions_for(patient):
                if not sub["code"] or sub["code"] == "*" \
                        or load_catalog().primary_code(sub["code"]) == code:
                    tx.notify(sub["sender"] or "", sub["key"], e, key, patient, code)
        return text

    def _document(self, root: etree._Element, svc: Service) -> bytes:
        # read, decoded and validated as `conformance validate` does (validate/carried.py)
        b64 = first_value(svc.doc_content, root) or ""
        data = carried.decode(b64)
        if data is None:
            preview = b64 if len(b64) <= 24 else b64[:24] + "…"
            raise Reject("AE", self.t("platform.bad_base64", found=explain.quoted(preview, self.lang),
                                      path=svc.doc_content[0].path.replace("hl7:", "")))
        result = self.validator.validate_bytes(data, "storageCode/originalText/@value",
                                               cda_only=True)
        if not result.valid:
            errors = [f for f in result.findings if f.severity == "error"]
            summary = "; ".join(self.t("platform.doc_error", rule=f.rule, message=f.message,
                                       where=f.xpath or f"{f.line}:{f.column or 1}")
                                for f in errors[:3])
            more = len(errors) - 3
            if more > 0:
                summary += self.t("platform.more", n=more)
            raise Reject("AE", self.t("platform.doc_invalid", n=len(errors), summary=summary))
        return data

    # ------------------------------------------------------------------ queries
    def _query(self, svc: Service, root: etree._Element, target_id: str, sender: str,
               warnings: list[str]) -> Outcome:
        assert svc.query is not None
        query_id = first_value([svc.query.query_id], root) if svc.query.query_id is not None else None
        query_id = query_id or target_id
        values = [(k, self._value(k, root, warnings)) for k in svc.query.keys]
        given = [(k, v) for k, v in values if v]
        if not given and not all(k.optional for k in svc.query.keys):
            names = " / ".join(explain.absent_spec(k, root, self.lang) for k in svc.query.keys)
            raise Reject("AE", self.t("platform.missing_query", what=names))
        code_filter = first_value(svc.query.filter_code, root) if svc.query.filter_code else None
        if code_filter:
            code_filter = load_catalog().primary_code(code_filter)
        with self.store.transaction() as tx:
            records = self._find(tx, svc, given, code_filter, sender)
            if records:
                text = self.t("platform.found", n=len(records))
                ack = "AA"
            else:
                text = self._nothing_found(tx, svc, given)
                ack = "AE"
            tx.audit(svc.action, svc.request_root, target_id, sender, ack,
                     _with_warnings(text, warnings, self.lang))
        self._log_warnings(svc.action, target_id, warnings)
        return self._answer(svc, ack, target_id, text, sender, records=records, query_id=query_id,
                            interaction=etree.QName(root).localname, warnings=warnings)

    def _nothing_found(self, tx: Tx, svc: Service, given: list[tuple[Any, str]]) -> str:
        """Why a query returns nothing: no such record, a patient that is not registered, or a
        registered patient who has no records of this kind."""
        service = svc.display_name(self.lang)
        if not given:
            return self.t("platform.none_found", service=service)
        spec, value = given[0]
        if spec.by == "patient":
            pent = str(svc.vars.get("patient_entity") or "patient")
            if not tx.exists(pent, value):
                return self.t("platform.unknown_ref", what=spec.label(self.lang), value=value)
            return self.t("platform.patient_no_records", what=spec.label(self.lang), value=value,
                          service=service)
        return self.t("platform.not_found", what=spec.label(self.lang), value=value)

    def _find(self, tx: Tx, svc: Service, given: list[tuple[Any, str]], code_filter: str | None,
              sender: str) -> list[str]:
        entities = [e.strip() for e in str(svc.vars.get("doc_entities") or svc.entity).split(",")]
        op = svc.op
        if op == "time":
            return [_el("observationEvent", {"classCode": "OBS", "moodCode": "EVN"},
                        [_el("code", {"code": "TIME"}), _el("effectiveTime", {"value": now()})])]
        value = given[0][1] if given else sender
        if op == "node_verify":
            rec = tx.get(svc.entity, value)
            return [rec["xml"]] if rec else []
        if op == "audit":
            by_msg = given and given[0][0].paths and given[0][1] != sender
            events = tx.audit_events(message_id=value if by_msg else None, sender=value)
            return [_el("auditEvent", {"classCode": "ACT", "moodCode": "EVN"}, [
                _el("id", {}, [_el("item", {"extension": str(ev["id"])})]),
                _el("code", {"code": ev["action"] or ""}),
                _el("effectiveTime", {"value": ev["time"]}),
                _el("reason", {"code": ev["ack"]}),
                _el("text", {"value": ev["detail"] or ""}),
                _el("reference", {}, [_el("id", {"root": self.services.wrapper["message_id_root"],
                                                  "extension": ev["message_id"] or ""})]),
            ]) for ev in events]
        if op == "notifications":
            return [_el("documentNotification", {"classCode": "ACT", "moodCode": "EVN"}, [
                _el("id", {}, [_el("item", {"extension": str(n["id"])})]),
                _el("code", {"code": n["code"] or ""}),
                _el("effectiveTime", {"value": n["time"]}),
                _el("subject", {}, [_el("patient", {}, [_el("id", {}, [_el("item", {
                    "root": self.services.wrapper["patient_id_root"],
                    "extension": n["patient"]})])])]),
                _el("reference", {}, [_el("clinicalDocument", {}, [_el("id", {}, [_el("item", {
                    "root": self.services.wrapper["document_id_root"],
                    "extension": n["doc_key"]})])])]),
            ]) for n in tx.notifications(value)]
        spec, value = given[0]
        rows: list[dict[str, Any]] = []
        for entity in entities:
            if spec.by == "key":
                rec = tx.get(entity, value)
                if rec:
                    rows.append(rec)
            elif spec.by == "index":
                rows.extend(r for k in tx.lookup(entity, value) if (r := tx.get(entity, k)))
            elif spec.by == "patient":
                pent = str(svc.vars.get("patient_entity") or "patient")
                rows.extend(tx.by_patient(entity, tx.resolve(pent, value), code_filter))
        if code_filter:
            rows = [r for r in rows if r["code"] in (None, code_filter)]
        return [self._record_xml(r) for r in rows]

    def _record_xml(self, row: dict[str, Any]) -> str:
        if row.get("content") is None:
            return row["xml"]
        el = etree.fromstring(row["xml"])
        b64 = base64.b64encode(row["content"]).decode("ascii")
        storage = el.find(f"{H}storageCode")
        if storage is None:
            storage = etree.SubElement(el, f"{H}storageCode")
        ot = storage.find(f"{H}originalText")
        if ot is None:
            ot = etree.SubElement(storage, f"{H}originalText")
        ot.set("value", b64)
        return etree.tostring(el, encoding="unicode")

    # ------------------------------------------------------------------ answers
    def _answer(self, svc: Service | None, code: str, target_id: str, text: str, sender: str,
                records: list[str] | None, query_id: str = "", interaction: str = "",
                warnings: list[str] | None = None) -> Outcome:
        if svc is not None and svc.kind == "query" and code != "AR":
            body = self.builder.query_response(svc, code=code, target_id=target_id, text=text,
                                               records=records or [], query_id=query_id,
                                               receiver=sender, warnings=warnings or (),
                                               root=svc.response_root_for(interaction))
        else:
            body = self.builder.ack(code=code, target_id=target_id, text=text, receiver=sender,
                                    warnings=warnings or ())
        return Outcome(body, code, text, svc, interaction, target_id)

    def _audit_only(self, action: str, interaction: str, message_id: str, sender: str, ack: str,
                    detail: str, exchange: tuple[str, Outcome] | None = None) -> None:
        try:
            with self.store.transaction() as tx:
                tx.audit(action, interaction, message_id, sender, ack, detail)
                if exchange is not None:  # a write refused before the store was touched
                    digest, out = exchange
                    tx.record_exchange(message_id, digest, action, ack, out.detail, out.response)
        except Exception:  # auditing must never turn an answer into a server error
            log.exception("audit write failed")

    def _log_warnings(self, action: str, message_id: str, warnings: list[str]) -> None:
        for w in warnings:
            log.warning("%s %s: %s", action, message_id, w)


_FORM_TEXT = {"II": '<id root="…" extension="…"/>', "DSET": '<id><item root="…" extension="…"/></id>'}


def _digest(root: etree._Element, action: str) -> str:
    """What makes two requests the same message: the service and the message's canonical form
    (XML C14N, comments left out: attribute order, quoting, the declaration do not count)."""
    h = hashlib.sha256(action.encode("utf-8") + b"\0")
    h.update(etree.tostring(root, method="c14n", with_comments=False))
    return h.hexdigest()


def _with_warnings(text: str, warnings: list[str], lang: str) -> str:
    return t("sep.semicolon", lang).join([text, *warnings]) if warnings else text


_SENDER = etree.XPath("hl7:sender/hl7:device/hl7:id/hl7:item/@extension"
                      " | hl7:sender/hl7:device/hl7:id/@extension",
                      namespaces={"hl7": HL7_NS})


def _child_code(el: etree._Element) -> str | None:
    c = el.find(f"{H}code")
    return (c.get("code") or None) if c is not None else None


def _el(tag: str, attrs: dict[str, str], children: list[Any] | None = None) -> str:
    e = etree.Element(f"{H}{tag}", nsmap={None: HL7_NS})
    for k, v in attrs.items():
        e.set(k, v)
    for c in children or []:
        e.append(etree.fromstring(c) if isinstance(c, str) else c)
    return etree.tostring(e, encoding="unicode")
