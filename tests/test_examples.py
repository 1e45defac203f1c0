"""The project's own conformant example documents: one per document type (53 + 20)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.inputs import Task
from conformance.resources import test_cases_dir as _cases_dir
from conformance.synth import Synthesizer

EXAMPLES = _cases_dir() / "documents"
FILES = sorted(EXAMPLES.rglob("*.xml"))


def test_one_example_per_document_type(catalog) -> None:
    assert len(FILES) == len(catalog.documents) == 73
    assert sum(1 for d in catalog.documents.values() if d.family == "wst500") == 53
    assert sum(1 for d in catalog.documents.values() if d.family == "wst483") == 20


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_example_is_fully_conformant(validator, path: Path) -> None:
    r = validator.validate_task(Task(str(path), str(path)))
    bad = [(f.rule, f.message) for f in r.findings if f.severity in ("error", "warning")]
    assert r.valid and not bad, bad
    assert all(v == "ran" for k, v in r.layers.items()), r.layers
    assert r.document_type is not None


def test_examples_are_regenerable(tmp_path: Path) -> None:
    Synthesizer().write_examples(tmp_path)
    for p in FILES:
        rel = p.relative_to(EXAMPLES)
        assert (tmp_path / rel).read_bytes() == p.read_bytes(), rel
