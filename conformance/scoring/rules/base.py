"""The registry of scoring rule types and level rules.

A **rule type** says how one item of an index system is defined, asked, judged and explained:

- ``fields`` — the JSON-Schema fragments of the item fields it adds (the definition schema is
  assembled from every rule type's fragments), ``needs`` (fields an item of the rule must have)
  and ``accepts`` (optional ones); ``binds`` — the machine results (binding sources) it can be
  bound to;
- ``compile`` — the rule-specific part of an item, checked with ``file:line`` problems;
- ``read`` — its questionnaire answer (``answer_keys``), checked with ``file:line`` problems;
- ``evaluate`` — its result from the answer or the machine results;
- ``question`` — what ``conformance init`` writes for it; ``explain`` and ``needed`` — how it
  scores, and what a level needs of it (the gap lists).

A **level rule** says which level the item results reach (``rate``), with its own schema
fragment and checks. Both are found by name; every module of this package is loaded on first
use, so a new rule type is one new class in one new module (its UI phrases go to the phrase
bundles, ``conformance/i18n/*.yaml``).

A rule that needs facts from outside the run folders (the level another assessment gave the
same institution, say) reads them from ``Evaluation.facts``, which the caller of
``score_folder`` supplies.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Any, ClassVar

from ...i18n import t
from ..rating import ItemRating

if TYPE_CHECKING:
    from ...yamlio import LineDict
    from ..engine import Evaluation
    from ..model import Definition, Item, LevelRule
    from ..problems import ItemScope, Problems
    from ..questionnaire import Answer, AnswerReader
    from ..rating import LevelOutcome

# Schema fragments more than one rule type uses (a field shared by two rule types must have the
# same fragment in both).
NUM: dict[str, Any] = {"type": "number"}
STRS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
FIELD: dict[str, Any] = {
    "type": "object", "required": ["id", "label"], "additionalProperties": False,
    "properties": {"id": {"type": "string", "minLength": 1}, "label": {"type": "string"},
                   "type": {"enum": ["number", "ratio", "integer", "text", "boolean"]},
                   "unit": {"type": "string"}}}
FIELDS: dict[str, Any] = {"type": "array", "items": FIELD}
LEVEL_MAP_NUM: dict[str, Any] = {"type": "object", "additionalProperties": NUM}
OPTIONS: dict[str, Any] = {"type": "array", "minItems": 1, "items": {"anyOf": [
    {"type": "string", "minLength": 1},
    {"type": "object", "required": ["id", "label"], "additionalProperties": False,
     "properties": {"id": {"type": "string", "minLength": 1}, "label": {"type": "string"},
                    "label_en": {"type": "string"}, "level": {"type": ["string", "null"]},
                    "points": {"type": "number", "minimum": 0}}}]}}
LABEL: dict[str, Any] = {"type": "string"}


def pts(x: float | None) -> str:
    """Points as the questionnaire and the gap lists show them (2 decimals at most)."""
    if x is None:
        return "-"
    return f"{x:.2f}".rstrip("0").rstrip(".")


def fmt(x: float | None) -> str:
    """A measured value in a reason (4 decimals at most)."""
    if x is None:
        return "-"
    return f"{x:.4f}".rstrip("0").rstrip(".")


class RuleType:
    """One kind of item rule (see the module docstring). Subclasses set ``name`` and override
    what differs; the defaults fit an item answered once and not gating any level."""

    name: ClassVar[str] = ""
    fields: ClassVar[dict[str, Any]] = {}
    needs: ClassVar[frozenset[str]] = frozenset()
    accepts: ClassVar[frozenset[str]] = frozenset()
    binds: ClassVar[tuple[str, ...]] = ()
    answer_keys: ClassVar[frozenset[str]] = frozenset({"answer"})
    shorthand: ClassVar[str] = "answer"      # what a bare answer (``"3.1.3.1": yes``) stands for
    scored: ClassVar[bool] = True             # False: recorded only, never points
    asked: ClassVar[bool] = True              # False: nothing to answer in the questionnaire
    in_leaf_sums: ClassVar[bool] = True       # its points add up to the stated sub-index totals
    in_item_counts: ClassVar[bool] = True     # counted in the console's met / not met line

    # ---------------------------------------------------------------- definition
    def compile(self, scope: ItemScope, item: Item) -> None:
        """Fill in the rule-specific part of ``item`` from ``scope.raw``; problems go to
        ``scope.add``."""

    def top_points(self, item: Item) -> float | None:
        """The points of the best possible answer, which must equal the item's ``points``
        (None: nothing to check)."""
        return None

    def max_points(self, item: Item, top_level: int) -> float:
        """The most the item can earn (``top_level``: the numeric top level of the index
        system)."""
        return float(item.points or 0.0)

    def tiers(self, item: Item, d: Definition) -> list[int]:
        """The level indices at which the item has a requirement (empty: it gates no level)."""
        return [d.level_index(item.level)] if item.level else []

    # ---------------------------------------------------------------- questionnaire
    def read(self, reader: AnswerReader, item: Item, raw: LineDict, ans: Answer) -> None:
        """Read the rule-specific keys of an answer into ``ans`` (set ``ans.answered``)."""

    def claims_met(self, item: Item, ans: Answer) -> bool:
        """The answer claims the requirement is met (evidence is then expected)."""
        return False

    def question(self, item: Item, d: Definition, lang: str) -> list[str]:
        """The lines ``conformance init`` writes under the item's code (indented 4 spaces)."""
        return [f"    {self.shorthand}:"]

    def points_label(self, item: Item, d: Definition, lang: str) -> str:
        if item.points is not None:
            return t("score.points", lang, n=pts(item.points))
        return t("score.init.record_only", lang)

    # ---------------------------------------------------------------- scoring
    def evaluate(self, e: Evaluation, item: Item, ans: Answer) -> ItemRating:
        """The item's result: from the machine results it is bound to when there are any,
        else from the answer."""
        if item.binding is not None:
            bound = e.bound(item, ans)
            if bound is not None:
                return bound
        if not ans.answered:
            return self.unanswered(e, item)
        return self.judge(e, item, ans)

    def unanswered(self, e: Evaluation, item: Item) -> ItemRating:
        return ItemRating(item, "unanswered", reasons=[e.t("score.why.unanswered")])

    def judge(self, e: Evaluation, item: Item, ans: Answer) -> ItemRating:
        raise NotImplementedError(self.name)

    def extra(self, res: ItemRating) -> dict[str, Any]:
        """Fields of its own the rule adds to the item's row in score.json."""
        return {}

    # ---------------------------------------------------------------- explanations
    def explain(self, item: Item, d: Definition, lang: str) -> str:
        """How the item scores, in one line (thresholds, tiers, deductions); empty when the
        item's text and points say it all."""
        return ""

    def needed(self, item: Item, d: Definition, req_index: int, lang: str,
               res: ItemRating | None) -> str:
        """What the item needs at the level with index ``req_index`` (a gap row's 'needed')."""
        return ""


