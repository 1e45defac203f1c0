"""Validate HL7 V3 interaction messages (requests and responses) by their root element.

Checks: the transmission wrapper (message id, creationTime, interactionId root and extension =
root element name, processingCode, acceptAckCode, sender/receiver device ids), the control act
wrapper, the payload's required ids and codes per service (from the service catalogs), and the
acknowledgement of responses (code, target message, text, consistency with the query result).
Findings go through DocContext.report, so they share the CDA validator's model, rules registry
and reporters; `document_type` is the interaction id.
"""

from __future__ import annotations

import re

from lxml import etree

from ..catalog import HL7_NS
from ..hl7v3.services import Service, ServiceCatalog, read_id
from ..i18n import t
from . import carried
from .context import DocContext
from .datatype import ts_problem, ts_text
from .diagnostics import parse_detail
from .status import ran, skipped

H = f"{{{HL7_NS}}}"
_INTERACTION_RE = re.compile(r"^[A-Z]{4}_(IN|MT)\d{6}[A-Z0-9]*$")
ACK_ROOT = "MCCI_IN000002UV01"
ACK_CODES = ("AA", "AE", "AR", "CA", "CE", "CR")
_TS_RE = re.compile(r"^\d{14}$")
# how each form of an identifier is written (V3.ID_FORM names them)
FORM_TEXT = {"II": '<id root="…" extension="…"/>', "DSET": '<id><item root="…" extension="…"/></id>'}


def handles(root: etree._Element) -> bool:
    """True when the root looks like an HL7 V3 interaction (namespace urn:hl7-org:v3)."""
    qn = etree.QName(root)
    return qn.namespace == HL7_NS and bool(_INTERACTION_RE.match(qn.localname))


def _requests(ctx: DocContext, local: str) -> list[Service]:
    out: list[Service] = []
    for cat in _catalogs(ctx):
        out.extend(s for s in cat.by_root.get(local, []) if s not in out)
    return out


def _responses(ctx: DocContext, local: str) -> list[Service]:
    return [s for cat in _catalogs(ctx) for s in cat.services if s.response_root == local]


def _catalogs(ctx: DocContext) -> list[ServiceCatalog]:
    return carried.service_catalogs(ctx)


def run(ctx: DocContext, action: str | None = None) -> dict[str, str]:
    """Validate ctx.root; returns the layer statuses. ``action`` is the HIPMessageServer action
    the message was sent with, when known (a captured SOAP request)."""
    root = ctx.root
    local = etree.QName(root).localname
    lang = ctx.lang
    result = ctx.result
    result.document_type = local
    requests = _requests(ctx, local)
    responses = _responses(ctx, local) if local != ACK_ROOT else []
    is_response = local == ACK_ROOT or bool(responses)
    if not requests and not is_response:
        ctx.report("V3.ROOT_UNKNOWN", root, actual=local, snippet=False)
        skip = skipped(lang, "unknown_interaction")
        return {"schema": _no_schema(lang), "template": "ran", "vocabulary": skip, "datatype": skip}
    _wrapper(ctx, root, local, is_response)
    if is_response:
        names = sorted({s.display_name(lang) for s in responses}) if responses else \
            [t("v3.acknowledgement", lang)]
        result.document_name = " / ".join(names[:3]) + (" …" if len(names) > 3 else "")
        _acknowledgement(ctx, root, local, bool(responses))
    else:
        _payload(ctx, root, local, requests, action)
    statuses = {"schema": _no_schema(lang), "template": "ran", "vocabulary": "ran",
                "datatype": "ran"}
    if carried.check_message(ctx, root):
        statuses["schema"] = ran(lang, "carried_document")
    return statuses


SOAP_ENVELOPES = frozenset({"{http://schemas.xmlsoap.org/soap/envelope/}Envelope",
                            "{http://www.w3.org/2003/05/soap-envelope}Envelope"})


