"""Template layer: document identity, header constraints, sections and entries, all from the
document type's template in standards/cda/."""

from __future__ import annotations

from lxml import etree

from ..catalog import HL7_NS, NS, Assertion, DocumentTemplate, SectionSpec
from .context import XSI_TYPE, DocContext

_SECTIONS = etree.XPath("hl7:component/hl7:structuredBody//hl7:section", namespaces=NS)
_CODE = f"{{{HL7_NS}}}code"
_TITLE = f"{{{HL7_NS}}}title"


def _fmt_card(card: tuple[int, int | None]) -> str:
    return f"{card[0]}..{'*' if card[1] is None else card[1]}"


def identify(ctx: DocContext) -> DocumentTemplate | None:
    """Detect the document type from code and templateId; report disagreements."""
    cat = ctx.catalog
    root = ctx.root
    code_el = root.find(_CODE)
    code = (code_el.get("code") or "").strip() if code_el is not None else ""
    tids = [t.get("root", "").strip() for t in root.findall(f"{{{HL7_NS}}}templateId")]
    by_code = cat.documents.get(code)
    by_tid = next((cat.by_template[t] for t in tids if t in cat.by_template), None)
    doc = by_code or by_tid
    if doc is not None:
        fam = cat.family_of(doc)
        ctx.family_prefix, ctx.family_standard, ctx.family_status = (
            fam.rule_prefix, fam.standard, fam.status)
    if by_code and tids and (by_tid is None or by_tid is not by_code):
        bad = next((t for t in root.findall(f"{{{HL7_NS}}}templateId")), None)
        ctx.template = by_code
        ctx.report(f"{ctx.family_prefix}.HEADER.TEMPLATE_CODE_MISMATCH", bad, attr="root",
                   expected=by_code.template_id, actual=", ".join(tids), detail=code,
                   status=by_code.status, sources=("notes-1.1",))
    elif by_tid and not by_code and code:
        ctx.template = by_tid
        ctx.report(f"{ctx.family_prefix}.HEADER.TEMPLATE_CODE_MISMATCH", code_el, attr="code",
                   expected=by_tid.code, actual=", ".join(tids), detail=code,
                   status=by_tid.status, sources=("notes-1.1",))
    return doc


def run(ctx: DocContext) -> str:
    doc = ctx.template
    fam = ctx.catalog.family_of(doc)
    for assertion in fam.assertions:
        _check_assertion(ctx, assertion)
    if doc is None:
        code_el = ctx.root.find(_CODE)
        tids = [t.get("root", "") for t in ctx.root.findall(f"{{{HL7_NS}}}templateId")]
        ctx.report("CDA.DOCUMENT_TYPE_UNKNOWN", code_el if code_el is not None else ctx.root,
                   actual=(code_el.get("code") if code_el is not None else None) or "-",
                   detail=", ".join(tids) or "-")
        return "ran (header only: document type not recognised)"
    _check_title(ctx, doc)
    for assertion in doc.header:
        _check_assertion(ctx, assertion)
    _check_sections(ctx, doc)
    return "ran"


def _check_title(ctx: DocContext, doc: DocumentTemplate) -> None:
    title = ctx.root.find(_TITLE)
    if title is None:
        return
    text = "".join(title.itertext()).strip()
    if text and text != doc.name:
        ctx.report(f"{ctx.family_prefix}.HEADER.TITLE_MISMATCH", title, expected=doc.name,
                   actual=text, sources=("notes-1.1",))


def _check_assertion(ctx: DocContext, a: Assertion) -> None:
    p = ctx.family_prefix
    nodes = a.xpath(ctx.root)
    lo, hi = a.card
    if len(nodes) < lo:
        anchor = _nearest_existing(ctx, a.path)
        ctx.report(f"{p}.{a.missing_rule}", anchor, name=a.name, path=a.path,
                   expected=_fmt_card(a.card), actual=len(nodes), status=a.status,
                   sources=a.source, snippet=False)
    if hi is not None and len(nodes) > hi:
        ctx.report(f"{p}.{a.too_many_rule}", nodes[hi], name=a.name, path=a.path,
                   expected=hi, actual=(nodes[hi].get("extension") if hi == 0 else len(nodes)),
                   status=a.status, sources=a.source)
    for node in nodes:
        if a.text_rule and not "".join(node.itertext()).strip():
            ctx.report(f"{p}.{a.text_rule}", node, name=a.name, path=a.path,
                       status=a.status, sources=a.source)
        for chk in a.attrs:
            value = node.get(chk.attr)
            if node.get("nullFlavor") is not None and value is None:
                continue
            status = chk.status or a.status
            sources = chk.source or a.source
            if value is None:
                if chk.optional:
                    continue
                if chk.nonempty or chk.equals is not None or chk.one_of or chk.pattern:
                    ctx.report(f"{p}.{chk.rule}", node, attr=chk.attr, name=a.name,
                               path=a.path, expected=chk.expected or chk.equals,
                               actual="(无)" if ctx.lang == "zh" else "(absent)",
                               status=status, sources=sources)
                continue
            v = value.strip()
            bad = (
                (chk.nonempty and not v)
                or (chk.equals is not None and v != chk.equals)
                or (chk.one_of is not None and v not in chk.one_of)
                or (chk.pattern is not None and v and not chk.pattern.search(v))
            )
            if bad:
                expected = chk.expected or chk.equals or (
                    " | ".join(chk.one_of) if chk.one_of else None)
                ctx.report(f"{p}.{chk.rule}", node, attr=chk.attr, name=a.name, path=a.path,
                           expected=expected, actual=value if value else '""', status=status,
                           sources=sources)


