"""Rule ``level_score``: an item of the EMR application rating or the smart-service rating —
function level × application × data quality; the level rule ``basic_selectable`` rates the
levels from these items."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...i18n import t
from ...yamlio import LineDict
from ..problems import Phrase
from ..rating import ItemRating, r2
from .base import RuleType, fmt
from .yes_no import yes_or_no

if TYPE_CHECKING:
    from ..engine import Evaluation
    from ..model import Definition, Item
    from ..problems import ItemScope
    from ..questionnaire import Answer, AnswerReader


class LevelScore(RuleType):
    name = "level_score"
    fields = {
        "application": {"enum": ["ratio", "applied"]},
        "data_quality": {"enum": ["ratio", "none"]},
        "application_basis": {"type": "string"},
        "data_quality_basis": {"type": "string"},
        "basic_levels": {"anyOf": [{"type": "null"},
                                   {"type": "array", "items": {"type": ["string", "integer"]}}]},
    }
    accepts = frozenset({"application", "data_quality", "application_basis", "data_quality_basis",
                         "basic_levels"})
    answer_keys = frozenset({"level", "application", "data_quality", "by_level"})
    shorthand = "value"
    in_leaf_sums = False
    in_item_counts = False

    def compile(self, scope: ItemScope, item: Item) -> None:
        it = scope.raw
        item.application = it.get("application", "ratio")
        item.data_quality = it.get("data_quality", "ratio")
        item.application_basis = it.get("application_basis", "")
        item.data_quality_basis = it.get("data_quality_basis", "")
        if it.get("basic_levels") is not None:
            item.basic_levels = tuple(x for x in (
                scope.check_level(v, it.line_of("basic_levels"), f"{scope.path}.basic_levels")
                for v in it["basic_levels"]) if x is not None)

    def max_points(self, item: Item, top_level: int) -> float:
        return float(top_level)

    def tiers(self, item: Item, d: Definition) -> list[int]:
        return []

    def points_label(self, item: Item, d: Definition, lang: str) -> str:
        if item.points is not None:
            return super().points_label(item, d, lang)
        return f"0–{d.top_level_number}"

    def read(self, reader: AnswerReader, item: Item, raw: LineDict, ans: Answer) -> None:
        code = item.code
        kl = raw.line_of
        top = reader.d.top_level_number
        lv = raw.get("level")
        if lv not in (None, ""):
            n = reader.number(code, "level", lv, kl("level"), "integer")
            if n is not None:
                if n > top:
                    reader.err(kl("level"), "score.q.bad_number", code=code, field="level",
                               got=lv, want=f"0–{top}")
                else:
                    ans.level = int(n)
        app = raw.get("application")
        applied = yes_or_no(app) if isinstance(app, bool | str) and app != "" else None
        if item.application == "applied" and applied is not None:
            ans.application = 1.0 if applied else 0.0
        else:
            ans.application = reader.number(code, "application", app, kl("application"), "ratio")
        if item.data_quality == "none":
            if raw.get("data_quality") not in (None, ""):
                reader.err(kl("data_quality"), "score.q.unknown_field", code=code, field="data_quality",
                           allowed="level, application, by_level")
            ans.data_quality = 1.0
        else:
            ans.data_quality = reader.number(code, "data_quality", raw.get("data_quality"),
                                             kl("data_quality"), "ratio")
        by = raw.get("by_level")
        if isinstance(by, dict):
            for lk, row in by.items():
                bline = by.line_of(lk) if isinstance(by, LineDict) else kl("by_level")
                if reader.d.level(str(lk)) is None:
                    reader.err(bline, "score.q.bad_value", code=code, field="by_level", got=lk,
                               allowed=", ".join(lv.id for lv in reader.d.levels))
                    continue
                if not isinstance(row, dict):
                    reader.err(bline, "score.q.bad_value", code=code, field=f"by_level.{lk}", got=row,
                               allowed="{application, data_quality}")
                    continue
                ent = {}
                for k in ("application", "data_quality"):
                    if row.get(k) not in (None, ""):
                        num = reader.number(code, f"by_level.{lk}.{k}", row[k], bline, "ratio")
                        if num is not None:
                            ent[k] = num
                ans.by_level[str(lk)] = ent
        ans.answered = ans.level is not None
        if ans.answered:
            for name in ("application", "data_quality"):
                if getattr(ans, name) is None and raw.get(name) in (None, ""):
                    reader.err(kl("level"), "score.q.number_missing", code=code, field=name,
                               want=Phrase("score.q.want.ratio_short"))

    def question(self, item: Item, d: Definition, lang: str) -> list[str]:
        w = []
        if item.application_basis:
            w.append(f"    #    {t('score.init.application', lang)}: {item.application_basis}")
        if item.data_quality_basis:
            w.append(f"    #    {t('score.init.data_quality', lang)}: {item.data_quality_basis}")
        w.append(f"    level:             # 0–{d.top_level_number} " + t("score.init.function_level", lang))
        if item.application == "applied":
            w.append("    application:       # yes | no " + t("score.init.in_use", lang))
        else:
            w.append("    application:       # 0–1 " + t("score.init.application_ratio", lang))
        if item.data_quality != "none":
            w.append("    data_quality:      # 0–1 " + t("score.init.data_quality_index", lang))
        dq_hint = ", data_quality: 0.8" if item.data_quality != "none" else ""
        w.append("    # by_level: {\"3\": {application: 0.95" + dq_hint
                 + "}}   # " + t("score.init.by_level", lang))
        return w

    def judge(self, e: Evaluation, item: Item, ans: Answer) -> ItemRating:
        f, app = ans.level or 0, ans.application or 0.0
        dq = ans.data_quality if ans.data_quality is not None else 1.0
        got = f * app * dq
        why = e.t("score.why.levelscore", level=f, app=fmt(app), dq=fmt(dq), score=fmt(got))
        res = ItemRating(item, "scored", r2(got), f,
                         answer={"level": f, "application": app, "data_quality": dq}, reasons=[why])
        res.function_level, res.application, res.data_quality = f, app, dq
        res.by_level = ans.by_level
        return res

    def extra(self, res: ItemRating) -> dict[str, Any]:
        item = res.item
        return {"function_level": res.function_level, "application": res.application,
                "data_quality": res.data_quality, "by_level": res.by_level or None,
                "basic_levels": list(item.basic_levels) if item.basic_levels is not None else None}
