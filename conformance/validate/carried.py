"""CDA documents carried in HL7 V3 messages: a registration (电子病历文档注册) carries the
document base64-encoded in an attribute, and the responses of document queries (调阅, 检索)
return it the same way.

Where a document is carried is catalog data, never spelled here: a write service names it in
its shape (`document.content`, standards/services/shapes.yaml), and a query response carries the
records it finds under the query's `wrap` elements, so a document in a response sits at
controlActProcess/<wrap…>/<record element>/<the content path below the record>. The reference
platform and `conformance validate` both read the document from there, decode it with
`decode()` and validate it with the CDA validator (`Validator.validate_bytes(…, cda_only=True)`),
so that they agree on every message.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from functools import cache

from lxml import etree

from ..hl7v3.services import NS, Service, ServiceCatalog, all_profiles, to_xpath
from ..model.findings import DocumentResult
from .context import DocContext


def decode(value: str | None) -> bytes | None:
    """The document an attribute value carries: base64 (line breaks and blanks allowed between
    the groups, as MIME writes it), strictly decoded; None when it is not base64 or is empty."""
    if not value:
        return None
    try:
        data = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return data or None


def request_paths(services: Iterable[Service]) -> list[etree.XPath]:
    """Where the services that may take this request read a carried document (first first)."""
    out: list[etree.XPath] = []
    seen: set[str] = set()
    for svc in services:
        for xp in svc.doc_content:
            if xp.path not in seen:
                seen.add(xp.path)
                out.append(xp)
    return out


@cache
def response_paths(local: str, std: str | None = None) -> tuple[etree.XPath, ...]:
    """Where the response interaction `local` carries documents: for each query service that
    answers with it, the content path of the write services whose records it returns, moved
    under the query's wrap elements."""
    out: list[etree.XPath] = []
    seen: set[str] = set()
    for cat in all_profiles(std):
        writers = [s for s in cat.services if s.doc_content and s.record_path]
        for q in cat.services:
            if q.response_root != local or q.query is None:
                continue
            entities = {e.strip() for e in str(q.vars.get("doc_entities") or q.entity).split(",")}
            above = to_xpath("/".join(["controlActProcess"] + [tag for tag, _ in q.query.wrap]))
            for w in writers:
                if w.entity not in entities:
                    continue
                record = to_xpath(w.record_path or "")
                element = record.rsplit("/", 1)[-1]
                for xp in w.doc_content:
                    if xp.path.startswith(record + "/"):
                        path = f"{above}/{element}/{xp.path[len(record) + 1:]}"
                        if path not in seen:
                            seen.add(path)
                            out.append(etree.XPath(path, namespaces=NS))
    return tuple(out)


def carriers(root: etree._Element, xpaths: Iterable[etree.XPath],
             first_only: bool) -> list[tuple[etree._Element, str, str]]:
    """(element, attribute, value) of the carried documents, in document order. first_only:
    the first non-empty value only (what a registration holds, as the platform reads it)."""
    out: list[tuple[etree._Element, str, str]] = []
    for xp in xpaths:
        try:
            found = xp(root)
        except etree.XPathEvalError:
            continue
        for r in found if isinstance(found, list) else [found]:
            if not isinstance(r, str) or not getattr(r, "is_attribute", False):
                continue
            if not r.strip():
                continue
            out.append((r.getparent(), r.attrname, str(r)))
            if first_only:
                return out
    return out


def service_catalogs(ctx: DocContext) -> list[ServiceCatalog]:
    """The service catalogs of the standards the validator was given (its catalog's root),
    resolved once per catalog."""
    state = ctx.catalog.compiled
    if state.services is None:
        state.services = all_profiles(ctx.catalog.root)
    return state.services


def message_paths(root: etree._Element, std: str | None = None) -> tuple[list[etree.XPath], bool]:
    """Where an HL7 V3 message carries documents, and whether it is a request (which holds
    one: the first non-empty value, as the platform reads it)."""
    local = etree.QName(root).localname
    ordered: list[Service] = []
    for cat in all_profiles(std):
        ordered.extend(s for s in cat.candidates(root) if s not in ordered)
    if ordered:
        return request_paths(ordered), True
    return list(response_paths(local, std)), False


def first_document(root: etree._Element) -> bytes | None:
    """The first document an HL7 V3 message carries, decoded (None: none, or not base64)."""
    xpaths, _ = message_paths(root)
    found = carriers(root, xpaths, first_only=True)
    return decode(found[0][2]) if found else None


def check_message(ctx: DocContext, root: etree._Element) -> bool:
    """The documents an HL7 V3 message carries, validated as CDA documents (see check)."""
    xpaths, request = message_paths(root, str(ctx.catalog.root))
    if not xpaths:
        return False
    return check(ctx, root, xpaths, first_only=request, validate=ctx.validate_carried)


def check(ctx: DocContext, root: etree._Element, xpaths: Iterable[etree.XPath], first_only: bool,
          validate: Callable[[bytes, str], DocumentResult] | None) -> bool:
    """Validate the documents a message carries; their findings join the message's, placed at
    the carrying attribute (XPath `<carrier>/@value → <path in the document>`). A value that
    is not base64 is V3.DOCUMENT_BASE64; without `validate` the documents are only decoded.
    Returns whether a document was validated."""
    done = False
    for el, attr, value in carriers(root, xpaths, first_only):
        data = decode(value)
        if data is None:
            ctx.report("V3.DOCUMENT_BASE64", el, attr=attr, actual=_preview(value))
            continue
        if validate is None:  # decoded, validated elsewhere
            continue
        result = validate(data, ctx.result.path)
        done = True
        place = ctx.locator.locate(el, attr)
        snippet = None
        for f in result.findings:
            f.xpath = f"{place.xpath} → {f.xpath}" if f.xpath else place.xpath
            f.line, f.column = place.line, place.column
            if snippet is None:
                snippet = ctx.locator.snippet(place.line, column=place.column)
            f.snippet = snippet
            ctx.result.findings.append(f)
    return done


def _preview(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= 40 else value[:40] + "…"
