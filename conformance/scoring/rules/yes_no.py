"""Rule ``yes_no``: a requirement met or not, from its level on (是 / 否)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...i18n import t
from ..rating import BIG, ItemRating
from .base import LABEL, RuleType

if TYPE_CHECKING:
    from ...yamlio import LineDict
    from ..engine import Evaluation
    from ..model import Definition, Item
    from ..problems import ItemScope
    from ..questionnaire import Answer, AnswerReader

YES = {True, "yes", "y", "true", "是", "有", "满足", "有此文档", "1"}
NO = {False, "no", "n", "false", "否", "无", "不满足", "无此文档", "0"}


def yes_or_no(value: object) -> bool | None:
    """True / False for the yes and no words (and booleans), None for anything else."""
    key = value if isinstance(value, bool | int) else str(value).strip().casefold()
    if key in YES:
        return True
    if key in NO:
        return False
    return None


class YesNo(RuleType):
    name = "yes_no"
    fields = {"label": LABEL}
    needs = frozenset({"points", "level"})
    accepts = frozenset({"label"})

    def compile(self, scope: ItemScope, item: Item) -> None:
        item.label = scope.get("label", "")

    def read(self, reader: AnswerReader, item: Item, raw: LineDict, ans: Answer) -> None:
        v = raw.get("answer")
        if v in (None, ""):
            return
        got = yes_or_no(v)
        if got is None:
            reader.err(raw.line_of("answer"), "score.q.bad_value", code=item.code, field="answer", got=v,
                       allowed="yes, no")
        else:
            ans.value, ans.answered = got, True

    def claims_met(self, item: Item, ans: Answer) -> bool:
        return ans.value is True

    def question(self, item: Item, d: Definition, lang: str) -> list[str]:
        hint = t("paren", lang, text=item.label) if item.label else ""
        return [f"    answer:            # yes | no{hint}"]

    def judge(self, e: Evaluation, item: Item, ans: Answer) -> ItemRating:
        if ans.value:
            return ItemRating(item, "met", float(item.points or 0), BIG, answer=True,
                              reasons=[e.t("score.why.yes")])
        return ItemRating(item, "not_met", answer=False, reasons=[e.t("score.why.no")])

    def needed(self, item: Item, d: Definition, req_index: int, lang: str,
               res: ItemRating | None) -> str:
        return t("score.why.need_yes", lang)
