"""Turn the typed artifacts of a run into what the report shows (plain data for the templates).

Nothing here knows a level, service, document type, data set or item by name: names, levels and
points come from the artifacts (which take them from standards/). Results are the model's
``Status`` words and roll up with ``model.roll_up``.
"""

from __future__ import annotations

import os
import re
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..model import (
    UNSET,
    CaseResult,
    CheckResult,
    DatasetsResults,
    DatasetVerdict,
    DocumentRecord,
    Finding,
    PerfResults,
    Ratio,
    RunResults,
    RunSummary,
    Score,
    Status,
    Summary,
    Threshold,
    ValidateResults,
    roll_up,
)
from ..model.score import provisional_reason
from .evidence import BodyLoader, ExchangeView

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


def localized(zh: Any, en: Any, lang: str) -> Any:
    """The English variant when the report is in English and the artifact has one."""
    return en if lang == "en" and en not in (None, UNSET, "") else zh


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
    missing_elements: int | None = None      # missing data elements listed per data set


HTML_CAPS = Caps()
PDF_CAPS = Caps(findings_per_rule=5, documents=40, documents_invalid_only=True, cases=40,
                cases_failing_only=True, exchanges=12, exchanges_failing_only=True,
                body_cap=2 * 1024, body_budget=128 * 1024, body_preview=900,
                missing_elements=40)


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
    findings: list[Finding]
    shown: list[Finding] = field(default_factory=list)
    provisional: bool = False


@dataclass(slots=True)
class ValidateView:
    summary: dict[str, int]
    documents: list[DocView]
    listed: list[DocView]
    by_type: list[dict[str, Any]]
    by_rule: list[dict[str, Any]]
    findings_total: int


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


def summary_of(documents: list[DocumentRecord], written: Summary) -> dict[str, int]:
    """The counts of a validate.json / datasets.json: the written summary when it describes these
    documents (it also counts findings a data-set check left unlisted), else counted here."""
    if written.documents == len(documents) and documents:
        return {k: getattr(written, k) for k in ("documents", "valid", "invalid", "errors",
                                                 "warnings", "infos")}
    return {"documents": len(documents), "valid": sum(d.valid for d in documents),
            "invalid": sum(not d.valid for d in documents),
            "errors": sum(d.errors for d in documents),
            "warnings": sum(d.warnings for d in documents),
            "infos": sum(d.infos for d in documents)}


def _finding_order(f: Finding) -> tuple[int, int, str]:
    return _SEVERITY_ORDER.get(f.severity, 3), f.line or 0, f.rule


def validate_view(data: ValidateResults, caps: Caps, omitted: Omitted) -> ValidateView:
    raw_docs = data.documents
    shown_paths = display_paths([d.path for d in raw_docs])
    docs: list[DocView] = []
    by_type: dict[Any, dict[str, Any]] = {}
    rules: dict[str, dict[str, Any]] = {}
    total = 0
    for i, d in enumerate(raw_docs):
        findings = sorted(d.findings, key=_finding_order)
        doc = DocView(path=d.path, display=shown_paths[d.path], anchor=f"doc-{i + 1}",
                      type=d.document_type, name=d.document_name, valid=d.valid,
                      errors=d.errors, warnings=d.warnings, infos=d.infos, layers=d.layers,
                      findings=findings, provisional=any(f.provisional for f in findings))
        docs.append(doc)
        total += len(findings)
        t = by_type.setdefault(doc.type, {"type": doc.type, "name": doc.name, "documents": 0,
                                          "valid": 0, "invalid": 0, "errors": 0, "warnings": 0,
                                          "infos": 0, "provisional": False, "rules": Counter(),
                                          "anchor": anchor("type", doc.type or "unknown")})
        t["documents"] += 1
        t["valid" if doc.valid else "invalid"] += 1
        t["errors"] += doc.errors
        t["warnings"] += doc.warnings
        t["infos"] += doc.infos
        t["name"] = t["name"] or doc.name
        for f in findings:
            t["provisional"] = t["provisional"] or f.provisional
            if f.severity == "error":
                t["rules"][f.rule] += 1
            r = rules.setdefault(f.rule, {"rule": f.rule, "severity": f.severity,
                                          "layer": f.layer, "count": 0, "documents": set(),
                                          "message": f.message, "source": f.source,
                                          "provisional": False, "anchor": anchor("rule", f.rule),
                                          "examples": []})
            r["count"] += 1
            r["documents"].add(d.path)
            r["provisional"] = r["provisional"] or f.provisional
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
    return ValidateView(summary=summary_of(raw_docs, data.summary), documents=docs,
                        listed=listed, by_type=type_rows, by_rule=rule_rows,
                        findings_total=total)


