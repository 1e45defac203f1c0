"""Rule ``conformance``: 有且完全符合国家标准 / 部分符合 / 无 — a data set, document or service that
must be present and fully conformant from its level on; usually bound to machine results
(documents, services, data sets), else answered in the questionnaire."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...i18n import t
from ..rating import ItemRating
from .base import RuleType

if TYPE_CHECKING:
    from ...yamlio import LineDict
    from ..engine import Evaluation
    from ..model import Definition, Item
    from ..questionnaire import Answer, AnswerReader

ANSWERS = {
    "conformant": "conformant", "有且完全符合国家标准": "conformant", "完全符合": "conformant",
    "partial": "partial", "有，部分符合国家标准": "partial", "有,部分符合国家标准": "partial",
    "部分符合": "partial",
    "absent": "absent", "无此数据": "absent", "无此文档": "absent", "无此服务": "absent", "无": "absent",
    "no_business": "no_business", "无此业务": "no_business",
}
LABEL = {"conformant": "有且完全符合国家标准", "partial": "有，部分符合国家标准",
         "no_business": "无此业务（选测）"}
ABSENT_LABEL = {"data": "无此数据", "document": "无此文档", "service": "无此服务"}
_WHY = {"conformant": "score.why.conformant", "partial": "score.why.partial", "absent": "score.why.absent",
        "no_business": "score.why.no_business"}


class Conformance(RuleType):
    name = "conformance"
    fields = {"subject": {"enum": ["data", "document", "service"]},
              "optional_business": {"type": "boolean"}}
    needs = frozenset({"points", "level", "subject"})
    accepts = frozenset({"optional_business"})
    binds = ("documents", "services", "datasets")

    def read(self, reader: AnswerReader, item: Item, raw: LineDict, ans: Answer) -> None:
        v = raw.get("answer")
        if v in (None, ""):
            return
        norm = ANSWERS.get("".join(str(v).split()).casefold()) or ANSWERS.get(str(v).strip())
        allowed = ["conformant", "partial", "absent"] + (
            ["no_business"] if item.optional_business else [])
        if norm is None:
            reader.err(raw.line_of("answer"), "score.q.bad_value", code=item.code, field="answer", got=v,
                       allowed=", ".join(allowed))
        elif norm == "no_business" and not item.optional_business:
            reader.err(raw.line_of("answer"), "score.q.no_business", code=item.code)
        else:
            ans.value, ans.answered = norm, True

    def claims_met(self, item: Item, ans: Answer) -> bool:
        return ans.value == "conformant"

    def question(self, item: Item, d: Definition, lang: str) -> list[str]:
        if item.automated:
            return ["    answer:            # no_business" + t("paren", lang, text="无此业务") + " | "
                    + t("score.init.leave_empty", lang)]
        def opt(key: str, label: str) -> str:
            return key + t("paren", lang, text=label)

        vals = [opt("conformant", LABEL["conformant"]), opt("partial", LABEL["partial"]),
                opt("absent", ABSENT_LABEL.get(item.subject, "无"))]
        if item.optional_business:
            vals.append(opt("no_business", LABEL["no_business"]))
        return ["    answer:            # " + " | ".join(vals)]

    def judge(self, e: Evaluation, item: Item, ans: Answer) -> ItemRating:
        return e.binary(item, ans.value, "questionnaire", [e.t(_WHY[ans.value])])

    def needed(self, item: Item, d: Definition, req_index: int, lang: str,
               res: ItemRating | None) -> str:
        if item.binding is not None and item.binding.source == "services":
            return t("score.why.need_cases", lang)
        if item.binding is not None and item.binding.source == "documents":
            docs = "/".join(item.binding.keys)
            return t("score.why.need_samples", lang, docs=docs)
        if item.optional_business:
            return t("score.why.need_conformant_or_none", lang)
        return t("score.why.need_conformant", lang)
