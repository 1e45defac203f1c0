"""Level rule ``basic_selectable``: the EMR application rating and the smart-service rating — a
level is reached when the total is at least the level's minimum, its basic items reach it and
enough selectable items do (each with minimum application and data quality)."""

from __future__ import annotations

from typing import Any

from ...i18n import t
from ...model.score import GapItem
from ...yamlio import LineDict
from ..model import Definition, Level, LevelRule
from ..problems import Problems
from ..rating import ItemRating, LevelGap, LevelOutcome, code_key
from .base import NUM, LevelRuleType, fmt
from .level_score import LevelScore

_THRESHOLDS = {"type": "object", "required": ["application_min", "data_quality_min"],
               "additionalProperties": False,
               "properties": {"application_min": NUM, "data_quality_min": NUM}}


def _pct(x: float) -> str:
    return f"{round(float(x) * 100)}%"


def _level_values(r: ItemRating, level_id: str) -> tuple[float, float]:
    """Application and data quality of an item at a level: the per-level values when reported,
    else the values at the item's level (conservative: a lower level is reached by at least as
    many cases)."""
    row = r.by_level.get(level_id, {})
    app = row.get("application", r.application or 0.0)
    dq = row.get("data_quality", r.data_quality if r.data_quality is not None else 1.0)
    return app, dq


def _qualifies(r: ItemRating, d: Definition, lv: Level, spec: dict[str, Any], lower_min: float) -> bool:
    if r.status != "scored" or r.function_level is None:
        return False
    try:
        need = int(lv.id)
    except ValueError:
        need = lv.index
    if r.function_level < need:
        return False
    app, dq = _level_values(r, lv.id)
    if app < float(spec["application_min"]) or dq < float(spec["data_quality_min"]):
        return False
    if r.item.data_quality != "none":
        for lower in d.levels:
            if lower.index < lv.index and "data_quality" in r.by_level.get(lower.id, {}) \
                    and r.by_level[lower.id]["data_quality"] < lower_min:
                return False
    return True


