"""The typed model of everything a run produces, at the bottom of the package: findings,
exchanges, checks, steps, cases, perf results, data-set verdicts, scores, manifests; the one
``Status`` vocabulary and roll-up; the events engines emit; one codec per artifact
(``conformance.model.io``) with a shipped JSON Schema. Nothing here imports an engine."""

from __future__ import annotations

from .common import UNSET, Record, ToolStamp
from .datasets import DatasetsResults, DatasetVerdict, ElementCoverage, Ratio
from .findings import DocumentRecord, DocumentResult, Finding, Summary, ValidateResults
from .manifest import Manifest, ManifestEntry
from .perf import (
    Band,
    BandDefinition,
    LoadStep,
    LocustInfo,
    PerfResults,
    SeriesPoint,
    Stats,
    Threshold,
)
from .run import CaseResult, CheckResult, Exchange, RunResults, RunSummary, StepResult
from .score import DimensionScore, Gap, GapItem, ItemResult, Score, SubIndexScore
from .status import RESULTS, Severity, Status, roll_up
from .traffic import Coverage, Latency, RuleCount, ServiceTraffic, Traffic

__all__ = [
    "RESULTS", "UNSET", "Band", "BandDefinition", "CaseResult", "CheckResult", "DatasetVerdict",
    "DatasetsResults", "DimensionScore", "DocumentRecord", "DocumentResult", "ElementCoverage",
    "Exchange", "Finding", "Gap", "GapItem", "ItemResult", "LoadStep", "LocustInfo", "Manifest",
    "ManifestEntry", "PerfResults", "Ratio", "Record", "RunResults", "RunSummary", "Score",
    "SeriesPoint", "Severity", "Stats", "Status", "StepResult", "SubIndexScore", "Summary",
    "Threshold", "ToolStamp", "ValidateResults", "roll_up",
    "Coverage", "Latency", "RuleCount", "ServiceTraffic", "Traffic",
]
