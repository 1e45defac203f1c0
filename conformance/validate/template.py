"""Template layer: document identity, header constraints, sections and entries, all from the
document type's template in standards/cda/."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from ..catalog import HL7_NS, Assertion, DocumentTemplate, path_steps
from ..i18n import t
from .context import XSI_TYPE, DocContext
from .status import ran

_CODE = f"{{{HL7_NS}}}code"
_TITLE = f"{{{HL7_NS}}}title"
_TEMPLATE_ID = f"{{{HL7_NS}}}templateId"


def _fmt_card(card: tuple[int, int | None]) -> str:
    return f"{card[0]}..{'*' if card[1] is None else card[1]}"


def identify(ctx: DocContext) -> DocumentTemplate | None:
    """Detect the document type from code and templateId; report disagreements. The code
    decides: a templateId naming another type is reported on the basis of the templateId, a code
    that names no type (the templateId does) on the basis of the code, and a code written in a
    recorded variant form identifies its type with a warning naming the primary code."""
    cat = ctx.catalog
    code_el = ctx.child(_CODE)
    code = (code_el.get("code") or "").strip() if code_el is not None else ""
    tids = [t.get("root", "").strip() for t in ctx.children(_TEMPLATE_ID)]
    by_code = cat.documents.get(code)
    variant = None
    if by_code is None and code in cat.variants:
        by_code, variant = cat.variants[code]
    by_tid = next((cat.by_template[t] for t in tids if t in cat.by_template), None)
    doc = by_code or by_tid
    if doc is not None:
        fam = cat.family_of(doc)
        ctx.family_prefix, ctx.family_standard, ctx.family_status = (
            fam.rule_prefix, fam.standard, fam.status)
    if by_code and tids and (by_tid is None or by_tid is not by_code):
        bad = ctx.child(_TEMPLATE_ID)
        ctx.template = by_code
        ctx.report(f"{ctx.family_prefix}.HEADER.TEMPLATE_CODE_MISMATCH", bad, attr="root",
                   expected=by_code.template_id, actual=", ".join(tids), detail=code,
                   status=by_code.template_id_status,
                   sources=by_code.identity_sources("template_id"), identity=True)
    elif by_tid and not by_code and code:
        ctx.template = by_tid
        ctx.report(f"{ctx.family_prefix}.HEADER.TEMPLATE_CODE_MISMATCH", code_el, attr="code",
                   expected=by_tid.code, actual=", ".join(tids), detail=code,
                   status=by_tid.status, sources=by_tid.identity_sources(), identity=True)
    if variant is not None and by_code is not None:
        ctx.template = by_code
        ctx.report("CDA.DOCUMENT_CODE_VARIANT", code_el, attr="code", expected=by_code.code,
                   actual=code, name=by_code.name, status=variant.status,
                   sources=variant.source, identity=True)
    return doc


class _Step:
    __slots__ = ("attr", "value", "slot", "by_tag")

    def __init__(self, attr: str | None, value: str | None) -> None:
        self.attr = attr
        self.value = value
        self.slot: int | None = None
        self.by_tag: dict[str, list[_Step]] = {}


class _HeaderPlan:
    """The paths of a list of header assertions folded into one tree of steps. Walking it visits
    each header element at most once (children of the matched elements only) and hands every
    assertion the elements its path selects, in document order — the same node-set its XPath
    selects, at a fraction of the cost of evaluating one XPath per assertion. A path this plan
    cannot express (a predicate other than [@a] or [@a='v']) falls back to its XPath."""

    def __init__(self, assertions: list[Assertion]) -> None:
        self.assertions = assertions
        self.top = _Step(None, None)
        self.slot_of: list[int | None] = []
        nodes: dict[tuple, _Step] = {}
        slots = 0
        for a in assertions:
            steps = path_steps(a.path)
            if steps is None:
                self.slot_of.append(None)
                continue
            node = self.top
            key: tuple = ()
            for tag, attr, value in steps:
                key = (*key, (tag, attr, value))
                child = nodes.get(key)
                if child is None:
                    child = nodes[key] = _Step(attr, value)
                    node.by_tag.setdefault(tag, []).append(child)
                node = child
            if node.slot is None:
                node.slot = slots
                slots += 1
            self.slot_of.append(node.slot)
        self.slots = slots
        self.all_planned = None not in self.slot_of
        self.checked = [a.card[0] > 0 or a.card[1] is not None or bool(a.attrs)
                        or bool(a.text_rule) for a in assertions]

    def select(self, ctx: DocContext) -> list[list[etree._Element]]:
        """Per assertion, the elements its path selects, in document order (breadth first:
        the elements of one step are reached from their parents in document order)."""
        found: list[list[etree._Element]] = [[] for _ in range(self.slots)]
        queue: list[tuple[etree._Element, _Step]] = []
        # the root's children come from the context's one scan of them
        head = ctx.head()
        level = [(ch, steps) for tag, steps in self.top.by_tag.items()
                 for ch in head.get(tag, ())]
        while level:
            for ch, steps in level:
                for step in steps:
                    attr = step.attr
                    if attr is not None:
                        v = ch.get(attr)
                        if v is None or (step.value is not None and v != step.value):
                            continue
                    if step.slot is not None:
                        found[step.slot].append(ch)
                    if step.by_tag:
                        queue.append((ch, step))
            level = []
            for el, step in queue:
                by_tag = step.by_tag
                for ch in el:
                    nxt = by_tag.get(ch.tag)
                    if nxt is not None:
                        level.append((ch, nxt))
            queue = []
        if self.all_planned:
            return [found[s] for s in self.slot_of]
        root = ctx.root
        return [found[s] if s is not None else a.xpath(root)
                for a, s in zip(self.assertions, self.slot_of, strict=True)]


def _plan(ctx: DocContext, key: str, assertions: Callable[[], list[Assertion]]) -> _HeaderPlan:
    cache = ctx.catalog.compiled.header_plans
    plan = cache.get(key)
    if plan is None:
        plan = cache[key] = _HeaderPlan(assertions())
    return plan


def run(ctx: DocContext) -> str:
    doc = ctx.template
    fam = ctx.catalog.family_of(doc)
    # one walk of the header serves the family's assertions and the document type's own
    key = f"family:{fam.id}" if doc is None else f"doc:{doc.code}"
    plan = _plan(ctx, key, lambda: fam.assertions + (doc.header if doc is not None else []))
    selected = plan.select(ctx)
    n_family = len(fam.assertions)
    checked, assertions = plan.checked, plan.assertions
    for i in range(n_family):
        if checked[i]:  # assertions that cannot fail (0..* without checks) are skipped
            _check_assertion(ctx, assertions[i], selected[i])
    if doc is None:
        code_el = ctx.child(_CODE)
        tids = [t.get("root", "") for t in ctx.children(_TEMPLATE_ID)]
        ctx.report("CDA.DOCUMENT_TYPE_UNKNOWN", code_el if code_el is not None else ctx.root,
                   actual=(code_el.get("code") if code_el is not None else None) or "-",
                   detail=", ".join(tids) or "-")
        return ran(ctx.lang, "header_only")
    _check_title(ctx, doc)
    for i in range(n_family, len(selected)):
        if checked[i]:
            _check_assertion(ctx, assertions[i], selected[i])
    _check_sections(ctx, doc)
    return "ran"


def _check_title(ctx: DocContext, doc: DocumentTemplate) -> None:
    title = ctx.child(_TITLE)
    if title is None:
        return
    text = "".join(title.itertext()).strip()
    if text and text != doc.name:
        ctx.report(f"{ctx.family_prefix}.HEADER.TITLE_MISMATCH", title, expected=doc.name,
                   actual=text, sources=("notes-1.1",))


def _check_assertion(ctx: DocContext, a: Assertion, nodes: list[etree._Element]) -> None:
    p = ctx.family_prefix
    lo, hi = a.card
    status, ident = a.status, False
    if a.identity is not None and ctx.template is not None:
        # the document's code / templateId: the basis is the template's identity, not the
        # family's header status (standards/README.md, status words)
        doc = ctx.template
        status = doc.template_id_status if a.identity == "template_id" else doc.status
        ident = True
    if len(nodes) < lo:
        anchor = _nearest_existing(ctx, a.path)
        ctx.report(f"{p}.{a.missing_rule}", anchor, name=a.name, path=a.path,
                   expected=_fmt_card(a.card), actual=len(nodes), status=status,
                   sources=a.source, snippet=False, identity=ident)
    if hi is not None and len(nodes) > hi:
        ctx.report(f"{p}.{a.too_many_rule}", nodes[hi], name=a.name, path=a.path,
                   expected=hi, actual=(nodes[hi].get("extension") if hi == 0 else len(nodes)),
                   status=status, sources=a.source, identity=ident)
    text_rule = a.text_rule
    checks = a.attrs
    if not nodes or (not text_rule and not checks):
        return
    for node in nodes:
        if text_rule and not "".join(node.itertext()).strip():
            ctx.report(f"{p}.{text_rule}", node, name=a.name, path=a.path,
                       status=status, sources=a.source, identity=ident)
        for chk in checks:
            value = node.get(chk.attr)
            if value is None:
                if chk.optional or node.get("nullFlavor") is not None:
                    continue
                if chk.nonempty or chk.equals is not None or chk.one_of or chk.pattern:
                    ctx.report(f"{p}.{chk.rule}", node, attr=chk.attr, name=a.name,
                               path=a.path, expected=chk.expected or chk.equals,
                               actual=t("validate.absent", ctx.lang),
                               status=status if ident else (chk.status or status),
                               sources=chk.source or a.source, identity=ident)
                continue
            v = value.strip()
            if (
                (chk.nonempty and not v)
                or (chk.equals is not None and v != chk.equals)
                or (chk.one_of is not None and v not in chk.one_of)
                or (chk.pattern is not None and v and not chk.pattern.search(v))
            ):
                expected = chk.expected or chk.equals or (
                    " | ".join(chk.one_of) if chk.one_of else None)
                ctx.report(f"{p}.{chk.rule}", node, attr=chk.attr, name=a.name, path=a.path,
                           expected=expected, actual=value if value else '""',
                           status=status if ident else (chk.status or status),
                           sources=chk.source or a.source, identity=ident)


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
    code_el = title = None
    for ch in sec:  # a child scan: find() costs more than the few children before <code>
        t = ch.tag
        if t == _CODE:
            code_el = ch
            break
        if t == _TITLE and title is None:
            title = ch
    if code_el is None:
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
        # entries whose cardinality can fail (not 0..*): the only ones worth counting
        self.card_entries = [[e for e in spec.entries if e.card != (0, None)]
                             for spec in doc.sections]
        self.counted = [frozenset(e.key for e in es) for es in self.card_entries]
        self.labels = [f"{spec.name} {spec.code or spec.display or ''}".strip()
                       for spec in doc.sections]
        self.accepted = [
            {e.key: frozenset({e.value_type, *compatible.get(e.value_type, [])})
             for e in spec.entries if e.value_type}
            for spec in doc.sections]


def _index(ctx: DocContext, doc: DocumentTemplate) -> _TemplateIndex:
    cache = ctx.catalog.compiled.template_index
    idx = cache.get(doc.code)
    if idx is None:
        idx = cache[doc.code] = _TemplateIndex(
            doc, ctx.catalog.datatypes.get("compatible_types") or {})
    return idx


def _check_sections(ctx: DocContext, doc: DocumentTemplate) -> None:
    p = ctx.family_prefix
    idx = _index(ctx, doc)
    allowed_cs = ctx.catalog.compiled.section_code_systems
    if allowed_cs is None:
        allowed_cs = ctx.catalog.compiled.section_code_systems = frozenset(
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
    entries, accepted_types, counted = idx.entries, idx.accepted, idx.counted
    for st in ctx.statements():
        i = spec_of.get(st.section)
        if i is None:
            continue
        key = st.key
        entry = entries[i].get(key)
        if entry is None:
            continue
        if key in counted[i]:
            counts.setdefault((i, key), []).append(st)
        accepted = accepted_types[i].get(key)
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
        label = idx.labels[i]
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
        for entry in idx.card_entries[i]:
            elo, ehi = entry.card
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
    body = next((b for c in ctx.children(f"{{{HL7_NS}}}component") for b in c
                 if b.tag == f"{{{HL7_NS}}}structuredBody"), None)
    return body if body is not None else ctx.root


def _sources(status: str) -> tuple[str, ...]:
    return {"observed": ("samples-wyf508",), "strict-xsd": ("strict-xsd",),
            "vendor-consensus": ("notes-2a",), "transcribed": ("ws445-transcription",),
            "provisional": ("notes-2",)}.get(status, ())


def precompile(ctx: DocContext) -> None:
    """Build every template's header plan and section index now (before --jobs forks, so the
    workers inherit them instead of each building its own)."""
    cat = ctx.catalog
    for doc in cat.documents.values():
        fam = cat.family_of(doc)
        _plan(ctx, f"doc:{doc.code}", lambda fam=fam, doc=doc: fam.assertions + doc.header)
        _index(ctx, doc)
    for fam in cat.families.values():
        _plan(ctx, f"family:{fam.id}", lambda fam=fam: fam.assertions)

