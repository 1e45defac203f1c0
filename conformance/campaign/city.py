"""The score under the city's own index system: scored like any index system
(``conformance.scoring``), with the institution's city questionnaire, its run folder, and the
facts only a campaign knows — the level the national assessment gave it, the EMR-rating level
the centre recorded, its data-quality figures, the services seen working — which the index
system's items bind to by name (``fact: interop.level``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConformanceError
from ..model.campaign import CityScore, DimensionCell, InstitutionRow
from ..model.folder import RunFolder
from .config import Campaign, Institution


def facts_of(folder: RunFolder, inst: Institution, row: InstitutionRow) -> dict[str, Any]:
    """Every fact a city index item can bind to (names documented in
    standards/assessment/city-example-2026.yaml)."""
    facts: dict[str, Any] = {"institution.kind": inst.kind}
    if row.level is not None:
        facts["interop.level"] = row.level
    if row.total is not None:
        facts["interop.total"] = row.total
    for key, value in inst.outcomes.items():
        facts[f"outcomes.{key}"] = value
    if "emr_rating" in inst.outcomes:
        facts["emr.level"] = inst.outcomes["emr_rating"]
    if row.quality is not None:
        for f in row.quality.governance:
            if f.value is not None:
                facts[f"quality.{f.id}"] = f.value
        for f in row.quality.emr:
            if f.value is not None:
                facts[f"emr_coefficient.{f.id}"] = f.value
    results = folder.results
    if results is not None:
        by_service: dict[str, bool] = {}
        for case in results.cases:
            if case.service and case.kind in ("positive", "negative", "workflow"):
                by_service[case.service] = by_service.get(case.service, True) and not case.failing
        facts["services.total"] = len(by_service)
        facts["services.passed"] = sum(by_service.values())
        if by_service:
            facts["services.passed_ratio"] = round(sum(by_service.values()) / len(by_service), 4)
    validate = folder.validate
    if validate is not None and validate.summary.documents:
        facts["documents.valid_ratio"] = round(validate.summary.valid / validate.summary.documents,
                                               4)
    return facts


def definition_path(campaign: Campaign) -> Path | str:
    ident = campaign.city_index or ""
    local = campaign.folder / ident
    return local if local.is_file() else ident


def score_city(folder: RunFolder, inst: Institution, campaign: Campaign, row: InstitutionRow,
               lang: str) -> CityScore:
    try:
        from ..scoring.api import resolve_definition, score_folder
    except ImportError:  # the scoring registry (rule types by name, facts) is not there yet
        return CityScore(index_system=campaign.city_index,
                         note="the city index system needs the scoring rule registry")
    target = definition_path(campaign)
    try:
        definition = resolve_definition(assessment=target) if isinstance(target, Path) \
            else resolve_definition(index_system=target)
        outcome = score_folder([folder], definition, inst.city_questionnaire, write=False,
                               lang=lang, facts=facts_of(folder, inst, row))
    except ConformanceError as exc:
        text = exc.render(lang)
        return CityScore(index_system=campaign.city_index, note=text.strip()[:500])
    s = outcome.score
    deductions = 0.0
    for it in s.indicators:   # what the deduction items took off (an unanswered one: nothing)
        if it.rule == "deduction" and isinstance(it.answer, dict):
            deductions += sum(float(v) for v in (it.answer.get("deducted") or {}).values())
    return CityScore(index_system=s.assessment.id, total=s.total, max=s.max, level=s.level,
                     provisional=s.total_provisional,
                     items=[DimensionCell(id=d.id, name=d.name, score=d.score, max=d.max)
                            for d in s.dimensions],
                     deductions=round(deductions, 2))