# ====================================================================== results (run)
@dataclass(slots=True)
class CheckView:
    check: CheckResult
    findings: list[Finding]
    provisional: bool

    @property
    def id(self) -> str:
        return self.check.id

    @property
    def result(self) -> Status:
        return self.check.result

    @property
    def message(self) -> str:
        return self.check.message

    @property
    def expected(self) -> str | None:
        return self.check.expected

    @property
    def actual(self) -> str | None:
        return self.check.actual


@dataclass(slots=True)
class CaseView:
    case: CaseResult
    anchor: str
    checks: list[CheckView]
    exchanges: list[ExchangeView]
    provisional: bool

    @property
    def id(self) -> str:
        return self.case.id

    @property
    def service(self) -> str | None:
        return self.case.service

    @property
    def service_name(self) -> str | None:
        return self.case.title

    @property
    def kind(self) -> str:
        return self.case.kind

    @property
    def result(self) -> Status:
        return self.case.result

    @property
    def failing(self) -> bool:
        return self.case.failing

    @property
    def exchanges_recorded(self) -> int:
        return len(self.case.exchanges)

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
    scenarios: str | None
    exchanges_total: int
    exchanges_shown: int


def _check_view(c: CheckResult) -> CheckView:
    findings = sorted(c.findings, key=_finding_order)
    return CheckView(check=c, findings=findings, provisional=any(f.provisional for f in findings))


def run_summary(data: RunResults) -> RunSummary:
    """results.json's counts, recounted when they do not describe its cases."""
    if data.summary.cases == len(data.cases):
        return data.summary
    return RunSummary.of(data.cases)


def scenario_versions(data: RunResults) -> str | None:
    suites = data.inputs.get("suites")
    if not isinstance(suites, list):
        return None
    return ", ".join(f"{s.get('id')} {s.get('version') or ''}".strip()
                     for s in suites if isinstance(s, dict)) or None


def results_view(data: RunResults, loader: BodyLoader, caps: Caps,
                 omitted: Omitted) -> ResultsView:
    cases: list[CaseView] = []
    for c in data.cases:
        checks = [_check_view(x) for x in c.checks]
        cases.append(CaseView(case=c, anchor=anchor("case", c.id), checks=checks, exchanges=[],
                              provisional=any(x.provisional for x in checks)))
    # which cases are listed in detail, and which exchanges are loaded
    listed = [c for c in cases if c.failing or not caps.cases_failing_only]
    if caps.cases_failing_only:
        listed.sort(key=lambda c: (c.result is not Status.FAIL, c.id))
    if caps.cases is not None and len(listed) > caps.cases:
        omitted.cases += len(listed) - caps.cases
        listed = listed[: caps.cases]
    budget = caps.exchanges
    total = sum(c.exchanges_recorded for c in cases)
    shown = 0
    # the evidence of failing cases first: it gets the inline budget before passing cases do
    for c in sorted(listed, key=lambda c: not c.failing):
        if caps.exchanges_failing_only and not c.failing:
            continue
        for ex in c.case.exchanges:
            if budget is not None and shown >= budget:
                break
            c.exchanges.append(loader.exchange(ex))
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
        s[c.kind if c.kind in ("positive", "negative") else "workflow"].append(c)
        s["provisional"] = s["provisional"] or c.provisional
    service_rows = []
    for s in services.values():
        s["result"] = roll_up(c.result for c in s["cases"])
        for kind in ("positive", "negative", "workflow"):
            s[kind + "_result"] = roll_up(c.result for c in s[kind]) if s[kind] else None
        service_rows.append(s)
    service_rows.sort(key=lambda s: (s["service"] is None, str(s["service"])))
    kinds: dict[str, Counter] = defaultdict(Counter)
    for c in cases:
        kinds[c.kind][c.result] += 1
    return ResultsView(summary=run_summary(data).as_dict(), cases=cases, listed=listed,
                       services=service_rows, kinds=dict(kinds),
                       scenarios=scenario_versions(data), exchanges_total=total,
                       exchanges_shown=shown)


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


