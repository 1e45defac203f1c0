"""Datatype layer: TS with a real calendar check, resident ID numbers (GB 11643), II roots,
PQ / MO / INT / REAL / BL values, empty values and placeholders."""

from __future__ import annotations

import calendar
import re

from lxml import etree

from ..catalog import HL7_NS
from .context import XSI_TYPE, DocContext

_TS_RE = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,4})?([+-]\d{4})?$")
_NUM_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INT_RE = re.compile(r"^[+-]?\d+$")
_ID18_RE = re.compile(r"^\d{17}[\dXx]$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def gb11643_check_char(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def ts_problem(value: str) -> tuple[str, str] | None:
    """Return (rule, detail) when a TS literal is malformed or not a real date/time."""
    m = _TS_RE.match(value)
    if not m:
        return "DT.TS_FORMAT", ""
    y = int(m.group(1))
    parts = [int(g) if g else None for g in m.groups()[1:6]]
    mo, d, hh, mi, ss = parts
    if mo is not None and not 1 <= mo <= 12:
        return "DT.TS_INVALID_DATE", f"month {mo:02d}"
    if d is not None and mo is not None and not 1 <= d <= calendar.monthrange(y, mo)[1]:
        return "DT.TS_INVALID_DATE", f"day {d:02d}"
    if hh is not None and hh > 23:
        return "DT.TS_INVALID_DATE", f"hour {hh:02d}"
    if mi is not None and mi > 59:
        return "DT.TS_INVALID_DATE", f"minute {mi:02d}"
    if ss is not None and ss > 59:
        return "DT.TS_INVALID_DATE", f"second {ss:02d}"
    return None


def _compiled(ctx: DocContext) -> dict:
    c = ctx.catalog.__dict__.get("_dt_compiled")
    if c is None:
        dt = ctx.catalog.datatypes
        ts = dt["ts"]
        q = dt.get("quantity") or {}
        c = {
            "ts_el": {f"{{{HL7_NS}}}{n}" for n in ts["elements"]},
            "ts_types": set(ts.get("xsi_types") or []),
            "parts": {f"{{{HL7_NS}}}{n}" for n in ts.get("interval_parts") or []},
            "ivl_types": set(ts.get("interval_types") or []),
            "digits": set(ts.get("expected_digits") or []),
            "quantity": q,
            "ii_el": {f"{{{HL7_NS}}}{n}" for n in dt["ii"]["element_names"]},
            "ii_re": re.compile(dt["ii"]["root_pattern"]),
            "empty": tuple(dt.get("empty_checked_attributes") or ()),
            "rid": dt.get("resident_id") or {},
            "rid_roots": {oid for oid, i in ctx.catalog.identifiers.items()
                          if i.get("format") == (dt.get("resident_id") or {}).get("format")},
            "name_tag": f"{{{HL7_NS}}}name",
            "telecom_tag": f"{{{HL7_NS}}}telecom",
        }
        ctx.catalog.__dict__["_dt_compiled"] = c
    return c


def run(ctx: DocContext) -> str:
    c = _compiled(ctx)
    ts_el, ts_types, parts, ivl_types = c["ts_el"], c["ts_types"], c["parts"], c["ivl_types"]
    quantity, ii_el, ii_re, empty = c["quantity"], c["ii_el"], c["ii_re"], c["empty"]
    exact = ctx.catalog.placeholders_exact
    patterns = ctx.catalog.placeholder_patterns
    for el in ctx.root.iter(etree.Element):
        attrib = el.attrib
        if not attrib:
            if el.tag == c["name_tag"] and el.text:
                _placeholder(ctx, el, None, el.text, exact, patterns, "text")
            continue
        for a in empty:
            v = attrib.get(a)
            if v is not None and not v.strip():
                ctx.report("DT.EMPTY_VALUE", el, attr=a)
        xt = attrib.get(XSI_TYPE)
        if xt is not None:
            xt = xt.split(":", 1)[-1]
        tag = el.tag
        value = attrib.get("value")
        if value and value.strip():
            is_ts = tag in ts_el or xt in ts_types
            if not is_ts and tag in parts:
                parent = el.getparent()
                ptype = parent.get(XSI_TYPE, "").split(":", 1)[-1] if parent is not None else ""
                is_ts = ptype in ivl_types or (parent is not None and parent.tag in ts_el
                                               and not ptype)
            if is_ts:
                _check_ts(ctx, el, value.strip(), c["digits"])
            elif xt in quantity:
                _check_quantity(ctx, el, xt, quantity[xt])
        if tag in ii_el:
            root = attrib.get("root")
            if root and root.strip() and not ii_re.match(root.strip()):
                ctx.report("DT.II_ROOT_FORMAT", el, attr="root", actual=root)
            ext = attrib.get("extension")
            if ext and ext.strip():
                _placeholder(ctx, el, "extension", ext, exact, patterns, "id")
                if root in c["rid_roots"]:
                    _check_resident_id(ctx, el, ext.strip(), c["rid"])
        if xt == "ST" and el.text:
            _placeholder(ctx, el, None, el.text, exact, patterns, "text")
        elif tag == c["telecom_tag"] and value:
            _placeholder(ctx, el, "value", value, exact, patterns, "telecom")
    return "ran"


def _check_ts(ctx: DocContext, el: etree._Element, value: str, digits: set[int]) -> None:
    problem = ts_problem(value)
    if problem:
        rule, detail = problem
        ctx.report(rule, el, attr="value", actual=value, detail=detail)
        return
    n = len(value.split(".", 1)[0].split("+", 1)[0].split("-", 1)[0])
    if digits and n not in digits:
        ctx.report("DT.TS_PRECISION", el, attr="value", actual=value, detail=n)


def _check_quantity(ctx: DocContext, el: etree._Element, xt: str, spec: dict) -> None:
    for a in spec.get("numeric", []):
        v = el.get(a)
        if v is not None and v.strip() and not _NUM_RE.match(v.strip()):
            ctx.report("DT.NUMBER", el, attr=a, actual=v, detail=xt)
    for a in spec.get("integer", []):
        v = el.get(a)
        if v is not None and v.strip() and not _INT_RE.match(v.strip()):
            ctx.report("DT.INTEGER", el, attr=a, actual=v, detail=xt)
    for a in spec.get("boolean", []):
        v = el.get(a)
        if v is not None and v.strip() not in ("true", "false"):
            ctx.report("DT.BOOLEAN", el, attr=a, actual=v, detail=xt)
    for a in spec.get("recommended", []):
        if el.get("nullFlavor") is None and not (el.get(a) or "").strip():
            ctx.report("DT.UNIT_MISSING", el, attr=a, detail=xt)


def _check_resident_id(ctx: DocContext, el: etree._Element, value: str, spec: dict) -> None:
    src = tuple(spec.get("source") or ())
    if not _ID18_RE.match(value):
        ctx.report("DT.ID_NUMBER_FORMAT", el, attr="extension", actual=value, sources=src)
        return
    want = gb11643_check_char(value[:17])
    if value[17].upper() != want:
        ctx.report("DT.ID_NUMBER_CHECK_DIGIT", el, attr="extension", actual=value,
                   expected=value[:17] + want, sources=src)
    birth = value[6:14]
    if ts_problem(birth):
        ctx.report("DT.ID_NUMBER_INVALID_BIRTH", el, attr="extension", actual=birth,
                   sources=src)
    parent = el.getparent()
    if parent is None:
        return
    bt = parent.find(f"{{{HL7_NS}}}{spec.get('birth_sibling', 'birthTime')}")
    if bt is not None:
        bv = (bt.get("value") or "").strip()
        if len(bv) >= 8 and bv[:8].isdigit() and bv[:8] != birth:
            ctx.report("DT.ID_NUMBER_BIRTH_MISMATCH", el, attr="extension", actual=birth,
                       expected=bv[:8], sources=src)
    gc = parent.find(f"{{{HL7_NS}}}{spec.get('gender_sibling', 'administrativeGenderCode')}")
    codes = spec.get("gender_codes") or {}
    if gc is not None and codes:
        code = (gc.get("code") or "").strip()
        implied = codes["odd"] if int(value[16]) % 2 else codes["even"]
        if code in (codes["odd"], codes["even"]) and code != implied:
            vs = ctx.catalog.value_sets.get((gc.get("codeSystem") or "").strip())
            meaning = vs.codes.get(implied) if vs else None
            ctx.report("DT.ID_NUMBER_GENDER_MISMATCH", el, attr="extension", actual=code,
                       expected=f"{implied} {meaning}" if meaning else implied, sources=src)


def _placeholder(ctx: DocContext, el: etree._Element, attr: str | None, value: str,
                 exact: frozenset[str], patterns: dict[str, list], where: str) -> None:
    v = value.strip()
    if not v:
        return
    if v in exact or any(p.search(v) for k in ("any", where) for p in patterns.get(k, ())):
        ctx.report("DT.PLACEHOLDER", el, attr=attr, actual=v, sources=("observed-practice",))
