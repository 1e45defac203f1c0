"""perf.json: the 3.3 response-time bands, load steps and thresholds of `conformance perf`.

Latencies are milliseconds; ``tps`` counts SOAP exchanges per second over the steady state
(after the ramp); ``error_rate`` is a fraction."""

from __future__ import annotations

from typing import Any

from .common import UNSET, Record, ToolStamp, UnsetType


class BandDefinition(Record, kw_only=True):
    id: str
    label: str
    label_en: str | None = None
    max_ms: float | None = None


class Band(Record, kw_only=True):
    """One 3.3 item measured sequentially: the median of the samples and its band."""

    item: str
    service: str
    name_en: str | None = None
    services: list[str] = []
    setup: list[str] = []
    samples: int = 0
    failures: int = 0
    errors: dict[str, int] = {}
    error_examples: list[str] = []
    median_ms: float | None = None
    mean_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    stdev_ms: float | None = None
    q1_ms: float | None = None
    q3_ms: float | None = None
    spread_ms: float | None = None     # interquartile range
    band: str | None = None            # label (zh)
    band_id: str | None = None
    band_en: str | None = None
    band_of_mean: str | None = None
    provisional: bool = False
    note: str | UnsetType = UNSET
    note_en: str | UnsetType = UNSET
    base_records: dict[str, Any] | UnsetType = UNSET


class Stats(Record, kw_only=True):
    """Latency and error figures of a step (or of one service in it)."""

    requests: int = 0
    ok: int = 0
    tps: float | None = None
    tps_ok: float | None = None
    mean_ms: float | None = None
    stdev_ms: float | None = None
    min_ms: float | None = None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    p99_9_ms: float | None = None
    max_ms: float | None = None
    errors: dict[str, int] = {}
    errors_detail: dict[str, int] = {}
    error_rate: float | None = None


class SeriesPoint(Record, kw_only=True):
    t: int
    requests: int = 0
    tps: float = 0.0
    errors: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    max_ms: float | None = None
    cpu_pct: float | UnsetType = UNSET
    loop_lag_ms: float | UnsetType = UNSET
    machine_cpu_pct: float | UnsetType = UNSET
    users: float | UnsetType = UNSET


class LoadStep(Stats, kw_only=True):
    """One load step (a number of users, closed model; or an arrival rate, open model)."""

    users: int | None = None
    rate: float | None = None
    model: str = "closed"                 # closed | open
    engine: str | UnsetType = UNSET
    started: str | UnsetType = UNSET
    ramp_s: float | UnsetType = UNSET
    duration_s: float | UnsetType = UNSET
    think_time_s: list[float] | UnsetType = UNSET
    arrivals: str | UnsetType = UNSET
    max_inflight: int | None | UnsetType = UNSET
    workers: int | UnsetType = UNSET
    services: dict[str, Stats] = {}
    service_time: dict[str, float | None] | UnsetType = UNSET
    unfinished: int = 0
    unfinished_oldest_ms: float | None = None
    generator: dict[str, Any] = {}
    generator_saturated: bool = False
    machine_saturated: bool = False
    series: list[SeriesPoint] = []
    workers_reported: int | UnsetType = UNSET     # Locust: workers whose final report arrived
    setup_errors: list[str] | UnsetType = UNSET   # Locust: virtual users whose preparation failed

    @property
    def label(self) -> str:
        """The users of a closed-model step, the arrival rate of an open-model one."""
        return f"{self.rate:g}/s" if self.model == "open" and self.rate is not None \
            else str(self.users)


class Threshold(Record, kw_only=True):
    id: str
    description: str | None = None
    metric: str
    op: str
    limit: float
    users: int | None = None
    rate: float | None = None
    service: str | None = None
    actual: float | None = None
    passed: bool | None = None
    result: str = "not_measured"         # pass | fail | not_measured (no such step, no figure)
    provisional: bool = False
    source: str | None = None


class LocustInfo(Record, kw_only=True):
    """The Locust workers of the load steps (``--engine locust``)."""

    workers: int = 0
    remote_workers: int = 0
    notes: list[str] = []


class PerfResults(Record, kw_only=True):
    """perf.json."""

    schema: str = "conformance-perf/1"
    schema_version: int = 1
    kind: str = "perf"
    tool: ToolStamp
    target: dict[str, Any] = {}
    profile: str = "hospital"
    started: str | None = None
    finished: str | None = None
    complete: bool = True
    engine: str | UnsetType = UNSET
    model: str | None | UnsetType = UNSET
    duration_s: float | UnsetType = UNSET
    ramp_s: float | UnsetType = UNSET
    think_time_s: list[float] | UnsetType = UNSET
    users: list[int] | UnsetType = UNSET
    rates: list[float] | UnsetType = UNSET
    mix: dict[str, Any] | None | UnsetType = UNSET
    assessment: dict[str, Any] | None = None
    band_definitions: list[BandDefinition] = []
    platform: dict[str, Any] | None | UnsetType = UNSET   # embedded platform: faults, seed …
    provisional: bool = False
    bands: list[Band] = []
    steps: list[LoadStep] = []
    thresholds: list[Threshold] = []
    notes: list[str] = []
    locust: LocustInfo | UnsetType = UNSET