def run_soap(ctx: DocContext) -> dict[str, str]:
    """A SOAP envelope (a captured request or response): validate the HL7 V3 message it
    carries. A message embedded as elements is validated in place (its places are the file's);
    one carried as text (HIPMessageServer/message, escaped or CDATA) is parsed, validated, and
    its findings are placed back in the file: line and column in the file, the XPath as
    <carrier element>/text() → <path in the message>."""
    env = ctx.root
    ns = etree.QName(env).namespace
    skip = skipped(ctx.lang, "soap_no_message")
    no_message = {"schema": skip, "template": "ran", "vocabulary": skip, "datatype": skip}
    body = next((c for c in env if c.tag == f"{{{ns}}}Body"), None)
    first = None if body is None else next((c for c in body if isinstance(c.tag, str)), None)
    if first is None:
        ctx.report("V3.SOAP_NO_MESSAGE", body if body is not None else env, snippet=False,
                   detail=t("v3.soap.body_empty" if body is not None else "v3.soap.body_missing",
                            ctx.lang))
        return no_message
    if etree.QName(first).localname == "Fault":
        texts = [" ".join("".join(el.itertext()).split()) for el in first.iter()
                 if isinstance(el.tag, str) and etree.QName(el).localname in
                 ("faultcode", "faultstring", "Value", "Text")]
        ctx.report("V3.SOAP_FAULT", first, detail=": ".join(x for x in texts if x) or "-")
        return no_message
    message = first if etree.QName(first).namespace == HL7_NS else next(
        (el for el in first.iter() if isinstance(el.tag, str)
         and etree.QName(el).namespace == HL7_NS), None)
    action = next(("".join(c.itertext()).strip() for c in first if isinstance(c.tag, str)
                   and etree.QName(c).localname == "action"), None) or None
    if message is not None:  # elements: validate in place
        ctx.root = message
        return run(ctx, action)
    carrier = next((c for c in first if isinstance(c.tag, str)
                    and etree.QName(c).localname == "message"), first)
    text = "".join(carrier.itertext())
    if not text.strip():
        ctx.report("V3.SOAP_NO_MESSAGE", carrier, detail=t("v3.soap.element_empty", ctx.lang,
                                                            element=etree.QName(carrier).localname))
        return no_message
    from .. import xmlsafe

    # the text is already decoded (by the SOAP layer): an encoding its own XML declaration
    # names (encoding="GBK") no longer applies, so it is parsed as the text it is
    data = xmlsafe.text_as_utf8(text)
    try:
        inner = xmlsafe.parse_bytes(data, keep_blank_text=False)
    except xmlsafe.ParseProblem as p:
        ctx.report("V3.SOAP_NO_MESSAGE", carrier, detail=t(
            "v3.soap.parse_error", ctx.lang, detail=parse_detail(p.detail, ctx.lang), line=p.line))
        return no_message
    inner_ctx = DocContext(ctx.catalog, ctx.lang, data, inner, ctx.result,
                           validate_carried=ctx.validate_carried)
    first_new = len(ctx.result.findings)
    statuses = run(inner_ctx, action) if handles(inner) else _unknown(inner_ctx, inner)
    _place_in_file(ctx, carrier, ctx.result.findings[first_new:])
    return statuses


def _unknown(ctx: DocContext, root: etree._Element) -> dict[str, str]:
    ctx.report("V3.ROOT_UNKNOWN", root, actual=etree.QName(root).localname, snippet=False)
    skip = skipped(ctx.lang, "unknown_interaction")
    return {"schema": _no_schema(ctx.lang), "template": "ran", "vocabulary": skip,
            "datatype": skip}


def _place_in_file(ctx: DocContext, carrier: etree._Element, findings: list) -> None:
    """Move the places of findings made on a message carried as text to the file: its
    characters are walked once, unescaping, so that each message character has its file
    offset (an entity such as &lt; is one message character, several file characters)."""
    if not findings:
        return
    loc = ctx.locator.locate(carrier)
    text = ctx.locator.text()
    starts = ctx.locator.line_starts()
    if loc.line is None or loc.column is None:
        return
    i = text.find(">", starts[loc.line - 1] + loc.column - 1) + 1
    end = text.find("</", i)
    offsets: list[int] = []  # file offset of each character of the message text
    while 0 < i < len(text) and (i < end or end < 0):
        if text.startswith("<![CDATA[", i):
            j = text.find("]]>", i)
            offsets.extend(range(i + 9, j if j >= 0 else len(text)))
            i = j + 3 if j >= 0 else len(text)
            end = text.find("</", i)
        elif text[i] == "&":
            j = text.find(";", i)
            offsets.append(i)
            i = j + 1 if j >= 0 else i + 1
        elif text[i] == "<":  # a comment or another element inside the carrier: stop
            break
        else:
            offsets.append(i)
            i += 1
    # the message's own lines: offsets of its line starts, in message characters
    message_lines = [0] + [n for n, off in enumerate(offsets, start=1) if text[off] == "\n"]
    prefix = (loc.xpath or "") + "/text() → "
    for f in findings:
        if f.xpath:
            f.xpath = prefix + f.xpath
        if f.line is None or f.line > len(message_lines):
            continue
        k = message_lines[f.line - 1] + (f.column or 1) - 1
        if 0 <= k < len(offsets):
            f.line, f.column = ctx.locator.line_col(offsets[k])
            f.snippet = ctx.locator.snippet(f.line, column=f.column) if f.snippet else None


