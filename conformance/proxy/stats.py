"""Per-service traffic statistics, kept for every exchange (also those rotated out of the folder
or left unvalidated): counts, acknowledgement mix, HTTP statuses, upstream failures, findings by
severity and rule, latency percentiles (HDR histograms, µs, 3 significant digits) and 3.3 bands."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from ..model import Finding
from ..model.perf import BandDefinition
from ..model.traffic import Caps, Coverage, Latency, RuleCount, ServiceTraffic, Traffic
from .checks import Verdict
from .wire import Captured

VALIDATOR_CHECKS = ("request-valid", "response-valid", "document-valid")


def _hist() -> HdrHistogram:
    return HdrHistogram(1, 3_600_000_000, 3)          # 1 µs … 1 hour


@dataclass
class _Rule:
    severity: str
    count: int = 0
    exchanges: int = 0
    message: str = ""
    provisional: bool = False


@dataclass
class Bucket:
    exchanges: int = 0
    validated: int = 0
    unvalidated: int = 0
    too_large: int = 0
    failing: int = 0
    acks: Counter = field(default_factory=Counter)
    http: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    findings: Counter = field(default_factory=Counter)
    rules: dict[str, _Rule] = field(default_factory=dict)
    bands: Counter = field(default_factory=Counter)
    hist: HdrHistogram = field(default_factory=_hist)
    total_ms: float = 0.0

    def add(self, x: Captured, v: Verdict, findings: list[Finding], failing: bool,
            unvalidated: bool) -> None:
        self.exchanges += 1
        self.validated += v.validated
        self.unvalidated += unvalidated
        self.too_large += v.too_large
        self.failing += failing
        if v.soap:
            self.acks[v.ack or "none"] += 1
        if x.status is not None:
            self.http[str(x.status)] += 1
        if x.error:
            self.errors[x.error] += 1
        seen: set[str] = set()
        for f in findings:
            self.findings[f.severity] += 1
            r = self.rules.get(f.rule)
            if r is None:
                r = self.rules[f.rule] = _Rule(f.severity, message=f.message,
                                               provisional=f.provisional)
            r.count += 1
            if f.rule not in seen:
                r.exchanges += 1
                seen.add(f.rule)
        if v.band is not None:
            self.bands[v.band.id] += 1
        self.hist.record_value(max(1, int(x.duration_ms * 1000)))
        self.total_ms += x.duration_ms

    def latency(self) -> Latency:
        n = self.hist.get_total_count()
        if not n:
            return Latency()

        def ms(p: float) -> float:
            return round(self.hist.get_value_at_percentile(p) / 1000, 3)

        return Latency(count=n, mean_ms=round(self.total_ms / n, 3), p50_ms=ms(50),
                       p90_ms=ms(90), p95_ms=ms(95), p99_ms=ms(99),
                       max_ms=round(self.hist.get_max_value() / 1000, 3))

    def rule_counts(self) -> list[RuleCount]:
        order = {"error": 0, "warning": 1, "info": 2}
        rows = [RuleCount(rule=k, severity=r.severity, count=r.count, exchanges=r.exchanges,
                          message=r.message, provisional=r.provisional)
                for k, r in self.rules.items()]
        return sorted(rows, key=lambda r: (order.get(r.severity, 3), -r.count, r.rule))


class TrafficStats:
    def __init__(self, listen: str, upstream: str, services: Any, bands: list[Any],
                 bands_source: str | None, caps: Caps, fail_on: str) -> None:
        self.listen, self.upstream = listen, upstream
        self.catalog = services
        self.bands = [BandDefinition(id=b.id, label=b.label, label_en=b.label_en, max_ms=b.max_ms)
                      for b in bands]
        self.bands_source = bands_source
        self.caps, self.fail_on = caps, fail_on
        self.total = Bucket()
        self.per: dict[str, Bucket] = {}
        self.soap = 0
        self.recorded = 0
        self.rotated = 0
        self.lost = 0
        self.in_flight = 0
        self.command: list[str] | None = None
        self.command_exit: int | None = None

    def add(self, x: Captured, v: Verdict, failing: bool, unvalidated: bool) -> None:
        findings = list(v.all_findings) + [f for c in v.checks if c.id not in VALIDATOR_CHECKS
                                           for f in c.findings]
        key = v.service_key if v.soap else "http"
        self.soap += v.soap
        self.total.add(x, v, findings, failing, unvalidated)
        bucket = self.per.get(key)
        if bucket is None:
            bucket = self.per[key] = Bucket()
        bucket.add(x, v, findings, failing, unvalidated)

    def snapshot(self) -> Traffic:
        rows = []
        for key, b in sorted(self.per.items()):
            svc = self.catalog.get(key) if key not in ("-", "http") else None
            rows.append(ServiceTraffic(
                service=key, name=svc.name if svc else None,
                name_en=svc.name_en if svc else None, s_code=svc.s_code if svc else None,
                in_catalog=svc is not None, exchanges=b.exchanges, validated=b.validated,
                unvalidated=b.unvalidated, too_large=b.too_large, acks=dict(b.acks),
                http=dict(b.http), errors=dict(b.errors), findings=dict(b.findings),
                failing=b.failing, rules=b.rule_counts(), latency=b.latency(),
                bands=dict(b.bands)))
        seen = [s.action for s in self.catalog.services if s.action in self.per]
        coverage = Coverage(catalog=f"services/{self.catalog.path.name}",
                            total=len(self.catalog.services), seen=len(seen), seen_services=seen,
                            unseen_services=[s.action for s in self.catalog.services
                                             if s.action not in self.per])
        t = self.total
        return Traffic(
            listen=self.listen, upstream=self.upstream, exchanges=t.exchanges, soap=self.soap,
            recorded=self.recorded, rotated=self.rotated, validated=t.validated,
            unvalidated=t.unvalidated, too_large=t.too_large, lost=self.lost,
            in_flight=self.in_flight, failing=t.failing, findings=dict(t.findings),
            acks=dict(t.acks), http=dict(t.http), errors=dict(t.errors), rules=t.rule_counts(),
            latency=t.latency(), band_definitions=self.bands, bands=dict(t.bands),
            bands_source=self.bands_source, services=rows, coverage=coverage, caps=self.caps,
            fail_on=self.fail_on,
            **({"command": self.command, "command_exit": self.command_exit}
               if self.command is not None else {}))
