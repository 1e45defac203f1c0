"""Scoring: a pure function from (definition, machine results, questionnaire) to a Rating.

Per item: its rule type (``scoring.rules``) judges the answer or the machine results it is bound
to (``scoring.bindings``). Per level: the definition's level rule decides. Provisional inputs make
every figure that depends on them provisional."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..i18n import t
from ..model.score import DimensionScore, SubIndexScore
from .bindings import SOURCES
from .model import Definition, Item, Level
from .questionnaire import Answer, Questionnaire
from .rating import BIG, MET, ItemRating, Rating, r2
from .results import RunInputs

Notes = list[tuple[str, dict[str, Any]]]


def tier_levels(item: Item, d: Definition) -> list[int]:
    """The level indices at which an item has a requirement."""
    return item.rule_type.tiers(item, d)


def required_at(item: Item, d: Definition, level_index: int) -> int | None:
    below = [t for t in tier_levels(item, d) if t <= level_index]
    return max(below) if below else None


def meets_at(res: ItemRating, d: Definition, level_index: int) -> bool:
    req = required_at(res.item, d, level_index)
    return req is None or res.achieved >= req


def needed_text(item: Item, d: Definition, req_index: int, lang: str,
                res: ItemRating | None = None) -> str:
    """What an item needs at a level (the gap lists)."""
    return item.rule_type.needed(item, d, req_index, lang, res)


class Evaluation:
    """What a rule type judges an item with: the definition, the machine results, the answers,
    facts the caller supplies, and the notes (warnings) scoring adds."""

    def __init__(self, d: Definition, inputs: RunInputs, q: Questionnaire | None, lang: str,
                 facts: Mapping[str, Any] | None = None) -> None:
        self.d = d
        self.inputs = inputs
        self.q = q
        self.lang = lang
        self.facts: Mapping[str, Any] = facts or {}
        self.notes: Notes = []

    def t(self, key: str, **kw: Any) -> str:
        return t(key, self.lang, **kw)

    def answer(self, code: str) -> Answer:
        if self.q is None:
            return Answer(code, 0, answered=False)
        return self.q.answers.get(code) or Answer(code, 0, answered=False)

    def evaluate(self, item: Item) -> ItemRating:
        ans = self.answer(item.code)
        res = item.rule_type.evaluate(self, item, ans)
        res.provisional = res.provisional or item.provisional
        if ans.evidence:
            res.evidence.extend({"kind": "file", "path": e.path, "sha256": e.sha256, "bytes": e.bytes}
                                for e in ans.evidence)
        if ans.details:
            res.evidence.append({"kind": "details", "values": ans.details})
        if ans.note:
            res.evidence.append({"kind": "note", "text": ans.note})
        return res

    # machine results ------------------------------------------------------------------------
    def bound(self, item: Item, ans: Answer) -> ItemRating | None:
        """The item judged from the machine results it is bound to (None: none, and the binding
        falls back to the questionnaire)."""
        return SOURCES[item.binding.source](self, item, ans)

    def binary(self, item: Item, verdict: str, source: str, reasons: list[str],
               evidence: list[dict[str, Any]] | None = None) -> ItemRating:
        """A met / not met result from a verdict (conformant | partial | absent | no_business |
        not_assessed)."""
        status = {"conformant": "met", "no_business": "no_business"}.get(verdict, "not_met")
        if verdict == "not_assessed":
            status = "not_assessed"
        pts = float(item.points or 0.0) if status in MET else 0.0
        return ItemRating(item, status, pts, BIG if status in MET else -1, source, verdict,
                          reasons, evidence or [])

    def no_business_claim(self, item: Item, ans: Answer) -> bool:
        return item.optional_business and ans.answered and ans.value == "no_business"

    def ignored(self, item: Item, ans: Answer, auto_verdict: str) -> None:
        """Note an answer the machine result overrides, when they disagree."""
        if ans.answered and not self.no_business_claim(item, ans) \
                and ans.value not in (None, auto_verdict):
            self.notes.append(("score.q.contradicts_auto", {"code": item.code, "answer": ans.value,
                                                      "auto": auto_verdict}))


# ---------------------------------------------------------------------------------------------
# aggregation
# ---------------------------------------------------------------------------------------------

def score(d: Definition, inputs: RunInputs, q: Questionnaire | None, lang: str = "zh",
          facts: Mapping[str, Any] | None = None) -> tuple[Rating, Notes]:
    """Rate every item, add up the sub-indices and dimensions, and rate the level."""
    ev = Evaluation(d, inputs, q, lang, facts)
    results = [ev.evaluate(item) for item in d.items]
    by_sub: dict[str, list[ItemRating]] = {}
    for r in results:
        by_sub.setdefault(r.item.sub_index or r.item.dimension, []).append(r)
    sub_scores: dict[str, SubIndexScore] = {}
    dims: list[DimensionScore] = []
    top = d.top_level_number
    total = 0.0
    total_max: float | None = 0.0
    any_prov = False
    for dim in d.dimensions:
        dim_prov = dim.provisional
        dim_score = 0.0
        subs_out = []
        if dim.sub_indices:
            for sub in dim.sub_indices:
                rs = by_sub.get(sub.id, [])
                earned = sum(r.points for r in rs)
                leaf = sub.leaf_sum if sub.leaf_sum is not None else (sub.max or 0.0)
                scaled = sub.normalize == "proportional" and leaf
                s_score = earned * (sub.max or 0.0) / leaf if scaled else earned
                s_prov = sub.provisional or any(r.provisional for r in rs)
                sub_scores[sub.id] = SubIndexScore(
                    id=sub.id, name=sub.name, name_en=sub.name_en, score=r2(s_score), max=sub.max,
                    earned_leaf_points=r2(earned), leaf_sum=sub.leaf_sum, normalized=sub.normalize,
                    provisional=s_prov, note=sub.note)
                subs_out.append(sub_scores[sub.id])
                dim_score += s_score
                dim_prov = dim_prov or s_prov
            dmax = dim.max
        else:
            rs = by_sub.get(dim.id, [])
            dim_score = sum(r.points for r in rs)
            dim_prov = dim_prov or any(r.provisional for r in rs)
            dmax = dim.max if dim.max is not None else (
                sum(r.item.max_points(top) for r in rs) or None)
        achievable = None
        if dim.missing_points and dmax is not None:
            achievable = dmax - dim.missing_points
        dims.append(DimensionScore(id=dim.id, name=dim.name, name_en=dim.name_en,
                                   score=r2(dim_score), max=dmax, achievable_max=achievable,
                                   provisional=dim_prov, note=dim.note, sub_indices=subs_out))
        total += dim_score
        total_max = None if total_max is None or dmax is None else total_max + dmax
        any_prov = any_prov or dim_prov
    out = d.level_rule.kind.rate(d, results, total, lang)
    reasons = list(d.provisional_reasons)
    if not out.determinable:
        reasons.append("level not determinable")
    if any(r.provisional for r in results) and not any(x.endswith("items") for x in reasons):
        reasons.append("items")
    if out.provisional and "level_rule" not in reasons:
        reasons.append("basic-item classification")
    rating = Rating(d, results, out.level, out.determinable, out.provisional, out.why_not,
                    out.gaps, sub_scores, dims, r2(total), total_max, any_prov, reasons, out.checks)
    return rating, ev.notes


def score_is_provisional(sc: Rating) -> bool:
    return sc.provisional


def level_label(level: Level | None, lang: str) -> str:
    return level.label(lang) if level else t("score.none_level", lang)


__all__ = ["Evaluation", "ItemRating", "Rating", "level_label", "meets_at", "needed_text",
           "required_at", "score", "score_is_provisional", "tier_levels"]
