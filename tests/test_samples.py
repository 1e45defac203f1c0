"""The validator over the third-party reference samples (../shared/reference-samples): the
known facts of their README are found, nothing crashes, every file is reported."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from conformance.inputs import expand
from conformance.validate import Validator


@pytest.fixture(scope="module")
def results(samples_dir: Path, validator: Validator):
    tasks = expand([str(samples_dir)])
    return {Path(t.path).name: validator.validate_task(t) for t in tasks}


def test_every_sample_is_reported_and_typed(results) -> None:
    assert len(results) == 53
    for name, r in results.items():
        assert r.document_type == name[:5], name
        assert not any(f.rule == "INTERNAL.ERROR" for f in r.findings), name
        assert r.layers["schema"] == "ran" and r.layers["template"] == "ran"


def test_c0040_element_order_error_is_the_only_schema_error(results) -> None:
    schema_errors = {n: [f for f in r.findings if f.rule == "SCHEMA.INVALID"]
                     for n, r in results.items()}
    failing = {n for n, errs in schema_errors.items() if errs}
    assert len(failing) == 1 and next(iter(failing)).startswith("C0040")
    (err,) = next(errs for errs in schema_errors.values() if errs)
    assert "componentOf" in err.message and "component" in err.message
    assert err.line and err.xpath.endswith("componentOf[2]")


def test_titles_differing_from_part_names_are_warnings(results) -> None:
    flagged = {n[:5] for n, r in results.items()
               if any(f.rule == "WST500.HEADER.TITLE_MISMATCH" and f.severity == "warning"
                      for f in r.findings)}
    assert flagged == {"C0007", "C0018", "C0026", "C0030", "C0031", "C0035", "C0036"}


def test_data_element_code_system_typo_is_found(results) -> None:
    found = Counter(n[:5] for n, r in results.items() for f in r.findings
                    if f.rule == "VOCAB.DE_CODE_SYSTEM" and f.actual == "2.16.156.10011.2.2.2")
    assert sum(found.values()) == 3 and set(found) <= {"C0033", "C0053"}


def test_malformed_data_element_id_in_c0039(results) -> None:
    r = next(r for n, r in results.items() if n.startswith("C0039"))
    assert any(f.rule == "VOCAB.DE_MALFORMED" and f.actual == "DE02.10.28.00"
               for f in r.findings)


def test_resident_id_check_digit_defect_is_found(results) -> None:
    # the most common sample ID number, 420106201101011919, fails the GB 11643 check
    hits = [f for r in results.values() for f in r.findings
            if f.rule == "DT.ID_NUMBER_CHECK_DIGIT" and f.actual == "420106201101011919"]
    assert hits and all(f.expected == "420106201101011917" for f in hits)


def test_placeholder_document_ids_are_warnings(results) -> None:
    r = results[next(n for n in results if n.startswith("C0001"))]
    assert any(f.rule == "DT.PLACEHOLDER" and f.actual == "RN001" and f.severity == "warning"
               for f in r.findings)


def test_no_false_errors_from_unsettled_requirements(results) -> None:
    """Only rules backed by a seen source may be errors on the samples."""
    allowed = {"SCHEMA.INVALID", "VOCAB.DE_CODE_SYSTEM", "VOCAB.DE_MALFORMED", "DT.TS_FORMAT",
               "DT.ID_NUMBER_CHECK_DIGIT", "DT.ID_NUMBER_BIRTH_MISMATCH",
               "DT.ID_NUMBER_FORMAT", "DT.ID_NUMBER_GENDER_MISMATCH"}
    errors = {f.rule for r in results.values() for f in r.findings if f.severity == "error"}
    assert errors <= allowed, errors - allowed


def test_findings_point_into_the_file(results, samples_dir: Path) -> None:
    for name, r in results.items():
        lines = (samples_dir / name).read_text(encoding="utf-8").splitlines()
        for f in r.findings:
            if f.line:
                assert 1 <= f.line <= len(lines), (name, f.rule)
            if f.column and f.xpath and "/@" in f.xpath:
                attr = f.xpath.rsplit("/@", 1)[1].split(":")[-1]
                assert attr in lines[f.line - 1][f.column - 1:], (name, f.rule, f.xpath)


def test_every_finding_is_exactly_placed(validator: Validator, samples_dir: Path) -> None:
    """Each finding on the real documents and messages: its XPath selects exactly one element,
    and its line and column are that element's start tag or the attribute's name in it (the
    check scripts/fuzz_validate.py makes on mutated documents)."""
    from scripts.fuzz_validate import problems

    files = sorted(samples_dir.parent.rglob("*.xml"))
    assert len(files) > 200
    bad = {}
    for p in files:
        found = problems(validator, p.read_bytes(), p.name)
        if found:
            bad[p.name] = found
    assert bad == {}