def threshold_result(t: Threshold) -> Status:
    """pass / fail as judged; ``error`` when it could not be judged (nothing was measured for
    it: perf.json says ``passed: null``)."""
    if t.passed is None:
        return Status.ERROR
    return Status.PASS if t.passed else Status.FAIL


def _threshold(t: Threshold) -> dict[str, Any]:
    return {"id": t.id, "description": t.description or None, "metric": t.metric, "op": t.op,
            "limit": t.limit, "users": t.users, "rate": t.rate, "service": t.service,
            "actual": t.actual, "result": threshold_result(t).value,
            "provisional": t.provisional, "source": t.source}


def perf_view(data: PerfResults, lang: str = "zh") -> PerfView:
    bands = [{"item": b.item, "service": localized(b.service, b.name_en, lang),
              "median_ms": b.median_ms, "band": localized(b.band, b.band_en, lang),
              "spread_ms": b.spread_ms, "samples": b.samples, "provisional": b.provisional,
              "note": localized(b.note, b.note_en, lang) if b.note is not UNSET else None}
             for b in data.bands]
    steps = []
    kinds: set[str] = set()
    services = []
    series: dict[str, list[tuple[float, float | None]]] = {}
    for s in sorted(data.steps, key=lambda s: (s.users or 0, s.rate or 0)):
        kinds.update(s.errors)
        n_err = sum(s.errors.values())
        row = {"users": s.users, "rate": s.rate, "label": s.label, "tps": s.tps,
               "requests": s.requests, "errors": dict(s.errors), "error_total": n_err,
               "error_rate": (n_err / s.requests) if s.requests else s.error_rate,
               "saturated": s.generator_saturated, "mean_ms": s.mean_ms,
               "p50_ms": s.p50_ms, "p90_ms": s.p90_ms, "p95_ms": s.p95_ms, "p99_ms": s.p99_ms,
               "max_ms": s.max_ms}
        steps.append(row)
        for name, sv in s.services.items():
            services.append({"users": s.label, "service": name, "tps": sv.tps,
                             "p50_ms": sv.p50_ms, "p95_ms": sv.p95_ms, "p99_ms": sv.p99_ms,
                             "errors": sum(sv.errors.values())})
        if s.series:
            series[s.label] = [(float(p.t), p.tps) for p in s.series]
    thresholds = [_threshold(t) for t in data.thresholds]
    settings = {k: v for k, v in (("model", data.model), ("duration_s", data.duration_s),
                                  ("ramp_s", data.ramp_s), ("engine", data.engine))
                if v not in (None, UNSET)}
    return PerfView(bands=bands, steps=steps, thresholds=thresholds,
                    error_kinds=sorted(kinds),
                    saturated=[s["users"] if s["users"] is not None else s["label"]
                               for s in steps if s["saturated"]],
                    services=services, series=series, settings=settings,
                    provisional=data.provisional or any(t["provisional"] for t in thresholds)
                    or any(b["provisional"] for b in bands))


# ====================================================================== data sets
@dataclass(slots=True)
class DatasetView:
    verdict: DatasetVerdict
    anchor: str
    name: str
    label: str                     # the verdict in the report's language
    missing: list[dict[str, str | None]]
    missing_omitted: int
    defects: list[tuple[str, int]]
    indicator: str | None = None   # anchor of the score's indicator that used this verdict
    unlocated: int = 0             # missing elements the project cannot place in a document

    @property
    def id(self) -> str:
        return self.verdict.id

    @property
    def key(self) -> str:
        return self.verdict.verdict_key

    @property
    def provisional(self) -> bool:
        return self.verdict.provisional

    @property
    def defects_total(self) -> int:
        return sum(n for _, n in self.defects)

    @property
    def element_coverage(self) -> Ratio | None:
        return None if self.verdict.element_coverage is UNSET else self.verdict.element_coverage

    @property
    def format_conformance(self) -> Ratio | None:
        return None if self.verdict.format_conformance is UNSET \
            else self.verdict.format_conformance

    @property
    def assessment_item(self) -> str | None:
        item = self.verdict.assessment_item
        return None if item is UNSET else item

    @property
    def level(self) -> str | None:
        return None if self.verdict.level is UNSET else self.verdict.level


