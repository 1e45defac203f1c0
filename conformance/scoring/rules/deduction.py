"""Rule ``deduction`` (扣分项): an item that starts from its ``points`` and loses points for each
listed problem found — a security incident, a late data upload, a failing interoperability
service — never going below its ``floor``. Each entry is counted from the questionnaire (how
many times it happened) or from machine results (how many bound services, document types or
data sets fail). With ``points: 0`` and a negative ``floor`` the item only takes points off its
dimension, as city index systems list their 扣分项.

    - code: "6.1"
      dimension: "6"
      text: 信息安全
      rule: deduction
      points: 10            # the item starts here
      floor: 0              # and never goes below (default 0)
      deductions:
        - {id: security_incident, label: 发生网络安全事件, points: 5, max: 10}
        - {id: failing_services, label: 互联互通服务测试未通过, points: 0.5, max: 2,
           binding: {source: services}}          # counted from results.json (all services)

Answered in the questionnaire as ``counts: {security_incident: 0}``; every entry counted there
needs a number (0 when it did not happen), else the item is unanswered and earns its floor. It
gates no level."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...i18n import LANGS, t
from ...yamlio import LineDict, LineList
from ..rating import ItemRating, r2
from .base import NUM, STRS, RuleType, pts

if TYPE_CHECKING:
    from ..engine import Evaluation
    from ..model import Definition, Item
    from ..problems import ItemScope
    from ..questionnaire import Answer, AnswerReader

# binding source → the key list naming what is counted, and the kind of result it comes from
_SOURCES = {"documents": ("document_types", "validate"), "services": ("services", "run"),
            "datasets": ("datasets", "datasets")}


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    label: str
    label_en: str
    points: float                 # taken off per occurrence
    max: float | None             # at most this much for the entry
    source: str | None = None     # counted from machine results (None: the questionnaire)
    keys: tuple[str, ...] = ()    # the document types / services / data sets counted (all: empty)

    def name(self, lang: str) -> str:
        return self.label_en if lang == "en" and self.label_en else self.label


@dataclass(frozen=True, slots=True)
class Spec:
    floor: float
    entries: tuple[Entry, ...]

    @property
    def asked(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.source is None)


def _norm(text: str) -> str:
    return "".join(str(text).split()).casefold()


class Deduction(RuleType):
    name = "deduction"
    fields = {
        "floor": NUM,
        "deductions": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["id", "label", "points"], "additionalProperties": False,
            "properties": {
                "id": {"type": "string", "minLength": 1}, "label": {"type": "string"},
                "label_en": {"type": "string"},
                "points": {"type": "number", "exclusiveMinimum": 0},
                "max": {"type": "number", "minimum": 0},
                "binding": {"type": "object", "required": ["source"], "additionalProperties": False,
                            "properties": {"source": {"enum": list(_SOURCES)},
                                           "document_types": STRS, "services": STRS,
                                           "datasets": STRS}}}}},
    }
    needs = frozenset({"points", "deductions"})
    accepts = frozenset({"floor"})
    answer_keys = frozenset({"counts"})
    shorthand = "counts"

    # ------------------------------------------------------------------ definition
    def compile(self, scope: ItemScope, item: Item) -> None:
        raw = scope.raw
        floor = float(raw.get("floor", 0.0))
        if item.points is not None and floor > float(item.points):
            scope.add(raw.line_of("points"), "score.def.min", path=f"{scope.path}.points", limit=floor,
                      got=item.points)
        entries: list[Entry] = []
        seen: dict[str, int] = {}
        listed: LineList = raw["deductions"]
        for k, d in enumerate(listed):
            line = listed.line_of(k)
            if d["id"] in seen:
                scope.add(line, "score.def.dup", key=d["id"], first=seen[d["id"]],
                          what={lang: t("score.deduction.entry", lang) for lang in LANGS})
                continue
            seen[d["id"]] = line
            source, keys = None, ()
            b = d.get("binding")
            if isinstance(b, LineDict):
                source = b["source"]
                want = _SOURCES[source][0]
                for other in sorted(set(b) - {"source", want}):
                    scope.add(b.line_of(other), "score.def.rule_extra", path=f"{scope.path}.deductions"
                              f"[{d['id']}].binding", rule=f"binding: {source}", key=other)
                keys = tuple(b.get(want, ()))
            entries.append(Entry(d["id"], d["label"], d.get("label_en", ""), float(d["points"]),
                                 float(d["max"]) if d.get("max") is not None else None,
                                 source, keys))
        item.spec = Spec(floor, tuple(entries))

    def tiers(self, item: Item, d: Definition) -> list[int]:
        return []

    # ------------------------------------------------------------------ questionnaire
    def read(self, reader: AnswerReader, item: Item, raw: LineDict, ans: Answer) -> None:
        counts = raw.get("counts")
        if counts is None:
            return
        asked = [e.id for e in item.spec.asked]
        if not isinstance(counts, dict):
            reader.err(raw.line_of("counts"), "score.q.bad_value", code=item.code, field="counts",
                       got=counts, allowed="{" + ", ".join(f"{i}: 0" for i in asked) + "}")
            return
        for key, value in counts.items():
            line = counts.line_of(key) if isinstance(counts, LineDict) else raw.line_of("counts")
            if key not in asked:
                reader.err(line, "score.q.unknown_field", code=item.code, field=f"counts.{key}",
                           allowed=", ".join(asked) or "-")
                continue
            if value in (None, ""):
                continue
            n = reader.number(item.code, f"counts.{key}", value, line, "integer")
            if n is not None:
                ans.values[key] = int(n)
        ans.answered = all(i in ans.values for i in asked)

    def question(self, item: Item, d: Definition, lang: str) -> list[str]:
        spec: Spec = item.spec
        w = [f"    #    {t('score.deduction.deductions', lang)}: {self.explain(item, d, lang)}"]
        for e in spec.entries:
            if e.source is not None:
                w.append("    #    " + t("score.deduction.automatic", lang, id=e.id, name=e.name(lang)))
        if spec.asked:
            w.append("    counts:")
            how = t("score.deduction.counts", lang)
            w.extend(f"      {e.id}:          # {e.name(lang)}{t('sep.semicolon', lang)}{how}"
                     for e in spec.asked)
        return w

    # ------------------------------------------------------------------ scoring
    def evaluate(self, e: Evaluation, item: Item, ans: Answer) -> ItemRating:
        spec: Spec = item.spec
        start = float(item.points or 0.0)
        if spec.asked and not ans.answered:
            return ItemRating(item, "unanswered", spec.floor, reasons=[
                t("score.deduction.unanswered", e.lang, floor=pts(spec.floor))])
        reasons: list[str] = []
        evidence: list[dict[str, Any]] = []
        counts: dict[str, int] = {}
        deducted: dict[str, float] = {}
        sources: set[str] = {"questionnaire"} if spec.asked else set()
        for entry in spec.entries:
            label = entry.name(e.lang)
            if entry.source is None:
                n, found = int(ans.values.get(entry.id, 0)), None
            else:
                kind = _SOURCES[entry.source][1]
                sources.add(kind)
                if kind not in e.inputs.kinds:
                    reasons.append(t("score.deduction.not_assessed", e.lang, label=label, kind=kind))
                    continue
                found = self._found(e, entry)
                n = len(found)
                evidence.append({"kind": "deduction", "entry": entry.id, "source": entry.source,
                                 "found": found})
            cut = n * entry.points
            if entry.max is not None:
                cut = min(cut, entry.max)
            counts[entry.id], deducted[entry.id] = n, r2(cut)
            if n and found is None:
                reasons.append(t("score.deduction.row", e.lang, label=label, n=n, cut=pts(cut)))
            elif n:
                reasons.append(t("score.deduction.found", e.lang, label=label, n=n, cut=pts(cut),
                                   names=t("sep.list", e.lang).join(found[:5]) + ("…" if n > 5 else "")))
        total = sum(deducted.values())
        got = max(spec.floor, start - total)
        reasons.insert(0, t("score.deduction.sum", e.lang, start=pts(start), cut=pts(total), got=pts(got),
                              floor=pts(spec.floor)))
        source = next(iter(sources)) if len(sources) == 1 else "+".join(sorted(sources))
        return ItemRating(item, "scored", r2(got), source=source or "questionnaire",
                          answer={"counts": counts, "deducted": deducted}, reasons=reasons,
                          evidence=evidence)

    @staticmethod
    def _found(e: Evaluation, entry: Entry) -> list[str]:
        """What the machine results hold against the entry: the failing services, the document
        types with an invalid sample, the data sets only partly conformant."""
        want = {_norm(k) for k in entry.keys}

        def wanted(*names: str | None) -> bool:
            return not want or any(n is not None and _norm(n) in want for n in names)

        if entry.source == "services":
            return [svc for svc, cases in e.inputs.services.items() if wanted(svc) and any(
                c.kind in ("positive", "negative") and not c.passed for c in cases)]
        if entry.source == "documents":
            return [dt for dt, samples in e.inputs.documents.items()
                    if wanted(dt) and any(not s.valid for s in samples)]
        return [ds.id for ds in e.inputs.datasets
                if wanted(ds.id, ds.name) and ds.verdict == "partial"]

    # ------------------------------------------------------------------ explanations
    def explain(self, item: Item, d: Definition, lang: str) -> str:
        spec: Spec = item.spec
        parts = []
        for e in spec.entries:
            cap = t("score.deduction.cap", lang, max=pts(e.max)) if e.max is not None else ""
            parts.append(t("score.deduction.each", lang, name=e.name(lang), points=pts(e.points), cap=cap))
        return t("score.deduction.explain", lang, start=pts(item.points), floor=pts(spec.floor),
                 entries=t("sep.semicolon", lang).join(parts))
