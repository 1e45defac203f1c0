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
  "datasets": {"summary", "by_dataset": [{"id", "name", "verdict", "verdict_key", "provisional",
               "records", "documents", "elements": {"covered", "present", "total",
               "missing"}, "defects", "element_coverage"?, "format_conformance"?,
               "assessment_item"?}]} | null,
  "performance": {"bands", "steps", "thresholds", "generator_saturated_at"} | null,
  "failures": N, "comparison": {...} | null
}
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import IO, Any

import msgspec

from .. import __version__
from ..model import RunResults
from ..model.folder import RunFolder
from .baseline import Comparison, failures
from .model import FILES, artifact, evidence_files, inputs
from .views import (
    HTML_CAPS,
    DatasetView,
    Omitted,
    datasets_view,
    perf_view,
    run_summary,
    score_view,
    validate_view,
)

FORMAT_VERSION = 1


def _services(results: RunResults) -> dict[str, Any]:
    by_service: dict[str, dict[str, Any]] = {}
    for c in results.cases:
        row = by_service.setdefault(c.service or "-", {"service": c.service, "cases": 0,
                                                       "pass": 0, "fail": 0, "error": 0,
                                                       "skip": 0})
        row["cases"] += 1
        row[c.result.value] = row.get(c.result.value, 0) + 1
    summary = msgspec.to_builtins(run_summary(results))
    return {"summary": summary, "by_service": list(by_service.values())}


def report_dict(folder: RunFolder, lang: str, comparison: Comparison | None = None
                ) -> dict[str, Any]:
    date = folder.date()
    out: dict[str, Any] = {
        "tool": {"name": "conformance", "version": __version__}, "format": FORMAT_VERSION,
        "generated": datetime.now().astimezone().replace(microsecond=0).isoformat(),
        "lang": lang,
        "run": {"dir": str(folder.path), "target": folder.target(), "profile": folder.profile(),
                "date": date.isoformat() if date else None,
                "inputs": [{"file": f.file, "sha256": f.sha256, "size": f.size,
                            "tool": msgspec.to_builtins(f.tool) if f.tool else {}}
                           for f in inputs(folder)],
                "absent": [FILES[a] for a in folder.absent],
                "evidence_files": evidence_files(folder)},
        "level": None, "dimensions": [], "documents": None, "services": None,
        "datasets": None, "performance": None,
    }
    score = artifact(folder, "score")
    if score is not None:
        s = score_view(score, {}, HTML_CAPS, lang)
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
            "assessment": msgspec.to_builtins(score.assessment)}
        out["dimensions"] = [{k: d[k] for k in ("id", "name", "score", "max", "provisional")}
                             for d in s.dimensions]
    validate = artifact(folder, "validate")
    if validate is not None:
        v = validate_view(validate, HTML_CAPS, Omitted())
        out["documents"] = {
            "summary": v.summary,
            "by_type": [{k: t[k] for k in ("type", "name", "documents", "valid", "invalid",
                                           "errors", "warnings", "provisional")}
                        for t in v.by_type],
            "by_rule": [{k: r[k] for k in ("rule", "severity", "layer", "count", "documents",
                                           "provisional")} for r in v.by_rule]}
    results = artifact(folder, "results")
    if results is not None:
        out["services"] = _services(results)
    datasets = artifact(folder, "datasets")
    if datasets is not None:
        d = datasets_view(datasets, HTML_CAPS, lang)
        out["datasets"] = {"summary": {**d.summary, "provisional": d.provisional},
                           "by_dataset": [_dataset(x) for x in d.listed]}
    perf = artifact(folder, "perf")
    if perf is not None:
        p = perf_view(perf, lang)
        out["performance"] = {"bands": p.bands, "steps": p.steps, "thresholds": p.thresholds,
                              "generator_saturated_at": p.saturated,
                              "provisional": p.provisional}
    out["failures"] = len(failures(folder))
    out["comparison"] = comparison.to_dict() if comparison else None
    return out


def _dataset(x: DatasetView) -> dict[str, Any]:
    v = x.verdict
    row = {"id": v.id, "name": v.name, "verdict": x.label, "verdict_key": v.verdict_key,
           "provisional": v.provisional, "records": v.records, "documents": v.documents,
           "elements": {"covered": v.elements.covered, "present": v.elements.present,
                        "total": v.elements.total,
                        "missing": [e.id for e in v.elements.missing]},
           "defects": dict(v.defects), "errors": v.errors, "warnings": v.warnings}
    for key in ("element_coverage", "format_conformance", "assessment_item"):
        value = getattr(x, key)
        if value is not None:
            row[key] = msgspec.to_builtins(value)
    return row


def write_json(folder: RunFolder, out: IO[str], lang: str,
               comparison: Comparison | None = None) -> None:
    json.dump(report_dict(folder, lang, comparison), out, ensure_ascii=False, indent=2,
              default=str)
    out.write("\n")
