"""Level rule ``all_required``: the level reached is the highest level L for which every item
required at or below L meets its requirement at L (the interoperability maturity schemes)."""

from __future__ import annotations

from ...i18n import t
from ...model.score import GapItem
from ..engine import meets_at, needed_text, required_at, tier_levels
from ..model import Definition, Level
from ..rating import ItemRating, LevelGap, LevelOutcome, code_key
from .base import LevelRuleType


class AllRequired(LevelRuleType):
    name = "all_required"

    def rate(self, d: Definition, results: list[ItemRating], total: float,
             lang: str) -> LevelOutcome:
        gated = [r for r in results if tier_levels(r.item, d)]
        if not gated:
            return LevelOutcome(None, False, t("score.no_items", lang), [], d.level_rule.provisional, [])
        per_level: list[tuple[Level, list[ItemRating]]] = [
            (lv, [r for r in gated if not meets_at(r, d, lv.index)]) for lv in d.levels]
        achieved: Level | None = None
        for lv, missing in per_level:
            if missing:
                break
            achieved = lv
        prov = d.level_rule.provisional or any(r.provisional for r in gated)
        gaps = []
        checks = []
        sep = t("sep.semicolon", lang)
        for lv, missing in per_level:
            checks.append({"level": lv.id, "met": not missing, "missing": len(missing)})
            if achieved is not None and lv.index <= achieved.index:
                continue
            rows = []
            for r in missing:
                req = required_at(r.item, d, lv.index)
                row = GapItem(
                    code=r.item.code, text=r.item.text, group=r.item.group,
                    required_level=d.levels[req].id if req is not None else None,
                    points=r.item.points, status=r.status, source=r.source,
                    reason=sep.join(r.reasons),
                    needed=needed_text(r.item, d, req, lang, r) if req is not None else "",
                    provisional=r.provisional or d.level_rule.provisional)
                rows.append(((req if req is not None else -1, -(r.item.points or 0.0),
                              code_key(r.item.code)), row))
            rows.sort(key=lambda x: x[0])
            gaps.append(LevelGap(lv, d.level_rule.provisional or any(x.provisional for _, x in rows),
                                 [x for _, x in rows]))
        return LevelOutcome(achieved, True, "", gaps, prov, checks)