def _attrs(el: etree._Element, *names: str) -> str:
    """The attributes of an element as written (a missing one left out, an empty one shown
    empty): <id root="1.2" extension=""/> — never root="None"."""
    shown = " ".join(f'{n}="{el.get(n)}"' for n in names if el.get(n) is not None)
    return f"<{etree.QName(el).localname}{' ' + shown if shown else ''}/>"


def _no_schema(lang: str) -> str:
    return skipped(lang, "no_v3_schema")


def _wrapper(ctx: DocContext, root: etree._Element, local: str, is_response: bool) -> None:
    cat = _catalogs(ctx)[0]
    w = cat.wrapper
    mid = root.find(f"{H}id")
    hit = read_id(root, w["message_id_root"], accept_no_root=False)
    if hit is None:
        actual = "-" if mid is None else _attrs(mid, "root", "extension")
        ctx.report("V3.MESSAGE_ID", mid if mid is not None else root, expected=w["message_id_root"],
                   actual=actual)
    else:
        _form(ctx, cat.id_forms.get("message_id"), hit[1], hit[2], "v3.id.message")
    ct = root.find(f"{H}creationTime")
    value = None if ct is None else ct.get("value")
    if not value:
        ctx.report("V3.CREATION_TIME", ct if ct is not None else root, detail="-")
    else:
        problem = ts_problem(value)
        if problem or not _TS_RE.match(value):
            ctx.report("V3.CREATION_TIME", ct, attr="value", actual=value,
                       detail=ts_text(value, problem, ctx.lang))
    iid = root.find(f"{H}interactionId")
    if iid is None or iid.get("root") != w["interaction_id_root"]:
        ctx.report("V3.INTERACTION_ID", iid if iid is not None else root, expected=w["interaction_id_root"],
                   actual="-" if iid is None else _attrs(iid, "root"))
    if iid is not None and (iid.get("extension") or "") != local:
        ctx.report("V3.INTERACTION_ID_MISMATCH", iid, attr="extension", actual=iid.get("extension") or "",
                   expected=local)
    pc = root.find(f"{H}processingCode")
    if pc is None or pc.get("code") not in ("P", "D", "T"):
        ctx.report("V3.PROCESSING_CODE", pc if pc is not None else root,
                   actual="-" if pc is None else pc.get("code"))
    ac = root.find(f"{H}acceptAckCode")
    if ac is None or ac.get("code") not in ("AL", "ER", "NE"):
        ctx.report("V3.ACCEPT_ACK_CODE", ac if ac is not None else root,
                   actual="-" if ac is None else ac.get("code"))
    for part in ("receiver", "sender"):
        el = root.find(f"{H}{part}")
        device = None if el is None else el.find(f"{H}device")
        hit = None if device is None else read_id(device)
        if hit is None:
            ctx.report("V3.DEVICE_ID", el if el is not None else root,
                       name=t(f"v3.party.{part}", ctx.lang), path=part)
        else:
            _form(ctx, cat.id_forms.get("device_id"), hit[1], hit[2], f"v3.id.{part}")
    if root.find(f"{H}controlActProcess") is None and local != ACK_ROOT:
        ctx.report("V3.CONTROL_ACT", root, snippet=False)


def _form(ctx: DocContext, preferred: str | None, form: str, el: etree._Element,
          name_key: str) -> None:
    """V3.ID_FORM when an id is written in the form the sources do not use (shapes id_forms);
    ``name_key`` is the phrase that names the id."""
    if preferred and form != preferred:
        ctx.report("V3.ID_FORM", el if form == "II" else el.getparent(), name=t(name_key, ctx.lang),
                   actual=FORM_TEXT[form], expected=FORM_TEXT[preferred])


def _missing(svc: Service, root: etree._Element, lang: str) -> list[str]:
    if svc.kind == "query":
        assert svc.query is not None
        if any(k.value(root) for k in svc.query.keys) or all(k.optional for k in svc.query.keys):
            return []
        return [" / ".join(f"{k.label(lang)} ({k.paths[0]})" for k in svc.query.keys)]
    out = []
    specs = [s for s in (svc.key, svc.merged) if s is not None] + list(svc.required) + \
        [r for r in svc.references if r.required]
    for spec in specs:
        if not spec.value(root):
            out.append(f"{spec.label(lang)} ({spec.paths[0]})")
    return out


