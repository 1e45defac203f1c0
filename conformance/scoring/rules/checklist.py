"""Rule ``checklist``: tick the options that apply; the count (and, per level, options or values
that must be among them) reaches a level and its points — or a fixed number of points per
option up to the item's points."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from ...i18n import t
from ...yamlio import LineDict, LineList
from ..problems import Phrase
from ..rating import ItemRating, r2
from .base import FIELDS, LEVEL_MAP_NUM, NUM, OPTIONS, STRS, RuleType, pts
from .yes_no import YES

if TYPE_CHECKING:
    from ..engine import Evaluation
    from ..model import Definition, Item
    from ..problems import ItemScope
    from ..questionnaire import Answer, AnswerReader


class Checklist(RuleType):
    name = "checklist"
    fields = {
        "options": OPTIONS,
        "other": {"type": "boolean"},
        "exclusive": STRS,
        "thresholds": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
        "level_points": LEVEL_MAP_NUM,
        "points_per_option": {"type": "number", "minimum": 0},
        "level_requires": {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": False,
            "properties": {"options": STRS,
                           "fields": {"type": "object", "additionalProperties": {
                               "type": "object", "additionalProperties": False,
                               "properties": {"min": NUM}}}}}},
        "option_requirements": {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": False, "required": ["label"],
            "properties": {"label": {"type": "string"}, "min": NUM, "confirm": {"type": "boolean"}}}},
        "fields": FIELDS,
    }
    needs = frozenset({"points", "options"})
    accepts = frozenset({"other", "exclusive", "thresholds", "level_points", "points_per_option",
                         "level_requires", "option_requirements", "fields"})
    answer_keys = frozenset({"selected", "other", "count", "values", "option_values"})
    shorthand = "value"

    # ------------------------------------------------------------------ definition
    def compile(self, scope: ItemScope, item: Item) -> None:
        it, path = scope.raw, scope.path
        item.options = scope.options()
        item.other = bool(it.get("other", False))
        item.exclusive = scope.option_refs(it.get("exclusive"), f"{path}.exclusive",
                                           it.line_of("exclusive"))
        item.thresholds = scope.level_map("thresholds", int)
        item.level_points = scope.level_map("level_points", float)
        item.points_per_option = it.get("points_per_option")
        item.fields = scope.field_specs("fields", "number")
        for lk, spec in (it.get("level_requires") or {}).items():
            lid = scope.check_level(lk, it["level_requires"].line_of(lk), f"{path}.level_requires")
            if lid is None:
                continue
            sline = spec.line_of("options") if isinstance(spec, LineDict) else scope.line
            item.level_requires[lid] = {
                "options": scope.option_refs(spec.get("options"),
                                             f"{path}.level_requires.{lk}.options", sline),
                "fields": dict(spec.get("fields", {}))}
        for req in item.level_requires.values():
            scope.field_refs(req["fields"], item, f"{path}.level_requires",
                             it.line_of("level_requires"))
        for ok, spec in (it.get("option_requirements") or {}).items():
            if scope.option_refs([ok], f"{path}.option_requirements",
                                 it.line_of("option_requirements")):
                item.option_requirements[ok] = dict(spec)
        if item.points_per_option is None:
            if not item.thresholds:
                scope.add(scope.line, "score.def.rule_field", path=path, rule=self.name, key="thresholds")
            elif not item.level_points:
                scope.add(scope.line, "score.def.rule_field", path=path, rule=self.name,
                          key="level_points")

    def top_points(self, item: Item) -> float | None:
        if item.points_per_option is not None:
            return None  # capped by `points` itself
        return max(item.level_points.values(), default=0.0)

    def tiers(self, item: Item, d: Definition) -> list[int]:
        return sorted({d.level_index(x) for x in set(item.thresholds) | set(item.level_requires)})

    # ------------------------------------------------------------------ questionnaire
    def read(self, reader: AnswerReader, item: Item, raw: LineDict, ans: Answer) -> None:
        code = item.code
        kl = raw.line_of
        labels = {o.id: o for o in item.options}
        seen: set[str] = set()
        for k, s in enumerate(reader.strings(code, "selected", raw.get("selected"), kl("selected"))):
            listed = raw.get("selected")
            sline = listed.line_of(k) if isinstance(listed, LineList) else kl("selected")
            hit = s if s in labels else next(
                (o.id for o in item.options if "".join(o.label.split()) == "".join(s.split())), None)
            if hit is None:
                near = difflib.get_close_matches(s, list(labels), n=1, cutoff=0.5)
                reader.err(sline, "score.q.unknown_option", code=code, got=s,
                           hint=Phrase("score.q.did_you_mean", alt=near[0]) if near else "")
                continue
            if hit in seen:
                reader.err(sline, "score.q.dup_option", code=code, got=hit)
                continue
            seen.add(hit)
            ans.selected.append(hit)
        if item.exclusive and len(ans.selected) > 1:
            for ex in item.exclusive:
                if ex in ans.selected:
                    reader.err(kl("selected"), "score.q.exclusive", code=code, got=ex)
        ans.other = reader.strings(code, "other", raw.get("other"), kl("other"))
        if ans.other and not item.other:
            reader.err(kl("other"), "score.q.unknown_field", code=code, field="other",
                       allowed=", ".join(sorted(self.answer_keys - {"other"})))
        count = raw.get("count")
        if count not in (None, ""):
            n = reader.number(code, "count", count, kl("count"), "integer")
            ticked = len(ans.selected) + len(ans.other)
            if n is not None and int(n) != ticked and (ans.selected or ans.other):
                reader.err(kl("count"), "score.q.count_mismatch", code=code, count=int(n), n=ticked)
        reader.values(item, raw, ans)
        ov = raw.get("option_values")
        if isinstance(ov, dict):
            for k, v in ov.items():
                vline = ov.line_of(k) if isinstance(ov, LineDict) else kl("option_values")
                req = item.option_requirements.get(k)
                if req is None:
                    reader.err(vline, "score.q.unknown_field", code=code, field=f"option_values.{k}",
                               allowed=", ".join(item.option_requirements) or "-")
                    continue
                if k not in ans.selected:
                    reader.err(vline, "score.q.option_value_unticked", code=code, opt=k)
                    continue
                if req.get("confirm"):
                    key = v if isinstance(v, bool | int) else str(v).strip().casefold()
                    ans.option_values[k] = key in YES
                else:
                    num = reader.number(code, f"option_values.{k}", v, vline, "ratio")
                    if num is not None:
                        ans.option_values[k] = num
        ans.answered = bool(ans.selected or ans.other) or (
            "selected" in raw and raw.get("selected") == [])

    def claims_met(self, item: Item, ans: Answer) -> bool:
        return bool(ans.selected)

    def question(self, item: Item, d: Definition, lang: str) -> list[str]:
        w = [f"    #    {t('score.init.thresholds', lang)}: {self.explain(item, d, lang)}"]
        for opt, req in item.option_requirements.items():
            w.append(f"    #    “{opt}” {t('score.init.counts_only_if', lang)}: {req['label']}"
                     f" → option_values: {{{opt}: {'true' if req.get('confirm') else '0.00'}}}")
        if item.exclusive:
            alone = t("sep.list", lang).join(item.exclusive)
            w.append(f"    #    {t('score.init.alone_only', lang)}: {alone}")
        w.append("    selected:")
        w.extend(f"    #- {o.label}" for o in item.options)
        if item.other:
            w.append("    other: []          # " + t("score.init.other", lang))
        if item.fields:
            w.append("    values: {" + ", ".join(f"{f.id}: " for f in item.fields) + "}   # "
                     + t("sep.semicolon", lang).join(f"{f.id} = {f.label}" for f in item.fields))
        if item.option_requirements:
            w.append("    option_values: {}")
        return w

    # ------------------------------------------------------------------ scoring
    def judge(self, e: Evaluation, item: Item, ans: Answer) -> ItemRating:
        counted: list[str] = []
        reasons: list[str] = []
        for s in ans.selected:
            if s in item.exclusive:
                continue
            req = item.option_requirements.get(s)
            if req is not None:
                val = ans.option_values.get(s)
                if req.get("confirm"):
                    ok = val is True
                else:
                    ok = isinstance(val, float) and val >= float(req.get("min", 0))
                if not ok:
                    reasons.append(e.t("score.why.option_req", opt=s, label=req["label"]))
                    continue
            counted.append(s)
        n = len(counted) + (1 if ans.other and item.other else 0)
        reasons.insert(0, e.t("score.why.count", n=n))
        achieved = -1
        for tier in sorted(set(item.thresholds) | set(item.level_requires), key=e.d.level_index):
            if self._tier_ok(item, tier, counted, n, ans):
                achieved = e.d.level_index(tier)
            else:
                break
        if item.points_per_option is not None:
            got = min(float(item.points or 0.0), item.points_per_option * n)
        else:
            earned = [p for lv, p in item.level_points.items() if e.d.level_index(lv) <= achieved]
            got = max(earned) if earned else 0.0
        summary = {"selected": ans.selected, "other": ans.other, "counted": n,
                   "counted_options": counted, "values": ans.values}
        return ItemRating(item, "met" if achieved >= 0 else "not_met", r2(got), achieved,
                          answer=summary, reasons=reasons)

    @staticmethod
    def _tier_ok(item: Item, level: str, counted: list[str], n: int, ans: Answer) -> bool:
        if level in item.thresholds and n < item.thresholds[level]:
            return False
        req = item.level_requires.get(level, {})
        if any(o not in counted for o in req.get("options", ())):
            return False
        for fid, cond in req.get("fields", {}).items():
            val = ans.values.get(fid)
            if val is None or val < float(cond.get("min", 0)):
                return False
        return True

    # ------------------------------------------------------------------ explanations
    def explain(self, item: Item, d: Definition, lang: str) -> str:
        tiers = sorted(set(item.thresholds) | set(item.level_requires), key=d.level_index)
        parts = []
        for tier in tiers:
            bits = []
            if tier in item.thresholds:
                bits.append(f">={item.thresholds[tier]}")
            req = item.level_requires.get(tier, {})
            if req.get("options"):
                bits.append(t("score.rule.incl", lang, opts=t("sep.list", lang).join(req["options"])))
            for fid, cond in req.get("fields", {}).items():
                bits.append(f"{fid} >= {cond.get('min')}")
            if tier in item.level_points:
                bits.append(t("score.points", lang, n=pts(item.level_points[tier])))
            parts.append(f"{d.level(tier).label(lang)} " + ", ".join(bits))
        extra = ""
        if item.points_per_option is not None:
            extra = t("score.rule.per_option", lang, per=pts(item.points_per_option), max=pts(item.points))
        return t("sep.semicolon", lang).join(parts) + extra

    def needed(self, item: Item, d: Definition, req_index: int, lang: str,
               res: ItemRating | None) -> str:
        answer: dict[str, Any] = (res.answer or {}) if res is not None else {}
        counted = set(answer.get("counted_options", ()))
        n = answer.get("counted", 0)
        values = answer.get("values", {})
        parts = []
        for tier in sorted(set(item.thresholds) | set(item.level_requires), key=d.level_index):
            if d.level_index(tier) > req_index:
                continue
            tl = d.level(tier).label(lang)
            if tier in item.thresholds and d.level_index(tier) == req_index and n < item.thresholds[tier]:
                need, short = item.thresholds[tier], item.thresholds[tier] - n
                parts.append(t("score.why.need_count_short", lang, level=tl, need=need, short=short))
            req = item.level_requires.get(tier, {})
            lacking = [o for o in req.get("options", ()) if o not in counted]
            if lacking:
                opts = t("sep.list", lang).join(lacking)
                parts.append(t("score.why.need_options", lang, level=tl, opts=opts))
            for fid, cond in req.get("fields", {}).items():
                if values.get(fid) is not None and values[fid] >= float(cond.get("min", 0)):
                    continue
                label = next((f.label for f in item.fields if f.id == fid), fid)
                low = cond.get("min")
                parts.append(t("score.why.need_min", lang, label=label, low=low))
        return t("sep.semicolon", lang).join(parts)
