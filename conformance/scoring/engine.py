"""Scoring: a pure function from (definition, machine results, questionnaire) to a Score.

Per item: the answer or the machine result is judged by the item's rule (conformance, yes/no,
graded choice, checklist with count thresholds, numeric tiers, record-only, level score). Per
level: the definition's level rule decides (all_required: every item required at or below the
level meets its requirement there; basic_selectable: the EMR / smart-service style table of
minimum total, basic items and selectable items). Provisional inputs make every figure that
depends on them provisional."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .messages import m, pick
from .model import Definition, Item, Level
from .questionnaire import Answer, Questionnaire
from .results import RunInputs

MET = ("met", "no_business")


@dataclass
class ItemResult:
    item: Item
    status: str                 # met | not_met | no_business | unanswered | not_assessed | recorded | scored
    points: float = 0.0
    achieved: int = -1          # level index reached by the item (binary met: a huge number)
    source: str = "questionnaire"
    answer: Any = None
    reasons: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    provisional: bool = False
    function_level: int | None = None
    application: float | None = None
    data_quality: float | None = None
    by_level: dict[str, dict[str, float]] = field(default_factory=dict)
    band: str | None = None


@dataclass
class Gap:
    level: Level
    provisional: bool
    missing: list[dict[str, Any]]


@dataclass
class Score:
    definition: Definition
    results: list[ItemResult]
    level: Level | None
    determinable: bool
    level_provisional: bool
    why_not_determinable: str
    gaps: list[Gap]
    sub_scores: dict[str, dict[str, Any]]
    dim_scores: list[dict[str, Any]]
    total: float
    total_max: float | None
    total_provisional: bool
    provisional_reasons: list[str]
    level_checks: list[dict[str, Any]] = field(default_factory=list)


BIG = 10 ** 6


def _r2(x: float) -> float:
    return round(x + 0.0, 4)


# ---------------------------------------------------------------------------------------------
# tiers: the levels at which an item has a requirement
# ---------------------------------------------------------------------------------------------

def tier_levels(item: Item, d: Definition) -> list[int]:
    if item.rule in ("conformance", "yes_no"):
        return [d.level_index(item.level)] if item.level else []
    if item.rule == "choice":
        return sorted({d.level_index(o.level) for o in item.options if o.level})
    if item.rule == "checklist":
        return sorted({d.level_index(x) for x in set(item.thresholds) | set(item.level_requires)})
    if item.rule == "measures":
        return sorted({d.level_index(t["level"]) for t in item.tiers})
    return []


def required_at(item: Item, d: Definition, level_index: int) -> int | None:
    below = [t for t in tier_levels(item, d) if t <= level_index]
    return max(below) if below else None


def meets_at(res: ItemResult, d: Definition, level_index: int) -> bool:
    req = required_at(res.item, d, level_index)
    return req is None or res.achieved >= req


# ---------------------------------------------------------------------------------------------
# item evaluation
# ---------------------------------------------------------------------------------------------

class _Eval:
    def __init__(self, d: Definition, inputs: RunInputs, q: Questionnaire | None, lang: str) -> None:
        self.d = d
        self.inp = inputs
        self.q = q
        self.lang = lang
        self.notes: list[tuple[str, dict[str, Any]]] = []

    def t(self, key: str, **kw: Any) -> str:
        return m(key, self.lang, **kw)

    def answer(self, code: str) -> Answer:
        if self.q is None:
            return Answer(code, 0, answered=False)
        return self.q.answers.get(code) or Answer(code, 0, answered=False)

    def evaluate(self, item: Item) -> ItemResult:
        ans = self.answer(item.code)
        res = self._dispatch(item, ans)
        res.provisional = res.provisional or item.provisional
        if ans.evidence:
            res.evidence.extend({"kind": "file", "path": e.path, "sha256": e.sha256, "bytes": e.bytes}
                                for e in ans.evidence)
        if ans.details:
            res.evidence.append({"kind": "details", "values": ans.details})
        if ans.note:
            res.evidence.append({"kind": "note", "text": ans.note})
        return res

    def _dispatch(self, item: Item, ans: Answer) -> ItemResult:
        b = item.binding
        if b is not None and b.source == "documents":
            return self._documents(item, ans)
        if b is not None and b.source == "services":
            return self._services(item, ans)
        if b is not None and b.source == "performance":
            return self._performance(item)
        if b is not None and b.source == "datasets":
            entry = self.inp.dataset(b.keys, b.names, item.code) if self.inp.datasets else None
            if entry is not None:
                return self._dataset(item, ans, entry)
        return getattr(self, f"_{item.rule}")(item, ans)

    # conformance ------------------------------------------------------------------------------
    def _binary(self, item: Item, verdict: str, source: str, reasons: list[str],
                evidence: list[dict[str, Any]] | None = None) -> ItemResult:
        status = {"conformant": "met", "no_business": "no_business"}.get(verdict, "not_met")
        if verdict == "not_assessed":
            status = "not_assessed"
        pts = float(item.points or 0.0) if status in MET else 0.0
        return ItemResult(item, status, pts, BIG if status in MET else -1, source, verdict,
                          reasons, evidence or [])

    def _conformance(self, item: Item, ans: Answer) -> ItemResult:
        if not ans.answered:
            return ItemResult(item, "unanswered", reasons=[self.t("why.unanswered")])
        why = {"conformant": "why.conformant", "partial": "why.partial", "absent": "why.absent",
               "no_business": "why.no_business"}[ans.value]
        return self._binary(item, ans.value, "questionnaire", [self.t(why)])

    def _no_business_claim(self, item: Item, ans: Answer) -> bool:
        return item.optional_business and ans.answered and ans.value == "no_business"

    def _ignored(self, item: Item, ans: Answer, auto_verdict: str) -> None:
        if ans.answered and not self._no_business_claim(item, ans) \
                and ans.value not in (None, auto_verdict):
            self.notes.append(("q.contradicts_auto", {"code": item.code, "answer": ans.value,
                                                      "auto": auto_verdict}))

    def _documents(self, item: Item, ans: Answer) -> ItemResult:
        samples = [s for key in item.binding.keys if key in self.inp.documents
                   for s in self.inp.documents[key].samples]
        docs = "/".join(item.binding.keys)
        if not samples:
            if self._no_business_claim(item, ans):
                return self._binary(item, "no_business", "questionnaire", [self.t("why.no_business")])
            return self._binary(item, "not_assessed", "validate", [self.t("why.doc_none", doc=docs)])
        ok = sum(1 for s in samples if s["valid"])
        bad = [s for s in samples if not s["valid"]]
        verdict = "conformant" if not bad else "partial"
        if self._no_business_claim(item, ans):
            self.notes.append(("q.contradicts_auto", {"code": item.code, "answer": "no_business",
                                                      "auto": verdict}))
        else:
            self._ignored(item, ans, verdict)
        ev = [{"kind": "documents", "document_types": list(item.binding.keys), "samples": len(samples),
               "passed": ok, "failed": len(bad),
               "failing": [{"path": s["path"], "errors": s["errors"], "rules": s["rules"]} for s in bad[:10]],
               "source": sorted({s["source"] for s in samples})}]
        return self._binary(item, verdict, "validate",
                            [self.t("why.doc_samples", n=len(samples), ok=ok, bad=len(bad))], ev)

    def _services(self, item: Item, ans: Answer) -> ItemResult:
        cases = self.inp.service_cases(item.binding.keys)
        svc = item.binding.keys[0] if item.binding.keys else item.text
        gated = [c for c in cases if c.kind in ("positive", "negative")]
        if not gated:
            if self._no_business_claim(item, ans):
                return self._binary(item, "no_business", "questionnaire", [self.t("why.no_business")])
            return self._binary(item, "not_assessed", "run", [self.t("why.svc_none", svc=svc)])
        pos = [c for c in cases if c.kind == "positive"]
        neg = [c for c in cases if c.kind == "negative"]
        reasons = [self.t("why.svc", pp=sum(c.result == "pass" for c in pos), pn=len(pos),
                          np=sum(c.result == "pass" for c in neg), nn=len(neg))]
        for kind, lst in (("positive", pos), ("negative", neg)):
            if not lst:
                label = {"positive": {"zh": "正向", "en": "positive"},
                         "negative": {"zh": "反向", "en": "negative"}}[kind][_l(self.lang)]
                reasons.append(self.t("why.svc_missing_kind", kind=label))
        ok = bool(pos) and bool(neg) and all(c.result == "pass" for c in pos + neg)
        verdict = "conformant" if ok else "partial"
        self._ignored(item, ans, verdict)
        ev = [{"kind": "cases", "service": svc,
               "cases": [{"id": c.id, "kind": c.kind, "result": c.result, "failed_checks": c.failed_checks,
                          "source": c.source} for c in cases]}]
        return self._binary(item, verdict, "run", reasons, ev)

    def _dataset(self, item: Item, ans: Answer, entry: dict[str, Any]) -> ItemResult:
        verdict = entry["verdict_norm"]
        if verdict == "absent" and self._no_business_claim(item, ans):
            verdict = "no_business"
        self._ignored(item, ans, verdict)
        ev = [{"kind": "dataset", "dataset": entry.get("id") or entry.get("name"),
               "verdict": entry.get("verdict"), "source": entry.get("source")}]
        if entry.get("element_list"):   # where the data set's element list comes from
            ev[0]["element_list"] = entry["element_list"]
        return self._binary(item, verdict, "datasets",
                            [self.t("why.dataset", verdict=entry.get("verdict"))], ev)

    def _performance(self, item: Item) -> ItemResult:
        entry = self.inp.perf_entry(item.code, item.binding.keys)
        if entry is None:
            return ItemResult(item, "recorded", source="perf", reasons=[self.t("why.perf_none")])
        ms = entry.get("median_ms")
        band = self._band(ms) if ms is not None else None
        label = str(entry.get("band")) if band is None else _band_label(band, self.lang)
        res = ItemResult(item, "recorded", source="perf", answer=ms,
                         reasons=[self.t("why.band", ms=_fmt(ms) if ms is not None else "-", band=label),
                                  self.t("why.record")],
                         evidence=[{"kind": "performance", "service": entry.get("service"),
                                    "median_ms": ms, "band": band.id if band else None,
                                    "reported_band": entry.get("band"), "source": entry.get("source")}])
        res.band = band.id if band else None
        return res

    def _band(self, ms: float) -> Any:
        for b in self.d.bands:
            if b.max_ms is None or ms <= b.max_ms:
                return b
        return None

    # questionnaire rules ------------------------------------------------------------------------
    def _yes_no(self, item: Item, ans: Answer) -> ItemResult:
        if not ans.answered:
            return ItemResult(item, "unanswered", reasons=[self.t("why.unanswered")])
        if ans.value:
            return ItemResult(item, "met", float(item.points or 0), BIG, answer=True,
                              reasons=[self.t("why.yes")])
        return ItemResult(item, "not_met", answer=False, reasons=[self.t("why.no")])

    def _choice(self, item: Item, ans: Answer) -> ItemResult:
        if not ans.answered:
            return ItemResult(item, "unanswered", reasons=[self.t("why.unanswered")])
        opt = item.option(ans.value)
        reasons = [self.t("why.choice", label=opt.label)]
        if opt.level is None:
            return ItemResult(item, "not_met", answer=opt.id, reasons=reasons)
        return ItemResult(item, "met", opt.points, self.d.level_index(opt.level), answer=opt.id,
                          reasons=reasons)

    def _checklist(self, item: Item, ans: Answer) -> ItemResult:
        if not ans.answered:
            return ItemResult(item, "unanswered", reasons=[self.t("why.unanswered")])
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
                    reasons.append(self.t("why.option_req", opt=s, label=req["label"]))
                    continue
            counted.append(s)
        n = len(counted) + (1 if ans.other and item.other else 0)
        reasons.insert(0, self.t("why.count", n=n))
        achieved = -1
        for t in sorted(set(item.thresholds) | set(item.level_requires), key=self.d.level_index):
            if self._tier_ok(item, t, counted, n, ans):
                achieved = self.d.level_index(t)
            else:
                break
        if item.points_per_option is not None:
            pts = min(float(item.points or 0.0), item.points_per_option * n)
        else:
            earned = [p for lv, p in item.level_points.items() if self.d.level_index(lv) <= achieved]
            pts = max(earned) if earned else 0.0
        status = "met" if achieved >= 0 else "not_met"
        summary = {"selected": ans.selected, "other": ans.other, "counted": n,
                   "counted_options": counted, "values": ans.values}
        return ItemResult(item, status, _r2(pts), achieved, answer=summary, reasons=reasons)

    def _tier_ok(self, item: Item, level: str, counted: list[str], n: int, ans: Answer) -> bool:
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

    def _measures(self, item: Item, ans: Answer) -> ItemResult:
        if not ans.answered:
            return ItemResult(item, "unanswered", reasons=[self.t("why.unanswered")])
        achieved, pts = -1, 0.0
        for tier in sorted(item.tiers, key=lambda t: self.d.level_index(t["level"])):
            ok = all(ans.values.get(k, math.inf) <= v for k, v in tier["max"].items()) and \
                all(ans.values.get(k, -math.inf) >= v for k, v in tier["min"].items())
            if not ok:
                break
            achieved, pts = self.d.level_index(tier["level"]), tier["points"]
        shown = ", ".join(f"{k} = {_fmt(v)}" for k, v in ans.values.items())
        return ItemResult(item, "met" if achieved >= 0 else "not_met", pts, achieved, answer=dict(ans.values),
                          reasons=[shown])

    def _record(self, item: Item, ans: Answer) -> ItemResult:
        if not ans.answered:
            return ItemResult(item, "recorded", reasons=[self.t("why.record")])
        return ItemResult(item, "recorded", answer=ans.value,
                          reasons=[f"{item.label or item.text}: {ans.value}", self.t("why.record")])

    def _level_score(self, item: Item, ans: Answer) -> ItemResult:
        if not ans.answered:
            return ItemResult(item, "unanswered", reasons=[self.t("why.unanswered")])
        f, app = ans.level or 0, ans.application or 0.0
        dq = ans.data_quality if ans.data_quality is not None else 1.0
        score = f * app * dq
        why = self.t("why.levelscore", level=f, app=_fmt(app), dq=_fmt(dq), score=_fmt(score))
        res = ItemResult(item, "scored", _r2(score), f,
                         answer={"level": f, "application": app, "data_quality": dq}, reasons=[why])
        res.function_level, res.application, res.data_quality = f, app, dq
        res.by_level = ans.by_level
        return res


def _band_label(band: Any, lang: str) -> str:
    return band.label_en if lang == "en" else band.label


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.4f}".rstrip("0").rstrip(".")


# ---------------------------------------------------------------------------------------------
# "what is needed" texts for the gap lists
# ---------------------------------------------------------------------------------------------

def needed_text(item: Item, d: Definition, req_index: int, lang: str,
                res: ItemResult | None = None) -> str:
    lv = d.levels[req_index]
    lab = lv.label(lang)
    if item.rule == "conformance":
        if item.binding is not None and item.binding.source == "services":
            return {"zh": "正向与反向测试用例全部通过（有且完全符合国家标准）",
                    "en": "all positive and negative test cases pass (fully conformant)"}[_l(lang)]
        if item.binding is not None and item.binding.source == "documents":
            docs = "/".join(item.binding.keys)
            return {"zh": f"提交 {docs} 样例且全部通过校验（无错误）",
                    "en": f"submit samples of {docs}, all passing validation (no errors)"}[_l(lang)]
        base = {"zh": "有且完全符合国家标准", "en": "present and fully conformant"}[_l(lang)]
        if item.optional_business:
            base += {"zh": "（或无此业务）", "en": " (or no such business)"}[_l(lang)]
        return base
    if item.rule == "yes_no":
        return {"zh": "是 / 满足要求", "en": "yes / requirement met"}[_l(lang)]
    if item.rule == "choice":
        opts = [o.label for o in item.options if o.level and d.level_index(o.level) >= req_index]
        return m("why.need_tier", lang, level=lab, label=" / ".join(opts))
    if item.rule == "checklist":
        counted = set((res.answer or {}).get("counted_options", ())) if res is not None else set()
        n = (res.answer or {}).get("counted", 0) if res is not None else 0
        values = (res.answer or {}).get("values", {}) if res is not None else {}
        parts = []
        for t in sorted(set(item.thresholds) | set(item.level_requires), key=d.level_index):
            if d.level_index(t) > req_index:
                continue
            tl = d.level(t).label(lang)
            if t in item.thresholds and d.level_index(t) == req_index and n < item.thresholds[t]:
                need, short = item.thresholds[t], item.thresholds[t] - n
                parts.append({"zh": f"{tl} 需 ≥{need} 项（差 {short} 项）",
                              "en": f"{tl} needs >= {need} (short by {short})"}[_l(lang)])
            req = item.level_requires.get(t, {})
            lacking = [o for o in req.get("options", ()) if o not in counted]
            if lacking:
                parts.append(m("why.need_options", lang, level=tl, opts="、".join(lacking)))
            for fid, cond in req.get("fields", {}).items():
                if values.get(fid) is not None and values[fid] >= float(cond.get("min", 0)):
                    continue
                label = next((f.label for f in item.fields if f.id == fid), fid)
                low = cond.get("min")
                parts.append({"zh": f"{label} ≥ {low}", "en": f"{label} >= {low}"}[_l(lang)])
        return "；".join(parts)
    if item.rule == "measures":
        tier = next((t for t in item.tiers if d.level_index(t["level"]) == req_index), None)
        if tier is None:
            return ""
        conds = [f"{k} ≤ {v}" for k, v in tier["max"].items()]
        conds += [f"{k} ≥ {v}" for k, v in tier["min"].items()]
        return m("why.need_measure", lang, level=lab, cond=" & ".join(conds))
    return ""


def _l(lang: str) -> str:
    return "en" if lang == "en" else "zh"


# ---------------------------------------------------------------------------------------------
# level rules
# ---------------------------------------------------------------------------------------------

def _rate_all_required(d: Definition, results: list[ItemResult], lang: str) -> tuple[
        Level | None, bool, str, list[Gap], bool, list[dict[str, Any]]]:
    gated = [r for r in results if tier_levels(r.item, d)]
    if not gated:
        return None, False, m("c.no_items", lang), [], d.level_rule.provisional, []
    per_level: list[tuple[Level, list[ItemResult]]] = []
    for lv in d.levels:
        per_level.append((lv, [r for r in gated if not meets_at(r, d, lv.index)]))
    achieved: Level | None = None
    for lv, missing in per_level:
        if missing:
            break
        achieved = lv
    prov = d.level_rule.provisional or any(r.provisional for r in gated)
    gaps = []
    checks = []
    for lv, missing in per_level:
        checks.append({"level": lv.id, "met": not missing, "missing": len(missing)})
        if achieved is not None and lv.index <= achieved.index:
            continue
        rows = []
        for r in missing:
            req = required_at(r.item, d, lv.index)
            rows.append({
                "code": r.item.code, "text": r.item.text, "group": r.item.group,
                "required_level": d.levels[req].id if req is not None else None,
                "points": r.item.points, "status": r.status, "source": r.source,
                "reason": "；".join(r.reasons) if lang != "en" else "; ".join(r.reasons),
                "needed": needed_text(r.item, d, req, lang, r) if req is not None else "",
                "provisional": r.provisional or d.level_rule.provisional,
                "_sort": (req if req is not None else -1, -(r.item.points or 0.0), _code_key(r.item.code))})
        rows.sort(key=lambda x: x["_sort"])
        for row in rows:
            del row["_sort"]
        gaps.append(Gap(lv, d.level_rule.provisional or any(x["provisional"] for x in rows), rows))
    return achieved, True, "", gaps, prov, checks


def _code_key(code: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in code.replace(" ", "").split("."))


def _level_values(r: ItemResult, level_id: str) -> tuple[float, float]:
    """Application and data quality of an item at a level: the per-level values when reported,
    else the values at the item's level (conservative: a lower level is reached by at least as
    many cases)."""
    row = r.by_level.get(level_id, {})
    app = row.get("application", r.application or 0.0)
    dq = row.get("data_quality", r.data_quality if r.data_quality is not None else 1.0)
    return app, dq


def _qualifies(r: ItemResult, d: Definition, lv: Level, spec: dict[str, Any], lower_min: float) -> bool:
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


def _rate_basic_selectable(d: Definition, results: list[ItemResult], total: float, lang: str) -> tuple[
        Level | None, bool, str, list[Gap], bool, list[dict[str, Any]]]:
    p = d.level_rule.params
    table = {str(k): v for k, v in p["levels"].items()}
    basic_spec, sel_spec = p["basic"], p["selectable"]
    lower_min = float(p.get("lower_levels_data_quality_min", 0.0))
    cumulative = bool(p.get("cumulative", False))
    scored = [r for r in results if r.item.rule == "level_score"]
    if not scored:
        return None, False, m("c.no_items", lang), [], True, []
    outcomes: dict[str, tuple[bool, bool, list[dict[str, Any]]]] = {}
    checks = []
    for lv in d.levels:
        row = table.get(lv.id)
        if row is None:
            outcomes[lv.id] = (True, False, [])
            checks.append({"level": lv.id, "met": True})
            continue
        missing: list[dict[str, Any]] = []
        prov = False
        if total + 1e-9 < float(row["min_total"]):
            text = m("gap.total", lang, need=row["min_total"], got=_fmt(total),
                     short=_fmt(float(row["min_total"]) - total))
            missing.append({"code": "total", "text": text,
                            "kind": "total", "points": float(row["min_total"]) - total})
        known_basic = [r for r in scored if r.item.basic_levels is not None and lv.id in r.item.basic_levels]
        unknown = [r for r in scored if r.item.basic_levels is None]
        known_sel = [r for r in scored
                     if r.item.basic_levels is not None and lv.id not in r.item.basic_levels]
        fmt = {"level": lv.id, "app": _pct(basic_spec["application_min"]),
               "dq": basic_spec["data_quality_min"]}
        for r in known_basic:
            if not _qualifies(r, d, lv, basic_spec, lower_min):
                missing.append({"code": r.item.code, "text": r.item.text, "kind": "basic",
                                "points": r.points, "status": r.status, "provisional": r.provisional,
                                "reason": "；".join(r.reasons),
                                "needed": m("gap.basic", lang, code=r.item.code, text=r.item.text, **fmt)})
        need_more = max(0, int(row["basic"]) - len(known_basic)) if unknown else 0
        unknown_basic = [r for r in unknown if _qualifies(r, d, lv, basic_spec, lower_min)]
        if need_more:
            prov = True
            if len(unknown_basic) < need_more:
                missing.append({"code": "basic", "kind": "basic_count", "provisional": True,
                                "text": m("gap.basic_count", lang, need=need_more,
                                          got=len(unknown_basic), **fmt),
                                "points": None})
        pool = known_sel + unknown
        sel_ok = [r for r in pool if _qualifies(r, d, lv, sel_spec, lower_min)]
        used_as_basic = min(need_more, len(unknown_basic))
        sel_count = len(sel_ok) - used_as_basic
        need_sel = int(row["selectable_need"])
        if sel_count < need_sel:
            close = sorted((r for r in pool if r not in sel_ok),
                           key=lambda r: (-(r.function_level or 0), -(r.application or 0.0),
                                          _code_key(r.item.code)))
            cands = "、".join(f"{r.item.code} {r.item.text}" for r in close[: need_sel - sel_count + 2])
            missing.append({"code": "selectable", "kind": "selectable", "provisional": prov,
                            "text": m("gap.selectable", lang, need=need_sel, level=lv.id,
                                      got=max(sel_count, 0),
                                      app=_pct(sel_spec["application_min"]), dq=sel_spec["data_quality_min"],
                                      cands=cands or "-"),
                            "points": None})
        outcomes[lv.id] = (not missing, prov, missing)
        checks.append({"level": lv.id, "met": not missing, "provisional": prov,
                       "total_needed": row["min_total"],
                       "basic_known": len(known_basic), "basic_by_count": need_more,
                       "selectable_counted": max(sel_count, 0), "selectable_needed": need_sel})
    achieved: Level | None = None
    for lv in d.levels:
        ok = outcomes[lv.id][0]
        if ok:
            achieved = lv
        elif cumulative:
            break
    level_prov = d.level_rule.provisional or (achieved is not None and outcomes[achieved.id][1]) or any(
        outcomes[lv.id][1] for lv in d.levels if achieved is None or lv.index > achieved.index)
    gaps = []
    for lv in d.levels:
        if achieved is not None and lv.index <= achieved.index:
            continue
        ok, prov, missing = outcomes[lv.id]
        rows = [{"code": x.get("code"), "text": x.get("text"), "kind": x.get("kind"),
                 "points": x.get("points"),
                 "reason": x.get("reason", ""), "needed": x.get("needed", x.get("text")),
                 "provisional": bool(x.get("provisional")) or d.level_rule.provisional} for x in missing]
        gaps.append(Gap(lv, prov or d.level_rule.provisional, rows))
    return achieved, True, "", gaps, level_prov, checks


def _pct(x: float) -> str:
    return f"{round(float(x) * 100)}%"


# ---------------------------------------------------------------------------------------------
# aggregation
# ---------------------------------------------------------------------------------------------

def score(d: Definition, inputs: RunInputs, q: Questionnaire | None, lang: str = "zh") -> tuple[
        Score, list[tuple[str, dict[str, Any]]]]:
    ev = _Eval(d, inputs, q, lang)
    results = [ev.evaluate(item) for item in d.items]
    by_sub: dict[str, list[ItemResult]] = {}
    for r in results:
        by_sub.setdefault(r.item.sub_index or r.item.dimension, []).append(r)
    sub_scores: dict[str, dict[str, Any]] = {}
    dims: list[dict[str, Any]] = []
    top = d.top_level_number
    total = 0.0
    total_max: float | None = 0.0
    any_prov = False
    for dim in d.dimensions:
        dim_prov = dim.provisional
        dim_score = 0.0
        subs_out = []
        if dim.sub_indices:
            for sub in dim.sub_indices:
                rs = by_sub.get(sub.id, [])
                earned = sum(r.points for r in rs)
                leaf = sub.leaf_sum if sub.leaf_sum is not None else (sub.max or 0.0)
                scaled = sub.normalize == "proportional" and leaf
                s_score = earned * (sub.max or 0.0) / leaf if scaled else earned
                s_prov = sub.provisional or any(r.provisional for r in rs)
                sub_scores[sub.id] = {"id": sub.id, "name": sub.name, "name_en": sub.name_en,
                                      "score": _r2(s_score), "max": sub.max,
                                      "earned_leaf_points": _r2(earned),
                                      "leaf_sum": sub.leaf_sum, "normalized": sub.normalize,
                                      "provisional": s_prov, "note": sub.note}
                subs_out.append(sub_scores[sub.id])
                dim_score += s_score
                dim_prov = dim_prov or s_prov
            dmax = dim.max
        else:
            rs = by_sub.get(dim.id, [])
            dim_score = sum(r.points for r in rs)
            dim_prov = dim_prov or any(r.provisional for r in rs)
            dmax = dim.max if dim.max is not None else (
                float(top * len(rs)) if rs and all(r.item.rule == "level_score" for r in rs) else
                sum(r.item.max_points() for r in rs) or None)
        achievable = None
        if dim.missing_points and dmax is not None:
            achievable = dmax - dim.missing_points
        dims.append({"id": dim.id, "name": dim.name, "name_en": dim.name_en, "score": _r2(dim_score),
                     "max": dmax, "achievable_max": achievable, "provisional": dim_prov,
                     "note": dim.note, "sub_indices": subs_out})
        total += dim_score
        total_max = None if total_max is None or dmax is None else total_max + dmax
        any_prov = any_prov or dim_prov
    if d.level_rule.type == "all_required":
        achieved, det, why, gaps, lprov, checks = _rate_all_required(d, results, lang)
    else:
        achieved, det, why, gaps, lprov, checks = _rate_basic_selectable(d, results, total, lang)
    reasons = list(d.provisional_reasons)
    if not det:
        reasons.append("level not determinable")
    if any(r.provisional for r in results) and not any(x.endswith("items") for x in reasons):
        reasons.append("items")
    if lprov and "level_rule" not in reasons:
        reasons.append("basic-item classification")
    sc = Score(d, results, achieved, det, lprov, why, gaps, sub_scores, dims, _r2(total), total_max,
               any_prov, reasons, checks)
    return sc, ev.notes


def score_is_provisional(sc: Score) -> bool:
    return sc.level_provisional or sc.total_provisional or any(g.provisional for g in sc.gaps) \
        or any(r.provisional for r in sc.results) or not sc.determinable


def level_label(level: Level | None, lang: str) -> str:
    return level.label(lang) if level else m("none_level", lang)


__all__ = ["Gap", "ItemResult", "Score", "level_label", "meets_at", "pick", "required_at", "score",
           "score_is_provisional", "tier_levels"]
