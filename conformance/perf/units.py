"""Durations, think times and user lists as written on the command line and in mix files."""

from __future__ import annotations

import re

from ..errors import ConformanceError

_DUR = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$")
_SCALE = {None: 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "min": 60.0, "h": 3600.0}


class UnitError(ConformanceError, ValueError):
    pass


def parse_duration(text: str | float | int, what: str = "duration") -> float:
    """'60s', '2m', '500ms', '1.5' (seconds) → seconds."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        if text < 0:
            raise UnitError(f"{what}: {text} is negative")
        return float(text)
    m = _DUR.match(str(text))
    if not m:
        raise UnitError(f"{what}: cannot read {text!r} (write e.g. 60s, 2m or 500ms)")
    return float(m.group(1)) * _SCALE[m.group(2)]


def parse_think(text: str | float | int) -> tuple[float, float]:
    """'0', '2s' (fixed) or '1s-3s' (uniform between) → (min, max) seconds."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        v = parse_duration(text, "think time")
        return v, v
    s = str(text).strip()
    if "-" in s:
        lo, hi = s.split("-", 1)
        a, b = parse_duration(lo, "think time"), parse_duration(hi, "think time")
        if b < a:
            raise UnitError(f"think time {text!r}: the upper bound is below the lower bound")
        return a, b
    v = parse_duration(s, "think time")
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
            raise UnitError(f"{what}: {part!r} is not a number (write e.g. 1,50,200)") from None
        if v <= 0:
            raise UnitError(f"{what}: {part!r} must be greater than 0")
        out.append(v)
    if not out:
        raise UnitError(f"{what}: give at least one value (e.g. 1,50,200)")
    return out


def fmt_seconds(v: float) -> str:
    return f"{v:g}"
