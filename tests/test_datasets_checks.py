"""Every value check with good and bad values: representation format, data type, calendar dates,
allowed values, resident ID numbers — and that they are the validator's own functions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conformance.datasets import checks as checks_mod
from conformance.datasets.checks import CheckFactory
from conformance.datasets.definitions import Element, load_definitions, parse_format
from conformance.synth import resident_id
from conformance.validate import datatype


@pytest.fixture(scope="module")
def factory() -> CheckFactory:
    d = load_definitions()
    return CheckFactory(d, d.catalog, "zh")


def el(data_type: str, fmt: str, value_set: str | None = None, **kw) -> Element:
    base = Element(index=0, id="X", de="DE99.99.999.99", item=None, name="测试", data_type=data_type,
                   format=parse_format(fmt), value_set=value_set, required=False,
                   required_status="seen", status="observed", format_basis="ws363-background",
                   check=None, source="test", cda=None)
    return replace(base, **kw)


def rules(factory: CheckFactory, element: Element, value: str) -> list[str]:
    probs, _ = factory.compile(element).fn(value)
    return [p[0] for p in probs]


@pytest.mark.parametrize("fmt,value,expected", [
    ("AN..5", "abcde", []),
    ("AN..5", "abcdef", ["DS.FORMAT_LENGTH"]),
    ("A..3", "张三丰", []),                     # characters, not bytes
    ("A..3", "欧阳娜娜", ["DS.FORMAT_LENGTH"]),
    ("AN17", "1" * 17, []),
    ("AN17", "1" * 16, ["DS.FORMAT_LENGTH"]),
    ("AN4..6", "abc", ["DS.FORMAT_LENGTH"]),
    ("AN4..6", "abcd", []),
])
def test_text_length(factory, fmt, value, expected) -> None:
    assert rules(factory, el("S1", fmt), value) == expected


@pytest.mark.parametrize("fmt,value,expected", [
    ("N..3", "120", []),
    ("N..3", "1200", ["DS.FORMAT_LENGTH"]),
    ("N..3", "abc", ["DS.DATATYPE"]),
    ("N..3", "12.5", ["DS.FORMAT"]),            # an integer format
    ("N..5,2", "123.45", []),
    ("N..5,2", "12.345", ["DS.FORMAT"]),        # 3 decimals > 2
    ("N..5,2", "1234.56", ["DS.FORMAT_LENGTH"]),
    ("N..5,2", "-1.5", []),
    ("N..5,2", ".", ["DS.DATATYPE"]),
    ("N1", "7", []),
    ("N1", "17", ["DS.FORMAT_LENGTH"]),
])
def test_numbers(factory, fmt, value, expected) -> None:
    assert rules(factory, el("N", fmt), value) == expected


@pytest.mark.parametrize("fmt,value,expected,norm", [
    ("D8", "20240229", [], "20240229000000"),
    ("D8", "20230229", ["DS.DATE_INVALID"], None),     # not a leap year
    ("D8", "20241301", ["DS.DATE_INVALID"], None),
    ("D8", "2024-02-29", ["DS.FORMAT"], "20240229000000"),   # a date, wrong representation
    ("D8", "2024年2月29日", ["DS.FORMAT"], "20240229000000"),
    ("D8", "昨天", ["DS.DATATYPE"], None),
    ("DT15", "20240315T093000", [], "20240315093000"),
    ("DT15", "20240315T253000", ["DS.DATE_INVALID"], None),
    ("DT15", "20240315093000", ["DS.FORMAT"], "20240315093000"),
    ("DT15", "2024-03-15 09:30:00", ["DS.FORMAT"], "20240315093000"),
    ("DT15", "20240315", ["DS.FORMAT"], "20240315000000"),
    ("DT15", "not a time", ["DS.DATATYPE"], None),
    ("T6", "093000", [], "20000101093000"),
    ("T6", "096000", ["DS.DATE_INVALID"], None),
    ("T6", "09:30:00", ["DS.FORMAT"], "20000101093000"),
])
def test_dates_and_times(factory, fmt, value, expected, norm) -> None:
    dtype = {"D8": "D", "DT15": "DT", "T6": "T"}[fmt]
    probs, got = factory.compile(el(dtype, fmt)).fn(value)
    assert [p[0] for p in probs] == expected
    assert got == norm


@pytest.mark.parametrize("value,expected", [
    ("T", []), ("F", []), ("1", ["DS.FORMAT"]), ("true", ["DS.FORMAT"]), ("是", ["DS.FORMAT"]),
    ("maybe", ["DS.DATATYPE"]),
])
def test_boolean(factory, value, expected) -> None:
    assert rules(factory, el("L", "T/F"), value) == expected


GENDER = "2.16.156.10011.2.3.3.4"
MARITAL = "2.16.156.10011.2.3.3.5"
ICD10 = "2.16.156.10011.2.3.3.11"


@pytest.mark.parametrize("vs,fmt,value,expected", [
    (GENDER, "N1", "1", []),
    (GENDER, "N1", "3", ["DS.VALUE_NOT_ALLOWED"]),
    (GENDER, "N1", "男性", ["DS.VALUE_IS_DISPLAY_NAME"]),       # the name instead of the code
    (GENDER, "N1", "男", ["DS.FORMAT", "DS.VALUE_NOT_ALLOWED"]),
    (MARITAL, "N2", "20", []),
    (MARITAL, "N2", "2", ["DS.FORMAT_LENGTH", "DS.VALUE_NOT_ALLOWED"]),
    (ICD10, "AN..11", "Z99.999", []),      # ICD-10 is not enumerated: only the format is checked
    (ICD10, "AN..11", "Z99.9999999999", ["DS.FORMAT_LENGTH"]),
])
def test_allowed_values(factory, vs, fmt, value, expected) -> None:
    assert rules(factory, el("S3", fmt, vs), value) == expected


def test_display_name_finding_names_the_code(factory) -> None:
    probs, _ = factory.compile(el("S3", "N1", GENDER)).fn("女性")
    assert probs[0][0] == "DS.VALUE_IS_DISPLAY_NAME" and probs[0][2] == "2"


def test_resident_id_checks(factory) -> None:
    from datetime import date

    good = resident_id("110101", date(1980, 1, 1), 7, "1")   # odd sequence: male
    assert factory.resident_id(good, "19800101", "1", GENDER) == []
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    assert [p[0] for p in factory.resident_id(bad_check, None, None)] == ["DS.ID_NUMBER_CHECK_DIGIT"]
    assert [p[0] for p in factory.resident_id("12345", None, None)] == ["DS.ID_NUMBER_FORMAT"]
    assert [p[0] for p in factory.resident_id(good, "19800102", None)] == [
        "DS.ID_NUMBER_BIRTH_MISMATCH"]
    mismatch = factory.resident_id(good, None, "2", GENDER)
    assert [p[0] for p in mismatch] == ["DS.ID_NUMBER_GENDER_MISMATCH"]
    assert mismatch[0][2] == "1 男性"     # expected, with the meaning from the value set
    body = "11010119800230001"                               # 30 February
    invalid = body + datatype.gb11643_check_char(body)
    assert [p[0] for p in factory.resident_id(invalid, None, None)] == [
        "DS.ID_NUMBER_INVALID_BIRTH"]


def test_one_implementation_shared_with_the_validator(monkeypatch, factory) -> None:
    """The data-set checks call the validator's pure functions (not copies of them)."""
    assert checks_mod.ts_problem is datatype.ts_problem
    assert checks_mod.resident_id_problems is datatype.resident_id_problems
    from conformance.validate import vocabulary

    assert checks_mod.code_problem is vocabulary.code_problem
    seen: list[str] = []
    real = datatype.resident_id_problems

    def spy(value, *a, **kw):
        seen.append(value)
        return real(value, *a, **kw)

    monkeypatch.setattr(checks_mod, "resident_id_problems", spy)
    factory.resident_id("11010119800101001X", None, None)
    assert seen == ["11010119800101001X"]


def test_validator_still_uses_the_shared_helpers(validator, synth, catalog) -> None:
    """The refactored validator layer reports the same ID problems through the shared helper."""
    from lxml import etree

    tpl = catalog.documents["C0001"]
    root = synth.document(tpl, 1)
    el_id = root.find(".//{urn:hl7-org:v3}patient/{urn:hl7-org:v3}id")
    ext = el_id.get("extension")
    el_id.set("extension", ext[:17] + ("0" if ext[17] != "0" else "1"))
    res = validator.validate_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"),
                                   "x.xml")
    assert "DT.ID_NUMBER_CHECK_DIGIT" in {f.rule for f in res.findings}
