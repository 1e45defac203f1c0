"""Turn the artifacts of a run into what the report shows (plain data for the templates).

Nothing here knows a level, service, document type or item by name: names, levels and points
come from the artifacts (which take them from standards/).
"""

from __future__ import annotations

import os
import re
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from .evidence import BodyLoader, Exchange

RESULTS = ("pass", "fail", "error", "skip")
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
_ANCHOR_RE = re.compile(r"[^0-9A-Za-z_\-.]+")


def anchor(prefix: str, ident: Any) -> str:
    """A stable HTML id: readable when the identifier is plain ASCII, else suffixed with a CRC
    (Chinese service names, paths) so that two identifiers never share an id."""
    text = str(ident)
    safe = _ANCHOR_RE.sub("_", text)
    if safe != text or not safe:
        safe = f"{safe.strip('_')[:40]}-{zlib.crc32(text.encode('utf-8')):08x}".lstrip("-")
    return f"{prefix}-{safe}"


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _first(d: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        v = d.get(k)
        if v is not None and v != "":
            return v
    return None


# ====================================================================== caps
@dataclass(slots=True)
class Caps:
    """How much of a big run goes into one report (the PDF gets a readable extract)."""
    findings_per_rule: int | None = None     # None: every finding
    documents: int | None = None             # documents listed with their findings
    documents_invalid_only: bool = False
    cases: int | None = None                 # cases listed in detail
    cases_failing_only: bool = False
    exchanges: int | None = None             # exchanges shown with their bodies
    exchanges_failing_only: bool = False
    body_cap: int = 32 * 1024
    body_budget: int = 8 * 1024 * 1024
    body_preview: int = 1536                 # characters of a body shown when not inlined


HTML_CAPS = Caps()
PDF_CAPS = Caps(findings_per_rule=5, documents=40, documents_invalid_only=True, cases=40,
                cases_failing_only=True, exchanges=12, exchanges_failing_only=True,
                body_cap=2 * 1024, body_budget=128 * 1024, body_preview=900)


@dataclass(slots=True)
class Omitted:
    """What a capped report left out (the PDF says so)."""
    findings: int = 0
    documents: int = 0
    cases: int = 0
    exchanges: int = 0
    bodies_linked: int = 0

    def any(self) -> bool:
        return bool(self.findings or self.documents or self.cases or self.exchanges
                    or self.bodies_linked)


# ====================================================================== validate
@dataclass(slots=True)
class DocView:
    path: str
    display: str
    anchor: str
    type: str | None
    name: str | None
    valid: bool
    errors: int
    warnings: int
    infos: int
    layers: dict[str, str]
    findings: list[dict[str, Any]]
    shown: list[dict[str, Any]] = field(default_factory=list)
    provisional: bool = False


@dataclass(slots=True)
class ValidateView:
    summary: dict[str, int]
    documents: list[DocView]
    listed: list[DocView]
    by_type: list[dict[str, Any]]
    by_rule: list[dict[str, Any]]
    tool: dict[str, Any]
    findings_total: int


_FINDING_DEFAULTS: dict[str, Any] = {
    "rule": "?", "severity": "error", "layer": None, "message": "", "xpath": None, "line": None,
    "column": None, "expected": None, "actual": None, "source": None, "provisional": False,
    "snippet": None}


def finding(d: dict[str, Any]) -> dict[str, Any]:
    """A finding object with every field of the findings model (producers may omit some)."""
    return {**_FINDING_DEFAULTS, **d}


def display_paths(paths: list[str]) -> dict[str, str]:
    """Paths shown relative to the folder the documents have in common (stable across runs
    made from different checkouts; also the key the baseline comparison uses)."""
    plain = [p.partition("!/")[0] for p in paths]
    dirs = [os.path.dirname(p) for p in plain]
    try:
        common = os.path.commonpath(dirs) if dirs and len({os.path.isabs(p) for p in plain}) == 1 \
            else ""
    except ValueError:
        common = ""
    out = {}
    for p in paths:
        rel = os.path.relpath(p, common) if common else p
        out[p] = rel.replace(os.sep, "/")
    return out


def validate_view(data: dict[str, Any], caps: Caps, omitted: Omitted) -> ValidateView:
    raw_docs = data.get("documents") or []
    shown_paths = display_paths([str(d.get("path", "?")) for d in raw_docs])
    docs: list[DocView] = []
    by_type: dict[Any, dict[str, Any]] = {}
    rules: dict[str, dict[str, Any]] = {}
    total = 0
    for i, d in enumerate(raw_docs):
        path = str(d.get("path", "?"))
        findings = sorted((finding(f) for f in d.get("findings") or []), key=lambda f: (
            _SEVERITY_ORDER.get(f.get("severity"), 3), f.get("line") or 0, f.get("rule")))
        sev = Counter(f.get("severity") for f in findings)
        valid = bool(d.get("valid", sev["error"] == 0))
        doc = DocView(path=path, display=shown_paths[path], anchor=f"doc-{i + 1}",
                      type=d.get("document_type"), name=d.get("document_name"), valid=valid,
                      errors=sev["error"], warnings=sev["warning"], infos=sev["info"],
                      layers=d.get("layers") or {}, findings=findings,
                      provisional=any(f.get("provisional") for f in findings))
        docs.append(doc)
        total += len(findings)
        t = by_type.setdefault(doc.type, {"type": doc.type, "name": doc.name, "documents": 0,
                                          "valid": 0, "invalid": 0, "errors": 0, "warnings": 0,
                                          "infos": 0, "provisional": False, "rules": Counter(),
                                          "anchor": anchor("type", doc.type or "unknown")})
        t["documents"] += 1
        t["valid" if valid else "invalid"] += 1
        t["errors"] += doc.errors
        t["warnings"] += doc.warnings
        t["infos"] += doc.infos
        t["name"] = t["name"] or doc.name
        for f in findings:
            t["provisional"] = t["provisional"] or bool(f.get("provisional"))
            if f.get("severity") == "error":
                t["rules"][f["rule"]] += 1
            r = rules.setdefault(f["rule"], {"rule": f["rule"], "severity": f.get("severity"),
                                             "layer": f.get("layer"), "count": 0,
                                             "documents": set(), "message": f.get("message"),
                                             "source": f.get("source"), "provisional": False,
                                             "anchor": anchor("rule", f["rule"]), "examples": []})
            r["count"] += 1
            r["documents"].add(path)
            r["provisional"] = r["provisional"] or bool(f.get("provisional"))
            if caps.findings_per_rule is None or len(r["examples"]) < caps.findings_per_rule:
                r["examples"].append((doc, f))
    for r in rules.values():
        r["documents"] = len(r["documents"])
        r["omitted"] = r["count"] - len(r["examples"])
        omitted.findings += r["omitted"]
    type_rows = sorted(by_type.values(), key=lambda t: (t["type"] is None, str(t["type"])))
    for t in type_rows:
        t["top_rules"] = t.pop("rules").most_common(3)
    rule_rows = sorted(rules.values(), key=lambda r: (_SEVERITY_ORDER.get(r["severity"], 3),
                                                      -r["count"], r["rule"]))
    # documents listed with their findings: every document that has findings (the PDF: the
    # documents that fail, worst first)
    if caps.documents_invalid_only:
        listed = sorted((d for d in docs if not d.valid), key=lambda d: (-d.errors, d.display))
    else:
        listed = [d for d in docs if d.findings]
    if caps.documents is not None and len(listed) > caps.documents:
        omitted.documents += len(listed) - caps.documents
        listed = listed[: caps.documents]
    for d in listed:
        d.shown = d.findings
    summary = data.get("summary") if isinstance(data.get("summary"), dict) else {}
    counted = {"documents": len(docs), "valid": sum(d.valid for d in docs),
               "invalid": sum(not d.valid for d in docs), "errors": sum(d.errors for d in docs),
               "warnings": sum(d.warnings for d in docs), "infos": sum(d.infos for d in docs)}
    summary = {k: summary.get(k, v) if isinstance(summary.get(k, v), int) else v
               for k, v in counted.items()}
    return ValidateView(summary=summary, documents=docs, listed=listed, by_type=type_rows,
                        by_rule=rule_rows, tool=data.get("tool") or {}, findings_total=total)


# ====================================================================== results (run)
@dataclass(slots=True)
class CheckView:
    id: str
    result: str
    message: str | None
    provisional: bool
    findings: list[dict[str, Any]]
    expected: Any = None
    actual: Any = None


@dataclass(slots=True)
class CaseView:
    id: str
    anchor: str
    service: str | None
    service_name: str | None
    kind: str | None
    result: str
    checks: list[CheckView]
    exchanges: list[Exchange]
    exchange_specs: list[Any]
    provisional: bool
    reason: str | None = None
    duration_ms: float | None = None

    @property
    def failing(self) -> bool:
        return self.result in ("fail", "error")

    @property
    def counts(self) -> Counter:
        return Counter(c.result for c in self.checks)


@dataclass(slots=True)
class ResultsView:
    summary: dict[str, int]
    cases: list[CaseView]
    listed: list[CaseView]
    services: list[dict[str, Any]]
    kinds: dict[str, Counter]
    tool: dict[str, Any]
    scenarios: Any
    level: Any
    exchanges_total: int
    exchanges_shown: int


def rollup(results: list[str]) -> str:
    """fail when anything failed; else error when anything could not be judged; skip when
    nothing ran; else pass (the harness's roll-up, applied to a service's cases)."""
    if not results:
        return "skip"
    if "fail" in results:
        return "fail"
    if "error" in results:
        return "error"
    if all(r == "skip" for r in results):
        return "skip"
    return "pass"


def _result(value: Any) -> str:
    text = str(value or "").lower()
    aliases = {"passed": "pass", "ok": "pass", "failed": "fail", "failure": "fail",
               "errored": "error", "skipped": "skip"}
    text = aliases.get(text, text)
    return text if text in RESULTS else "error"


def _check(c: dict[str, Any]) -> CheckView:
    findings = c.get("findings") if isinstance(c.get("findings"), list) else []
    return CheckView(id=str(_first(c, "id", "name") or "?"), result=_result(c.get("result")),
                     message=_first(c, "message", "reason", "detail"),
                     provisional=bool(c.get("provisional")),
                     findings=[finding(f) for f in findings if isinstance(f, dict)],
                     expected=c.get("expected"), actual=c.get("actual"))


def results_view(data: dict[str, Any], loader: BodyLoader, caps: Caps,
                 omitted: Omitted) -> ResultsView:
    cases: list[CaseView] = []
    for i, c in enumerate(data.get("cases") or []):
        checks = [_check(x) for x in c.get("checks") or []]
        result = _result(c.get("result")) if c.get("result") is not None else \
            rollup([x.result for x in checks])
        cid = str(c.get("id") or f"case-{i + 1}")
        specs = c.get("exchanges") or []
        service = c.get("service")
        cases.append(CaseView(
            id=cid, anchor=anchor("case", cid),
            service=None if service is None else str(service),
            service_name=_first(c, "service_name", "title", "name"), kind=c.get("kind"),
            result=result,
            checks=checks, exchanges=[], exchange_specs=specs,
            provisional=bool(c.get("provisional")) or any(x.provisional for x in checks),
            reason=_first(c, "reason", "message"),
            duration_ms=_num(_first(c, "duration_ms"))))
    # which cases are listed in detail, and which exchanges are loaded
    listed = [c for c in cases if c.failing or not caps.cases_failing_only]
    if caps.cases_failing_only:
        listed.sort(key=lambda c: (c.result != "fail", c.id))
    if caps.cases is not None and len(listed) > caps.cases:
        omitted.cases += len(listed) - caps.cases
        listed = listed[: caps.cases]
    budget = caps.exchanges
    total = sum(len(c.exchange_specs) for c in cases)
    shown = 0
    # the evidence of failing cases first: it gets the inline budget before passing cases do
    for c in sorted(listed, key=lambda c: not c.failing):
        if caps.exchanges_failing_only and not c.failing:
            continue
        for spec in c.exchange_specs:
            if budget is not None and shown >= budget:
                break
            ex = loader.exchange(spec)
            if ex is not None:
                c.exchanges.append(ex)
                shown += 1
    omitted.exchanges += total - shown if caps.exchanges is not None else 0
    # per service
    services: dict[str, dict[str, Any]] = {}
    for c in cases:
        key = c.service or "-"
        s = services.setdefault(key, {"service": c.service, "name": c.service_name,
                                      "anchor": anchor("service", key), "cases": [],
                                      "positive": [], "negative": [], "workflow": [],
                                      "provisional": False})
        s["name"] = s["name"] or c.service_name
        s["cases"].append(c)
        s[{"positive": "positive", "negative": "negative"}.get(c.kind or "", "workflow")].append(c)
        s["provisional"] = s["provisional"] or c.provisional
    service_rows = []
    for s in services.values():
        s["result"] = rollup([c.result for c in s["cases"]])
        for kind in ("positive", "negative", "workflow"):
            s[kind + "_result"] = rollup([c.result for c in s[kind]]) if s[kind] else None
        service_rows.append(s)
    service_rows.sort(key=lambda s: (s["service"] is None, str(s["service"])))
    kinds: dict[str, Counter] = defaultdict(Counter)
    for c in cases:
        kinds[c.kind or "-"][c.result] += 1
    counted = Counter(c.result for c in cases)
    summary = data.get("summary") if isinstance(data.get("summary"), dict) else {}
    summary = {k: summary[k] if isinstance(summary.get(k), int) else counted[k] for k in RESULTS}
    tool = data.get("tool") or {}
    scenarios = _first(data, "scenarios", "scenario_version") or tool.get("scenarios")
    inputs = data.get("inputs") if isinstance(data.get("inputs"), dict) else {}
    if scenarios is None and isinstance(inputs.get("suites"), list):
        scenarios = ", ".join(f"{x.get('id')} {x.get('version') or ''}".strip()
                              for x in inputs["suites"] if isinstance(x, dict)) or None
    return ResultsView(summary=summary, cases=cases, listed=listed, services=service_rows,
                       kinds=dict(kinds), tool=tool, scenarios=scenarios,
                       level=data.get("level"), exchanges_total=total, exchanges_shown=shown)


# ====================================================================== perf
@dataclass(slots=True)
class PerfView:
    bands: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    thresholds: list[dict[str, Any]]
    error_kinds: list[str]
    saturated: list[Any]
    services: list[dict[str, Any]]
    series: dict[str, list[tuple[float, float | None]]]
    settings: dict[str, Any]
    provisional: bool
    tool: dict[str, Any]


def _threshold(t: dict[str, Any]) -> dict[str, Any]:
    passed = t.get("passed")
    if passed is None and t.get("result") is not None:
        passed = _result(t.get("result")) == "pass"
    limit = _num(_first(t, "limit", "value", "max", "threshold"))
    return {"id": str(_first(t, "id", "name", "description") or "?"),
            "description": _first(t, "description", "text", "name"),
            "metric": _first(t, "metric", "measure"), "op": _first(t, "op", "operator") or "<=",
            "limit": limit, "users": _first(t, "users"), "service": _first(t, "service"),
            "actual": _num(_first(t, "actual", "measured", "observed")),
            "result": None if passed is None else ("pass" if passed else "fail"),
            "provisional": bool(t.get("provisional")), "source": _first(t, "source")}


def perf_view(data: dict[str, Any]) -> PerfView:
    bands = []
    for b in data.get("bands") or []:
        bands.append({"item": _first(b, "item", "code"), "service": _first(b, "service", "name"),
                      "median_ms": _num(b.get("median_ms")), "band": b.get("band"),
                      "spread_ms": _first(b, "spread_ms", "iqr_ms", "stdev_ms"),
                      "samples": _first(b, "samples", "n", "count"),
                      "provisional": bool(b.get("provisional")), "note": b.get("note")})
    steps = []
    kinds: set[str] = set()
    services = []
    series: dict[str, list[tuple[float, float | None]]] = {}
    for s in sorted(data.get("steps") or [], key=lambda s: _num(s.get("users")) or 0):
        errors = s.get("errors") if isinstance(s.get("errors"), dict) else {}
        errors = {str(k): v for k, v in errors.items() if isinstance(v, int | float)}
        kinds.update(errors)
        requests = _num(_first(s, "requests", "count", "total"))
        n_err = sum(errors.values())
        row = {"users": s.get("users"), "rate": s.get("rate"), "tps": _num(s.get("tps")),
               "requests": requests, "errors": errors, "error_total": n_err,
               "error_rate": (n_err / requests) if requests else _num(s.get("error_rate")),
               "saturated": bool(s.get("generator_saturated")),
               "mean_ms": _num(_first(s, "mean_ms", "avg_ms"))}
        for p in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms"):
            row[p] = _num(s.get(p))
        steps.append(row)
        per = s.get("services")
        if isinstance(per, dict):
            per = [{"service": k, **v} for k, v in per.items() if isinstance(v, dict)]
        for sv in per if isinstance(per, list) else []:
            if isinstance(sv, dict):
                services.append({"users": s.get("users"), "service": sv.get("service"),
                                 "tps": _num(sv.get("tps")), "p50_ms": _num(sv.get("p50_ms")),
                                 "p95_ms": _num(sv.get("p95_ms")),
                                 "p99_ms": _num(sv.get("p99_ms")),
                                 "errors": sum(v for v in (sv.get("errors") or {}).values()
                                               if isinstance(v, int | float))
                                 if isinstance(sv.get("errors"), dict) else _num(sv.get("errors"))})
        points = _first(s, "series", "timeseries")
        if isinstance(points, list):
            label = (str(s.get("users")) if s.get("users") is not None
                     else f"{s.get('rate')}/s")  # open model: the arrival rate names the step
            series[label] = [(_num(_first(p, "t", "second", "time")) or float(i),
                                            _num(p.get("tps")))
                                           for i, p in enumerate(points) if isinstance(p, dict)]
    top = data.get("timeseries")
    if isinstance(top, list) and not series:
        for i, p in enumerate(top):
            if isinstance(p, dict):
                series.setdefault(str(p.get("users", "-")), []).append(
                    (_num(_first(p, "t", "second", "time")) or float(i), _num(p.get("tps"))))
    thresholds = [_threshold(t) for t in data.get("thresholds") or []]
    settings = {k: v for k, v in data.items()
                if k in ("model", "duration", "duration_s", "ramp", "rate", "mix", "think_time",
                         "users", "generator") and not isinstance(v, dict | list)}
    return PerfView(bands=bands, steps=steps, thresholds=thresholds,
                    error_kinds=sorted(kinds), saturated=[s["users"] for s in steps
                                                          if s["saturated"]],
                    services=services, series=series, settings=settings,
                    provisional=bool(data.get("provisional")) or any(
                        t["provisional"] for t in thresholds) or any(b["provisional"]
                                                                     for b in bands),
                    tool=data.get("tool") or {})


# ====================================================================== score
@dataclass(slots=True)
class ScoreView:
    level: str | None
    level_provisional: bool
    determinable: bool
    why_not: str | None
    total: float | None
    max_total: float | None
    total_provisional: bool
    dimensions: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    indicators: list[dict[str, Any]]
    gaps: list[dict[str, Any]]
    next_gap: dict[str, Any] | None
    provisional: bool
    provisional_reasons: list[str]
    assessment: dict[str, Any]
    level_rule: dict[str, Any] | None
    min_level: str | None
    min_level_met: bool | None
    tool: dict[str, Any]
    levels: list[str]
    warnings: list[str]


_STATUS_WORDS: dict[str, str] = {
    **dict.fromkeys(("met", "pass", "passed", "yes", "true", "ok", "satisfied", "achieved",
                     "complete"), "met"),
    **dict.fromkeys(("unmet", "not_met", "fail", "failed", "no", "false", "partial", "missing"),
                    "unmet"),
    **dict.fromkeys(("no_business", "not_applicable", "na", "n/a", "exempt"), "na"),
    **dict.fromkeys(("unanswered", "pending"), "unanswered"),
    **dict.fromkeys(("not_assessed", "unknown", "error"), "unknown"),
    **dict.fromkeys(("recorded", "record", "record_only", "info"), "record"),
    "scored": "scored",
}


def indicator_status(ind: dict[str, Any]) -> str:
    """met | unmet | na (no such business) | unanswered | unknown (not assessed) | record
    (record-only) | scored (level-score items) — from the `status` word (score.json), else
    `met` (bool), else points against the maximum."""
    word = str(_first(ind, "status", "result", "state") or "").lower()
    if word in _STATUS_WORDS:
        return _STATUS_WORDS[word]
    met = ind.get("met")
    if isinstance(met, bool):
        return "met" if met else "unmet"
    if str(ind.get("rule") or ind.get("rule_type") or "").startswith("record"):
        return "record"
    points = _num(_first(ind, "points", "score"))
    maximum = _num(_first(ind, "max_points", "max"))
    if points is not None and maximum:
        return "met" if points >= maximum else "unmet"
    return "unknown"


def evidence_items(value: Any, anchors: dict[str, str], limit: int = 12) -> list[dict[str, Any]]:
    """A figure's evidence as display items [{label, text, href}] whatever its shape: lists are
    flattened, objects with a path are files (with their SHA-256), objects with an id are
    references (linked to the case, service or document type in the report when present)."""
    items: list[dict[str, Any]] = []

    def add(label: str | None, v: Any) -> None:
        if len(items) > 4 * limit:
            return
        if isinstance(v, list):
            for x in v[:limit]:
                add(label, x)
            if len(v) > limit:
                items.append({"label": label, "text": f"… (+{len(v) - limit})", "href": None})
            return
        if isinstance(v, dict):
            if "path" in v and not isinstance(v["path"], dict | list):
                text = str(v["path"]) + (f"  sha256:{str(v['sha256'])[:12]}…"
                                         if v.get("sha256") else "")
                items.append({"label": label or v.get("kind"), "text": text, "href": None})
                return
            if "id" in v and not isinstance(v["id"], dict | list):
                ident = str(v["id"])
                extra = [str(v[k]) for k in ("result", "verdict", "status") if v.get(k)]
                failed = v.get("failed_checks")
                if isinstance(failed, list) and failed:
                    extra.append("✘ " + ", ".join(str(x) for x in failed[:5]))
                items.append({"label": label, "text": ident + (f" ({'; '.join(extra)})"
                                                               if extra else ""),
                              "href": anchors.get(ident)})
                return
            for k, x in v.items():
                if k != "kind":
                    add(str(k), x)
            return
        text = "" if v is None else (("✔" if v else "✘") if isinstance(v, bool) else str(v))
        items.append({"label": label, "text": text, "href": anchors.get(text)})

    add(None, value)
    return items


def _level_of(value: Any, lang: str = "zh") -> str | None:
    if isinstance(value, dict):
        value = (lang == "en" and _first(value, "en", "name_en")) or _first(value, "name", "id",
                                                                            "level")
    return None if value in (None, "") else str(value)


def _label(d: dict[str, Any], lang: str, *keys: str) -> Any:
    """The English variant (<key>_en) of the first present key when lang is en."""
    if lang == "en":
        for k in keys:
            if d.get(f"{k}_en"):
                return d[f"{k}_en"]
    return _first(d, *keys)


def score_view(data: dict[str, Any], anchors: dict[str, str], caps: Caps,
               lang: str = "zh") -> ScoreView:
    same_lang = data.get("lang") in (None, lang)

    def level_label(value: Any, name: Any = None) -> str | None:
        """A level's display name: score.json's level_name when it is in the report's language
        (else the level id, which is the Chinese name for the national schemes)."""
        if name and same_lang:
            return str(name)
        return _level_of(value, lang)

    dims = []
    dim_names: dict[str, str] = {}
    for d in data.get("dimensions") or []:
        did = str(_first(d, "id", "code") or "?")
        name = str(_label(d, lang, "name", "title") or did)
        dim_names[did] = name
        subs = [{"id": _first(x, "id", "code"), "name": _label(x, lang, "name", "title"),
                 "score": _num(x.get("score")), "max": _num(_first(x, "max", "max_points")),
                 "provisional": bool(x.get("provisional"))}
                for x in (d.get("sub_indices") or d.get("subs") or []) if isinstance(x, dict)]
        dims.append({"id": did, "name": name, "score": _num(d.get("score")) or 0.0,
                     "max": _num(_first(d, "max", "max_points")) or 0.0,
                     "provisional": bool(d.get("provisional")),
                     "anchor": anchor("dim", did), "sub_indices": subs})
    inds: list[dict[str, Any]] = []
    by_code: dict[str, dict[str, Any]] = {}
    for ind in data.get("indicators") or []:
        code = str(_first(ind, "code", "id") or "?")
        dim = _first(ind, "dimension", "dimension_id")
        if dim is None and "." in code:
            dim = code.split(".", 1)[0]
        sub = _first(ind, "sub_index", "subindex")
        if sub is None and code.count(".") >= 2:
            sub = ".".join(code.split(".")[:2])
        evidence = evidence_items(ind.get("evidence"), anchors)
        answer = ind.get("answer")
        if answer not in (None, "", [], {}):
            evidence = evidence_items({"answer": answer}, anchors) + evidence
        reasons = ind.get("reasons")
        reasons = [str(x) for x in reasons] if isinstance(reasons, list) else (
            [str(reasons)] if reasons else [])
        row = {"code": code, "anchor": anchor("ind", code),
               "text": _label(ind, lang, "text", "name", "title") or "",
               "dimension": None if dim is None else str(dim),
               "sub_index": None if sub is None else str(sub),
               "max": _num(_first(ind, "max_points", "max")),
               "points": _num(_first(ind, "points", "score")),
               "level": _level_of(_first(ind, "required_level", "level", "level_required"), lang),
               "achieved": _level_of(ind.get("achieved_level"), lang),
               "status": indicator_status(ind),
               "source": _first(ind, "source", "binding", "basis"),
               "rule": _first(ind, "rule", "rule_type"),
               "evidence": evidence, "reasons": reasons,
               "provisional": bool(ind.get("provisional")),
               "note": _first(ind, "note")}
        inds.append(row)
        by_code[code] = row
    groups: dict[str | None, dict[str, Any]] = {}
    for d in dims:
        groups[d["id"]] = {"id": d["id"], "name": d["name"], "anchor": d["anchor"], "rows": [],
                           "provisional": d["provisional"]}
    for row in inds:
        g = groups.get(row["dimension"])
        if g is None:
            g = groups.setdefault(row["dimension"], {
                "id": row["dimension"], "name": dim_names.get(row["dimension"] or "")
                or row["dimension"] or "-", "anchor": anchor("dim", row["dimension"] or "other"),
                "rows": [], "provisional": False})
        g["rows"].append(row)
    gaps = []
    for g in data.get("gaps") or []:
        missing = []
        for m in g.get("missing") or []:
            m = m if isinstance(m, dict) else {"code": str(m)}
            code = str(_first(m, "code", "id") or "?")
            ref = by_code.get(code, {})
            points = _num(_first(m, "points", "max_points", "max"))
            reason = _first(m, "reason", "why", "note")
            needed = m.get("needed")
            missing.append({"code": code,
                            "text": _label(m, lang, "text", "name") or ref.get("text", ""),
                            "points": points if points is not None else ref.get("max"),
                            "reason": reason, "needed": needed if needed != reason else None,
                            "level": _level_of(m.get("required_level"), lang) or ref.get("level"),
                            "provisional": bool(m.get("provisional") or ref.get("provisional")),
                            "href": "#" + ref["anchor"] if ref else None})
        level_id = _level_of(g.get("level")) or "?"
        gaps.append({"level": level_label(g.get("level"), g.get("level_name")) or "?",
                     "level_id": level_id, "missing": missing, "count": len(missing),
                     "points": _num(g.get("points")) if g.get("points") is not None
                     else round(sum(m["points"] or 0 for m in missing), 4),
                     "provisional": bool(g.get("provisional"))
                     or any(m["provisional"] for m in missing),
                     "anchor": anchor("gap", level_id)})
    next_level = _level_of(data.get("next_level"))
    next_gap = next((g for g in gaps if g["level_id"] == next_level), None) if next_level \
        else None
    next_gap = next_gap or (gaps[0] if gaps else None)
    level = level_label(data.get("level"), data.get("level_name"))
    levels = [lv for lv in (_level_of(x, lang) for x in data.get("levels") or []) if lv]
    min_level = _level_of(data.get("min_level"), lang)
    min_met = data.get("min_level_met") if isinstance(data.get("min_level_met"), bool) else None
    if min_level and min_met is None and (gaps or level):
        min_met = not any(g["level_id"] == min_level for g in gaps)
    total = _num(_first(data, "total", "points"))
    if total is None and dims:
        total = sum(d["score"] for d in dims)
    max_total = _num(_first(data, "max_total", "max"))
    if max_total is None and dims:
        max_total = sum(d["max"] for d in dims)
    assessment = data.get("assessment")
    if isinstance(assessment, str):
        assessment = {"id": assessment}
    if not isinstance(assessment, dict):
        assessment = {}
    tool = data.get("tool") or {}
    if not assessment and tool.get("assessment"):
        a = tool["assessment"]
        assessment = a if isinstance(a, dict) else {"id": a}
    rule = assessment.get("level_rule") if isinstance(assessment.get("level_rule"), dict) else None
    level_rule = None
    if rule:
        desc = rule.get("description")
        if isinstance(desc, dict):
            desc = desc.get(lang) or desc.get("zh") or next(iter(desc.values()), None)
        level_rule = {"type": rule.get("type"), "description": desc,
                      "provisional": rule.get("status") == "provisional"}
    provisional = bool(data.get("provisional"))
    warnings = [str(w) for w in data.get("warnings") or [] if w]
    reasons = [str(x) for x in data.get("provisional_reasons") or [] if x]
    return ScoreView(level=level,
                     level_provisional=bool(data.get("level_provisional", provisional)),
                     determinable=data.get("determinable") is not False,
                     why_not=_first(data, "why_not_determinable"),
                     total=total, max_total=max_total,
                     total_provisional=bool(data.get("total_provisional", provisional)),
                     dimensions=dims, groups=[g for g in groups.values() if g["rows"]],
                     indicators=inds, gaps=gaps, next_gap=next_gap, provisional=provisional,
                     provisional_reasons=reasons, assessment=assessment, level_rule=level_rule,
                     min_level=min_level, min_level_met=min_met, tool=tool, levels=levels,
                     warnings=warnings)
