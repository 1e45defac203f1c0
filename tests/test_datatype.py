from __future__ import annotations

import pytest

from conformance.synth import resident_id
from conformance.validate.datatype import gb11643_check_char, ts_problem


@pytest.mark.parametrize("value, rule", [
    ("20240315", None), ("20240315093000", None), ("2024", None), ("20240315093000+0800", None),
    ("20240229", None), ("20230229", "DT.TS_INVALID_DATE"), ("20241301", "DT.TS_INVALID_DATE"),
    ("20240431", "DT.TS_INVALID_DATE"), ("20240315250000", "DT.TS_INVALID_DATE"),
    ("20240315096000", "DT.TS_INVALID_DATE"), ("2024-03-15", "DT.TS_FORMAT"),
    ("20090401142335-700", "DT.TS_FORMAT"), ("abc", "DT.TS_FORMAT"), ("", "DT.TS_FORMAT"),
    ("20000229", None), ("19000229", "DT.TS_INVALID_DATE"), ("21000229120000", "DT.TS_INVALID_DATE"),
    ("202402", None), ("202400", "DT.TS_INVALID_DATE"), ("2024021512", None),
    ("20240215126", "DT.TS_FORMAT"), ("２０２４０３１５", None), ("20240315.5", None),
])
def test_ts(value: str, rule: str | None) -> None:
    p = ts_problem(value)
    assert (p[0] if p else None) == rule


@pytest.mark.parametrize("value, detail", [
    ("20241301", "month 13"), ("20240431", "day 31"), ("20240315250000", "hour 25"),
    ("20240315096000", "minute 60"), ("20240315095960", "second 60"), ("20230229", "day 29"),
])
def test_ts_detail_names_the_bad_part(value: str, detail: str) -> None:
    assert ts_problem(value) == ("DT.TS_INVALID_DATE", detail)


def test_gb11643_check_character_known_values() -> None:
    # ISO 7064 MOD 11-2, as GB 11643-1999 specifies; 11010519491231002X is the standard's example
    assert gb11643_check_char("11010519491231002") == "X"
    assert gb11643_check_char("42010620110101191") == "7"


def test_synthetic_resident_ids_are_valid() -> None:
    from datetime import date

    for i in range(200):
        g = "1" if i % 2 else "2"
        n = resident_id("110101", date(1980, 1, 1), i, g)
        assert len(n) == 18 and n[:17].isdigit()
        assert gb11643_check_char(n[:17]) == n[17]
        assert int(n[16]) % 2 == (1 if g == "1" else 0)
        assert n[6:14] == "19800101"


def test_verdict_memos_stay_bounded_on_unique_values(monkeypatch) -> None:
    from conformance.validate import datatype

    monkeypatch.setattr(datatype, "MEMO_LIMIT", 100)
    memo = datatype._Memo(lambda v: v.isdigit())
    sizes = set()
    for i in range(1000):  # unique values, as document ids and times are
        assert memo[str(i)] is True
        sizes.add(len(memo))
    assert max(sizes) <= 100 and memo["x"] is False
