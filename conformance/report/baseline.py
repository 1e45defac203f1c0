"""Compare a run with an earlier one: what got better, what regressed.

Every judged thing in a run becomes an :class:`Item` with a key that is stable across runs (a
document's path relative to the documents' common folder + rule id; case id + check id;
threshold id; indicator code). A *new failure* is an item failing now that did not fail in the
baseline (it passed, or did not exist); ``--fail-on regression`` fails the build on new failures
only, so a known, accepted failure does not keep the build red. Areas present in only one of the
two runs are not compared (and the comparison says so).

Used by ``conformance report --baseline`` and, through :func:`compare_runs`, by run/assess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import Run, load_run
from .views import _first, _num, display_paths, indicator_status

AREAS = ("validate", "results", "perf", "score")


@dataclass(frozen=True, slots=True)
class Item:
    key: str
    area: str            # validate | results | perf | score
    label: str
    status: str          # ok | fail | na
    detail: str | None = None
    gate: bool = True    # a failure of this item fails the run (exit code 1)
    parent: str | None = None


@dataclass(slots=True)
class Change:
    area: str
    key: str
    label: str
    kind: str            # new | regressed | fixed | gone
    before: str | None
    after: str | None
    detail: str | None = None


@dataclass(slots=True)
class Comparison:
    baseline: Path
    baseline_date: Any
    regressions: list[Change] = field(default_factory=list)
    improvements: list[Change] = field(default_factory=list)
    gone: list[Change] = field(default_factory=list)
    still_failing: int = 0
    level: dict[str, Any] = field(default_factory=dict)
    dimensions: list[dict[str, Any]] = field(default_factory=list)
    total: dict[str, Any] = field(default_factory=dict)
    perf: list[dict[str, Any]] = field(default_factory=list)
    compared: list[str] = field(default_factory=list)
    not_compared: list[str] = field(default_factory=list)

    @property
    def new_failures(self) -> int:
        return len(self.regressions) + (1 if self.level.get("direction") == "down" else 0)

    def to_dict(self) -> dict[str, Any]:
        def ch(c: Change) -> dict[str, Any]:
            return {"area": c.area, "key": c.key, "label": c.label, "kind": c.kind,
                    "before": c.before, "after": c.after, "detail": c.detail}
        return {"baseline": str(self.baseline),
                "baseline_date": self.baseline_date.isoformat() if self.baseline_date else None,
                "compared": self.compared, "not_compared": self.not_compared,
                "new_failures": self.new_failures,
                "regressions": [ch(c) for c in self.regressions],
                "improvements": [ch(c) for c in self.improvements],
                "gone": [ch(c) for c in self.gone], "still_failing": self.still_failing,
                "level": self.level, "total": self.total, "dimensions": self.dimensions,
                "perf": self.perf}


# ====================================================================== items
def _validate_items(data: dict[str, Any]) -> list[Item]:
    docs = data.get("documents") or []
    shown = display_paths([str(d.get("path", "?")) for d in docs])
    items = []
    for d in docs:
        path = shown[str(d.get("path", "?"))]
        doc_key = f"validate:doc:{path}"
        errors: dict[str, list[dict[str, Any]]] = {}
        for f in d.get("findings") or []:
            if f.get("severity") == "error":
                errors.setdefault(f["rule"], []).append(f)
        # the document itself only marks presence (its errors are the rule items below)
        items.append(Item(doc_key, "validate", path, "na", gate=False))
        for rule, fs in errors.items():
            where = ", ".join(f"{f.get('line')}" for f in fs[:5] if f.get("line"))
            detail = f"{len(fs)}× {fs[0].get('message') or ''}" + (f" (line {where})"
                                                                   if where else "")
            items.append(Item(f"validate:{path}:{rule}", "validate", f"{path} · {rule}", "fail",
                              detail=detail, parent=doc_key))
    return items


_RESULT_STATUS = {"pass": "ok", "fail": "fail", "error": "fail", "skip": "na"}


def _results_items(data: dict[str, Any]) -> list[Item]:
    items = []
    for i, c in enumerate(data.get("cases") or []):
        cid = str(c.get("id") or f"case-{i + 1}")
        case_key = f"results:case:{cid}"
        checks = [x for x in c.get("checks") or [] if isinstance(x, dict)]
        result = str(c.get("result") or "").lower()
        status = _RESULT_STATUS.get(result, "fail")
        items.append(Item(case_key, "results", cid, status if not checks else
                          ("na" if status == "na" else "ok"),
                          detail=_first(c, "reason", "message"), gate=not checks))
        for x in checks:
            xid = str(_first(x, "id", "name") or "?")
            r = str(x.get("result") or "").lower()
            items.append(Item(f"results:{cid}:{xid}", "results", f"{cid} · {xid}",
                              _RESULT_STATUS.get(r, "fail"),
                              detail=(f"{r}: " if r else "") + str(x.get("message") or ""),
                              parent=case_key))
    return items


def _perf_items(data: dict[str, Any]) -> list[Item]:
    items = []
    for t in data.get("thresholds") or []:
        tid = str(_first(t, "id", "name", "description") or "?")
        passed = t.get("passed")
        if passed is None and t.get("result") is not None:
            passed = str(t["result"]).lower() in ("pass", "passed", "ok")
        if passed is None:
            continue
        actual = _first(t, "actual", "measured")
        items.append(Item(f"perf:{tid}", "perf", tid, "ok" if passed else "fail",
                          detail=None if actual is None else f"{actual}"))
    return items


def _score_items(data: dict[str, Any]) -> list[Item]:
    items = []
    for ind in data.get("indicators") or []:
        code = str(_first(ind, "code", "id") or "?")
        status = indicator_status(ind)
        items.append(Item(f"score:{code}", "score",
                          f"{code} {_first(ind, 'text', 'name') or ''}".strip(),
                          {"met": "ok", "unmet": "fail"}.get(status, "na"), gate=False))
    return items


def run_items(run: Run) -> dict[str, Item]:
    items: list[Item] = []
    if run.validate is not None:
        items += _validate_items(run.validate)
    if run.results is not None:
        items += _results_items(run.results)
    if run.perf is not None:
        items += _perf_items(run.perf)
    if run.score is not None:
        items += _score_items(run.score)
    return {i.key: i for i in items}


def failures(run: Run) -> list[Item]:
    """What fails the run (exit code 1 without --baseline): document errors, failed or errored
    checks, failed performance thresholds, and a level below score.json's min_level."""
    out = [i for i in run_items(run).values() if i.status == "fail" and i.gate]
    score = run.score
    if score and score.get("min_level"):
        from .views import Caps, score_view
        view = score_view(score, {}, Caps())
        if view.min_level_met is False:
            out.append(Item("score:min_level", "score", f"level < {view.min_level}", "fail",
                            detail=f"{view.level or '-'} < {view.min_level}"))
    return out


