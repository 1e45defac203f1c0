"""Template layer: document identity, header constraints, sections and entries, all from the
document type's template in standards/cda/."""

from __future__ import annotations

from lxml import etree

from ..catalog import HL7_NS, NS, Assertion, DocumentTemplate
from .context import XSI_TYPE, DocContext

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


def _quote(v: str) -> str:
    return f"'{v}'" if "'" not in v else f'"{v}"'


class _Fingerprint:
    """All assertions of a list folded into ONE XPath that returns, per assertion, the node
    count and the number of nodes failing each attribute/text check. Valid documents pay one
    XPath evaluation; only assertions whose numbers are off are re-checked in detail (with
    places and messages)."""

    def __init__(self, assertions: list[Assertion]) -> None:
        self.assertions = assertions
        parts: list[str] = []
        self.slices: list[tuple[int, int, bool]] = []
        for a in assertions:
            start = len(parts)
            p = a.xpath_text
            parts.append(f"count({p})")
            always = False
            for chk in a.attrs:
                at = f"@{chk.attr}"
                nv = f"normalize-space({at})"
                if chk.pattern is not None:
                    always = True
                    continue
                conds = []
                if chk.nonempty:
                    conds.append(f"{nv}=''")
                if chk.equals is not None:
                    conds.append(f"{nv}!={_quote(chk.equals)}")
                if chk.one_of:
                    conds.append("not(" + " or ".join(f"{nv}={_quote(v)}" for v in chk.one_of) + ")")
                if not conds:
                    continue
                bad = " or ".join(conds)
                if chk.optional:
                    parts.append(f"count({p}[{at}][{bad}])")
                else:
                    parts.append(f"count({p}[not(@nullFlavor and not({at}))][not({at}) or {bad}])")
            if a.text_rule:
                parts.append(f"count({p}[normalize-space(.)=''])")
            self.slices.append((start, len(parts), always))
        expr = "concat(" + ", ',', ".join(parts) + ", '')" if parts else "''"
        self.xpath = etree.XPath(expr, namespaces=NS)

    def suspects(self, root: etree._Element) -> list[Assertion]:
        nums = [int(float(x)) for x in str(self.xpath(root)).split(",") if x]
        out = []
        for a, (start, end, always) in zip(self.assertions, self.slices, strict=True):
            n = nums[start]
            lo, hi = a.card
            if always or n < lo or (hi is not None and n > hi) or any(nums[start + 1:end]):
                out.append(a)
        return out


def _fingerprint(ctx: DocContext, key: str, assertions: list[Assertion]) -> _Fingerprint:
    cache = ctx.catalog.__dict__.setdefault("_fingerprints", {})
    fp = cache.get(key)
    if fp is None:
        fp = cache[key] = _Fingerprint(assertions)
    return fp


def run(ctx: DocContext) -> str:
    doc = ctx.template
    fam = ctx.catalog.family_of(doc)
    for assertion in _fingerprint(ctx, f"family:{fam.id}", fam.assertions).suspects(ctx.root):
        _check_assertion(ctx, assertion)
    if doc is None:
        code_el = ctx.root.find(_CODE)
        tids = [t.get("root", "") for t in ctx.root.findall(f"{{{HL7_NS}}}templateId")]
        ctx.report("CDA.DOCUMENT_TYPE_UNKNOWN", code_el if code_el is not None else ctx.root,
                   actual=(code_el.get("code") if code_el is not None else None) or "-",
                   detail=", ".join(tids) or "-")
        return "ran (header only: document type not recognised)"
    _check_title(ctx, doc)
    for assertion in _fingerprint(ctx, f"doc:{doc.code}", doc.header).suspects(ctx.root):
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


class _TemplateIndex:
    """Per-template lookups, built once per process: section by code/display, entry by key,
    accepted xsi:types per entry."""

    def __init__(self, doc: DocumentTemplate, compatible: dict[str, list[str]]) -> None:
        self.by_code: dict[str, int] = {}
        self.by_display: dict[str, int] = {}
        for i, spec in enumerate(doc.sections):
            if spec.match == "code" and spec.code:
                self.by_code.setdefault(spec.code, i)
            else:
                for k in (spec.display, spec.key):
                    if k:
                        self.by_display.setdefault(k, i)
        self.entries = [{e.key: e for e in spec.entries} for spec in doc.sections]
        self.accepted = [
            {e.key: frozenset({e.value_type, *compatible.get(e.value_type, [])})
             for e in spec.entries if e.value_type}
            for spec in doc.sections]


def _index(ctx: DocContext, doc: DocumentTemplate) -> _TemplateIndex:
    cache = ctx.catalog.__dict__.setdefault("_template_index", {})
    idx = cache.get(doc.code)
    if idx is None:
        idx = cache[doc.code] = _TemplateIndex(
            doc, ctx.catalog.datatypes.get("compatible_types") or {})
    return idx


