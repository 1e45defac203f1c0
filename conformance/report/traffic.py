"""The traffic section of a report on captured traffic (`conformance proxy`): what the template
partial ``templates/report/traffic.html.j2`` shows, built from the typed results.json
(``RunResults.traffic``, read through ``RunFolder``).

    ctx.update(traffic.context(folder, lang))     # {"traffic": TrafficView | None}
    {% include "traffic.html.j2" %}               # renders nothing for other runs
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..i18n import t
from ..model import RunResults
from ..model.folder import RunFolder
from ..model.traffic import Traffic

LABELS = ("title", "intro", "exchanges", "soap", "validated", "unvalidated", "too_large", "lost",
          "rotated", "recorded", "failing", "service", "name", "acks", "errors", "warnings",
          "latency", "bands", "rules", "rule", "severity", "count", "in_exchanges", "message",
          "coverage", "unseen", "command", "none", "upstream", "listen", "caps")


@dataclass(slots=True)
class ServiceRow:
    service: str
    name: str | None
    in_catalog: bool
    exchanges: int
    acks: list[tuple[str, int]]
    errors: int
    warnings: int
    failing: int
    unvalidated: int
    p50: float | None
    p95: float | None
    p99: float | None
    bands: list[tuple[str, int]]
    anchor: str


@dataclass(slots=True)
class TrafficView:
    t: dict[str, str]
    severity: dict[str, str]
    traffic: Traffic
    acks: list[tuple[str, int]]
    bands: list[dict[str, Any]]
    services: list[ServiceRow]
    rules: list[Any]
    unseen: list[str] = field(default_factory=list)
    unseen_more: int = 0


def _round(ms: float | None) -> float | None:
    return None if ms is None else round(ms, 1)


def _acks(acks: dict[str, int]) -> list[tuple[str, int]]:
    order = ["AA", "AE", "AR", "Fault"]
    return [(k, acks[k]) for k in order + sorted(set(acks) - set(order)) if acks.get(k)]


def traffic_view(results: RunResults | None, lang: str = "zh",
                 rules: int = 20, unseen: int = 40) -> TrafficView | None:
    """The view of a proxy run's traffic; None for any other run."""
    if results is None or results.kind != "proxy" or not isinstance(results.traffic, Traffic):
        return None
    tr = results.traffic
    en = lang == "en"
    labels = {k: t(f"report.traffic.{k}", lang) for k in LABELS}
    severity = {k: t(f"severity.{k}", lang) for k in ("error", "warning", "info")}
    total = sum(tr.bands.values()) or 1
    bands = [{"id": b.id, "label": (b.label_en if en and b.label_en else b.label),
              "count": tr.bands.get(b.id, 0),
              "pct": round(100 * tr.bands.get(b.id, 0) / total, 1)}
             for b in tr.band_definitions]
    label_of = {b["id"]: b["label"] for b in bands}
    rows = [ServiceRow(
        service=s.service, name=(s.name_en if en else s.name) or None, in_catalog=s.in_catalog,
        exchanges=s.exchanges, acks=_acks(s.acks), errors=s.findings.get("error", 0),
        warnings=s.findings.get("warning", 0), failing=s.failing, unvalidated=s.unvalidated,
        p50=_round(s.latency.p50_ms), p95=_round(s.latency.p95_ms),
        p99=_round(s.latency.p99_ms),
        bands=[(label_of.get(k, k), n) for k, n in s.bands.items()],
        anchor=f"traffic-{s.service}") for s in sorted(tr.services, key=lambda s: -s.exchanges)]
    cov = tr.coverage
    missing = list(cov.unseen_services) if cov is not None else []
    return TrafficView(t=labels, severity=severity, traffic=tr, acks=_acks(tr.acks),
                       bands=bands, services=rows,
                       rules=[r for r in tr.rules if r.severity in ("error", "warning")][:rules],
                       unseen=missing[:unseen], unseen_more=max(0, len(missing) - unseen))


def context(folder: RunFolder | str | Path, lang: str = "zh") -> dict[str, Any]:
    """What the report context gains: ``traffic`` (None unless the folder holds a proxy run)."""
    f = folder if isinstance(folder, RunFolder) else RunFolder(folder)
    return {"traffic": traffic_view(f.results if f.has("results") else None, lang)}
