"""Datatype layer: TS with a real calendar check, resident ID numbers (GB 11643), II roots,
PQ / MO / INT / REAL / BL values, empty values and placeholders."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from lxml import etree

from ..catalog import HL7_NS
from ..gb11643 import check_char as gb11643_check_char
from ..i18n import t
from ..xmlsafe import LARGE_DOCUMENT
from .context import XSI_TYPE, DocContext

_TS_RE = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,4})?([+-]\d{4})?$")
_NUM_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INT_RE = re.compile(r"^[+-]?\d+$")
_ID18_RE = re.compile(r"^\d{17}[\dXx]$")


_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@lru_cache(maxsize=16384)
def ts_problem(value: str) -> tuple[str, str] | None:
    """Return (rule, detail) when a TS literal is malformed or not a real date/time."""
    n = len(value)
    if n in (8, 14, 12, 10, 6, 4) and value.isascii() and value.isdigit():
        # the usual forms (yyyyMMdd, yyyyMMddHHmmss, ...): sliced, no regex
        y = int(value[:4])
        mo = int(value[4:6]) if n >= 6 else None
        d = int(value[6:8]) if n >= 8 else None
        hh = int(value[8:10]) if n >= 10 else None
        mi = int(value[10:12]) if n >= 12 else None
        ss = int(value[12:14]) if n >= 14 else None
    else:
        m = _TS_RE.match(value)
        if not m:
            return "DT.TS_FORMAT", ""
        y = int(m.group(1))
        mo, d, hh, mi, ss = (int(g) if g else None for g in m.groups()[1:6])
    if mo is not None and not 1 <= mo <= 12:
        return "DT.TS_INVALID_DATE", f"month {mo:02d}"
    if d is not None and mo is not None:
        leap = mo == 2 and y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
        if not 1 <= d <= _DAYS_IN_MONTH[mo - 1] + leap:
            return "DT.TS_INVALID_DATE", f"day {d:02d}"
    if hh is not None and hh > 23:
        return "DT.TS_INVALID_DATE", f"hour {hh:02d}"
    if mi is not None and mi > 59:
        return "DT.TS_INVALID_DATE", f"minute {mi:02d}"
    if ss is not None and ss > 59:
        return "DT.TS_INVALID_DATE", f"second {ss:02d}"
    return None


_TS_PARTS = frozenset({"month", "day", "hour", "minute", "second"})


def ts_detail(detail: str, lang: str) -> str:
    """ts_problem's detail ("month 13") as the output's language says it."""
    part, _, number = detail.partition(" ")
    if lang != "zh" or part not in _TS_PARTS:
        return detail
    return t(f"validate.ts.{part}", lang, n=number)


def ts_text(value: str, problem: tuple[str, str] | None, lang: str) -> str:
    """A time value with what is wrong with its calendar, for messages (never a tuple)."""
    if problem is None or not problem[1]:
        return value
    said = ts_detail(problem[1], lang)
    return value + t("paren", lang, text=said)


_EMPTY_DQ = re.compile(rb'=""')  # sre's literal search beats `in` here (~40% on CDA text)


def _maybe_empty_attribute(data: bytes) -> bool:
    # the forms serializers write; a whitespace-only value still fails the specific checks.
    # (single quotes are rare: a one-byte test spares the second scan)
    return _EMPTY_DQ.search(data) is not None or (b"'" in data and b"=''" in data)


MEMO_LIMIT = 16_384


class _Memo(dict):
    """A small per-process verdict cache (pure functions of attribute values). Values that
    repeat across documents (roots, units, organisation ids) stay cached; when unique values
    (document ids, times) have filled it, it starts over, so memory stays flat however long
    the batch."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        super().__init__()
        self.fn = fn

    def __missing__(self, key: Any) -> Any:
        value = self.fn(key)
        if len(self) >= MEMO_LIMIT:
            self.clear()
        self[key] = value
        return value