def _nearest_existing(ctx: DocContext, path: str) -> etree._Element:
    """The deepest existing ancestor of a missing element (so the finding has a place)."""
    node = ctx.root
    for step in path.split("/"):
        name = step.split("[", 1)[0]
        child = node.find(f"{{{HL7_NS}}}{name}")
        if child is None:
            break
        node = child
    return node


def _section_key(sec: etree._Element) -> tuple[str | None, str | None, str | None, str]:
    code_el = sec.find(_CODE)
    if code_el is None:
        title = sec.find(_TITLE)
        t = "".join(title.itertext()).strip() if title is not None else ""
        return None, None, t or None, t
    return (code_el.get("code"), code_el.get("codeSystem"),
            code_el.get("displayName"), "")


def _check_sections(ctx: DocContext, doc: DocumentTemplate) -> None:
    p = ctx.family_prefix
    sections = _SECTIONS(ctx.root)
    keys = [_section_key(s) for s in sections]
    matched: set[int] = set()
    allowed_cs = {c["oid"] for c in ctx.catalog.conventions.get("section_code_systems") or []}
    by_spec: list[tuple[SectionSpec, list[etree._Element]]] = []
    for spec in doc.sections:
        found = []
        for i, (code, _cs, display, title) in enumerate(keys):
            if spec.match == "code":
                ok = code is not None and code.strip() == spec.code
            else:
                ok = code is None and (
                    (display or "").strip() == spec.display or title == spec.display)
                ok = ok or (code is None and display is None and title == spec.key)
            if ok:
                found.append(sections[i])
                matched.add(i)
        by_spec.append((spec, found))
    for i, (code, _cs, display, _title) in enumerate(keys):
        if i in matched:
            continue
        # a section that is unknown for this template is advisory only
        label = code or display or _title or "?"
        ctx.report(f"{p}.SECTION.UNKNOWN", sections[i], actual=label, status="observed",
                   snippet=False)
    for i, (code, cs, _display, _t) in enumerate(keys):
        if code and cs and allowed_cs and cs not in allowed_cs:
            spec_cs = next((s.code_system for s, f in by_spec if sections[i] in f), None)
            ctx.report(f"{p}.SECTION.CODE_SYSTEM", sections[i].find(_CODE), attr="codeSystem",
                       expected=spec_cs or " | ".join(sorted(allowed_cs)), actual=cs,
                       detail=code, sources=("notes-1.4",))
    stmts_by_section: dict[etree._Element, dict[str, list]] = {}
    for st in ctx.statements():
        if st.section is not None:
            stmts_by_section.setdefault(st.section, {}).setdefault(st.key, []).append(st)
    for spec, found in by_spec:
        lo, hi = spec.card
        label = f"{spec.name} {spec.code or spec.display or ''}".strip()
        if len(found) < lo:
            ctx.report(f"{p}.SECTION.MISSING", _body(ctx), name=spec.name,
                       expected=spec.code or spec.display, status=spec.status, snippet=False,
                       sources=_sources(spec.status))
        elif not found:
            ctx.report(f"{p}.SECTION.NOT_PRESENT", _body(ctx), name=spec.name,
                       expected=spec.code or spec.display, status=spec.status, snippet=False,
                       sources=_sources(spec.status))
        if hi is not None and len(found) > hi:
            ctx.report(f"{p}.SECTION.TOO_MANY", found[hi], name=label, expected=hi,
                       actual=len(found), status=spec.status, sources=_sources(spec.status),
                       snippet=False)
        if not found:
            continue
        merged: dict[str, list] = {}
        for sec in found:
            for k, v in stmts_by_section.get(sec, {}).items():
                merged.setdefault(k, []).extend(v)
        for entry in spec.entries:
            stmts = merged.get(entry.key, [])
            elo, ehi = entry.card
            if len(stmts) < elo:
                ctx.report(f"{p}.ENTRY.MISSING", found[0], name=f"{entry.name} {entry.key}",
                           expected=entry.key, detail=label, status=entry.status,
                           sources=_sources(entry.status), snippet=False)
            if ehi is not None and len(stmts) > ehi:
                ctx.report(f"{p}.ENTRY.TOO_MANY", stmts[ehi].code_el.getparent(),
                           name=f"{entry.name} {entry.key}", expected=ehi, actual=len(stmts),
                           status=entry.status, sources=_sources(entry.status), snippet=False)
            if entry.value_type:
                _check_value_types(ctx, entry, stmts)


def _check_value_types(ctx: DocContext, entry, stmts) -> None:
    compatible = ctx.catalog.datatypes.get("compatible_types") or {}
    accepted = {entry.value_type, *compatible.get(entry.value_type, [])}
    for st in stmts:
        v = st.value_el
        if v is None:
            continue
        xt = v.get(XSI_TYPE)
        if xt is None:
            continue
        xt_local = xt.split(":", 1)[-1]
        if xt_local not in accepted:
            ctx.report(f"{ctx.family_prefix}.ENTRY.VALUE_TYPE", v, attr=XSI_TYPE_ATTR,
                       name=f"{entry.name} {entry.key}", expected=entry.value_type,
                       actual=xt_local, status=entry.status, sources=_sources(entry.status))


XSI_TYPE_ATTR = "xsi:type"


def _body(ctx: DocContext) -> etree._Element:
    body = ctx.root.find(f"{{{HL7_NS}}}component/{{{HL7_NS}}}structuredBody")
    return body if body is not None else ctx.root


def _sources(status: str) -> tuple[str, ...]:
    return {"observed": ("samples-wyf508",), "strict-xsd": ("strict-xsd",),
            "provisional": ("notes-2",)}.get(status, ())