# ====================================================================== comparison
def _level_direction(before: dict[str, Any], after: dict[str, Any]) -> str:
    lb, la = before.get("level"), after.get("level")
    if lb == la:
        return "same"
    levels = [str(x) for x in after.get("levels") or before.get("levels") or []]
    if lb in levels and la in levels:
        return "up" if levels.index(la) > levels.index(lb) else "down"
    gaps_after = {str(g.get("level")) for g in after.get("gaps") or []}
    gaps_before = {str(g.get("level")) for g in before.get("gaps") or []}
    if la is None or (lb is not None and lb in gaps_after):
        return "down"
    if lb is None or la in gaps_before:
        return "up"
    return "changed"


def compare(baseline: Run, current: Run) -> Comparison:
    cmp = Comparison(baseline=baseline.path, baseline_date=baseline.date())
    for area in AREAS:
        if area in baseline.artifacts and area in current.artifacts:
            cmp.compared.append(area)
        elif area in baseline.artifacts or area in current.artifacts:
            cmp.not_compared.append(area)
    before = {k: v for k, v in run_items(baseline).items() if v.area in cmp.compared}
    after = {k: v for k, v in run_items(current).items() if v.area in cmp.compared}
    for key, item in after.items():
        if item.status != "fail":
            continue
        old = before.get(key)
        if old is not None and old.status == "fail":
            cmp.still_failing += 1
            continue
        existed = old is not None or (item.parent is not None and item.parent in before)
        cmp.regressions.append(Change(item.area, key, item.label,
                                      "regressed" if existed else "new",
                                      old.status if old else None, "fail", item.detail))
    for key, old in before.items():
        if old.status != "fail":
            continue
        now = after.get(key)
        if now is not None and now.status == "fail":
            continue
        present = now is not None or (old.parent is not None and old.parent in after)
        change = Change(old.area, key, old.label, "fixed" if present else "gone", "fail",
                        now.status if now else None, old.detail)
        (cmp.improvements if present else cmp.gone).append(change)
    if "score" in cmp.compared:
        sb, sa = baseline.score or {}, current.score or {}
        cmp.level = {"before": sb.get("level"), "after": sa.get("level"),
                     "direction": _level_direction(sb, sa),
                     "provisional": bool(sb.get("provisional") or sa.get("provisional"))}
        tb, ta = _num(sb.get("total")), _num(sa.get("total"))
        cmp.total = {"before": tb, "after": ta,
                     "delta": None if tb is None or ta is None else round(ta - tb, 4)}
        dims_b = {str(d.get("id")): d for d in sb.get("dimensions") or []}
        for d in sa.get("dimensions") or []:
            old = dims_b.get(str(d.get("id")))
            if old is None:
                continue
            b, a = _num(old.get("score")), _num(d.get("score"))
            cmp.dimensions.append({"id": d.get("id"), "name": d.get("name") or d.get("id"),
                                   "before": b, "after": a,
                                   "delta": None if a is None or b is None else round(a - b, 4),
                                   "provisional": bool(d.get("provisional"))})
    if "perf" in cmp.compared:
        steps_b = {s.get("users"): s for s in (baseline.perf or {}).get("steps") or []}
        for s in (current.perf or {}).get("steps") or []:
            old = steps_b.get(s.get("users"))
            if old is None:
                continue
            for metric in ("tps", "p95_ms", "p99_ms"):
                b, a = _num(old.get(metric)), _num(s.get(metric))
                if a is None or b is None:
                    continue
                cmp.perf.append({"users": s.get("users"), "metric": metric, "before": b,
                                 "after": a, "delta_pct": None if not b else (a - b) / b})
    order = {"validate": 0, "results": 1, "perf": 2, "score": 3}
    for lst in (cmp.regressions, cmp.improvements, cmp.gone):
        lst.sort(key=lambda c: (order[c.area], c.key))
    return cmp


def compare_runs(baseline_dir: str | Path, current_dir: str | Path) -> Comparison:
    """Compare two run folders (raises model.RunError on unusable input)."""
    return compare(load_run(baseline_dir), load_run(current_dir))
