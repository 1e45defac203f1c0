"""score.json (the canonical, documented result of `conformance score`) and the console summary.

score.json is the typed ``model.Score`` (schema "conformance-score/1"), written through its codec
(``model.io.score_json``) with ``schema_version``; its contract is that model and the JSON Schema
shipped beside it (``conformance/model/schemas/score.schema.json``): the assessment, the level
reached (null: none, or not determinable) and the --min-level gate, totals, dimensions and
sub-indices, one indicator per item, the gap to each higher level (ordered by level, then
required level and points), the level checks, the inputs with their SHA-256, warnings and the
provisional flags.

`status` of an indicator: met | not_met | no_business | unanswered | not_assessed (no machine
result) | recorded (record-only) | scored (level-score and deduction items). `met` is true/false,
or null for record-only, level-score and deduction items. A rule type may add fields of its own
to its indicators (level-score items: "function_level", "application", "data_quality",
"by_level", "basic_levels")."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

from ..i18n import t
from ..model import ToolStamp
from ..model.score import (
    AssessmentInfo,
    Gap,
    ItemResult,
    LevelRuleInfo,
    Score,
    ScoreInputs,
    provisional_reason,
)
from .questionnaire import Questionnaire
from .rating import BIG, MET, ItemRating, Rating
from .results import RunInputs
from .rules import rule_types

SCHEMA = "conformance-score/1"


def _num(x: float | None) -> float | None:
    if x is None:
        return None
    return round(float(x), 4)


def _indicator(sc: Rating, r: ItemRating) -> ItemResult:
    d = sc.definition
    item = r.item
    kind = item.rule_type
    tiers = kind.tiers(item, d)
    required = item.level if item.level is not None else (d.levels[tiers[0]].id if tiers else None)
    achieved = None
    if r.status in MET and r.achieved >= 0:
        achieved = d.levels[min(r.achieved, len(d.levels) - 1)].id if r.achieved < BIG else "*"
    row = ItemResult(
        code=item.code, dimension=item.dimension, sub_index=item.sub_index, group=item.group,
        text=item.text, rule=item.rule,
        max_points=_num(item.max_points(d.top_level_number)) if item.scored else None,
        points=_num(r.points) if item.scored else None,
        required_level=required, achieved_level=achieved, status=r.status,
        met=(r.status in MET) if r.status not in ("recorded", "scored") else None,
        source=r.source, answer=r.answer, reasons=r.reasons, evidence=r.evidence,
        provisional=r.provisional)
    for key, value in kind.extra(r).items():
        setattr(row, key, value)
    if r.band is not None:
        row.band = r.band
    if item.note:
        row.note = item.note
    return row


def build_score_json(sc: Rating, inputs: RunInputs, q: Questionnaire | None, tool: ToolStamp,
                     warnings: list[str], lang: str, min_level: str | None = None) -> Score:
    """The typed score.json of a rating."""
    d = sc.definition
    lvl = sc.level
    higher = [lv for lv in d.levels if lvl is None or lv.index > lvl.index]
    qinfo = None
    if q is not None:
        answered = sum(1 for a in q.answers.values() if a.answered)
        asked = [i for i in d.items if i.asked]
        qinfo = {"path": q.path, "sha256": q.sha256, "answered": answered,
                 "unanswered": sum(1 for i in asked if not q.answers[i.code].answered), "meta": q.meta}
    return Score(
        schema=SCHEMA,
        tool=tool,
        created=datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        lang=lang,
        assessment=AssessmentInfo(
            id=d.id, name=d.name, name_en=d.name_en, profile=d.profile, edition=d.edition,
            path=d.path, sha256=d.sha256, status=d.status,
            level_rule=LevelRuleInfo(type=d.level_rule.type, status=d.level_rule.status,
                                     description=d.level_rule.description),
            known_gaps=d.known_gaps),
        levels=[lv.id for lv in d.levels],
        level_labels={lv.id: lv.label(lang) for lv in d.levels},
        level=lvl.id if lvl else None,
        level_name=lvl.label(lang) if lvl else None,
        level_index=lvl.index if lvl else None,
        level_provisional=sc.level_provisional,
        determinable=sc.determinable,
        why_not_determinable=sc.why_not_determinable or None,
        next_level=higher[0].id if higher and sc.determinable else None,
        min_level=min_level,
        min_level_met=None if min_level is None else bool(
            sc.determinable and lvl is not None and lvl.index >= d.level_index(min_level)),
        total=_num(sc.total),
        max=_num(sc.total_max),
        total_provisional=sc.total_provisional,
        dimensions=sc.dim_scores,
        indicators=[_indicator(sc, r) for r in sc.results],
        gaps=[Gap(level=g.level.id, level_name=g.level.label(lang), provisional=g.provisional,
                  missing=g.missing) for g in sc.gaps],
        level_checks=sc.level_checks,
        inputs=ScoreInputs(
            results=inputs.inputs, targets=inputs.targets, questionnaire=qinfo,
            evidence=[{"item": e.item, "path": e.path, "sha256": e.sha256, "bytes": e.bytes}
                      for e in (q.evidence if q else [])]),
        warnings=warnings,
        provisional=sc.provisional,
        provisional_reasons=sc.provisional_reasons,
    )


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _pts(x: float | None) -> str:
    if x is None:
        return "?"
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def console_summary(data: Score, lang: str, max_gap_rows: int = 15) -> str:
    """The text `conformance score` prints: level, totals, dimensions, item counts, the gap to
    the next level, notes."""
    prov = t("paren", lang, text=t("provisional", lang))
    P = lambda flag: prov if flag else ""  # noqa: E731
    a = data.assessment
    title = a.name_en if lang == "en" and a.name_en else a.name
    lines = [t("score.console.title", lang, name=f"{title} [{a.id}]")]
    if data.determinable:
        level = data.level_name or t("score.none_level", lang)
        lines.append(t("score.console.level", lang, level=level) + P(data.level_provisional))
    else:
        lines.append(t("score.console.not_determinable", lang, why=data.why_not_determinable))
    lines.append(t("score.console.total", lang, total=_pts(data.total), max=_pts(data.max))
                 + P(data.total_provisional))
    lines.append(t("score.console.dims", lang))
    for dim in data.dimensions:
        name = dim.name_en if lang == "en" and dim.name_en else dim.name
        lines.append(f"  {dim.id:>3} {_pad(name or '', 30)} {_pts(dim.score):>7} / {_pts(dim.max)}"
                     f"{P(dim.provisional)}")
    counts = {"met": 0, "not_met": 0, "unanswered": 0, "not_assessed": 0, "recorded": 0}
    for ind in data.indicators:
        st = "met" if ind.status in MET else ind.status
        if st in counts:
            counts[st] += 1
    kinds = rule_types()
    if any(kinds[ind.rule].in_item_counts if ind.rule in kinds else True
           for ind in data.indicators):
        lines.append(t("score.console.items", lang, met=counts["met"], unmet=counts["not_met"],
                       unanswered=counts["unanswered"], na=counts["not_assessed"],
                       rec=counts["recorded"]))
    gaps = data.gaps
    if data.determinable and not gaps:
        lines.append(t("score.console.top", lang))
    if gaps:
        g = gaps[0]
        lines.append(t("score.console.gap", lang, level=g.level_name, n=len(g.missing),
                       prov=P(g.provisional)))
        for row in g.missing[:max_gap_rows]:
            extra = []
            if row.required_level:
                extra.append(data.level_labels.get(row.required_level, row.required_level))
            if row.points not in (None, 0):
                extra.append(t("score.points", lang, n=_pts(row.points)))
            text = row.text or ""
            code = row.code or ""
            whole = code in ("total", "basic", "selectable")   # rows about the level, not an item
            tag = f" [{', '.join(extra)}]" if extra and not whole else ""
            head = text if whole else f"{code}  {text}"
            why = row.reason or ""
            need = row.needed or ""
            tail = f" — {why}" if why else ""
            if need and need != text:
                tail += f" → {need}"
            lines.append(f"  {head}{tag}{tail}")
        if len(g.missing) > max_gap_rows:
            lines.append(t("score.console.gap_more", lang, n=len(g.missing) - max_gap_rows))
    if data.warnings:
        lines.append(t("score.console.warnings", lang))
        lines.extend(f"  - {w}" for w in data.warnings)
    if data.provisional:
        reasons = [provisional_reason(r, lang) for r in data.provisional_reasons]
        lines.append(t("score.console.prov_note", lang, reasons=t("sep.list", lang).join(reasons) or "-"))
    return "\n".join(lines)


__all__ = ["SCHEMA", "build_score_json", "console_summary"]
