"""What scoring works with between the definition and score.json: the rating of each item, the
outcome of the level rule, and the whole rating (turned into the typed ``model.Score`` by
``scoring.report``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..model.score import DimensionScore, GapItem, SubIndexScore

if TYPE_CHECKING:
    from .model import Definition, Item, Level

MET = ("met", "no_business")
BIG = 10 ** 6          # the level index a binary item reaches when met (any level)


def r2(x: float) -> float:
    return round(x + 0.0, 4)


def code_key(code: str) -> tuple[Any, ...]:
    """Sort key of an item code (numeric parts as numbers)."""
    return tuple(int(p) if p.isdigit() else p for p in code.replace(" ", "").split("."))


@dataclass
class ItemRating:
    """One item judged. ``status``: met | not_met | no_business | unanswered | not_assessed (no
    machine result) | recorded (record-only) | scored (level-score and deduction items)."""

    item: Item
    status: str
    points: float = 0.0
    achieved: int = -1          # level index reached by the item (binary met: BIG)
    source: str = "questionnaire"
    answer: Any = None
    reasons: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    provisional: bool = False
    function_level: int | None = None
    application: float | None = None
    data_quality: float | None = None
    by_level: dict[str, dict[str, float]] = field(default_factory=dict)
    band: str | None = None


@dataclass
class LevelGap:
    """What keeps the institution from one level: the rows of the gap list."""

    level: Level
    provisional: bool
    missing: list[GapItem]


@dataclass
class LevelOutcome:
    """What a level rule concluded."""

    level: Level | None
    determinable: bool
    why_not: str
    gaps: list[LevelGap]
    provisional: bool
    checks: list[dict[str, Any]]


@dataclass
class Rating:
    """Every item rated, the sub-index and dimension totals, and the level outcome."""

    definition: Definition
    results: list[ItemRating]
    level: Level | None
    determinable: bool
    level_provisional: bool
    why_not_determinable: str
    gaps: list[LevelGap]
    sub_scores: dict[str, SubIndexScore]
    dim_scores: list[DimensionScore]
    total: float
    total_max: float | None
    total_provisional: bool
    provisional_reasons: list[str]
    level_checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def provisional(self) -> bool:
        return self.level_provisional or self.total_provisional \
            or any(g.provisional for g in self.gaps) or any(r.provisional for r in self.results) \
            or not self.determinable
