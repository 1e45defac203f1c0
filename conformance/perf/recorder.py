"""Latency and error recording with HDR histograms (PyPI ``hdrhistogram``), mergeable across
processes (Locust workers send theirs to the master encoded).

Two views of one step:

* steady state — every request that completed after the ramp: overall and per service, latency
  histogram in microseconds (1 µs … 1 h, 3 significant digits: ±0.1 %), error counts by kind and
  detail; in the open model also the service time (from the actual send) next to the latency
  (from the intended send time);
* time series — one bucket per second of the step (ramp included), keyed by the wall-clock
  second the request completed in: requests, errors, latency histogram (2 significant digits),
  plus generator samples (CPU, loop lag, active users) the engine adds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from .classify import ERROR_KINDS

LOWEST_US, HIGHEST_US = 1, 3_600_000_000
PERCENTILES = (50, 90, 95, 99, 99.9)


def _hist(digits: int = 3) -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, digits)


def _us(seconds: float) -> int:
    return min(HIGHEST_US, max(LOWEST_US, int(round(seconds * 1_000_000))))


@dataclass
class Stats:
    """Steady-state figures of one service (or of all)."""

    hist: HdrHistogram = field(default_factory=_hist)
    errors: dict[str, int] = field(default_factory=dict)
    detail: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    total_us: float = 0.0       # exact sums for the mean and standard deviation
    total_sq: float = 0.0

    def add(self, latency_us: int, kind: str | None, detail: str | None) -> None:
        self.requests += 1
        self.total_us += latency_us
        self.total_sq += float(latency_us) * latency_us
        self.hist.record_value(latency_us)
        if kind:
            self.errors[kind] = self.errors.get(kind, 0) + 1
            if detail:
                self.detail[detail] = self.detail.get(detail, 0) + 1

    def merge(self, other: Stats) -> None:
        self.requests += other.requests
        self.total_us += other.total_us
        self.total_sq += other.total_sq
        self.hist.add(other.hist)
        for src, dst in ((other.errors, self.errors), (other.detail, self.detail)):
            for k, v in src.items():
                dst[k] = dst.get(k, 0) + v

    def export(self) -> dict[str, Any]:
        return {"hist": self.hist.encode().decode("ascii") if self.requests else None,
                "errors": dict(self.errors), "detail": dict(self.detail),
                "requests": self.requests, "total_us": self.total_us, "total_sq": self.total_sq}

    @classmethod
    def load(cls, data: dict[str, Any]) -> Stats:
        s = cls(errors=dict(data.get("errors") or {}), detail=dict(data.get("detail") or {}),
                requests=int(data.get("requests") or 0),
                total_us=float(data.get("total_us") or 0.0), total_sq=float(data.get("total_sq") or 0.0))
        if data.get("hist"):
            s.hist.add(HdrHistogram.decode(data["hist"]))
        return s

    def summary(self, seconds: float) -> dict[str, Any]:
        n = self.requests
        h = self.hist
        errors = {k: int(self.errors.get(k, 0)) for k in ERROR_KINDS}
        n_err = sum(errors.values())
        mean = self.total_us / n if n else 0.0
        var = max(0.0, self.total_sq / n - mean * mean) if n else 0.0
        out: dict[str, Any] = {
            "requests": n, "ok": n - n_err,
            "tps": round(n / seconds, 3) if seconds > 0 else None,
            "tps_ok": round((n - n_err) / seconds, 3) if seconds > 0 else None,
            "mean_ms": _ms(mean) if n else None,
            "stdev_ms": _ms(math.sqrt(var)) if n else None,
            "min_ms": _ms(h.get_min_value()) if n else None,
        }
        pct = h.get_percentile_to_value_dict(list(PERCENTILES)) if n else {}
        for p in PERCENTILES:
            key = f"p{p:g}".replace(".", "_") + "_ms"
            out[key] = _ms(pct[p]) if n else None
        out["max_ms"] = _ms(h.get_max_value()) if n else None
        out["errors"] = errors
        out["errors_detail"] = dict(sorted(self.detail.items()))
        out["error_rate"] = round(n_err / n, 6) if n else None
        return out


def _ms(us: float) -> float:
    return round(us / 1000.0, 3)


@dataclass
class Second:
    requests: int = 0
    errors: int = 0
    hist: HdrHistogram = field(default_factory=lambda: _hist(2))
    samples: dict[str, float] = field(default_factory=dict)

    def export(self) -> dict[str, Any]:
        return {"requests": self.requests, "errors": self.errors,
                "hist": self.hist.encode().decode("ascii") if self.requests else None,
                "samples": dict(self.samples)}


class Recorder:
    """Records one step. ``wall0``: the step's start (time.time()); ``steady_from``: seconds
    after wall0 from which requests count in the steady-state figures."""

    def __init__(self, wall0: float, steady_from: float = 0.0) -> None:
        self.wall0 = wall0
        self.steady_from = steady_from
        self.overall = Stats()
        self.services: dict[str, Stats] = {}
        self.service_time = Stats()     # open model: from the actual send
        self.seconds: dict[int, Second] = {}
        self.unfinished = 0
        self.unfinished_oldest_s = 0.0

    def record(self, service: str, end_wall: float, latency_s: float, kind: str | None,
               detail: str | None = None, service_time_s: float | None = None) -> None:
        lat = _us(latency_s)
        sec = self.seconds.get(int(end_wall))
        if sec is None:
            sec = self.seconds[int(end_wall)] = Second()
        sec.requests += 1
        sec.hist.record_value(lat)
        if kind:
            sec.errors += 1
        if end_wall - self.wall0 < self.steady_from:
            return
        self.overall.add(lat, kind, detail)
        st = self.services.get(service)
        if st is None:
            st = self.services[service] = Stats()
        st.add(lat, kind, detail)
        if service_time_s is not None:
            self.service_time.add(_us(service_time_s), None, None)

    def sample(self, wall: float, **values: float) -> None:
        sec = self.seconds.get(int(wall))
        if sec is None:
            sec = self.seconds[int(wall)] = Second()
        sec.samples.update(values)

    # ------------------------------------------------------------------ across processes
    def export(self) -> dict[str, Any]:
        """Everything recorded, JSON-serialisable; resets nothing."""
        return {"wall0": self.wall0, "steady_from": self.steady_from,
                "overall": self.overall.export(),
                "services": {k: v.export() for k, v in self.services.items()},
                "service_time": self.service_time.export(),
                "seconds": {str(k): v.export() for k, v in self.seconds.items()},
                "unfinished": self.unfinished, "unfinished_oldest_s": self.unfinished_oldest_s}

    def drain(self, before_wall: float | None = None) -> dict[str, Any]:
        """Export and forget (a worker's periodic report): the steady figures so far and the
        seconds that are complete (< before_wall); the rest stays for the next report."""
        done = {k for k in self.seconds if before_wall is None or k < int(before_wall)}
        data = {"wall0": self.wall0, "steady_from": self.steady_from,
                "overall": self.overall.export(),
                "services": {k: v.export() for k, v in self.services.items()},
                "service_time": self.service_time.export(),
                "seconds": {str(k): self.seconds[k].export() for k in sorted(done)},
                "unfinished": self.unfinished, "unfinished_oldest_s": self.unfinished_oldest_s}
        for k in done:
            del self.seconds[k]
        self.overall = Stats()
        self.services = {}
        self.service_time = Stats()
        self.unfinished = 0
        return data

    def merge(self, data: dict[str, Any]) -> None:
        self.overall.merge(Stats.load(data["overall"]))
        for k, v in (data.get("services") or {}).items():
            self.services.setdefault(k, Stats()).merge(Stats.load(v))
        self.service_time.merge(Stats.load(data.get("service_time") or {}))
        for k, v in (data.get("seconds") or {}).items():
            sec = self.seconds.setdefault(int(k), Second())
            sec.requests += int(v.get("requests") or 0)
            sec.errors += int(v.get("errors") or 0)
            if v.get("hist"):
                sec.hist.add(HdrHistogram.decode(v["hist"]))
            for name, val in (v.get("samples") or {}).items():
                # several generators: CPU and lag → the worst, users → the sum
                if name == "users":
                    sec.samples[name] = sec.samples.get(name, 0) + val
                else:
                    sec.samples[name] = max(sec.samples.get(name, val), val)
        self.unfinished += int(data.get("unfinished") or 0)
        self.unfinished_oldest_s = max(self.unfinished_oldest_s,
                                       float(data.get("unfinished_oldest_s") or 0))

    # ------------------------------------------------------------------ results
    def series(self, start_wall: float, end_wall: float) -> list[dict[str, Any]]:
        """One point per second from start to end (missing seconds are zero-request points)."""
        out = []
        first, last = int(start_wall), int(math.ceil(end_wall))
        for s in range(first, last):
            sec = self.seconds.get(s)
            point: dict[str, Any] = {"t": s - first, "requests": 0, "tps": 0.0, "errors": 0,
                                     "p50_ms": None, "p95_ms": None, "max_ms": None}
            if sec is not None:
                point.update({"requests": sec.requests, "tps": float(sec.requests),
                              "errors": sec.errors})
                if sec.requests:
                    pct = sec.hist.get_percentile_to_value_dict([50, 95])
                    point.update({"p50_ms": _ms(pct[50]), "p95_ms": _ms(pct[95]),
                                  "max_ms": _ms(sec.hist.get_max_value())})
                for k, v in sec.samples.items():
                    point[k] = round(v, 3)
            out.append(point)
        return out

    def summary(self, steady_seconds: float) -> dict[str, Any]:
        out = self.overall.summary(steady_seconds)
        out["services"] = {k: self.services[k].summary(steady_seconds) for k in sorted(self.services)}
        if self.service_time.requests:
            st = self.service_time.summary(steady_seconds)
            out["service_time"] = {k: st[k] for k in ("p50_ms", "p90_ms", "p95_ms", "p99_ms",
                                                      "max_ms", "mean_ms")}
        out["unfinished"] = self.unfinished
        out["unfinished_oldest_ms"] = round(self.unfinished_oldest_s * 1000, 3)
        return out