def _compiled(ctx: DocContext) -> dict:
    c = ctx.catalog.compiled.datatype
    if c is None:
        cat = ctx.catalog
        dt = cat.datatypes
        ts = dt["ts"]
        h = f"{{{HL7_NS}}}"
        empty = dt.get("empty_checked_attributes") or []
        typed = {h + k: v for k, v in (dt.get("typed_elements") or {}).items()}
        quantity = dt.get("quantity") or {}
        ii_re = re.compile(dt["ii"]["root_pattern"])
        digits = frozenset(ts.get("expected_digits") or [])
        pats = cat.placeholder_patterns
        exact = cat.placeholders_exact

        # per place, the bound search methods of the patterns that apply there (plain loop)
        searches = {where: tuple(p.search for p in [*pats.get("any", ()), *pats.get(where, ())])
                    for where in {"any", "id", "text", "telecom", *pats}}

        def placeholder(key: tuple[str, str]) -> bool:
            where, v = key
            if v in exact:
                return True
            for search in searches.get(where) or searches["any"]:  # noqa: SIM110 (no generator)
                if search(v):
                    return True
            return False

        c = {
            "empty": etree.XPath(" | ".join(f"//@{a}/.." for a in empty)),
            "empty_large": etree.XPath("//*[" + " or ".join(f"@{a}" for a in empty) + "]"),
            "empty_names": tuple(empty),
            "ts_el": frozenset(h + n for n in ts["elements"]),
            "ts_types": frozenset(ts.get("xsi_types") or []),
            "parts": frozenset(h + n for n in ts.get("interval_parts") or []),
            "ivl_types": frozenset(ts.get("interval_types") or []),
            "quantity": {xt: tuple((a, kind) for kind in ("numeric", "integer", "boolean",
                                                          "recommended")
                                   for a in spec.get(kind) or [])
                         for xt, spec in quantity.items()},
            "typed": typed,
            "ii_el": frozenset(h + n for n in dt["ii"]["element_names"]),
            "ii_ok": _Memo(lambda r: ii_re.match(r.strip()) is not None),
            "ts_verdict": _Memo(lambda v: _ts_verdict(v, digits)),
            "number_ok": _Memo(lambda v: _NUM_RE.match(v) is not None),
            "integer_ok": _Memo(lambda v: _INT_RE.match(v) is not None),
            "placeholder": _Memo(placeholder),
            "rid": dt.get("resident_id") or {},
            "rid_roots": {oid for oid, i in cat.identifiers.items()
                          if i.get("format") == (dt.get("resident_id") or {}).get("format")},
            "name": h + "name",
            "telecom": h + "telecom",
            "value": h + "value",
        }
        c["tags"] = tuple(c["ts_el"] | c["parts"] | c["ii_el"] | set(typed)
                          | {c["name"], c["telecom"], c["value"]})
        ctx.catalog.compiled.datatype = c
    return c


def _ts_verdict(value: str, digits: frozenset[int]) -> tuple[str, str] | None:
    problem = ts_problem.__wrapped__(value)  # the caller's memo caches; skip the lru layer
    if problem:
        return problem
    n = len(value.split(".", 1)[0].split("+", 1)[0].split("-", 1)[0])
    if digits and n not in digits:
        return "DT.TS_PRECISION", str(n)
    return None


def run(ctx: DocContext) -> str:
    """One C-filtered pass over the elements that carry typed values; verdicts on attribute
    values are memoized per process (documents repeat the same roots, codes and units)."""
    c = _compiled(ctx)
    root = ctx.root
    if _maybe_empty_attribute(ctx.data):  # cheap byte scan first: empty attributes are rare
        for el in c["empty_large" if len(ctx.data) > LARGE_DOCUMENT else "empty"](root):
            for a in c["empty_names"]:
                v = el.get(a)
                if v is not None and not v.strip():
                    ctx.report("DT.EMPTY_VALUE", el, attr=a)
    ts_el, ts_types, parts, ivl = c["ts_el"], c["ts_types"], c["parts"], c["ivl_types"]
    ii_el, quantity, typed = c["ii_el"], c["quantity"], c["typed"]
    name_tag, tel_tag, value_tag = c["name"], c["telecom"], c["value"]
    ii_ok, placeholder, rid_roots = c["ii_ok"], c["placeholder"], c["rid_roots"]
    for el in root.iter(*c["tags"]):
        tag = el.tag
        if tag in ii_el:
            r = el.get("root")
            if r and not ii_ok[r]:
                ctx.report("DT.II_ROOT_FORMAT", el, attr="root", actual=r)
            ext = el.get("extension")
            if ext:
                e = ext.strip()
                if e:
                    if placeholder["id", e]:
                        ctx.report("DT.PLACEHOLDER", el, attr="extension", actual=e,
                                   sources=("observed-practice",))
                    if r in rid_roots:
                        _check_resident_id(ctx, el, e, c["rid"])
            continue
        if tag == name_tag:
            if el.text and not len(el):
                _placeholder(ctx, el, None, el.text, "text", placeholder)
            continue
        if tag == tel_tag:
            v = el.get("value")
            if v:
                _placeholder(ctx, el, "value", v, "telecom", placeholder)
            continue
        xt = el.get(XSI_TYPE)
        if xt is not None:
            xt = xt.rpartition(":")[2]
        elif tag in typed:
            xt = typed[tag]
        if tag == value_tag or tag in typed:
            if xt in ts_types:
                _check_ts(ctx, el, c)
            elif xt in quantity:
                _check_quantity(ctx, el, xt, quantity[xt], c)
            elif xt == "ST":
                text = el.text
                if text:
                    _placeholder(ctx, el, None, text, "text", placeholder)
            continue
        if tag in ts_el:
            if xt is None or xt in ts_types:
                _check_ts(ctx, el, c)
            continue
        if tag in parts:
            parent = el.getparent()
            ptype = (parent.get(XSI_TYPE) or "").rpartition(":")[2] if parent is not None else ""
            if ptype in ivl or (not ptype and parent is not None and parent.tag in ts_el):
                _check_ts(ctx, el, c)
            elif ptype.startswith("IVL_") and ptype[4:] in quantity:
                _check_quantity(ctx, el, ptype[4:], quantity[ptype[4:]], c)
    return "ran"


