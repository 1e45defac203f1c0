"""score.json: the result of scoring run results and a questionnaire against an index system —
per item (indicator) its status, points and evidence; dimension and sub-index totals; the level
reached; and the gap to each higher level."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from ..i18n import Phrase, local
from .common import UNSET, Record, ToolStamp, UnsetType

# score.json's provisional_reasons are words for programs ("level_rule", "dimension 2",
# "5 items" …); people read them as the phrases score.prov.* (a text it does not know: as written)
_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"level_rule"), "score.prov.level_rule"),
    (re.compile(r"dimension (?P<id>.+)"), "score.prov.dimension"),
    (re.compile(r"sub-index (?P<id>.+)"), "score.prov.sub_index"),
    (re.compile(r"(?P<n>\d+) items"), "score.prov.n_items"),
    (re.compile(r"items"), "score.prov.items"),
    (re.compile(r"level not determinable"), "score.prov.not_determinable"),
    (re.compile(r"basic-item classification"), "score.prov.basic_items"),
]


def provisional_reason(reason: str, lang: str) -> str:
    """One of score.json's ``provisional_reasons`` in the reader's language."""
    for pattern, key in _REASONS:
        m = pattern.fullmatch(reason)
        if m:
            return str(local(Phrase(key, **m.groupdict()), lang))
    return reason


class LevelRuleInfo(Record, kw_only=True):
    type: str
    status: str | None = None
    description: Any = None            # {zh, en} or text


class AssessmentInfo(Record, kw_only=True):
    id: str
    name: str | None = None
    name_en: str | None = None
    profile: str | None = None
    edition: str | None = None
    path: str | None = None
    sha256: str | None = None
    status: str | None = None
    level_rule: LevelRuleInfo | None = None
    known_gaps: list[Any] = []


class SubIndexScore(Record, kw_only=True):
    id: str
    name: str | None = None
    name_en: str | None = None
    score: float | None = None
    max: float | None = None
    earned_leaf_points: float | None = None
    leaf_sum: float | None = None
    normalized: str | None = None
    provisional: bool = False
    note: str | None = None


class DimensionScore(Record, kw_only=True):
    id: str
    name: str | None = None
    name_en: str | None = None
    score: float = 0.0
    max: float | None = None           # null: the index system does not state it
    achievable_max: float | None = None
    provisional: bool = False
    note: str | None = None
    sub_indices: list[SubIndexScore] = []


class ItemResult(Record, kw_only=True):
    """One indicator: ``status`` is met | not_met | no_business | unanswered | not_assessed (no
    machine result) | recorded (record-only) | scored (level-score items); ``met`` is true /
    false, or null for record-only and level-score items."""

    code: str
    dimension: str | None = None
    sub_index: str | None = None
    group: str | None = None
    text: str = ""
    text_en: str | UnsetType = UNSET
    rule: str | None = None
    max_points: float | None = None
    points: float | None = None
    required_level: str | None = None
    achieved_level: str | None = None
    status: str = "not_assessed"
    met: bool | None = None
    source: str | None = None
    answer: Any = None
    reasons: list[str] = []
    evidence: list[Any] = []
    provisional: bool = False
    # level-score items (EMR application rating, smart service)
    function_level: Any = UNSET
    application: Any = UNSET
    data_quality: Any = UNSET
    by_level: Any = UNSET
    basic_levels: Any = UNSET
    band: Any = UNSET
    note: str | UnsetType = UNSET


class GapItem(Record, kw_only=True):
    """One row of a gap list. Item rows of the all-required rule carry ``group``,
    ``required_level``, ``status`` and ``source``; rows of the basic/selectable rule carry
    ``kind`` (total | basic | basic_count | selectable)."""

    code: str
    text: str | None = None
    group: str | None | UnsetType = UNSET
    required_level: str | None | UnsetType = UNSET
    kind: str | UnsetType = UNSET
    points: float | None = None
    status: str | None | UnsetType = UNSET
    source: str | None | UnsetType = UNSET
    reason: str | None = None
    needed: str | None = None
    provisional: bool = False


class Gap(Record, kw_only=True):
    """What keeps the institution from a level: the items to fix, in order."""

    level: str
    level_name: str | None = None
    provisional: bool = False
    missing: list[GapItem] = []

    @property
    def points(self) -> float:
        return round(sum(m.points or 0 for m in self.missing), 4)


class ScoreInputs(Record, kw_only=True):
    results: list[dict[str, Any]] = []
    targets: list[Any] = []
    questionnaire: dict[str, Any] | None = None
    evidence: list[dict[str, Any]] = []


class Score(Record, kw_only=True):
    """score.json."""

    schema: str = "conformance-score/1"
    schema_version: int = 1
    tool: ToolStamp
    created: str | None = None
    lang: str = "zh"
    assessment: AssessmentInfo
    levels: list[str] = []
    level_labels: dict[str, str] = {}
    level: str | None = None
    level_name: str | None = None
    level_index: int | None = None
    level_provisional: bool = False
    determinable: bool = True
    why_not_determinable: str | None = None
    next_level: str | None = None
    min_level: str | None = None
    min_level_met: bool | None = None
    total: float | None = None
    max: float | None = None
    total_provisional: bool = False
    dimensions: list[DimensionScore] = []
    indicators: list[ItemResult] = []
    gaps: list[Gap] = []
    level_checks: list[dict[str, Any]] = []
    inputs: ScoreInputs = msgspec.field(default_factory=ScoreInputs)
    warnings: list[str] = []
    provisional: bool = False
    provisional_reasons: list[str] = []