@dataclass(slots=True)
class DatasetsView:
    summary: dict[str, int]
    datasets: list[DatasetView]
    listed: list[DatasetView]           # the data sets the inputs held data for
    untouched: list[DatasetView]        # 无此数据: the questionnaire answers for them
    inputs: list[DocView]
    inputs_summary: dict[str, int]
    provisional: bool


def datasets_view(data: DatasetsResults, caps: Caps, lang: str = "zh",
                  indicators: dict[str, str] | None = None) -> DatasetsView:
    """``indicators``: indicator code → anchor (the 2.1 items of the score), to link each data
    set to the item it scored."""
    views = []
    for v in data.datasets:
        missing = [{"id": e.id, "name": e.name} for e in v.elements.missing]
        cut = caps.missing_elements
        omitted_missing = max(0, len(missing) - cut) if cut is not None else 0
        item = None if v.assessment_item is UNSET else v.assessment_item
        views.append(DatasetView(
            verdict=v, anchor=anchor("ds", v.id), name=v.name or v.id,
            label=localized(v.verdict, v.verdict_en, lang),
            missing=missing[:cut] if cut is not None else missing,
            missing_omitted=omitted_missing,
            defects=sorted(((k, n) for k, n in v.defects.items() if n), key=lambda x: -x[1]),
            indicator=(indicators or {}).get(item) if item else None,
            unlocated=sum(1 for e in v.elements.missing if e.located is False)))
    listed = [d for d in views if d.verdict.touched]
    counts = Counter(d.key for d in views)
    shown_paths = display_paths([d.path for d in data.documents])
    inputs = [DocView(path=d.path, display=shown_paths[d.path], anchor=f"ds-input-{i + 1}",
                      type=d.document_type, name=d.document_name, valid=d.valid,
                      errors=d.errors, warnings=d.warnings, infos=d.infos, layers=d.layers,
                      findings=[], provisional=any(f.provisional for f in d.findings))
              for i, d in enumerate(data.documents)]
    return DatasetsView(
        summary={"datasets": len(views), "touched": len(listed), "full": counts["full"],
                 "partial": counts["partial"], "none": counts["none"]},
        datasets=views, listed=listed, untouched=[d for d in views if not d.verdict.touched],
        inputs=inputs, inputs_summary=summary_of(data.documents, data.summary),
        provisional=any(d.provisional for d in listed))


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
    levels: list[str]
    warnings: list[str]


# score.json's item status → how the report shows it (class and phrase ``status.<word>``)
_STATUS: dict[str, str] = {"met": "met", "not_met": "unmet", "no_business": "na",
                           "unanswered": "unanswered", "not_assessed": "unknown",
                           "recorded": "record", "scored": "scored"}


def indicator_status(status: str) -> str:
    """met | unmet | na (no such business) | unanswered | unknown (not assessed) | record
    (record-only) | scored (level-score items)."""
    return _STATUS.get(status, "unknown")


def evidence_items(value: Any, anchors: dict[str, str], limit: int = 12) -> list[dict[str, Any]]:
    """A figure's evidence as display items [{label, text, href}] whatever its shape (score.json
    keeps evidence free-form): lists are flattened, objects with a path are files (with their
    SHA-256), objects with an id are references (linked to the case, service, document type or
    data set in the report when present)."""
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


def _description(value: Any, lang: str) -> str | None:
    if isinstance(value, dict):
        value = value.get(lang) or value.get("zh") or next(iter(value.values()), None)
    return None if value in (None, "") else str(value)


