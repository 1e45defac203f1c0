"""Durations, think times and user lists as written on the command line and in mix files."""

from __future__ import annotations

import re

from ..errors import ConformanceError
from ..i18n import Phrase

_DUR = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$")
_SCALE = {None: 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "min": 60.0, "h": 3600.0}


class UnitError(ConformanceError, ValueError):
    pass


_THINK = Phrase("perf.unit.think_time")


def parse_duration(text: str | float | int, what: str | Phrase = "duration") -> float:
    """'60s', '2m', '500ms', '1.5' (seconds) → seconds."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        if text < 0:
            raise UnitError.phrase("perf.unit.negative", what=what, text=text)
        return float(text)
    m = _DUR.match(str(text))
    if not m:
        raise UnitError.phrase("perf.unit.duration", what=what, text=repr(text))
    return float(m.group(1)) * _SCALE[m.group(2)]


def parse_think(text: str | float | int) -> tuple[float, float]:
    """'0', '2s' (fixed) or '1s-3s' (uniform between) → (min, max) seconds."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        v = parse_duration(text, _THINK)
        return v, v
    s = str(text).strip()
    if "-" in s:
        lo, hi = s.split("-", 1)
        a, b = parse_duration(lo, _THINK), parse_duration(hi, _THINK)
        if b < a:
            raise UnitError.phrase("perf.unit.bounds", text=repr(text))
        return a, b
    v = parse_duration(s, _THINK)
    return v, v


def parse_counts(text: str, what: str) -> list[float]:
    """'1,50,200' → [1, 50, 200] (positive numbers, in the order given)."""
    out: list[float] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            v = float(part)
        except ValueError:
            raise UnitError.phrase("perf.unit.not_number", what=what, text=repr(part)) from None
        if v <= 0:
            raise UnitError.phrase("perf.unit.not_positive", what=what, text=repr(part))
        out.append(v)
    if not out:
        raise UnitError.phrase("perf.unit.none", what=what)
    return out


def fmt_seconds(v: float) -> str:
    return f"{v:g}"
