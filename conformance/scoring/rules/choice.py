"""Rule ``choice``: one graded option; each option names the level it reaches and its points."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...i18n import t
from ..rating import ItemRating
from .base import OPTIONS, RuleType, pts

if TYPE_CHECKING:
    from ...yamlio import LineDict
    from ..engine import Evaluation
    from ..model import Definition, Item
    from ..problems import ItemScope
    from ..questionnaire import Answer, AnswerReader


class Choice(RuleType):
    name = "choice"
    fields = {"options": OPTIONS}
    needs = frozenset({"points", "options"})

    def compile(self, scope: ItemScope, item: Item) -> None:
        item.options = scope.options()
        if not any(o.level for o in item.options):
            scope.add(scope.line, "score.def.rule_field", path=f"{scope.path}.options", rule=self.name,
                      key="level")

    def top_points(self, item: Item) -> float | None:
        return max((o.points for o in item.options), default=0.0)

    def tiers(self, item: Item, d: Definition) -> list[int]:
        return sorted({d.level_index(o.level) for o in item.options if o.level})

    def read(self, reader: AnswerReader, item: Item, raw: LineDict, ans: Answer) -> None:
        v = raw.get("answer")
        if isinstance(v, list):
            if len(v) > 1:
                reader.err(raw.line_of("answer"), "score.q.exclusive", code=item.code,
                           got=", ".join(map(str, v)))
                v = None
            else:
                v = v[0] if v else None
        if v in (None, ""):
            return
        hit = next((o.id for o in item.options if str(v).strip() in (o.id, o.label)), None)
        if hit is None:
            reader.err(raw.line_of("answer"), "score.q.bad_value", code=item.code, field="answer", got=v,
                       allowed=", ".join(o.id for o in item.options))
        else:
            ans.value, ans.answered = hit, True

    def claims_met(self, item: Item, ans: Answer) -> bool:
        opt = item.option(ans.value) if isinstance(ans.value, str) else None
        return bool(opt and opt.level)

    def question(self, item: Item, d: Definition, lang: str) -> list[str]:
        lines = ["    answer:            # " + t("score.init.one_of", lang)]
        for o in item.options:
            tier = f"{d.level(o.level).label(lang)}, {t('score.points', lang, n=pts(o.points))}" \
                if o.level else t("score.init.no_points", lang)
            lines.append(f"    #   {o.id}: {o.label}  [{tier}]")
        return lines

    def judge(self, e: Evaluation, item: Item, ans: Answer) -> ItemRating:
        opt = item.option(ans.value)
        reasons = [e.t("score.why.choice", label=opt.label)]
        if opt.level is None:
            return ItemRating(item, "not_met", answer=opt.id, reasons=reasons)
        return ItemRating(item, "met", opt.points, e.d.level_index(opt.level), answer=opt.id,
                          reasons=reasons)

    def needed(self, item: Item, d: Definition, req_index: int, lang: str,
               res: ItemRating | None) -> str:
        opts = [o.label for o in item.options if o.level and d.level_index(o.level) >= req_index]
        return t("score.why.need_tier", lang, level=d.levels[req_index].label(lang), label=" / ".join(opts))