def _check_sections(ctx: DocContext, doc: DocumentTemplate) -> None:
    p = ctx.family_prefix
    idx = _index(ctx, doc)
    allowed_cs = ctx.catalog.__dict__.get("_section_cs")
    if allowed_cs is None:
        allowed_cs = ctx.catalog.__dict__["_section_cs"] = frozenset(
            c["oid"] for c in ctx.catalog.conventions.get("section_code_systems") or [])
    found: list[list[etree._Element]] = [[] for _ in doc.sections]
    spec_of: dict[etree._Element, int] = {}
    for sec in ctx.sections():
        code, cs, display, title = _section_key(sec)
        i = idx.by_code.get(code.strip()) if code is not None else (
            idx.by_display.get((display or "").strip()) if display else idx.by_display.get(title))
        if i is None and code is None and display:
            i = idx.by_display.get(title)
        if i is None:
            # a section that is unknown for this template is advisory only
            ctx.report(f"{p}.SECTION.UNKNOWN", sec, actual=code or display or title or "?",
                       status="observed", snippet=False)
        else:
            found[i].append(sec)
            spec_of[sec] = i
        if code and cs and allowed_cs and cs not in allowed_cs:
            spec_cs = doc.sections[i].code_system if i is not None else None
            ctx.report(f"{p}.SECTION.CODE_SYSTEM", sec.find(_CODE), attr="codeSystem",
                       expected=spec_cs or " | ".join(sorted(allowed_cs)), actual=cs,
                       detail=code, sources=("notes-1.4",))
    # one pass over the statements: count per (section spec, entry) and check value types
    counts: dict[tuple[int, str], list] = {}
    for st in ctx.statements():
        i = spec_of.get(st.section)
        if i is None:
            continue
        entry = idx.entries[i].get(st.key)
        if entry is None:
            continue
        counts.setdefault((i, st.key), []).append(st)
        accepted = idx.accepted[i].get(st.key)
        if accepted is not None and st.value_el is not None:
            xt = st.value_el.get(XSI_TYPE)
            if xt is not None and xt.rpartition(":")[2] not in accepted:
                ctx.report(f"{p}.ENTRY.VALUE_TYPE", st.value_el, attr=XSI_TYPE_ATTR,
                           name=f"{entry.name} {entry.key}", expected=entry.value_type,
                           actual=xt.rpartition(":")[2], status=entry.status,
                           sources=_sources(entry.status))
    for i, spec in enumerate(doc.sections):
        secs = found[i]
        lo, hi = spec.card
        label = f"{spec.name} {spec.code or spec.display or ''}".strip()
        if len(secs) < lo:
            ctx.report(f"{p}.SECTION.MISSING", _body(ctx), name=spec.name,
                       expected=spec.code or spec.display, status=spec.status, snippet=False,
                       sources=_sources(spec.status))
        elif not secs:
            ctx.report(f"{p}.SECTION.NOT_PRESENT", _body(ctx), name=spec.name,
                       expected=spec.code or spec.display, status=spec.status, snippet=False,
                       sources=_sources(spec.status))
        if hi is not None and len(secs) > hi:
            ctx.report(f"{p}.SECTION.TOO_MANY", secs[hi], name=label, expected=hi,
                       actual=len(secs), status=spec.status, sources=_sources(spec.status),
                       snippet=False)
        if not secs:
            continue
        for entry in spec.entries:
            elo, ehi = entry.card
            if elo == 0 and ehi is None:
                continue
            stmts = counts.get((i, entry.key), ())
            if len(stmts) < elo:
                ctx.report(f"{p}.ENTRY.MISSING", secs[0], name=f"{entry.name} {entry.key}",
                           expected=entry.key, detail=label, status=entry.status,
                           sources=_sources(entry.status), snippet=False)
            if ehi is not None and len(stmts) > ehi:
                ctx.report(f"{p}.ENTRY.TOO_MANY", stmts[ehi].code_el.getparent(),
                           name=f"{entry.name} {entry.key}", expected=ehi, actual=len(stmts),
                           status=entry.status, sources=_sources(entry.status), snippet=False)


XSI_TYPE_ATTR = "xsi:type"


def _body(ctx: DocContext) -> etree._Element:
    body = ctx.root.find(f"{{{HL7_NS}}}component/{{{HL7_NS}}}structuredBody")
    return body if body is not None else ctx.root


def _sources(status: str) -> tuple[str, ...]:
    return {"observed": ("samples-wyf508",), "strict-xsd": ("strict-xsd",),
            "provisional": ("notes-2",)}.get(status, ())
