"""`conformance perf --bands`: the platform-performance items (3.3) the way the 2020 table records
them — one service at a time, sequential, repeated; median and spread; the band of the median.

The plan (which steps measure which item) is scenario data: test_cases/perf/<profile>-bands.yaml.
The bands (1秒以内 / 1-3秒 / 3-5秒 / 5-10秒 / 10秒以上) are read from the assessment definition
(``bands:``) — nothing here knows them.

Timing: the harness transport's exchange time (request sent → whole answer read) of every
measured step, summed over the steps of one run. Messages are built before the clock starts.
"""

from __future__ import annotations

import random
import statistics
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import ConformanceError
from ..harness.model import Step
from ..harness.runner import xpath_value
from ..harness.session import CatalogFactory
from ..harness.transport import Transport
from ..hl7v3.builder import MessageBuilder
from ..hl7v3.services import load_services
from ..model.perf import Band
from ..resources import test_cases_dir
from ..yamlio import read_yaml
from .classify import classify
from .mix import MixError, parse_steps
from .workload import build_step, run_base


class PlanError(ConformanceError):
    pass


@dataclass
class BandItem:
    item: str
    name: dict[str, str]
    steps: list[Step]
    base_records: int | None = None
    query_keys: str | None = None
    provisional: bool = False
    note: dict[str, str] = field(default_factory=dict)

    @property
    def measured(self) -> list[Step]:
        return [s for s in self.steps if not s.setup]


@dataclass
class BandPlan:
    id: str
    profile: str
    assessment: str
    items: list[BandItem]
    path: str


def default_plan_path(profile: str) -> Path:
    """The profile's --bands plan, as its manifest names it (standards/profiles/)."""
    from ..profiles import get_profile

    plan = get_profile(profile).perf_bands
    return plan if plan is not None else test_cases_dir() / "perf" / f"{profile}-bands.yaml"


def _text(v: Any) -> dict[str, str]:
    if isinstance(v, dict):
        return {"zh": str(v.get("zh") or v.get("en") or ""), "en": str(v.get("en") or v.get("zh") or "")}
    return {"zh": str(v or ""), "en": str(v or "")}


def load_plan(path: str | Path | None, profile: str) -> BandPlan:
    p = Path(path) if path else default_plan_path(profile)
    if not p.is_file():
        raise PlanError.phrase("perf.plan.none", where=p, profile=profile)
    data = read_yaml(p, PlanError)
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise PlanError.phrase("perf.plan.not_mapping", where=p)
    if data.get("profile") != profile:
        raise PlanError.phrase("perf.plan.profile", where=p, plan=repr(data.get("profile")),
                               run=repr(profile))
    items = []
    for i, it in enumerate(data["items"]):
        if not isinstance(it, dict) or "item" not in it or "steps" not in it:
            raise PlanError.phrase("perf.plan.item", where=p, i=i)
        try:
            steps = parse_steps(it["steps"], p, str(it["item"]))
        except MixError as exc:
            raise PlanError.like(exc) from None
        if not any(not s.setup for s in steps):
            raise PlanError.phrase("perf.plan.no_measured", where=p, item=it["item"])
        base = it.get("base_records")
        if base is not None and (not isinstance(base, int) or base < 0):
            raise PlanError.phrase("perf.plan.base_records", where=p, item=it["item"])
        qk = it.get("query_keys")
        if qk not in (None, "seeded"):
            raise PlanError.phrase("perf.plan.query_keys", where=p, item=it["item"])
        items.append(BandItem(str(it["item"]), _text(it.get("name") or it["item"]), steps, base, qk,
                              bool(it.get("provisional")), _text(it["note"]) if it.get("note") else {}))
    return BandPlan(str(data.get("plan") or p.stem), profile, str(data.get("assessment") or ""),
                    items, str(p))


class KeySource:
    """Patients to query for an item measured 'on a base of N records'."""

    def __init__(self, keys: Callable[[random.Random], str] | None, count: int | None,
                 origin: str) -> None:
        self.keys, self.count, self.origin = keys, count, origin   # origin: embedded|declared|unknown

    def pick(self, rng: random.Random) -> str | None:
        return self.keys(rng) if self.keys else None


