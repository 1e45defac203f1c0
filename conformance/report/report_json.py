"""``conformance report --format json``: the run's headline figures in one object, for
dashboards and scripts (the full detail stays in validate/results/perf/score.json).

{
  "tool": {"name", "version"}, "format": 1, "generated", "lang",
  "run": {"dir", "target", "profile", "date", "inputs": [{"file", "sha256", "size", "tool"}],
          "absent": [...]},
  "level": {"achieved", "provisional", "total", "max_total", "next": {"level", "missing",
            "points", "items": [...]}, "min_level", "min_level_met"} | null,
  "dimensions": [{"id", "name", "score", "max", "provisional"}],
  "documents": {"summary", "by_type": [...], "by_rule": [...]} | null,
  "services": {"summary", "by_service": [...]} | null,
  "performance": {"bands", "steps", "thresholds", "generator_saturated_at"} | null,
  "failures": N, "comparison": {...} | null
}
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import IO, Any

from .. import __version__
from .baseline import Comparison, failures
from .model import FILES, Run
from .views import HTML_CAPS, Omitted, perf_view, score_view, validate_view

FORMAT_VERSION = 1


def report_dict(run: Run, lang: str, comparison: Comparison | None = None) -> dict[str, Any]:
    date = run.date()
    out: dict[str, Any] = {
        "tool": {"name": "conformance", "version": __version__}, "format": FORMAT_VERSION,
        "generated": datetime.now().astimezone().replace(microsecond=0).isoformat(),
        "lang": lang,
        "run": {"dir": str(run.path), "target": run.target(), "profile": run.profile(),
                "date": date.isoformat() if date else None,
                "inputs": [{"file": FILES[a.name], "sha256": a.sha256, "size": a.size,
                            "tool": a.tool} for a in run.artifacts.values()],
                "absent": [FILES[a] for a in run.absent],
                "evidence_files": run.evidence_files},
        "level": None, "dimensions": [], "documents": None, "services": None,
        "performance": None,
    }
    if run.score is not None:
        s = score_view(run.score, {}, HTML_CAPS, lang)
        nxt = s.next_gap
        out["level"] = {
            "achieved": s.level, "provisional": s.provisional or s.level_provisional,
            "total": s.total, "max_total": s.max_total,
            "next": None if nxt is None else {
                "level": nxt["level"], "missing": nxt["count"], "points": nxt["points"],
                "provisional": nxt["provisional"],
                "items": [{"code": m["code"], "text": m["text"], "points": m["points"]}
                          for m in nxt["missing"]]},
            "min_level": s.min_level, "min_level_met": s.min_level_met,
            "assessment": s.assessment or None}
        out["dimensions"] = [{k: d[k] for k in ("id", "name", "score", "max", "provisional")}
                             for d in s.dimensions]
    if run.validate is not None:
        v = validate_view(run.validate, HTML_CAPS, Omitted())
        out["documents"] = {
            "summary": v.summary,
            "by_type": [{k: t[k] for k in ("type", "name", "documents", "valid", "invalid",
                                           "errors", "warnings", "provisional")}
                        for t in v.by_type],
            "by_rule": [{k: r[k] for k in ("rule", "severity", "layer", "count", "documents",
                                           "provisional")} for r in v.by_rule]}
    if run.results is not None:
        cases = run.results.get("cases") or []
        by_service: dict[str, dict[str, Any]] = {}
        for c in cases:
            key = str(c.get("service") or "-")
            row = by_service.setdefault(key, {"service": c.get("service"), "cases": 0,
                                              "pass": 0, "fail": 0, "error": 0, "skip": 0})
            row["cases"] += 1
            result = str(c.get("result") or "error")
            row[result if result in ("pass", "fail", "error", "skip") else "error"] += 1
        summary = {k: v for k, v in (run.results.get("summary") or {}).items()
                   if isinstance(v, int | dict)}
        out["services"] = {"summary": summary, "by_service": list(by_service.values())}
    if run.perf is not None:
        p = perf_view(run.perf)
        out["performance"] = {"bands": p.bands, "steps": p.steps, "thresholds": p.thresholds,
                              "generator_saturated_at": p.saturated,
                              "provisional": p.provisional}
    out["failures"] = len(failures(run))
    out["comparison"] = comparison.to_dict() if comparison else None
    return out


def write_json(run: Run, out: IO[str], lang: str, comparison: Comparison | None = None) -> None:
    json.dump(report_dict(run, lang, comparison), out, ensure_ascii=False, indent=2,
              default=str)
    out.write("\n")
