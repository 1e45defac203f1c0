"""Value checks of one data element: representation format, data type, allowed values.

Calendar validity (``ts_problem``), resident ID numbers (``resident_id_problems``) and value-set
membership (``code_problem``) are the CDA validator's own pure functions: one implementation of
each check serves documents and data sets alike.

A check returns ``(problems, norm)``: ``problems`` is a tuple of (rule, actual, expected, detail)
with ``actual`` None meaning "the value itself"; ``norm`` is the value made comparable (a
14-digit ``YYYYMMDDhhmmss`` string for dates and times, a float for numbers) or None.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..catalog import Catalog
from ..i18n import t
from ..validate.datatype import resident_id_problems, ts_problem
from ..validate.vocabulary import allowed_codes_text, code_problem
from .definitions import Definitions, Element, Format, weakest

Problem = tuple[str, "str | None", "str | None", "str | None"]
Verdict = tuple[tuple[Problem, ...], Any]

_NUM_RE = re.compile(r"^[+-]?(\d*)(?:\.(\d*))?$")
_D8 = re.compile(r"^\d{8}$")
_DT15 = re.compile(r"^(\d{8})T(\d{6})$")
_T6 = re.compile(r"^\d{6}$")
_DIGITS = re.compile(r"^\d+$")
_DATE_SEPARATORS = re.compile(r"[-/.年月日时分秒T:\s]")
_EXPECTED_FORM = {"date": "YYYYMMDD", "datetime": "YYYYMMDDThhmmss", "time": "hhmmss"}
_OK: Verdict = ((), None)


@dataclass(slots=True)
class ElementCheck:
    element: Element
    kind: str                       # data-type kind (formats.yaml data_types[..].kind)
    fn: Callable[[str], Verdict]
    format_status: str
    value_status: str               # status of an allowed-value finding
    id_status: str                  # status of an ID-number finding
    resident_id: bool


_TYPE_NAMES = frozenset({"number", "date", "datetime", "time", "boolean"})


def _type_name(kind: str, lang: str) -> str:
    return t(f"datasets.type.{kind}", lang) if kind in _TYPE_NAMES else kind


class CheckFactory:
    def __init__(self, defs: Definitions, catalog: Catalog, lang: str = "zh") -> None:
        self.defs, self.cat, self.lang = defs, catalog, lang
        f = defs.formats
        self.bool_std = {str(k): v for k, v in (f.get("boolean_values") or {}).get("standard",
                                                                                 {}).items()}
        self.bool_rec = {str(k).casefold(): v for k, v in
                         (f.get("boolean_values") or {}).get("recognised", {}).items()}
        self.date_forms = tuple(f.get("recognised_date_forms") or ())
        self.dt_forms = tuple(f.get("recognised_datetime_forms") or ())

    # ---------------------------------------------------------------- pieces
    def _chars(self, fmt: Format, v: str) -> Problem | None:
        if fmt.kind != "chars":
            return None
        if fmt.cls == "N" and not _DIGITS.match(v):
            return ("DS.FORMAT", None, fmt.text, self._detail_digits())
        n = len(v)
        if (fmt.max_len is not None and n > fmt.max_len) or \
                (fmt.min_len is not None and n < fmt.min_len):
            return ("DS.FORMAT_LENGTH", None, fmt.text, str(n))
        return None

    def _paren(self, text: str) -> str:
        return t("paren", self.lang, text=text)

    def _detail_digits(self) -> str:
        return t("datasets.check.digits_only", self.lang)

    def _number(self, fmt: Format, v: str) -> Verdict:
        m = _NUM_RE.match(v)
        if not m or not (m.group(1) or m.group(2)):
            return (("DS.DATATYPE", None, fmt.text, _type_name("number", self.lang)),), None
        whole, frac = m.group(1) or "", m.group(2) or ""
        num = float(v)
        probs: list[Problem] = []
        if fmt.kind == "chars":
            digits = len(whole.lstrip("0") or "0") + len(frac)
            if fmt.decimals is not None and len(frac) > fmt.decimals:
                probs.append(("DS.FORMAT", None, fmt.text,
                              t("datasets.check.decimals", self.lang, n=len(frac), max=fmt.decimals)))
            elif fmt.decimals is None and frac:
                probs.append(("DS.FORMAT", None, fmt.text,
                              t("datasets.check.integer", self.lang)))
            elif fmt.fixed and fmt.decimals is None and len(v) != fmt.max_len:
                probs.append(("DS.FORMAT_LENGTH", None, fmt.text, str(len(v))))
            elif fmt.max_len is not None and digits > fmt.max_len:
                probs.append(("DS.FORMAT_LENGTH", None, fmt.text, str(digits)))
        return tuple(probs), num

    def _datetime(self, kind: str, fmt: Format, v: str) -> Verdict:
        """Dates, date-times and times: the standard form (checked on the calendar with the
        validator's ts_problem), recognised other forms (right type, wrong format), or not a
        date at all (data type)."""
        want = _EXPECTED_FORM[kind]
        if kind == "date":
            if _D8.match(v):
                p = ts_problem(v)
                return ((("DS.DATE_INVALID", None, want, p[1] or p[0]),), None) if p else \
                    ((), v + "000000")
            if _DT15.match(v) or (len(v) == 14 and v.isdigit()):  # a date-time for a date
                core = v.replace("T", "")
                p = ts_problem(core)
                if p:
                    return (("DS.DATE_INVALID", None, want, p[1] or p[0]),), None
                return (("DS.FORMAT", None, fmt.text, self._paren(want)),), core
            forms = self.date_forms + self.dt_forms
        elif kind == "datetime":
            m = _DT15.match(v)
            if m:
                p = ts_problem(m.group(1) + m.group(2))
                return ((("DS.DATE_INVALID", None, want, p[1] or p[0]),), None) if p else \
                    ((), m.group(1) + m.group(2))
            if _DIGITS.match(v) and len(v) in (8, 10, 12, 14):
                p = ts_problem(v)
                if p:
                    return (("DS.DATE_INVALID", None, want, p[1] or p[0]),), None
                return (("DS.FORMAT", None, fmt.text, self._paren(want)),), v.ljust(14, "0")
            forms = self.dt_forms + self.date_forms
        else:  # time
            if _T6.match(v):
                p = ts_problem("20000101" + v)
                return ((("DS.DATE_INVALID", None, want, p[1] or p[0]),), None) if p else \
                    ((), "20000101" + v)
            forms = ("%H:%M:%S", "%H:%M")
        for f in forms:
            try:
                parsed = datetime.strptime(v, f)
            except ValueError:
                continue
            norm = f"20000101{parsed:%H%M%S}" if kind == "time" else f"{parsed:%Y%m%d%H%M%S}"
            return (("DS.FORMAT", None, fmt.text, self._paren(want)),), norm
        # digits of the right shape but not a real date (19991332, 1980-13-01, 2024/02/30
        # 10:00): a calendar problem, else not a date
        digits = _DATE_SEPARATORS.sub("", v)
        if _DIGITS.match(digits) and len(digits) in (8, 12, 14) and kind != "time":
            p = ts_problem(digits)
            if p:
                return (("DS.DATE_INVALID", None, want, p[1] or p[0]),), None
        return (("DS.DATATYPE", None, want, _type_name(kind, self.lang)),), None

    def _boolean(self, fmt: Format, v: str) -> Verdict:
        if v in self.bool_std:
            return _OK
        if v.casefold() in self.bool_rec:
            return (("DS.FORMAT", None, fmt.text if fmt.kind == "boolean" else "T/F", ""),), None
        return (("DS.DATATYPE", None, "T/F", _type_name("boolean", self.lang)),), None

    def _code(self, el: Element, fmt: Format, v: str) -> tuple[Problem, ...]:
        probs: list[Problem] = []
        vs = self.cat.value_sets.get(el.value_set) if el.value_set else None
        if vs is not None and vs.codes:
            problem = code_problem(vs, v)
            if problem is not None and problem[0] == "VOCAB.CODE_NOT_IN_VALUE_SET":
                code = next((c for c, n in vs.codes.items() if n == v), None)
                if code is not None:
                    return (("DS.VALUE_IS_DISPLAY_NAME", None, code, f"{vs.name} ({vs.oid})"),)
                probs.append(("DS.VALUE_NOT_ALLOWED", None, allowed_codes_text(vs),
                              f"{vs.name} ({vs.oid})"))
            elif v not in vs.codes:
                code = next((c for c, n in vs.codes.items() if n == v), None)
                if code is not None:
                    return (("DS.VALUE_IS_DISPLAY_NAME", None, code, f"{vs.name} ({vs.oid})"),)
        p = self._chars(fmt, v)
        if p is not None:
            probs.insert(0, p)
        return tuple(probs)

    # ---------------------------------------------------------------- compile
    def compile(self, el: Element) -> ElementCheck:
        kind = str(self.defs.data_types[el.data_type].get("kind", "text"))
        fmt = el.format
        if fmt.kind in ("date", "datetime", "time"):
            kind = fmt.kind  # the format says more than a provisional data type
        elif fmt.kind == "boolean":
            kind = "boolean"

        if kind in ("date", "datetime", "time"):
            def fn(v: str, k=kind, f=fmt) -> Verdict:
                return self._datetime(k, f, v)
        elif kind == "number":
            def fn(v: str, f=fmt) -> Verdict:
                return self._number(f, v)
        elif kind == "boolean":
            def fn(v: str, f=fmt) -> Verdict:
                return self._boolean(f, v)
        elif kind == "code":
            def fn(v: str, e=el, f=fmt) -> Verdict:
                probs = self._code(e, f, v)
                return (probs, None) if probs else _OK
        elif kind == "binary":
            def fn(v: str) -> Verdict:
                return _OK
        else:
            def fn(v: str, e=el, f=fmt) -> Verdict:
                if e.value_set:  # a text element bound to a value set: check the code too
                    probs = self._code(e, f, v)
                    return (probs, None) if probs else _OK
                p = self._chars(f, v)
                return ((p,), None) if p else _OK
        vs = self.cat.value_sets.get(el.value_set) if el.value_set else None
        value_status = weakest(vs.status if vs else "seen",
                               "provisional" if el.status == "provisional" else None)
        return ElementCheck(
            element=el, kind=kind, fn=fn, format_status=el.format_status,
            value_status=value_status,
            id_status="provisional" if el.status == "provisional" else "seen",
            resident_id=el.check == "resident_id")

    def resident_id(self, value: str, birth: str | None, gender: str | None,
                    gender_value_set: str | None = None) -> list[Problem]:
        """GB 11643 checks of an ID number, with the birth date and gender code of the same
        record when the data set has them (the validator's resident_id_problems)."""
        spec = self.cat.datatypes.get("resident_id") or {}
        out: list[Problem] = []
        for rule, actual, expected in resident_id_problems(value, birth, gender,
                                                           spec.get("gender_codes")):
            if rule == "DT.ID_NUMBER_GENDER_MISMATCH" and expected is not None:
                vs = self.cat.value_sets.get(gender_value_set) if gender_value_set else None
                meaning = vs.codes.get(expected) if vs else None
                expected = f"{expected} {meaning}" if meaning else expected
            out.append(("DS." + rule.split(".", 1)[1], actual, expected, None))
        return out


def status_of(rule: str, check: ElementCheck) -> str:
    layer = rule.split(".", 1)[1]
    if rule.startswith("DS.ID_NUMBER"):
        return check.id_status
    if rule == "DS.DATE_INVALID":
        # 19991332 is no date whatever the element's (provisional) format says: the calendar is
        # not provisional
        return "seen"
    if layer in ("VALUE_NOT_ALLOWED", "VALUE_IS_DISPLAY_NAME"):
        return check.value_status
    return check.format_status
