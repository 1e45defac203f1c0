"""Vocabulary layer: data-element identifiers, code membership in value sets, display names and
value-set bindings of data elements."""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from ..catalog import ValueSet
from ..xmlsafe import LARGE_DOCUMENT
from .context import DocContext

_NORM_TABLE = str.maketrans({"（": "(", "）": ")", "　": "", " ": "", "\t": ""})


def _norm(s: str) -> str:
    return s.translate(_NORM_TABLE).strip().casefold()


def allowed_codes_text(vs: ValueSet, limit: int = 20) -> str:
    """'1 男性, 2 女性, …' — the allowed codes of a value set, for messages."""
    allowed = ", ".join(f"{k} {v}" for k, v in list(vs.codes.items())[:limit])
    return allowed + " …" if len(vs.codes) > limit else allowed


def code_problem(vs: ValueSet, code: str, display: str | None = None
                 ) -> tuple[str, dict[str, Any]] | None:
    """Membership of one code in a value set (and its display name), as a pure function shared
    by the CDA vocabulary layer and the data-set checks. Returns None when the code is fine or
    cannot be judged (value set not enumerated), else (rule id, finding fields)."""
    if not vs.codes:
        return None
    name = vs.codes.get(code)
    src = tuple(vs.raw.get("source") or ())
    if name is None and vs.complete:
        return "VOCAB.CODE_NOT_IN_VALUE_SET", {
            "actual": code, "expected": allowed_codes_text(vs),
            "detail": f"{vs.name} ({vs.oid})", "status": vs.status, "sources": src}
    if name is not None and display and _norm(display) != _norm(name):
        return "VOCAB.DISPLAY_NAME_MISMATCH", {
            "actual": display, "expected": name,
            "detail": f"{code} @ {vs.name}", "status": vs.status, "sources": src}
    return None


def _compiled(ctx: DocContext) -> dict:
    c = ctx.catalog.compiled.vocabulary
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
        c["skip"] = c["items"] | {c["doc_cs"]}
        ctx.catalog.compiled.vocabulary = c
    return c


_CODED = etree.XPath("//@codeSystem/..")  # attribute axis: ~2x faster than a predicate...
_CODED_LARGE = etree.XPath("//*[@codeSystem]")  # ...but quadratic on large documents
_CACHE_LIMIT = 65_536  # coded values repeat across documents; bounded all the same


def _verdicts(ctx: DocContext, cs: str, code: str | None, dn: str | None,
              null: bool) -> tuple[tuple[str, dict], ...]:
    """Findings for one coded value: a pure function of its attributes (run() memoizes it per
    process: documents repeat the same codes over and over)."""
    out: list[tuple[str, dict]] = []
    cat = ctx.catalog
    c = _compiled(ctx)
    if code is None:
        if not null and cs:
            out.append(("VOCAB.CODE_MISSING", {"detail": cs}))
    elif cs == c["de_cs"] or (cs in c["typos"] and c["de_like"].search(code)) \
            or c["de_re"].match(code):
        # a data-element identifier (DEaa.bb.ccc.dd) belongs to the data-element catalog
        # whatever other system is named: a known typo of it or any other is the same error
        if cs != c["de_cs"]:
            out.append(("VOCAB.DE_CODE_SYSTEM", {
                "attr": "codeSystem", "expected": c["de_cs"], "actual": cs, "detail": code,
                "sources": ("notes-6.6",) if cs in c["typos"] else ("notes-1.4", "notes-3.1")}))
        if not c["de_re"].match(code):
            out.append(("VOCAB.DE_MALFORMED", {"attr": "code", "actual": code,
                                               "sources": ("notes-1.4",)}))
        elif code not in cat.data_elements:
            out.append(("VOCAB.DE_UNKNOWN", {"attr": "code", "actual": code, "snippet": False}))
    elif cs and cs not in c["skip"]:
        vs = cat.value_sets.get(cs)
        if vs is None:
            out.append(("VOCAB.CODE_SYSTEM_UNKNOWN", {"attr": "codeSystem", "actual": cs,
                                                      "snippet": False, "once": True}))
        else:
            problem = code_problem(vs, code, dn)
            if problem is not None:
                rule, kw = problem
                out.append((rule, {"attr": "code" if rule == "VOCAB.CODE_NOT_IN_VALUE_SET"
                                   else "displayName", **kw}))
    return tuple(out)