class BasicSelectable(LevelRuleType):
    name = "basic_selectable"
    fields = {
        "score": {"enum": ["product"]},
        "cumulative": {"type": "boolean"},
        "basic": _THRESHOLDS,
        "selectable": _THRESHOLDS,
        "lower_levels_data_quality_min": NUM,
        "levels": {"type": "object", "minProperties": 1, "additionalProperties": {
            "type": "object", "required": ["basic", "selectable_need", "min_total"],
            "additionalProperties": False,
            "properties": {"basic": NUM, "selectable_need": NUM, "selectable_of": NUM,
                           "min_total": NUM}}},
    }
    needs = frozenset({"levels", "basic", "selectable"})

    def check(self, problems: Problems, rule: LevelRule, raw: LineDict,
              levels: dict[str, int]) -> None:
        table = raw.get("levels")
        if not isinstance(table, LineDict):
            return
        for lk in table:
            if str(lk) not in levels:
                problems.add(table.line_of(lk), "score.def.ref", path="level_rule.levels", what="level",
                             key=lk, known=", ".join(levels))

    def rate(self, d: Definition, results: list[ItemRating], total: float,
             lang: str) -> LevelOutcome:
        p = d.level_rule.params
        table = {str(k): v for k, v in p["levels"].items()}
        basic_spec, sel_spec = p["basic"], p["selectable"]
        lower_min = float(p.get("lower_levels_data_quality_min", 0.0))
        cumulative = bool(p.get("cumulative", False))
        scored = [r for r in results if r.item.rule == LevelScore.name]
        if not scored:
            return LevelOutcome(None, False, t("score.no_items", lang), [], True, [])
        outcomes: dict[str, tuple[bool, bool, list[GapItem]]] = {}
        checks = []
        for lv in d.levels:
            row = table.get(lv.id)
            if row is None:
                outcomes[lv.id] = (True, False, [])
                checks.append({"level": lv.id, "met": True})
                continue
            missing: list[GapItem] = []
            prov = False
            if total + 1e-9 < float(row["min_total"]):
                text = t("score.gap.total", lang, need=row["min_total"], got=fmt(total),
                         short=fmt(float(row["min_total"]) - total))
                missing.append(GapItem(code="total", text=text, kind="total",
                                       points=float(row["min_total"]) - total, needed=text))
            known_basic = [r for r in scored
                           if r.item.basic_levels is not None and lv.id in r.item.basic_levels]
            unknown = [r for r in scored if r.item.basic_levels is None]
            known_sel = [r for r in scored
                         if r.item.basic_levels is not None and lv.id not in r.item.basic_levels]
            fmt_basic = {"level": lv.id, "app": _pct(basic_spec["application_min"]),
                         "dq": basic_spec["data_quality_min"]}
            for r in known_basic:
                if not _qualifies(r, d, lv, basic_spec, lower_min):
                    missing.append(GapItem(
                        code=r.item.code, text=r.item.text, kind="basic", points=r.points,
                        reason=t("sep.semicolon", lang).join(r.reasons), provisional=r.provisional,
                        needed=t("score.gap.basic", lang, code=r.item.code, text=r.item.text, **fmt_basic)))
            need_more = max(0, int(row["basic"]) - len(known_basic)) if unknown else 0
            unknown_basic = [r for r in unknown if _qualifies(r, d, lv, basic_spec, lower_min)]
            if need_more:
                prov = True
                if len(unknown_basic) < need_more:
                    text = t("score.gap.basic_count", lang, need=need_more, got=len(unknown_basic),
                             **fmt_basic)
                    missing.append(GapItem(code="basic", text=text, kind="basic_count", points=None,
                                           needed=text, provisional=True))
            pool = known_sel + unknown
            sel_ok = [r for r in pool if _qualifies(r, d, lv, sel_spec, lower_min)]
            used_as_basic = min(need_more, len(unknown_basic))
            sel_count = len(sel_ok) - used_as_basic
            need_sel = int(row["selectable_need"])
            if sel_count < need_sel:
                close = sorted((r for r in pool if r not in sel_ok),
                               key=lambda r: (-(r.function_level or 0), -(r.application or 0.0),
                                              code_key(r.item.code)))
                cands = t("sep.list", lang).join(f"{r.item.code} {r.item.text}"
                                 for r in close[: need_sel - sel_count + 2])
                text = t("score.gap.selectable", lang, need=need_sel, level=lv.id, got=max(sel_count, 0),
                         app=_pct(sel_spec["application_min"]), dq=sel_spec["data_quality_min"],
                         cands=cands or "-")
                missing.append(GapItem(code="selectable", text=text, kind="selectable",
                                       points=None, needed=text, provisional=prov))
            outcomes[lv.id] = (not missing, prov, missing)
            checks.append({"level": lv.id, "met": not missing, "provisional": prov,
                           "total_needed": row["min_total"],
                           "basic_known": len(known_basic), "basic_by_count": need_more,
                           "selectable_counted": max(sel_count, 0), "selectable_needed": need_sel})
        achieved: Level | None = None
        for lv in d.levels:
            if outcomes[lv.id][0]:
                achieved = lv
            elif cumulative:
                break
        level_prov = d.level_rule.provisional \
            or (achieved is not None and outcomes[achieved.id][1]) \
            or any(outcomes[lv.id][1] for lv in d.levels if achieved is None or lv.index > achieved.index)
        gaps = []
        for lv in d.levels:
            if achieved is not None and lv.index <= achieved.index:
                continue
            _, prov, missing = outcomes[lv.id]
            for row in missing:
                row.reason = row.reason or ""
                row.provisional = row.provisional or d.level_rule.provisional
            gaps.append(LevelGap(lv, prov or d.level_rule.provisional, missing))
        return LevelOutcome(achieved, True, "", gaps, level_prov, checks)