def _check_ts(ctx: DocContext, el: etree._Element, c: dict) -> None:
    value = el.get("value")
    if value is None:
        return
    value = value.strip()
    if value:
        verdict = c["ts_verdict"][value]
        if verdict:
            ctx.report(verdict[0], el, attr="value", actual=value,
                       detail=ts_detail(verdict[1], ctx.lang))


def _check_quantity(ctx: DocContext, el: etree._Element, xt: str,
                    checks: tuple[tuple[str, str], ...], c: dict) -> None:
    for a, kind in checks:
        v = el.get(a)
        if kind == "recommended":
            if (v is None or not v.strip()) and el.get("nullFlavor") is None:
                ctx.report("DT.UNIT_MISSING", el, attr=a, detail=xt)
            continue
        if v is None:
            continue
        if kind == "boolean":
            if v.strip() not in ("true", "false"):
                ctx.report("DT.BOOLEAN", el, attr=a, actual=v, detail=xt)
            continue
        s = v.strip()
        if not s:
            continue
        if kind == "numeric" and not c["number_ok"][s]:
            ctx.report("DT.NUMBER", el, attr=a, actual=v, detail=xt)
        elif kind == "integer" and not c["integer_ok"][s]:
            ctx.report("DT.INTEGER", el, attr=a, actual=v, detail=xt)


def resident_id_problems(value: str, birth: str | None = None, gender: str | None = None,
                         gender_codes: dict[str, str] | None = None
                         ) -> list[tuple[str, str, str | None]]:
    """GB 11643 checks of one resident ID number, as (rule, actual, expected) triples.

    Pure function shared by the CDA datatype layer and the data-set checks: format, check
    character, birth-date code, and (when given) agreement with a birth date and a gender code
    (``gender_codes`` = {"odd": male code, "even": female code}).
    """
    if not _ID18_RE.match(value):
        return [("DT.ID_NUMBER_FORMAT", value, None)]
    out: list[tuple[str, str, str | None]] = []
    want = gb11643_check_char(value[:17])
    if value[17].upper() != want:
        out.append(("DT.ID_NUMBER_CHECK_DIGIT", value, value[:17] + want))
    code_birth = value[6:14]
    if ts_problem(code_birth):
        out.append(("DT.ID_NUMBER_INVALID_BIRTH", code_birth, None))
    if birth is not None and len(birth) >= 8 and birth[:8].isdigit() and birth[:8] != code_birth:
        out.append(("DT.ID_NUMBER_BIRTH_MISMATCH", code_birth, birth[:8]))
    if gender is not None and gender_codes:
        implied = gender_codes["odd"] if int(value[16]) % 2 else gender_codes["even"]
        if gender in (gender_codes["odd"], gender_codes["even"]) and gender != implied:
            out.append(("DT.ID_NUMBER_GENDER_MISMATCH", gender, implied))
    return out


def _check_resident_id(ctx: DocContext, el: etree._Element, value: str, spec: dict) -> None:
    src = tuple(spec.get("source") or ())
    parent = el.getparent()
    birth = gender = None
    codes = spec.get("gender_codes") or {}
    gc = None
    if parent is not None:
        bt_tag = f"{{{HL7_NS}}}{spec.get('birth_sibling', 'birthTime')}"
        gc_tag = f"{{{HL7_NS}}}{spec.get('gender_sibling', 'administrativeGenderCode')}"
        bt = None
        for ch in parent:  # siblings: a child scan is cheaper than two find() calls
            t = ch.tag
            if t == bt_tag and bt is None:
                bt = ch
            elif t == gc_tag and gc is None:
                gc = ch
        if bt is not None:
            birth = (bt.get("value") or "").strip()
        if gc is not None and codes:
            gender = (gc.get("code") or "").strip()
    for rule, actual, expected in resident_id_problems(value, birth, gender, codes):
        if rule == "DT.ID_NUMBER_GENDER_MISMATCH" and gc is not None and expected is not None:
            vs = ctx.catalog.value_sets.get((gc.get("codeSystem") or "").strip())
            meaning = vs.codes.get(expected) if vs else None
            expected = f"{expected} {meaning}" if meaning else expected
        ctx.report(rule, el, attr="extension", actual=actual, expected=expected, sources=src)


def _placeholder(ctx: DocContext, el: etree._Element, attr: str | None, value: str,
                 where: str, memo: dict) -> None:
    v = value.strip()
    if v and memo[where, v]:
        ctx.report("DT.PLACEHOLDER", el, attr=attr, actual=v, sources=("observed-practice",))


def precompile(ctx: DocContext) -> None:
    """Compile the data-type conventions now (see template.precompile)."""
    _compiled(ctx)

