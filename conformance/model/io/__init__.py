"""The artifacts of a run folder, one codec each (see ``base.Codec``)."""

from __future__ import annotations

from . import (
    campaign_json,
    datasets_json,
    manifest_json,
    perf_json,
    quality_json,
    results_json,
    score_json,
    validate_json,
)
from .base import ArtifactError, Codec

CODECS: dict[str, Codec] = {m.CODEC.name: m.CODEC for m in (
    validate_json, results_json, perf_json, datasets_json, score_json, manifest_json,
    quality_json, campaign_json)}

__all__ = ["CODECS", "ArtifactError", "Codec", "campaign_json", "datasets_json", "manifest_json",
           "perf_json", "quality_json", "results_json", "score_json", "validate_json"]
