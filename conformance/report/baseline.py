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

from ..model import PerfResults, RunResults, Score, Status, ValidateResults
from ..model.folder import RunFolder
from .model import artifact, open_run
from .views import display_paths, indicator_status

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
def _validate_items(data: ValidateResults) -> list[Item]:
    shown = display_paths([d.path for d in data.documents])
    items = []
    for d in data.documents:
        path = shown[d.path]
        doc_key = f"validate:doc:{path}"
        errors: dict[str, list[Any]] = {}
        for f in d.findings:
            if f.severity == "error":
                errors.setdefault(f.rule, []).append(f)
        # the document itself only marks presence (its errors are the rule items below)
        items.append(Item(doc_key, "validate", path, "na", gate=False))
        for rule, fs in errors.items():
            where = ", ".join(f"{f.line}" for f in fs[:5] if f.line)
            detail = f"{len(fs)}× {fs[0].message}" + (f" (line {where})" if where else "")
            items.append(Item(f"validate:{path}:{rule}", "validate", f"{path} · {rule}", "fail",
                              detail=detail, parent=doc_key))
    return items


# an interrupted case or check was not judged: the run is incomplete, which fails a CI gate
_RESULT_STATUS = {Status.PASS: "ok", Status.FAIL: "fail", Status.ERROR: "fail",
                  Status.SKIP: "na", Status.INTERRUPTED: "fail"}


def _results_items(data: RunResults) -> list[Item]:
    items = []
    for c in data.cases:
        case_key = f"results:case:{c.id}"
        status = _RESULT_STATUS[c.result]
        items.append(Item(case_key, "results", c.id, status if not c.checks else
                          ("na" if status == "na" else "ok"),
                          detail=c.result.value if status == "fail" else None,
                          gate=not c.checks))
        for x in c.checks:
            items.append(Item(f"results:{c.id}:{x.id}", "results", f"{c.id} · {x.id}",
                              _RESULT_STATUS[x.result], detail=f"{x.result.value}: {x.message}",
                              parent=case_key))
    return items


def _perf_items(data: PerfResults) -> list[Item]:
    # a threshold nothing was measured for (passed: null) fails, as it fails `conformance perf`
    return [Item(f"perf:{t.id}", "perf", t.id, "ok" if t.passed else "fail",
                 detail="not measured" if t.actual is None else f"{t.actual}")
            for t in data.thresholds]


def _score_items(data: Score) -> list[Item]:
    return [Item(f"score:{ind.code}", "score", f"{ind.code} {ind.text}".strip(),
                 {"met": "ok", "unmet": "fail"}.get(indicator_status(ind.status), "na"),
                 gate=False)
            for ind in data.indicators]


def run_items(folder: RunFolder) -> dict[str, Item]:
    items: list[Item] = []
    for name, make in (("validate", _validate_items), ("results", _results_items),
                       ("perf", _perf_items), ("score", _score_items)):
        data = artifact(folder, name)
        if data is not None:
            items += make(data)
    return {i.key: i for i in items}


def min_level_met(score: Score) -> bool | None:
    """score.json's verdict on --min-level (derived from the gaps when it left it out)."""
    if not score.min_level:
        return None
    if score.min_level_met is not None:
        return score.min_level_met
    if not (score.gaps or score.level):
        return None
    return not any(g.level == score.min_level for g in score.gaps)


def failures(folder: RunFolder) -> list[Item]:
    """What fails the run (exit code 1 without --baseline): document errors, failed, errored or
    interrupted checks, failed or unmeasured performance thresholds, and a level below
    score.json's min_level."""
    out = [i for i in run_items(folder).values() if i.status == "fail" and i.gate]
    score: Score | None = artifact(folder, "score")
    if score is not None and min_level_met(score) is False:
        out.append(Item("score:min_level", "score", f"level < {score.min_level}", "fail",
                        detail=f"{score.level or '-'} < {score.min_level}"))
    return out


# ====================================================================== comparison
def _level_direction(before: Score, after: Score) -> str:
    lb, la = before.level, after.level
    if lb == la:
        return "same"
    levels = after.levels or before.levels
    if lb in levels and la in levels:
        return "up" if levels.index(la) > levels.index(lb) else "down"
    if la is None or (lb is not None and lb in {g.level for g in after.gaps}):
        return "down"
    if lb is None or la in {g.level for g in before.gaps}:
        return "up"
    return "changed"


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else round(after - before, 4)


def compare(baseline: RunFolder, current: RunFolder) -> Comparison:
    """Compare two opened run folders (``model.open_run``)."""
    cmp = Comparison(baseline=baseline.path, baseline_date=baseline.date())
    for area in AREAS:
        if baseline.has(area) and current.has(area):
            cmp.compared.append(area)
        elif baseline.has(area) or current.has(area):
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
        sb, sa = artifact(baseline, "score"), artifact(current, "score")
        cmp.level = {"before": sb.level, "after": sa.level,
                     "direction": _level_direction(sb, sa),
                     "provisional": sb.provisional or sa.provisional}
        cmp.total = {"before": sb.total, "after": sa.total, "delta": _delta(sb.total, sa.total)}
        dims_b = {d.id: d for d in sb.dimensions}
        for d in sa.dimensions:
            old = dims_b.get(d.id)
            if old is not None:
                cmp.dimensions.append({"id": d.id, "name": d.name or d.id, "before": old.score,
                                       "after": d.score, "delta": _delta(old.score, d.score),
                                       "provisional": d.provisional})
    if "perf" in cmp.compared:
        steps_b = {(s.users, s.rate): s for s in artifact(baseline, "perf").steps}
        for s in artifact(current, "perf").steps:
            old = steps_b.get((s.users, s.rate))
            if old is None:
                continue
            for metric in ("tps", "p95_ms", "p99_ms"):
                b, a = getattr(old, metric), getattr(s, metric)
                if a is None or b is None:
                    continue
                cmp.perf.append({"users": s.users if s.users is not None else s.label,
                                 "metric": metric, "before": b, "after": a,
                                 "delta_pct": None if not b else (a - b) / b})
    order = {"validate": 0, "results": 1, "perf": 2, "score": 3}
    for lst in (cmp.regressions, cmp.improvements, cmp.gone):
        lst.sort(key=lambda c: (order[c.area], c.key))
    return cmp


def compare_runs(baseline_dir: str | Path | RunFolder,
                 current_dir: str | Path | RunFolder) -> Comparison:
    """Compare two run folders (raises model.RunError on unusable input)."""
    return compare(open_run(baseline_dir), open_run(current_dir))