def run(ctx: DocContext) -> str:
    reported_once: set[str] = set()
    cache = ctx.catalog.compiled.vocabulary_verdicts
    de_cs = _compiled(ctx)["de_cs"]
    for el in (_CODED_LARGE if len(ctx.data) > LARGE_DOCUMENT else _CODED)(ctx.root):
        cs = el.get("codeSystem")
        code = el.get("code")
        # a data-element code's display name is not judged: read it only for coded values
        dn = None if cs == de_cs else el.get("displayName")
        # nullFlavor only matters when there is no code: read it only then
        key = (cs, code, dn, code is None and el.get("nullFlavor") is not None)
        verdicts = cache.get(key)
        if verdicts is None:
            verdicts = _verdicts(ctx, cs.strip(), code.strip() if code is not None else None,
                                 dn, key[3])
            if len(cache) >= _CACHE_LIMIT:  # flat memory: start over once full
                cache.clear()
            cache[key] = verdicts
        if not verdicts:
            continue
        for rule, kw in verdicts:
            if kw.get("once"):
                if kw["actual"] in reported_once:
                    continue
                reported_once.add(kw["actual"])
                kw = {k: v for k, v in kw.items() if k != "once"}
            ctx.report(rule, el, **kw)
    _check_bindings(ctx)
    return "ran"


def _bindings(ctx: DocContext) -> dict[str, tuple[frozenset[str], str]]:
    """data element → (allowed code systems, status). A template may bind one data element to
    different value sets in different places (西医/中医 diagnoses); any of them is accepted."""
    tcache = ctx.catalog.compiled.bindings
    tkey = ctx.template.code if ctx.template is not None else None
    cached = tcache.get(tkey)
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
    frozen = {k: (frozenset(v[0]), v[1]) for k, v in out.items()}
    tcache[tkey] = frozen
    return frozen


def _matches(vcs: str, bound: str) -> bool:
    return vcs == bound or vcs.startswith(bound + ".") or bound.startswith(vcs + ".")


def _check_bindings(ctx: DocContext) -> None:
    bindings = _bindings(ctx)
    ok_cache = ctx.catalog.compiled.binding_ok
    for st in ctx.statements():
        v = st.value_el
        if v is None:
            continue
        b = bindings.get(st.key)
        if b is None:
            continue
        vcs = v.get("codeSystem")
        if not vcs:
            continue
        vcs = vcs.strip()
        if not vcs:
            continue
        allowed, status = b
        ok = ok_cache.get((vcs, allowed))
        if ok is None:
            ok = any(_matches(vcs, bound) for bound in allowed)
            if len(ok_cache) >= _CACHE_LIMIT:
                ok_cache.clear()
            ok_cache[vcs, allowed] = ok
        if ok:
            continue
        name = ctx.catalog.data_elements.get(st.key, {}).get("name", "")
        ctx.report("VOCAB.VALUE_SET_MISMATCH", v, attr="codeSystem",
                   expected=" | ".join(sorted(allowed)), actual=vcs,
                   detail=f"{st.key} {name}".strip(), status=status,
                   sources=("notes-6.6",) if status != "seen" else ())


def precompile(ctx: DocContext) -> None:
    """Compile the conventions and every template's bindings now (see template.precompile)."""
    _compiled(ctx)
    saved = ctx.template
    try:
        for doc in [None, *ctx.catalog.documents.values()]:
            ctx.template = doc
            _bindings(ctx)
    finally:
        ctx.template = saved