def _alternative_roots(ctx: DocContext, svc: Service, root: etree._Element) -> None:
    """V3.ID_ROOT_ALTERNATIVE for each id of the service's shape that was found only under an
    alternative root (shapes.yaml root_alternatives), on the element carrying that root."""
    specs = [s for s in (svc.key, svc.merged) if s is not None] + list(svc.required) + \
        list(svc.references) + list(svc.index) + (list(svc.query.keys) if svc.query else [])
    seen: set[int] = set()
    for spec in specs:
        if not spec.alt_xpaths:
            continue
        value, hit = spec.lookup(root)
        if hit is None or id(hit.element) in seen:
            continue
        if hit.element is not None:
            seen.add(id(hit.element))
        alt = hit.alternative
        ctx.report("V3.ID_ROOT_ALTERNATIVE", hit.element, attr="root", name=alt.name,
                   actual=alt.root, expected=alt.preferred, status=alt.status,
                   detail=alt.basis.get(ctx.lang) or alt.basis["zh"])


def _payload(ctx: DocContext, root: etree._Element, local: str, requests: list[Service],
             action: str | None = None) -> None:
    lang = ctx.lang
    ordered: list[Service] = []
    for cat in _catalogs(ctx):
        ordered.extend(s for s in cat.candidates(root) if s not in ordered)
    ordered.extend(s for s in requests if s not in ordered)
    named = _named_service(ctx, action, local)
    if named is not None:  # sent to a service that takes this root under a disagreement
        dispute = named.disputed(local)
        if dispute:
            cat = next(c for c in _catalogs(ctx) if c.profile == named.profile)
            summary = cat.disputes[dispute].get("summary") or {}
            ctx.report("V3.INTERACTION_DISPUTED", root, name=named.action, actual=local,
                       expected=named.request_root, snippet=False,
                       detail=summary.get(lang) or summary.get("zh") or dispute)
    ctx.result.document_name = " / ".join(sorted({s.display_name(lang) for s in ordered})[:3])
    if ctx.root.find(f"{H}controlActProcess") is None:
        return
    problems = {s.action: _missing(s, root, lang) for s in ordered}
    complete = next((s for s in ordered if not problems[s.action]), None)
    if complete is not None:
        # the message is complete for at least one service using this interaction
        _alternative_roots(ctx, complete, root)
        return
    best = ordered[0]
    _alternative_roots(ctx, best, root)
    if len({s.action for s in ordered}) > 1:
        ctx.report("V3.SERVICE_AMBIGUOUS", root, actual=local, name=best.action,
                   detail=", ".join(sorted({s.action for s in ordered}))[:300], snippet=False)
    rule = "V3.QUERY_PARAMETER" if best.kind == "query" else "V3.PAYLOAD_REQUIRED"
    ctx.report(rule, root.find(f"{H}controlActProcess"), name=f"{best.action} {best.display_name(lang)}",
               detail="; ".join(problems[best.action]), status=best.status, snippet=False)


def _named_service(ctx: DocContext, action: str | None, local: str) -> Service | None:
    """The service a HIPMessageServer action names, when it takes this root element."""
    if not action:
        return None
    for cat in _catalogs(ctx):
        svc = cat.get(action)
        if svc is not None and local in svc.roots:
            return svc
    return None


def _acknowledgement(ctx: DocContext, root: etree._Element, local: str, is_query: bool) -> None:
    ack = root.find(f"{H}acknowledgement")
    if ack is None:
        ctx.report("V3.ACK_MISSING", root, snippet=False)
        return
    code = ack.get("typeCode")
    if code not in ACK_CODES:
        ctx.report("V3.ACK_CODE", ack, attr="typeCode", actual=code or "-")
    target = ack.find(f"{H}targetMessage")
    hit = None if target is None else read_id(target)
    if hit is None:
        ctx.report("V3.ACK_TARGET", ack, snippet=False)
    else:
        _form(ctx, _catalogs(ctx)[0].id_forms.get("message_id"), hit[1], hit[2], "v3.id.echoed")
    text = ack.find(f"{H}acknowledgementDetail/{H}text")
    if text is None or not (text.get("value") or text.text or "").strip():
        ctx.report("V3.ACK_TEXT", ack, snippet=False)
    if not is_query:
        return
    cap = root.find(f"{H}controlActProcess")
    subjects = [] if cap is None else cap.findall(f"{H}subject")
    qrc = None if cap is None else cap.find(f"{H}queryAck/{H}queryResponseCode")
    rc = None if qrc is None else qrc.get("code")
    lang = ctx.lang
    if code == "AA" and rc in ("AE", "QE"):
        ctx.report("V3.ACK_INCONSISTENT", qrc, actual=rc, detail=t("v3.ack.aa_but_error", lang, rc=rc))
    if code == "AA" and rc == "OK" and not subjects:
        ctx.report("V3.ACK_INCONSISTENT", qrc, actual=rc, detail=t("v3.ack.ok_no_records", lang))
    if code in ("AE", "AR") and subjects:
        ctx.report("V3.ACK_INCONSISTENT", ack, actual=code,
                   detail=t("v3.ack.error_with_records", lang, code=code))