def band_of(ms: float | None, bands: list[Any]) -> Any:
    if ms is None:
        return None
    for b in bands:
        if b.max_ms is None or ms <= b.max_ms:
            return b
    return None


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


class BandRunner:
    def __init__(self, transport: Transport, profile: str, *, repeat: int = 20, warmup: int = 1,
                 keys: KeySource | None = None, registered: list[str] | None = None,
                 log: Callable[[str], None] | None = None, seed: int = 7) -> None:
        self.transport = transport
        self.services = load_services(profile)
        self.factory = CatalogFactory(MessageBuilder(profile, self.services))
        self.repeat, self.warmup = repeat, warmup
        self.keys = keys
        self.registered = registered if registered is not None else []
        self.log = log or (lambda s: None)
        self.rng = random.Random(seed)
        self.base = run_base()
        self.counter = 0

    def _query_key(self) -> str | None:
        if self.keys is not None and self.keys.keys is not None:
            return self.keys.pick(self.rng)
        if self.registered:
            return self.rng.choice(self.registered)
        return None

    def run_once(self, item: BandItem) -> tuple[float | None, str | None, str | None]:
        """(milliseconds, error kind, detail) of one run of the item."""
        self.counter += 1
        now = datetime.now(UTC) + timedelta(hours=8)
        variables: dict[str, Any] = {"index": self.base + self.counter * 10, "uid": uuid.uuid4().hex[:12],
                                     "now": now.strftime("%Y%m%d%H%M%S"), "today": now.strftime("%Y%m%d"),
                                     "run_id": "perf-bands", "case_id": item.item, "case_index": self.counter,
                                     "index_base": self.base}
        if item.query_keys:
            key = self._query_key()
            if key is None:
                return None, "setup", "no patient to query"
            variables["query_key"] = key
        total = 0.0
        for step in item.steps:
            message, key = build_step(self.factory, step, variables, uuid.uuid4().hex)
            ex, _reply = self.transport.send(step.service, message,
                                             s_code=self.factory.s_code(step.service))
            expect = tuple(step.expect.get("ack") or ("AA",))
            verdict = classify(ex.status, ex.response_body, ex.error, expect)
            if not verdict.ok:
                return None, ("setup" if step.setup else verdict.kind), f"{step.id}: {verdict.detail}"
            if verdict.message is not None:
                for var, path in step.extract.items():
                    found = xpath_value(verdict.message, path)
                    if found not in (None, ""):
                        variables[var] = found
            if not step.setup:
                total += ex.duration_ms
            if step.extract_key == "patient_key" and key:
                self.registered.append(key)
        return total, None, None

    def measure(self, item: BandItem, bands: list[Any]) -> Band:
        for _ in range(self.warmup):
            self.run_once(item)
        times: list[float] = []
        errors: dict[str, int] = {}
        details: list[str] = []
        for _ in range(self.repeat):
            ms, kind, detail = self.run_once(item)
            if ms is None:
                errors[kind or "error"] = errors.get(kind or "error", 0) + 1
                if detail and len(details) < 5:
                    details.append(detail)
            else:
                times.append(ms)
        med = statistics.median(times) if times else None
        band = band_of(med, bands)
        mean = statistics.fmean(times) if times else None
        mean_band = band_of(mean, bands)
        q1, q3 = _quartiles(times) if times else (None, None)
        out = Band(
            item=item.item, service=item.name["zh"], name_en=item.name["en"],
            services=[s.service for s in item.measured],
            setup=[s.service for s in item.steps if s.setup],
            samples=len(times), failures=sum(errors.values()), errors=errors,
            error_examples=details, median_ms=_r(med), mean_ms=_r(mean),
            min_ms=_r(min(times)) if times else None, max_ms=_r(max(times)) if times else None,
            stdev_ms=_r(statistics.stdev(times)) if len(times) > 1 else (0.0 if times else None),
            q1_ms=_r(q1), q3_ms=_r(q3),
            spread_ms=_r(q3 - q1) if q1 is not None and q3 is not None else None,
            band=band.label if band else None, band_id=band.id if band else None,
            band_en=band.label_en if band else None,
            band_of_mean=mean_band.label if mean_band else None, provisional=item.provisional)
        if item.note:
            out.note, out.note_en = item.note["zh"], item.note["en"]
        return out


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 3)
