"""The scenario data: generated suites are current, every service has its cases, ids follow the
official naming convention, and every suite loads."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from conformance.harness.model import load_suites
from conformance.hl7v3.services import load_services
from conformance.resources import test_cases_dir as _cases_dir

ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_scenarios", ROOT / "scripts" / "gen_scenarios.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader
    spec.loader.exec_module(mod)
    return mod


def test_generated_suites_are_current() -> None:
    for path, text in _generator().outputs().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is stale: run python scripts/gen_scenarios.py")


@pytest.mark.parametrize("profile, prefix", [("hospital", "EMR-PL"), ("regional", "EHR-PL")])
def test_every_service_has_a_positive_and_negative_case(profile: str, prefix: str) -> None:
    suites = load_suites(_cases_dir(), profile)
    cases = [c for s in suites for c in s.cases]
    services = load_services(profile).services
    positive = {c.service for c in cases if c.kind == "positive"}
    negative = {c.service for c in cases if c.kind == "negative"}
    assert positive == {s.action for s in services}
    # every service the platform can refuse has a negative case (time and audit queries cannot fail)
    assert len(negative) >= len(services) - 3
    pattern = re.compile(rf"^{prefix}-\d{{2}}-.+-(T01|F01)$")
    assert all(pattern.match(c.id) for c in cases if c.kind != "workflow")
    assert any(c.kind == "workflow" for c in cases)
