"""Bindings: items judged from machine results instead of the questionnaire — the sample
documents of a document type (validate.json), the test cases of a service (results.json), the
median response time of a 3.3 item (perf.json), the verdict of a data set (datasets.json).

Each source is a function ``(evaluation, item, answer) -> ItemRating | None`` found by name
(None: no machine result, and the binding falls back to the questionnaire)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .rating import ItemRating
from .rules.base import fmt

if TYPE_CHECKING:
    from .engine import Evaluation
    from .model import Item
    from .questionnaire import Answer

BindingSource = Callable[["Evaluation", "Item", "Answer"], ItemRating | None]


def documents(e: Evaluation, item: Item, ans: Answer) -> ItemRating:
    keys = item.binding.keys
    samples = [s for key in keys if key in e.inputs.documents for s in e.inputs.documents[key]]
    docs = "/".join(keys)
    if not samples:
        if e.no_business_claim(item, ans):
            return e.binary(item, "no_business", "questionnaire", [e.t("score.why.no_business")])
        return e.binary(item, "not_assessed", "validate", [e.t("score.why.doc_none", doc=docs)])
    ok = sum(1 for s in samples if s.valid)
    bad = [s for s in samples if not s.valid]
    verdict = "conformant" if not bad else "partial"
    if e.no_business_claim(item, ans):
        e.notes.append(("score.q.contradicts_auto", {"code": item.code, "answer": "no_business",
                                               "auto": verdict}))
    else:
        e.ignored(item, ans, verdict)
    ev = [{"kind": "documents", "document_types": list(keys), "samples": len(samples),
           "passed": ok, "failed": len(bad),
           "failing": [{"path": s.path, "errors": s.errors, "rules": s.rules} for s in bad[:10]],
           "source": sorted({s.source for s in samples})}]
    return e.binary(item, verdict, "validate",
                    [e.t("score.why.doc_samples", n=len(samples), ok=ok, bad=len(bad))], ev)


def services(e: Evaluation, item: Item, ans: Answer) -> ItemRating:
    keys = item.binding.keys
    cases = e.inputs.service_cases(keys)
    svc = keys[0] if keys else item.text
    gated = [c for c in cases if c.kind in ("positive", "negative")]
    if not gated:
        if e.no_business_claim(item, ans):
            return e.binary(item, "no_business", "questionnaire", [e.t("score.why.no_business")])
        return e.binary(item, "not_assessed", "run", [e.t("score.why.svc_none", svc=svc)])
    pos = [c for c in cases if c.kind == "positive"]
    neg = [c for c in cases if c.kind == "negative"]
    reasons = [e.t("score.why.svc", pp=sum(c.passed for c in pos), pn=len(pos),
                   np=sum(c.passed for c in neg), nn=len(neg))]
    for kind, lst in (("positive", pos), ("negative", neg)):
        if not lst:
            reasons.append(e.t("score.why.svc_missing_kind", kind=e.t(f"score.why.kind.{kind}")))
    ok = bool(pos) and bool(neg) and all(c.passed for c in pos + neg)
    verdict = "conformant" if ok else "partial"
    e.ignored(item, ans, verdict)
    ev = [{"kind": "cases", "service": svc,
           "cases": [{"id": c.id, "kind": c.kind, "result": c.result,
                      "failed_checks": c.failed_checks, "source": c.source} for c in cases]}]
    return e.binary(item, verdict, "run", reasons, ev)


def datasets(e: Evaluation, item: Item, ans: Answer) -> ItemRating | None:
    b = item.binding
    entry = e.inputs.dataset(b.keys, b.names, item.code)
    if entry is None:
        return None
    verdict = entry.verdict
    if verdict == "absent" and e.no_business_claim(item, ans):
        verdict = "no_business"
    e.ignored(item, ans, verdict)
    ev = [{"kind": "dataset", "dataset": entry.id or entry.name, "verdict": entry.word,
           "source": entry.source}]
    if entry.element_list:   # where the data set's element list comes from
        ev[0]["element_list"] = entry.element_list
    word = entry.word_en if e.lang == "en" and entry.word_en else entry.word
    return e.binary(item, verdict, "datasets", [e.t("score.why.dataset", verdict=word)], ev)


def performance(e: Evaluation, item: Item, ans: Answer) -> ItemRating:
    entry = e.inputs.perf_entry(item.code, item.binding.keys)
    if entry is None:
        return ItemRating(item, "recorded", source="perf", reasons=[e.t("score.why.perf_none")])
    ms = entry.median_ms
    band = _band(e, ms) if ms is not None else None
    label = str(entry.band) if band is None else (band.label_en if e.lang == "en" else band.label)
    res = ItemRating(item, "recorded", source="perf", answer=ms,
                     reasons=[e.t("score.why.band", ms=fmt(ms) if ms is not None else "-", band=label),
                              e.t("score.why.record")],
                     evidence=[{"kind": "performance", "service": entry.service,
                                "median_ms": ms, "band": band.id if band else None,
                                "reported_band": entry.band, "source": entry.source}])
    res.band = band.id if band else None
    return res


def _band(e: Evaluation, ms: float) -> Any:
    for b in e.d.bands:
        if b.max_ms is None or ms <= b.max_ms:
            return b
    return None


SOURCES: dict[str, BindingSource] = {"documents": documents, "services": services,
                                     "performance": performance, "datasets": datasets}
