"""The load generator watches itself, so it can say when IT is the bottleneck.

Every generator (the asyncio engine, each Locust worker) runs its requests on ONE thread, so one
core is its ceiling. Twenty times a second a ticker measures how late it wakes up (scheduling
lag: the event loop — or gevent hub — was busy), and once a second it samples the CPU time of that
thread (``time.thread_time``: the generator's own work, not the platform's when both share the
process) and the machine's CPU (psutil). A step is flagged ``generator_saturated`` when, over its
steady state,

* the generator thread used >= 90 % of a core on average, or
* the scheduling lag p99 reached 50 ms, or
* (open model) requests left >= 50 ms after their intended time at p99 for reasons other than
  the in-flight cap (which is the platform's slowness, not the generator's).

These are engineering limits of this tool, not figures of any standard.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import psutil

CPU_SATURATED = 0.90
LAG_SATURATED_MS = 50.0
TICK_S = 0.05


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))
    return s[k]


@dataclass
class Watch:
    """Engine-neutral: the driver calls tick(lag) every TICK_S and second() every second."""

    steady_from_wall: float = 0.0
    lags: list[tuple[float, float]] = field(default_factory=list)        # (wall, lag s)
    cpu: list[tuple[float, float]] = field(default_factory=list)         # (wall, fraction)
    machine: list[tuple[float, float]] = field(default_factory=list)     # (wall, percent)
    send_lags: list[float] = field(default_factory=list)                 # open model, seconds
    _last_cpu: float = 0.0
    _last_wall: float = 0.0
    _second_lag: float = 0.0

    def start(self) -> None:
        self._last_cpu = time.thread_time()
        self._last_wall = time.monotonic()
        psutil.cpu_percent(None)  # prime: the next call measures from here

    def tick(self, lag: float) -> None:
        lag = max(0.0, lag)
        self.lags.append((time.time(), lag))
        self._second_lag = max(self._second_lag, lag)

    def second(self) -> dict[str, float]:
        """Close one second; returns the samples to put in the time series."""
        now_cpu, now_wall = time.thread_time(), time.monotonic()
        span = max(1e-6, now_wall - self._last_wall)
        frac = (now_cpu - self._last_cpu) / span
        self._last_cpu, self._last_wall = now_cpu, now_wall
        wall = time.time()
        machine = psutil.cpu_percent(None)
        self.cpu.append((wall, frac))
        self.machine.append((wall, machine))
        lag, self._second_lag = self._second_lag, 0.0
        return {"cpu_pct": round(frac * 100, 1), "loop_lag_ms": round(lag * 1000, 1),
                "machine_cpu_pct": round(machine, 1)}

    def summary(self, *, open_model: bool = False) -> dict[str, Any]:
        since = self.steady_from_wall
        cpu = [v for w, v in self.cpu if w >= since] or [v for _, v in self.cpu]
        lags = [v for w, v in self.lags if w >= since] or [v for _, v in self.lags]
        machine = [v for w, v in self.machine if w >= since] or [v for _, v in self.machine]
        out: dict[str, Any] = {
            "cpu_avg_pct": round(100 * sum(cpu) / len(cpu), 1) if cpu else None,
            "cpu_max_pct": round(100 * max(cpu), 1) if cpu else None,
            "loop_lag_p99_ms": round(_pct(lags, 99) * 1000, 1) if lags else None,
            "loop_lag_max_ms": round(max(lags) * 1000, 1) if lags else None,
            "machine_cpu_pct": round(sum(machine) / len(machine), 1) if machine else None,
            "cores": psutil.cpu_count() or 1,
        }
        if open_model:
            out["send_lag_p99_ms"] = round(_pct(self.send_lags, 99) * 1000, 1) if self.send_lags else 0.0
        return out


def judge(gen: dict[str, Any]) -> list[str]:
    """Reasons the generator was the bottleneck (empty: it was not)."""
    reasons = []
    if gen.get("cpu_avg_pct") is not None and gen["cpu_avg_pct"] >= CPU_SATURATED * 100:
        reasons.append(f"cpu {gen['cpu_avg_pct']:.0f}% of one core")
    if gen.get("loop_lag_p99_ms") is not None and gen["loop_lag_p99_ms"] >= LAG_SATURATED_MS:
        reasons.append(f"scheduling lag p99 {gen['loop_lag_p99_ms']:.0f} ms")
    if gen.get("send_lag_p99_ms") is not None and gen["send_lag_p99_ms"] >= LAG_SATURATED_MS:
        reasons.append(f"send lag p99 {gen['send_lag_p99_ms']:.0f} ms")
    return reasons


def machine_saturated(gen: dict[str, Any]) -> bool:
    return gen.get("machine_cpu_pct") is not None and gen["machine_cpu_pct"] >= 95.0
