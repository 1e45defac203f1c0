"""The compiled form of an assessment definition (standards/assessment/*.yaml).

Nothing here knows an index system by name: levels, items, rules, bindings and the level-rating
rule all come from the definition file; what a rule means comes from its rule type
(``scoring.rules``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .rules.base import LevelRuleType, RuleType, level_rule_type, rule_type

STATUSES = ("seen", "transcribed", "vendor-consensus", "observed", "strict-xsd", "provisional")


@dataclass(slots=True)
class Level:
    id: str
    index: int
    name: str
    en: str
    description: str = ""

    def label(self, lang: str) -> str:
        return self.en if lang == "en" and self.en else self.name


@dataclass(slots=True)
class SubIndex:
    id: str
    dimension: str
    name: str
    name_en: str
    max: float | None
    leaf_sum: float | None = None
    normalize: str | None = None  # "proportional": scale earned leaf points to the stated max
    status: str = "seen"
    note: str = ""
    line: int = 0

    @property
    def provisional(self) -> bool:
        return self.status == "provisional"


@dataclass(slots=True)
class Dimension:
    id: str
    name: str
    name_en: str
    max: float | None
    missing_points: float = 0.0
    status: str = "seen"
    note: str = ""
    sub_indices: list[SubIndex] = field(default_factory=list)
    line: int = 0

    @property
    def provisional(self) -> bool:
        return self.status == "provisional"


@dataclass(slots=True)
class Option:
    id: str
    label: str
    label_en: str = ""
    level: str | None = None
    points: float = 0.0


@dataclass(slots=True)
class FieldSpec:
    id: str
    label: str
    type: str = "number"  # number | ratio | integer | text | boolean
    unit: str = ""


@dataclass(slots=True)
class Binding:
    source: str
    keys: tuple[str, ...] = ()       # document types, service codes/aliases, data-set ids
    names: tuple[str, ...] = ()      # data-set names (matched when ids differ)
    fallback: str | None = None      # "questionnaire": answered by hand when no result is given


@dataclass(slots=True)
class Item:
    code: str
    dimension: str
    sub_index: str | None
    text: str
    rule: str
    points: float | None
    level: str | None
    status: str
    source: tuple[str, ...]
    group: str = ""
    text_en: str = ""
    note: str = ""
    subject: str = ""                 # conformance: data | document | service
    optional_business: bool = False
    options: list[Option] = field(default_factory=list)
    other: bool = False               # checklist: free-text "其它" entries count once
    exclusive: tuple[str, ...] = ()
    thresholds: dict[str, int] = field(default_factory=dict)
    level_points: dict[str, float] = field(default_factory=dict)
    points_per_option: float | None = None
    level_requires: dict[str, dict[str, Any]] = field(default_factory=dict)
    option_requirements: dict[str, dict[str, Any]] = field(default_factory=dict)
    fields: list[FieldSpec] = field(default_factory=list)
    tiers: list[dict[str, Any]] = field(default_factory=list)
    record: str | None = None         # record: band | number | text
    label: str = ""
    details: list[FieldSpec] = field(default_factory=list)
    application: str = "ratio"        # level_score: ratio | applied
    data_quality: str = "ratio"       # level_score: ratio | none
    application_basis: str = ""
    data_quality_basis: str = ""
    basic_levels: tuple[str, ...] | None = None  # level_score: levels where it is a basic item
    binding: Binding | None = None
    evidence_hint: str = ""
    evidence_required: bool = False
    number: int | None = None
    spec: Any = None                  # what a rule type compiles beyond the fields above
    line: int = 0

    @property
    def provisional(self) -> bool:
        return self.status == "provisional"

    @property
    def automated(self) -> bool:
        """Scored from machine results only (never from the questionnaire)."""
        return self.binding is not None and self.binding.fallback is None

    @property
    def asked(self) -> bool:
        """The questionnaire asks for an answer (not machine-scored, and the rule type asks)."""
        return not self.automated and self.rule_type.asked

    @property
    def rule_type(self) -> RuleType:
        return rule_type(self.rule)

    @property
    def scored(self) -> bool:
        return self.rule_type.scored

    def option(self, ident: str) -> Option | None:
        for o in self.options:
            if o.id == ident:
                return o
        return None

    def max_points(self, top_level: int = 0) -> float:
        """The most the item can earn (``top_level``: the numeric top level of the index system,
        for the items scored by level)."""
        return self.rule_type.max_points(self, top_level)


@dataclass(slots=True)
class LevelRule:
    type: str
    status: str
    description: dict[str, str]
    source: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def provisional(self) -> bool:
        return self.status == "provisional"

    @property
    def kind(self) -> LevelRuleType:
        return level_rule_type(self.type)


@dataclass(slots=True)
class Band:
    id: str
    label: str
    label_en: str
    max_ms: float | None  # None = open-ended top band


@dataclass(slots=True)
class Consistency:
    type: str              # excludes | count_not_more
    params: dict[str, Any]
    message: dict[str, str]
    line: int = 0


@dataclass
class Definition:
    id: str
    name: str
    name_en: str
    profile: str
    edition: str
    status: str
    levels: list[Level]
    level_rule: LevelRule
    dimensions: list[Dimension]
    items: list[Item]
    sources: dict[str, dict[str, Any]]
    known_gaps: list[str]
    bands: list[Band]
    consistency: list[Consistency]
    path: str
    sha256: str
    raw: dict[str, Any]

    def __post_init__(self) -> None:
        self._items = {i.code: i for i in self.items}
        self._levels = {lv.id: lv for lv in self.levels}
        self._dims = {d.id: d for d in self.dimensions}
        self._subs = {s.id: s for d in self.dimensions for s in d.sub_indices}

    # lookups ------------------------------------------------------------------------------
    def item(self, code: str) -> Item | None:
        return self._items.get(code)

    def level(self, ident: str) -> Level | None:
        return self._levels.get(ident)

    def level_index(self, ident: str | None) -> int:
        """Index of a level id; -1 for None (no level reached)."""
        if ident is None:
            return -1
        return self._levels[ident].index

    def dimension(self, ident: str) -> Dimension:
        return self._dims[ident]

    def sub_index(self, ident: str) -> SubIndex:
        return self._subs[ident]

    def find_level(self, text: str) -> Level | None:
        """Match a level by id, name or English name (case- and space-insensitive)."""
        want = "".join(text.split()).lower()
        for lv in self.levels:
            for cand in (lv.id, lv.name, lv.en):
                if cand and "".join(cand.split()).lower() == want:
                    return lv
        return None

    @property
    def top_level_index(self) -> int:
        return self.levels[-1].index

    @property
    def top_level_number(self) -> int:
        """For level_score items: the numeric top level (e.g. 8 for levels 0-8)."""
        try:
            return int(self.levels[-1].id)
        except ValueError:
            return self.levels[-1].index

    @property
    def provisional_reasons(self) -> list[str]:
        out = []
        if self.level_rule.provisional:
            out.append("level_rule")
        for d in self.dimensions:
            if d.provisional:
                out.append(f"dimension {d.id}")
            for s in d.sub_indices:
                if s.provisional:
                    out.append(f"sub-index {s.id}")
        n = sum(1 for i in self.items if i.provisional)
        if n:
            out.append(f"{n} items")
        return out
