"""Rule ``record``: recorded, never scored — a number, a text, or a response-time band (the 3.3
performance items, bound to perf.json)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...i18n import t
from ..rating import ItemRating
from .base import LABEL, RuleType

if TYPE_CHECKING:
    from ...yamlio import LineDict
    from ..engine import Evaluation
    from ..model import Definition, Item
    from ..problems import ItemScope
    from ..questionnaire import Answer, AnswerReader


class Record(RuleType):
    name = "record"
    fields = {"record": {"enum": ["band", "number", "text"]}, "label": LABEL}
    needs = frozenset({"record"})
    accepts = frozenset({"label"})
    binds = ("performance",)
    answer_keys = frozenset({"value"})
    shorthand = "value"
    scored = False
    in_leaf_sums = False

    def compile(self, scope: ItemScope, item: Item) -> None:
        item.record = scope.get("record")
        item.label = scope.get("label", "")
        if item.record == "band" and not scope.bands:
            scope.add(scope.line, "score.def.rule_field", path=scope.path, rule="record: band",
                      key="bands (top level)")

    def tiers(self, item: Item, d: Definition) -> list[int]:
        return []

    def read(self, reader: AnswerReader, item: Item, raw: LineDict, ans: Answer) -> None:
        v = raw.get("value")
        if v in (None, ""):
            return
        if item.record == "number":
            num = reader.number(item.code, "value", v, raw.line_of("value"))
            if num is not None:
                ans.value, ans.answered = num, True
        else:
            ans.value, ans.answered = str(v), True

    def question(self, item: Item, d: Definition, lang: str) -> list[str]:
        return [f"    value:             # {item.label or t('score.init.recorded_only', lang)}"]

    def unanswered(self, e: Evaluation, item: Item) -> ItemRating:
        return ItemRating(item, "recorded", reasons=[e.t("score.why.record")])

    def judge(self, e: Evaluation, item: Item, ans: Answer) -> ItemRating:
        return ItemRating(item, "recorded", answer=ans.value,
                          reasons=[f"{item.label or item.text}: {ans.value}", e.t("score.why.record")])
