"""Rule ``fact``: an item scored from a fact the caller of the scoring supplies — what only a
campaign knows about the institution: the level another assessment gave it (``interop.level``:
the national interoperability level; ``emr.level``: the EMR application rating), a figure of its
data quality (``quality.timeliness``: data uploaded on time), the share of interaction services
seen working (``services.passed_ratio``). The item earns the points of the best step the value
reaches; values are numbers, or words ranked by ``scale`` (levels, low to high).

    - code: "1.1"
      dimension: "1"
      text: 互联互通标准化成熟度测评达到四级甲等及以上
      rule: fact
      fact: interop.level
      scale: [一级, 二级, 三级, 四级乙等, 四级甲等, 五级乙等, 五级甲等]
      points: 20
      steps:
        - {at_least: 四级甲等, points: 20}
        - {at_least: 四级乙等, points: 10}

Met when the value reaches the step worth the item's points; a fact the caller does not know
leaves the item not assessed (0 points). Nothing is asked in the questionnaire."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...i18n import t
from ..problems import Phrase
from ..rating import BIG, ItemRating
from .base import RuleType, fmt, pts

if TYPE_CHECKING:
    from ..engine import Evaluation
    from ..model import Definition, Item
    from ..problems import ItemScope
    from ..questionnaire import Answer


class Fact(RuleType):
    name = "fact"
    asked = False   # the campaign supplies the value
    fields = {
        "fact": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$"},
        "scale": {"type": "array", "minItems": 2, "items": {"type": ["string", "integer"]}},
        "steps": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["at_least", "points"], "additionalProperties": False,
            "properties": {"at_least": {"type": ["string", "number"]},
                           "points": {"type": "number", "minimum": 0}}}},
    }
    needs = frozenset({"fact", "steps", "points"})
    accepts = frozenset({"scale", "level"})
    answer_keys = frozenset()
    shorthand = "fact"

    # ------------------------------------------------------------------ definition
    def compile(self, scope: ItemScope, item: Item) -> None:
        raw = scope.raw
        scale = [str(x) for x in raw.get("scale", [])]
        steps: list[tuple[Any, float]] = []
        listed = raw["steps"]
        for k, step in enumerate(listed):
            line = listed.line_of(k)
            bound = step["at_least"]
            if scale:
                if str(bound) not in scale:
                    scope.add(line, "score.def.ref", path=f"{scope.path}.steps.at_least",
                              what=Phrase("score.fact.scale_value"), key=bound,
                              known=", ".join(scale))
                    continue
                bound = str(bound)
            elif not isinstance(bound, int | float):
                scope.add(line, "score.def.rule_field", path=f"{scope.path}.steps", rule=self.name,
                          key="scale")
                continue
            steps.append((bound, float(step["points"])))
        key = (lambda b: scale.index(b)) if scale else (lambda b: float(b))
        steps.sort(key=lambda s: key(s[0]), reverse=True)
        item.spec = {"fact": raw["fact"], "scale": scale, "steps": steps}

    def top_points(self, item: Item) -> float | None:
        return max((p for _, p in item.spec["steps"]), default=0.0)

    def tiers(self, item: Item, d: Definition) -> list[int]:
        return [d.level_index(item.level)] if item.level else []

    def question(self, item: Item, d: Definition, lang: str) -> list[str]:
        return ["    # " + t("score.fact.question", lang, fact=item.spec["fact"])]

    # ------------------------------------------------------------------ scoring
    def evaluate(self, e: Evaluation, item: Item, ans: Answer) -> ItemRating:
        spec = item.spec
        name = spec["fact"]
        if name not in e.facts or e.facts[name] is None:
            return ItemRating(item, "not_assessed", source="campaign",
                              reasons=[t("score.fact.unknown", e.lang, fact=name)])
        value = e.facts[name]
        scale: list[str] = spec["scale"]
        shown = str(value) if scale else fmt(float(value))
        if scale:
            if str(value) not in scale:
                return ItemRating(item, "not_met", source="campaign", answer=value,
                                  reasons=[t("score.fact.off_scale", e.lang, fact=name, value=value,
                                               scale=", ".join(scale))])
            rank = scale.index(str(value))
            reached = [(b, p) for b, p in spec["steps"] if rank >= scale.index(b)]
        else:
            reached = [(b, p) for b, p in spec["steps"] if float(value) >= float(b)]
        evidence = [{"kind": "fact", "fact": name, "value": value}]
        if not reached:
            lowest = spec["steps"][-1][0]
            return ItemRating(item, "not_met", source="campaign", answer=value,
                              reasons=[t("score.fact.below", e.lang, fact=name, value=shown,
                                           step=lowest if scale else fmt(float(lowest)))],
                              evidence=evidence)
        bound, points = reached[0]
        met = points >= float(item.points or 0.0)
        return ItemRating(item, "met" if met else "not_met", points, BIG if met else -1,
                          source="campaign", answer=value,
                          reasons=[t("score.fact.reached", e.lang, fact=name, value=shown,
                                       step=bound if scale else fmt(float(bound)),
                                       points=pts(points))], evidence=evidence)

    # ------------------------------------------------------------------ explanations
    def explain(self, item: Item, d: Definition, lang: str) -> str:
        spec = item.spec
        parts = [f"≥ {b if spec['scale'] else fmt(float(b))} → {pts(p)}"
                 for b, p in spec["steps"]]
        return f"{spec['fact']}: " + t("sep.semicolon", lang).join(parts)

    def needed(self, item: Item, d: Definition, req_index: int, lang: str,
               res: ItemRating | None) -> str:
        b, _ = item.spec["steps"][0]
        shown = b if item.spec["scale"] else fmt(float(b))
        return f"{item.spec['fact']} ≥ {shown}"
