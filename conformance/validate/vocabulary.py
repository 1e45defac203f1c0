"""Vocabulary layer: data-element identifiers, code membership in value sets, display names and
value-set bindings of data elements."""

from __future__ import annotations

import re

from lxml import etree

from .context import DocContext

_NORM_TABLE = str.maketrans({"（": "(", "）": ")", "　": "", " ": "", "\t": ""})


def _norm(s: str) -> str:
    return s.translate(_NORM_TABLE).strip().casefold()


def _compiled(ctx: DocContext) -> dict:
    c = ctx.catalog.__dict__.get("_vocab_compiled")
    if c is None:
        conv = ctx.catalog.conventions
        de = conv["data_element"]
        c = {
            "de_cs": de["code_system"],
            "de_re": re.compile(de["pattern"]),
            "de_like": re.compile(de.get("looks_like", "^DE")),
            "typos": {t["oid"] for t in conv.get("data_element_code_system_typos") or []},
            "items": {t["oid"] for t in conv.get("item_code_systems") or []},
            "doc_cs": conv.get("document_code_system"),
        }
        ctx.catalog.__dict__["_vocab_compiled"] = c
    return c


def run(ctx: DocContext) -> str:
    cat = ctx.catalog
    c = _compiled(ctx)
    de_cs, de_re, de_like, typos = c["de_cs"], c["de_re"], c["de_like"], c["typos"]
    skip_cs = c["items"] | {c["doc_cs"]}
    unknown_reported: set[str] = set()
    for el in ctx.root.iter(etree.Element):
        cs = el.get("codeSystem")
        if cs is None:
            continue
        cs = cs.strip()
        code = el.get("code")
        if code is None:
            if el.get("nullFlavor") is None and cs:
                ctx.report("VOCAB.CODE_MISSING", el, detail=cs)
            continue
        code = code.strip()
        if cs == de_cs or (cs in typos and de_like.search(code)):
            if cs != de_cs:
                ctx.report("VOCAB.DE_CODE_SYSTEM", el, attr="codeSystem", expected=de_cs,
                           actual=cs, detail=code, sources=("notes-6.6",))
            if not de_re.match(code):
                ctx.report("VOCAB.DE_MALFORMED", el, attr="code", actual=code,
                           sources=("notes-1.4",))
            elif code not in cat.data_elements:
                ctx.report("VOCAB.DE_UNKNOWN", el, attr="code", actual=code, snippet=False)
            continue
        if cs in skip_cs or not cs:
            continue
        vs = cat.value_sets.get(cs)
        if vs is None:
            if cs not in unknown_reported:
                unknown_reported.add(cs)
                ctx.report("VOCAB.CODE_SYSTEM_UNKNOWN", el, attr="codeSystem", actual=cs,
                           snippet=False)
            continue
        if not vs.codes:
            continue
        name = vs.codes.get(code)
        src = tuple(vs.raw.get("source") or ())
        if name is None:
            if vs.complete:
                allowed = ", ".join(f"{k} {v}" for k, v in list(vs.codes.items())[:20])
                if len(vs.codes) > 20:
                    allowed += " …"
                ctx.report("VOCAB.CODE_NOT_IN_VALUE_SET", el, attr="code", actual=code,
                           expected=allowed, detail=f"{vs.name} ({vs.oid})", status=vs.status,
                           sources=src)
            continue
        dn = el.get("displayName")
        if dn and _norm(dn) != _norm(name):
            ctx.report("VOCAB.DISPLAY_NAME_MISMATCH", el, attr="displayName", actual=dn,
                       expected=name, detail=f"{code} @ {vs.name}", status=vs.status,
                       sources=src)
    _check_bindings(ctx)
    return "ran"


def _bindings(ctx: DocContext) -> dict[str, tuple[set[str], str]]:
    """data element → (allowed code systems, status). A template may bind one data element to
    different value sets in different places (西医/中医 diagnoses); any of them is accepted."""
    cached = ctx.cache.get("bindings")
    if cached is not None:
        return cached
    out: dict[str, tuple[set[str], str]] = {}
    for key, de in ctx.catalog.data_elements.items():
        if de.get("value_set"):
            out[key] = ({str(de["value_set"])}, str(de.get("status", "observed")))
    if ctx.template is not None:
        seen: set[str] = set()
        for sec in ctx.template.sections:
            for e in sec.entries:
                if e.value_set:
                    if e.key not in seen:
                        seen.add(e.key)
                        out[e.key] = (set(), e.status)
                    out[e.key][0].add(e.value_set)
    ctx.cache["bindings"] = out
    return out


def _matches(vcs: str, bound: str) -> bool:
    return vcs == bound or vcs.startswith(bound + ".") or bound.startswith(vcs + ".")


def _check_bindings(ctx: DocContext) -> None:
    bindings = _bindings(ctx)
    for st in ctx.statements():
        b = bindings.get(st.key)
        v = st.value_el
        if b is None or v is None:
            continue
        vcs = (v.get("codeSystem") or "").strip()
        if not vcs:
            continue
        allowed, status = b
        if any(_matches(vcs, bound) for bound in allowed):
            continue
        name = ctx.catalog.data_elements.get(st.key, {}).get("name", "")
        ctx.report("VOCAB.VALUE_SET_MISMATCH", v, attr="codeSystem",
                   expected=" | ".join(sorted(allowed)), actual=vcs,
                   detail=f"{st.key} {name}".strip(), status=status,
                   sources=("notes-6.6",) if status != "seen" else ())