def score_view(data: Score, anchors: dict[str, str], caps: Caps,
               lang: str = "zh") -> ScoreView:
    same_lang = data.lang == lang

    def level_label(level: str | None, name: str | None = None) -> str | None:
        """A level's display name: score.json's level_name when it is in the report's language
        (else the level id, which is the Chinese name for the national schemes)."""
        return name if name and same_lang else level

    dims = []
    dim_names: dict[str, str] = {}
    for d in data.dimensions:
        name = localized(d.name, d.name_en, lang) or d.id
        dim_names[d.id] = name
        subs = [{"id": x.id, "name": localized(x.name, x.name_en, lang), "score": x.score,
                 "max": x.max, "provisional": x.provisional} for x in d.sub_indices]
        dims.append({"id": d.id, "name": name, "score": d.score, "max": d.max or 0.0,
                     "provisional": d.provisional, "anchor": anchor("dim", d.id),
                     "sub_indices": subs})
    inds: list[dict[str, Any]] = []
    by_code: dict[str, dict[str, Any]] = {}
    for ind in data.indicators:
        evidence = evidence_items(ind.evidence, anchors)
        if ind.answer not in (None, "", [], {}):
            evidence = evidence_items({"answer": ind.answer}, anchors) + evidence
        row = {"code": ind.code, "anchor": anchor("ind", ind.code),
               "text": localized(ind.text, ind.text_en, lang) or "",
               "dimension": ind.dimension, "sub_index": ind.sub_index,
               "max": ind.max_points, "points": ind.points, "level": ind.required_level,
               "achieved": ind.achieved_level, "status": indicator_status(ind.status),
               "source": ind.source, "rule": ind.rule, "evidence": evidence,
               "reasons": list(ind.reasons), "provisional": ind.provisional,
               "note": None if ind.note is UNSET else ind.note}
        inds.append(row)
        by_code[ind.code] = row
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
    for g in data.gaps:
        missing = []
        for m in g.missing:
            ref = by_code.get(m.code, {})
            missing.append({"code": m.code, "text": m.text or ref.get("text", ""),
                            "points": m.points if m.points is not None else ref.get("max"),
                            "reason": m.reason,
                            "needed": m.needed if m.needed != m.reason else None,
                            "level": m.required_level or ref.get("level"),
                            "provisional": m.provisional or bool(ref.get("provisional")),
                            "href": "#" + ref["anchor"] if ref else None})
        gaps.append({"level": level_label(g.level, g.level_name) or "?", "level_id": g.level,
                     "missing": missing, "count": len(missing),
                     "points": round(sum(m["points"] or 0 for m in missing), 4),
                     "provisional": g.provisional or any(m["provisional"] for m in missing),
                     "anchor": anchor("gap", g.level)})
    next_gap = next((g for g in gaps if g["level_id"] == data.next_level), None) \
        if data.next_level else None
    next_gap = next_gap or (gaps[0] if gaps else None)
    min_met = data.min_level_met
    if data.min_level and min_met is None and (gaps or data.level):
        min_met = not any(g["level_id"] == data.min_level for g in gaps)
    total = data.total if data.total is not None else (
        sum(d["score"] for d in dims) if dims else None)
    max_total = data.max if data.max is not None else (
        sum(d["max"] for d in dims) if dims else None)
    a = data.assessment
    assessment = {"id": a.id, "name": a.name, "name_en": a.name_en, "edition": a.edition,
                  "status": a.status, "profile": a.profile}
    level_rule = None
    if a.level_rule is not None:
        level_rule = {"type": a.level_rule.type,
                      "description": _description(a.level_rule.description, lang),
                      "provisional": a.level_rule.status == "provisional"}
    return ScoreView(level=level_label(data.level, data.level_name),
                     level_provisional=data.level_provisional, determinable=data.determinable,
                     why_not=data.why_not_determinable, total=total, max_total=max_total,
                     total_provisional=data.total_provisional, dimensions=dims,
                     groups=[g for g in groups.values() if g["rows"]], indicators=inds,
                     gaps=gaps, next_gap=next_gap, provisional=data.provisional,
                     provisional_reasons=[provisional_reason(x, lang)
                                          for x in data.provisional_reasons if x],
                     assessment=assessment, level_rule=level_rule, min_level=data.min_level,
                     min_level_met=min_met, levels=list(data.levels),
                     warnings=[w for w in data.warnings if w])


__all__ = ["Caps", "CaseView", "CheckView", "DatasetView", "DatasetsView", "DocView",
           "HTML_CAPS", "Omitted", "PDF_CAPS", "PerfView", "ResultsView", "ScoreView",
           "ValidateView", "anchor", "datasets_view", "display_paths", "evidence_items",
           "indicator_status", "perf_view", "results_view", "run_summary", "score_view",
           "summary_of", "threshold_result", "validate_view"]