class LevelRuleType:
    """One way of rating the level from the item results."""

    name: ClassVar[str] = ""
    fields: ClassVar[dict[str, Any]] = {}
    needs: ClassVar[frozenset[str]] = frozenset()

    def check(self, problems: Problems, rule: LevelRule, raw: LineDict,
              levels: dict[str, int]) -> None:
        """Checks beyond the schema (references to levels, …)."""

    def rate(self, d: Definition, results: list[ItemRating], total: float,
             lang: str) -> LevelOutcome:
        raise NotImplementedError(self.name)


_RULES: dict[str, RuleType] = {}
_LEVEL_RULES: dict[str, LevelRuleType] = {}
_loaded = False
_version = 0       # changes when a rule type is added or removed (the definition schema follows)


def _register(cls: type) -> None:
    if not cls.__dict__.get("name"):
        return
    table: dict[str, Any] = _RULES if issubclass(cls, RuleType) else _LEVEL_RULES
    if cls.name in table:
        if type(table[cls.name]) is cls:
            return
        raise RuntimeError(f"two scoring rules are named {cls.name!r}")
    table[cls.name] = cls()
    global _version
    _version += 1


def register(cls: type[RuleType] | type[LevelRuleType]) -> None:
    """Add a rule type (or level rule) defined outside this package — a plug-in or a test — to
    the registry under its ``name``; the definition schema includes it from now on."""
    _load()
    if not (isinstance(cls, type) and issubclass(cls, RuleType | LevelRuleType)
            and cls.__dict__.get("name")):
        raise TypeError("register() takes a RuleType or LevelRuleType subclass with a name")
    _register(cls)


def unregister(name: str) -> None:
    """Remove a rule type or level rule added by ``register``."""
    global _version
    if _RULES.pop(name, None) is not None or _LEVEL_RULES.pop(name, None) is not None:
        _version += 1


def registry_version() -> int:
    """A number that changes whenever the registry does (caches built from it key on it)."""
    _load()
    return _version


def _load() -> None:
    """Import every module of this package and register the rule classes they define."""
    global _loaded
    if _loaded:
        return
    package = __name__.rsplit(".", 1)[0]
    here = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(here.__path__), key=lambda i: i.name):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == module.__name__ \
                    and issubclass(value, RuleType | LevelRuleType):
                _register(value)
    _loaded = True


def rule_types() -> dict[str, RuleType]:
    """Every rule type by name."""
    _load()
    return dict(_RULES)


def rule_type(name: str) -> RuleType:
    _load()
    return _RULES[name]


def level_rule_types() -> dict[str, LevelRuleType]:
    _load()
    return dict(_LEVEL_RULES)


def level_rule_type(name: str) -> LevelRuleType:
    _load()
    return _LEVEL_RULES[name]


def item_fields() -> dict[str, Any]:
    """The schema fragments of every rule type's fields, merged (a shared field must have the
    same fragment everywhere)."""
    return _merged(rule_types().values())


def level_rule_fields() -> dict[str, Any]:
    return _merged(level_rule_types().values())


def _merged(kinds: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in kinds:
        for key, frag in kind.fields.items():
            if key in out and out[key] != frag:
                raise RuntimeError(f"rule {kind.name!r}: field {key!r} has another schema than in an "
                                   "earlier rule type")
            out[key] = frag
    return out


__all__ = ["FIELD", "FIELDS", "LABEL", "LEVEL_MAP_NUM", "NUM", "OPTIONS", "STRS", "LevelRuleType",
           "RuleType", "fmt", "item_fields", "level_rule_fields", "level_rule_type",
           "level_rule_types", "pts", "rule_type", "rule_types"]
