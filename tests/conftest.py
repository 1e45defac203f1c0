from __future__ import annotations

from pathlib import Path

import pytest

from conformance.catalog import load_catalog
from conformance.synth import Synthesizer
from conformance.validate import Validator, ValidatorOptions

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "reference-samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()


@pytest.fixture(scope="session")
def validator() -> Validator:
    return Validator(ValidatorOptions(lang="zh"))


@pytest.fixture(scope="session")
def validator_en() -> Validator:
    return Validator(ValidatorOptions(lang="en"))


@pytest.fixture(scope="session")
def synth(catalog) -> Synthesizer:
    return Synthesizer(catalog)


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    d = SAMPLES / "cda-wst500"
    if not d.is_dir():
        pytest.skip(f"third-party reference samples not available at {d} "
                    "(they live in ../shared beside the checkout; CI has them)")
    return d


def rules_of(result, severity: str | None = None) -> set[str]:
    return {f.rule for f in result.findings if severity is None or f.severity == severity}
