"""Rule ``measures``: numeric answers (hours, ratios …) that reach a level's tier when every value
is within the tier's bounds."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ...i18n import t
from ..rating import ItemRating
from .base import FIELDS, LEVEL_MAP_NUM, NUM, RuleType, fmt, pts

if TYPE_CHECKING:
    from ...yamlio import LineDict
    from ..engine import Evaluation
    from ..model import Definition, Item
    from ..problems import ItemScope
    from ..questionnaire import Answer, AnswerReader


class Measures(RuleType):
    name = "measures"
    fields = {
        "fields": FIELDS,
        "tiers": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["level", "points"], "additionalProperties": False,
            "properties": {"level": {"type": "string"}, "points": NUM,
                           "max": LEVEL_MAP_NUM, "min": LEVEL_MAP_NUM}}},
    }
    needs = frozenset({"points", "fields", "tiers"})
    answer_keys = frozenset({"values"})
    shorthand = "value"

    def compile(self, scope: ItemScope, item: Item) -> None:
        item.fields = scope.field_specs("fields", "number")
        listed = scope.raw.get("tiers", [])
        for k, tier in enumerate(listed):
            tline = listed.line_of(k)
            lid = scope.check_level(tier["level"], tline, f"{scope.path}.tiers.level")
            for bound in ("max", "min"):
                scope.field_refs(tier.get(bound, {}), item, f"{scope.path}.tiers.{bound}", tline)
            if lid is not None:
                item.tiers.append({"level": lid, "points": float(tier["points"]),
                                   "max": dict(tier.get("max", {})), "min": dict(tier.get("min", {}))})

    def top_points(self, item: Item) -> float | None:
        return max((tr["points"] for tr in item.tiers), default=0.0)

    def tiers(self, item: Item, d: Definition) -> list[int]:
        return sorted({d.level_index(tr["level"]) for tr in item.tiers})

    def read(self, reader: AnswerReader, item: Item, raw: LineDict, ans: Answer) -> None:
        if reader.values(item, raw, ans):
            ans.answered = len(ans.values) == len(item.fields)

    def question(self, item: Item, d: Definition, lang: str) -> list[str]:
        w = [f"    #    {t('score.init.thresholds', lang)}: {self.explain(item, d, lang)}",
             "    values:"]
        for f in item.fields:
            w.append(f"      {f.id}:          # {f.label}{t('paren', lang, text=f.unit) if f.unit else ''}")
        return w

    def judge(self, e: Evaluation, item: Item, ans: Answer) -> ItemRating:
        achieved, got = -1, 0.0
        for tier in sorted(item.tiers, key=lambda tr: e.d.level_index(tr["level"])):
            ok = all(ans.values.get(k, math.inf) <= v for k, v in tier["max"].items()) and \
                all(ans.values.get(k, -math.inf) >= v for k, v in tier["min"].items())
            if not ok:
                break
            achieved, got = e.d.level_index(tier["level"]), tier["points"]
        shown = ", ".join(f"{k} = {fmt(v)}" for k, v in ans.values.items())
        return ItemRating(item, "met" if achieved >= 0 else "not_met", got, achieved,
                          answer=dict(ans.values), reasons=[shown])

    def explain(self, item: Item, d: Definition, lang: str) -> str:
        parts = []
        for tr in item.tiers:
            conds = [f"{k} <= {v}" for k, v in tr["max"].items()]
            conds += [f"{k} >= {v}" for k, v in tr["min"].items()]
            parts.append(f"{d.level(tr['level']).label(lang)} {' & '.join(conds)} → {pts(tr['points'])}")
        return t("sep.semicolon", lang).join(parts)

    def needed(self, item: Item, d: Definition, req_index: int, lang: str,
               res: ItemRating | None) -> str:
        tier = next((tr for tr in item.tiers if d.level_index(tr["level"]) == req_index), None)
        if tier is None:
            return ""
        conds = [f"{k} ≤ {v}" for k, v in tier["max"].items()]
        conds += [f"{k} ≥ {v}" for k, v in tier["min"].items()]
        return t("score.why.need_measure", lang, level=d.levels[req_index].label(lang),
                 cond=" & ".join(conds))
