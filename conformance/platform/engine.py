"""The reference platform's application logic: take one HL7 V3 message (and optionally the
HIPMessageServer action), work out the service from the catalog, check it, apply it to the store
in one transaction, and answer with an acknowledgement or a query response.

Outcomes: AA (accepted), AE (application error: missing ids, unknown patient, not found,
non-conformant document …), AR (rejected: not XML, not HL7 V3, unknown action, interaction that
does not fit the action). Nothing here knows a service by name: it is all catalog data.
"""

from __future__ import annotations

import base64
import binascii
import copy
import logging
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .. import xmlsafe
from ..catalog import HL7_NS, load_catalog
from ..hl7v3.builder import MessageBuilder
from ..hl7v3.services import Service, ServiceCatalog, first_value, load_services
from .messages import msg
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
        return msg(key, self.lang, **kw)

    # ------------------------------------------------------------------ entry point
    def handle(self, data: bytes, action: str | None = None) -> Outcome:
        target_id, sender, interaction = "", "", ""
        svc: Service | None = None
        try:
            try:
                root = xmlsafe.parse_bytes(data, max_bytes=self.max_message_bytes)
            except xmlsafe.ParseProblem as p:
                raise Reject("AR", self.t("not_xml", detail=p.detail)) from None
            interaction = etree.QName(root).localname
            target_id = self._message_id(root)
            sender = first_value([_SENDER], root) or ""
            if etree.QName(root).namespace != HL7_NS:
                raise Reject("AR", self.t("not_hl7", root=root.tag))
            svc = self._service(root, action)
            if not target_id:
                raise Reject("AE", self.t("no_message_id", root=self.services.wrapper["message_id_root"]))
            if svc.kind == "write":
                return self._write(svc, root, target_id, sender)
            return self._query(svc, root, target_id, sender)
        except Reject as r:
            out = self._answer(svc, r.code, target_id, r.text, sender, records=None)
            out.interaction = interaction
            self._audit_only(action or (svc.action if svc else ""), interaction, target_id, sender,
                             r.code, r.text)
            return out

    def _message_id(self, root: etree._Element) -> str:
        wid = self.services.wrapper["message_id_root"]
        for el in root.findall(f"{H}id"):
            if el.get("root") in (wid, None) and (el.get("extension") or "").strip():
                return el.get("extension").strip()
        return ""

    def _service(self, root: etree._Element, action: str | None) -> Service:
        local = etree.QName(root).localname
        if action is not None and action.strip():
            svc = self.services.get(action)
            if svc is None:
                raise Reject("AR", self.t("unknown_action", action=action.strip()))
            if local not in svc.roots:
                raise Reject("AR", self.t("wrong_interaction", actual=local, action=svc.action,
                                          expected=" / ".join(sorted(svc.roots))))
            return svc
        cands = self.services.candidates(root)
        if not cands:
            raise Reject("AR", self.t("unknown_interaction", root=local))
        return cands[0]

    # ------------------------------------------------------------------ writes
    def _write(self, svc: Service, root: etree._Element, target_id: str, sender: str) -> Outcome:
        assert svc.key is not None and svc.record is not None
        key = svc.key.value(root)
        missing = [] if key else [f"{svc.key.label(self.lang)} ({svc.key.paths[0]})"]
        merged = None
        if svc.merged is not None:
            merged = svc.merged.value(root)
            if not merged:
                missing.append(f"{svc.merged.label(self.lang)} ({svc.merged.paths[0]})")
        for req in svc.required:
            if not req.value(root):
                missing.append(f"{req.label(self.lang)} ({req.paths[0]})")
        refs: list[tuple[Any, str]] = []
        for ref in svc.references:
            v = ref.value(root)
            if v:
                refs.append((ref, v))
            elif ref.required:
                missing.append(f"{ref.label(self.lang)} ({ref.paths[0]})")
        if missing:
            raise Reject("AE", self.t("missing", what="; ".join(missing)))
        found = svc.record(root)
        if not found:
            raise Reject("AE", self.t("missing", what=svc.record_path))
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
        with self.store.transaction() as tx:
            try:
                with tx.savepoint():
                    for ref, v in refs:
                        if not tx.exists(ref.entity, v):
                            raise Reject("AE", self.t("unknown_ref", what=ref.label(self.lang), value=v))
                        if ref.patient:
                            patient = tx.resolve(ref.entity, v)
                    if svc.entity in ("patient", "resident") or (svc.op == "merge"):
                        patient = None
                    text = self._apply(tx, svc, key, merged, xml, patient, code, content, target_id,
                                       sender, root)
            except Reject as r:
                tx.audit(svc.action, svc.request_root, target_id, sender, r.code, r.text)
                return self._answer(svc, r.code, target_id, r.text, sender, records=None,
                                    interaction=etree.QName(root).localname)
            tx.audit(svc.action, svc.request_root, target_id, sender, "AA", text)
        return self._answer(svc, "AA", target_id, text, sender, records=None,
                            interaction=etree.QName(root).localname)

    def _apply(self, tx: Tx, svc: Service, key: str, merged: str | None, xml: str,
               patient: str | None, code: str | None, content: bytes | None, target_id: str,
               sender: str, root: etree._Element) -> str:
        e = svc.entity
        kw = {"patient": patient, "code": code, "content": content, "service": svc.action,
              "message_id": target_id, "sender": sender}
        if svc.op == "add":
            if tx.exists(e, key):
                raise Reject("AE", self.t("duplicate", what=svc.key.label(self.lang), value=key))
            tx.insert(e, key, xml, **kw)
            text = self.t("added", what=svc.key.label(self.lang), value=key)
        elif svc.op == "update":
            if not tx.exists(e, key):
                raise Reject("AE", self.t("not_found_update", what=svc.key.label(self.lang), value=key))
            version = tx.replace(e, key, xml, **kw)
            text = self.t("updated", what=svc.key.label(self.lang), value=key, version=version)
        elif svc.op == "put":
            version = tx.replace(e, key, xml, **kw)
            text = self.t("updated", what=svc.key.label(self.lang), value=key, version=version)
        else:  # merge
            assert merged is not None and svc.merged is not None
            survivor, obsolete = tx.resolve(e, key), tx.resolve(e, merged)
            for v in (key, merged):
                if not tx.exists(e, v):
                    raise Reject("AE", self.t("unknown_ref", what=svc.key.label(self.lang), value=v))
            if survivor == obsolete:
                raise Reject("AE", self.t("merge_same", value=key))
            tx.merge(e, survivor, obsolete)
            return self.t("merged", merged=merged, survivor=key)
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
        b64 = first_value(svc.doc_content, root) or ""
        try:
            data = base64.b64decode("".join(b64.split()), validate=True)
        except (binascii.Error, ValueError):
            raise Reject("AE", self.t("bad_base64")) from None
        if not data:
            raise Reject("AE", self.t("bad_base64"))
        result = self.validator.validate_bytes(data, "storageCode/originalText/@value")
        if not result.valid:
            errors = [f for f in result.findings if f.severity == "error"]
            summary = "; ".join(f"{f.rule}: {f.message}" for f in errors[:3])
            more = len(errors) - 3
            if more > 0:
                summary += self.t("more", n=more)
            raise Reject("AE", self.t("doc_invalid", n=len(errors), summary=summary))
        return data

    # ------------------------------------------------------------------ queries
    def _query(self, svc: Service, root: etree._Element, target_id: str, sender: str) -> Outcome:
        assert svc.query is not None
        query_id = first_value([svc.query.query_id], root) if svc.query.query_id is not None else None
        query_id = query_id or target_id
        values = [(k, k.value(root)) for k in svc.query.keys]
        given = [(k, v) for k, v in values if v]
        if not given and not all(k.optional for k in svc.query.keys):
            names = " / ".join(f"{k.label(self.lang)} ({k.paths[0]})" for k in svc.query.keys)
            raise Reject("AE", self.t("missing_query", what=names))
        code_filter = first_value(svc.query.filter_code, root) if svc.query.filter_code else None
        if code_filter:
            code_filter = load_catalog().primary_code(code_filter)
        with self.store.transaction() as tx:
            records = self._find(tx, svc, given, code_filter, sender)
            if records:
                text = self.t("found", n=len(records))
                ack = "AA"
            else:
                spec, value = given[0] if given else (svc.query.keys[0], "")
                text = self.t("not_found", what=spec.label(self.lang), value=value)
                ack = "AE"
            tx.audit(svc.action, svc.request_root, target_id, sender, ack, text)
        return self._answer(svc, ack, target_id, text, sender, records=records, query_id=query_id,
                            interaction=etree.QName(root).localname)

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
                records: list[str] | None, query_id: str = "", interaction: str = "") -> Outcome:
        if svc is not None and svc.kind == "query" and code != "AR":
            body = self.builder.query_response(svc, code=code, target_id=target_id, text=text,
                                               records=records or [], query_id=query_id,
                                               receiver=sender)
        else:
            body = self.builder.ack(code=code, target_id=target_id, text=text, receiver=sender)
        return Outcome(body, code, text, svc, interaction, target_id)

    def _audit_only(self, action: str, interaction: str, message_id: str, sender: str, ack: str,
                    detail: str) -> None:
        try:
            with self.store.transaction() as tx:
                tx.audit(action, interaction, message_id, sender, ack, detail)
        except Exception:  # auditing must never turn an answer into a server error
            log.exception("audit write failed")


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
