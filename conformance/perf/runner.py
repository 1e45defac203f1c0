"""`conformance perf` as an engine: options and a target in, typed events out, perf.json in the
run folder. ``PerfRun.execute()`` yields the events (``conformance.model.events``: PerfStarted,
PerfPlatformReady, BandMeasured, PerfStepStarted, PerfStepFinished, ThresholdsJudged, Notice,
PerfFinished) and prints nothing; the writers are handlers (``perf/report.py``). ``measure()`` is
the in-process entry point (`conformance assess`); the CLI (``perf/commands.py``) builds the
options, picks the console handlers and maps the outcome to an exit code.

The embedded platform runs in its own process (``perf/embedded.py``) so that it does not share
the generator's interpreter; the load steps run on the built-in asyncio engine or on Locust."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import ConformanceError
from ..harness.target import Target, TargetError
from ..harness.target import make_target as build_target
from ..i18n import t
from ..model.common import ToolStamp
from ..model.events import (
    BandMeasured,
    Event,
    Handler,
    Notice,
    PerfAborted,
    PerfFinished,
    PerfPlatformReady,
    PerfStarted,
    PerfStepFinished,
    PerfStepStarted,
    ThresholdsJudged,
    drain,
)
from ..model.folder import RunFolder
from ..model.io import ArtifactError
from ..model.perf import LoadStep, LocustInfo, PerfResults
from ..model.perf import Threshold as Judged
from . import results as R
from . import thresholds as TH

EXIT_USAGE = 2
QUICK_BASE = 20_000   # patients seeded for 3.3.1.2 (reported as below the 500,000 asked)
QUICK: dict[str, Any] = {"repeat": 5, "seed_patients": QUICK_BASE, "duration": 10.0}
DEADLINE_NOTE = "stopped by the hard deadline"

class PerfUsage(ConformanceError):
    """Bad options or inputs: the message says what and how to fix it (exit 2)."""


@dataclass
class PerfOptions:
    target_url: str | None = None
    config_path: str | None = None
    profile: str | None = None
    users: list[int] | None = None
    rates: list[float] | None = None
    duration: float = 60.0
    ramp: float = 0.0
    think: tuple[float, float] | None = None
    mix_path: str | None = None
    out_dir: str | None = None
    thresholds: list[str] = field(default_factory=list)
    assessment: str | None = None
    yes: bool = False
    faults: str = ""
    seed_patients: int | None = None
    db: str = ":memory:"
    engine: str = "builtin"
    workers: int = 2
    remote_workers: int = 0
    master_bind: str = "127.0.0.1"
    master_port: int | None = None
    bands: bool = False
    bands_plan: str | None = None
    repeat: int = 20
    warmup: int = 1
    base_records: int | None = None
    query_keys: str | None = None
    arrivals: str = "constant"
    max_inflight: int = 10_000
    timeout: float | None = None
    total_timeout: float | None = None      # the overall deadline of one request (Target.deadline)
    setup_timeout: float = 300.0
    seed: int = 7
    platform_threads: int = 16
    lang: str = "zh"

    @classmethod
    def quick(cls, **kw: Any) -> PerfOptions:
        """A short measurement (`perf --quick`, `conformance assess`): the 3.3 bands, 5 runs per
        item on a 20,000-patient base, load steps of 10 s — unless given in ``kw``."""
        return cls(**{"bands": True, **QUICK, **kw})



@dataclass(frozen=True)
class PerfOutcome:
    """What a perf run ends with. ``results``: perf.json as written (None when the run was
    refused: a platform other than the embedded one without ``yes``); ``judged``: the thresholds
    this run judged (a band-only run judges none; perf.json may keep an earlier run's);
    ``unreachable``: the error details when no request of this run's load steps was answered."""

    results: PerfResults | None
    folder: RunFolder | None
    refused: bool = False
    judged: tuple[Judged, ...] = ()
    unreachable: tuple[str, ...] | None = None

    @property
    def thresholds_passed(self) -> bool:
        """Every threshold this run judged passed (one that could not be judged did not)."""
        return all(th.passed is True for th in self.judged)


def make_target(o: PerfOptions) -> Target:
    return build_target(o.target_url, o.config_path, o.profile, timeout=o.timeout,
                        total_timeout=o.total_timeout)


def namespace_of(target: Target) -> str:
    """The operation namespace: the target's, the catalog's for the embedded platform, else the
    one its WSDL declares (the catalog's when it cannot be read)."""
    from ..harness.transport import discover_namespace
    from ..hl7v3.services import load_services

    default = str(load_services(target.profile).soap.get("namespace"))
    if target.namespace:
        return target.namespace
    if target.embedded:
        return default
    return discover_namespace(target) or default


def _definition(o: PerfOptions, profile: str) -> Any:
    from ..scoring.definition import (
        DefinitionError,
        default_for_profile,
        get_definition,
        load_definition,
    )

    try:
        ident = o.assessment or default_for_profile(profile)
        if os.path.sep in ident or ident.endswith((".yaml", ".yml")):
            return load_definition(ident)
        return get_definition(ident)
    except DefinitionError as exc:
        lines = [f"{f}:{ln}: {msg.get(o.lang) or msg.get('zh')}" if f else str(msg.get(o.lang))
                 for f, ln, msg in exc.problems]
        raise PerfUsage("; ".join(lines)) from None


class Watchdog:
    """The hard deadline: if the load phase is still running at ``seconds``, save and stop."""

    def __init__(self, seconds: float, on_fire: Callable[[], None]) -> None:
        self.timer = threading.Timer(seconds, on_fire)
        self.timer.daemon = True

    def __enter__(self) -> Watchdog:
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.cancel()


def measure(folder: RunFolder | None, target: Target | None, options: PerfOptions,
            handlers: Sequence[Handler] = ()) -> PerfOutcome:
    """Measure in this process and write perf.json into ``folder`` (a new ``runs/…`` folder when
    None). ``target``: the platform (None: from the options — the embedded one unless a URL or a
    configuration is given); it is not changed. ``handlers`` see every event (console tables,
    progress); problems a user can fix raise ``ConformanceError``."""
    return PerfRun(options, folder=folder, target=target).run(handlers)


class PerfRun:
    def __init__(self, o: PerfOptions, folder: RunFolder | None = None,
                 target: Target | None = None) -> None:
        self.o = o
        self.lang = o.lang
        self.folder = folder
        self.target = target
        self.results: PerfResults | None = None
        self.outcome: PerfOutcome | None = None
        self.platform: dict[str, Any] | None = None
        self.handlers: tuple[Handler, ...] = ()
        self.bands = o.bands
        self.notes: list[str] = []
        self.think: tuple[float, float] = (0.0, 0.0)
        self._proc: Any = None

    def run(self, handlers: Sequence[Handler] = ()) -> PerfOutcome:
        """Execute with perf.json's writer first, then ``handlers``."""
        from .report import PerfJsonWriter

        self.handlers = (PerfJsonWriter(self.folder), *handlers)
        drain(self.execute(), self.handlers)
        assert self.outcome is not None
        return self.outcome

    def _emit(self, event: Event) -> Event:
        """The event, folded into the run's own perf.json first (as the writer folds it)."""
        if self.results is not None:
            R.fold(self.results, event)
        return event

    # ------------------------------------------------------------------ validation
    def validate(self) -> tuple[Target, Any, list[TH.Threshold], list[Notice]]:
        o = self.o
        notices: list[Notice] = []
        if not o.bands and not o.users and not o.rates:
            raise PerfUsage(t("perf.no_mode", self.lang))
        if o.users and o.rates:
            raise PerfUsage("--users (closed model) and --rate (open model) exclude each other; "
                            "run them one after the other")
        if self.target is not None:
            target = dataclasses.replace(self.target)     # the endpoint may change: a copy
        else:
            try:
                target = make_target(o)
            except TargetError as exc:
                raise PerfUsage(str(exc)) from None
        if not target.embedded:
            for name, given in (("--faults", bool(o.faults)), ("--seed-patients", o.seed_patients),
                                ("--db", o.db != ":memory:")):
                if given:
                    raise PerfUsage(t("perf.embedded_only", self.lang, opt=name))
        if o.engine == "locust":
            from .distributed import available

            if o.rates:
                raise PerfUsage(t("perf.rate_locust", self.lang))
            if not available():
                raise PerfUsage(t("perf.locust_missing", self.lang))
            if target.embedded and o.remote_workers:
                raise PerfUsage("--remote-workers need a target other machines can reach "
                                "(--target/--config); the embedded platform listens on 127.0.0.1")
        if o.query_keys and target.embedded:
            raise PerfUsage(t("perf.external_only", self.lang, opt="--query-keys"))
        definition = _definition(o, target.profile)
        ths = [TH.parse(x) for x in o.thresholds]
        ths += TH.from_definition(definition.raw, definition.path)
        if o.users or o.rates:
            TH.check_scope(ths, o.users, o.rates)
        elif ths:
            raise TH.ThresholdError("thresholds judge load steps: add --users or --rate")
        if o.bands and not definition.bands:
            # e.g. the regional 2020 scheme: nothing to record — say so, measure the rest
            notices.append(Notice("perf.bands_none", {"id": definition.id}, level="warning"))
            self.notes.append(f"{definition.id} has no performance bands: --bands measured nothing")
            self.bands = False
        return target, definition, ths, notices

    # ------------------------------------------------------------------ the run
    def execute(self) -> Iterator[Event]:
        """The events of the run, in order; the last is PerfFinished (or a refusal Notice).
        ``self.outcome`` is set when the generator is exhausted."""
        from ..catalog import load_catalog

        o = self.o
        target, definition, ths, notices = self.validate()
        yield from notices
        if not target.embedded and not o.yes:
            yield Notice("perf.refuse", {"target": target.redactor().redact_url(target.endpoint)
                                         or target.redactor().redact_text(target.name)},
                         level="error")
            self.outcome = PerfOutcome(None, None, refused=True)
            return
        mix = plan = None
        if o.users or o.rates:
            from .mix import load_mix

            mix = load_mix(o.mix_path, target.profile)
        if self.bands:
            from .bands import load_plan

            plan = load_plan(o.bands_plan, target.profile)
        if target.rate_limit and (o.users or o.rates):
            yield Notice("perf.rate_limit_ignored", level="warning")
        if self.folder is None:
            self.folder = RunFolder.create(target_name=target.redactor().redact_text(target.name))
        self.folder.path.mkdir(parents=True, exist_ok=True)
        load = None
        if mix is not None:
            self.think = o.think if o.think is not None else (mix.think_min, mix.think_max)
            load = {"engine": o.engine, "model": "open" if o.rates else "closed",
                    "users": o.users, "rates": o.rates, "duration_s": o.duration,
                    "ramp_s": o.ramp, "think_time_s": list(self.think) if o.users else None,
                    "mix": mix.summary()}
        tool = ToolStamp(name="conformance", version=__version__, ruleset=load_catalog().ruleset)
        self.results = R.header(tool=tool, target=target.public(), profile=target.profile,
                                definition=definition, load=load, notes=self.notes)
        R.keep_earlier(self.results, self._earlier(), bands=plan is not None,
                       load=mix is not None)
        yield PerfStarted(target=target.redactor().redact_text(target.name), profile=target.profile,
                          plan={"bands": plan is not None, "users": o.users, "rates": o.rates},
                          run_dir=str(self.folder.path), results=R.copy(self.results))
        if mix is not None or plan is not None:
            try:
                if target.embedded:
                    yield from self._start_platform(target, plan)
                namespace = namespace_of(target)
                if plan is not None:
                    yield from self._bands(target, namespace, plan, definition)
                if mix is not None:
                    yield from self._load(target, namespace, mix)
            finally:
                if self._proc is not None:
                    self._proc.stop()
                    self._proc = None
        steps: list[LoadStep] = []
        judged: list[Judged] = []
        if mix is not None:
            steps = self.results.steps
            judged = TH.judge(ths, steps)
            yield self._emit(ThresholdsJudged(judged))
        R.finish(self.results)
        unreachable = None
        if steps and all(s.requests and s.requests == s.errors.get("connection") for s in steps):
            unreachable = tuple(sorted({k for s in steps for k in s.errors_detail}))
            yield Notice("perf.unreachable", {"kinds": ", ".join(unreachable)}, level="error")
        yield PerfFinished(self.results)
        self.outcome = PerfOutcome(self.results, self.folder, judged=tuple(judged),
                                   unreachable=unreachable)

    def _earlier(self) -> PerfResults | None:
        """perf.json already in the folder (an unreadable one is replaced, as before)."""
        assert self.folder is not None
        try:
            return self.folder.read("perf")
        except ArtifactError:
            return None

    def _start_platform(self, target: Target, plan: Any) -> Iterator[Event]:
        """Start the embedded platform in its own process (``self._proc``: the caller stops it)
        and point the target at it."""
        from .embedded import PlatformProcess, PlatformProcessError

        o = self.o
        seed = o.seed_patients
        if seed is None:
            seed = max((i.base_records or 0) for i in plan.items) if plan is not None else 0
        yield Notice("perf.starting_platform", {"profile": target.profile})
        if seed:
            yield Notice("perf.seeding", {"n": seed})
        self._proc = PlatformProcess(target.profile, db=o.db, faults=o.faults, seed_patients=seed,
                                     threads=o.platform_threads, echo=seed >= 100_000)
        try:
            info = self._proc.start()
        except PlatformProcessError as exc:
            raise PerfUsage(t("perf.platform_failed", self.lang, msg=exc)) from None
        self.platform = info
        target.endpoint = info["url"]
        platform = {"embedded": True, "faults": o.faults or None, "db": o.db,
                    "threads": o.platform_threads, "patients": info.get("patients"),
                    "seed": info.get("seed")}
        yield self._emit(PerfPlatformReady(url=info["url"], platform=platform,
                                           target=target.public()))

    # ------------------------------------------------------------------ bands
    def _bands(self, target: Target, namespace: str, plan: Any, definition: Any
               ) -> Iterator[Event]:
        from ..harness.transport import Transport
        from .bands import BandRunner

        o = self.o
        known = {i.code for i in definition.items if getattr(i, "record", None) == "band"}
        unknown = [i.item for i in plan.items if i.item not in known]
        if unknown:
            raise PerfUsage(f"{plan.path}: item(s) {', '.join(unknown)} are not band items of "
                            f"{definition.id}")
        keys = self._key_source(target)
        transport = Transport(target, namespace=namespace)
        runner = BandRunner(transport, target.profile, repeat=o.repeat, warmup=o.warmup, keys=keys,
                            seed=o.seed)
        for item in plan.items:
            band = runner.measure(item, definition.bands)
            if item.base_records is not None:
                band.base_records = {"count": keys.count, "origin": keys.origin,
                                     "required": item.base_records}
                if keys.keys is None:
                    band.base_records["queried"] = "patients registered by this run"
            yield self._emit(BandMeasured(band))

    def _key_source(self, target: Target) -> Any:
        from ..platform.seed import seeded_key
        from .bands import KeySource

        o = self.o
        if target.embedded:
            seeded = int(((self.platform or {}).get("seed") or {}).get("requested") or 0)
            total = (self.platform or {}).get("patients")
            if seeded:
                return KeySource(lambda rng: seeded_key(rng.randint(1, seeded)), total, "embedded")
            return KeySource(None, total, "embedded")
        keys: list[str] = []
        if o.query_keys == "seeded":     # a platform seeded by `conformance seed` / serve --seed-patients
            if not o.base_records:
                raise PerfUsage("--query-keys seeded needs --base-records N (the seeded patients)")
            n = o.base_records
            return KeySource(lambda rng: seeded_key(rng.randint(1, n)), n, "declared")
        if o.query_keys:
            try:
                keys = [ln.strip() for ln in Path(o.query_keys).read_text(encoding="utf-8").splitlines()
                        if ln.strip() and not ln.startswith("#")]
            except OSError as exc:
                raise PerfUsage(f"--query-keys {o.query_keys}: {exc.strerror or exc}") from None
            if not keys:
                raise PerfUsage(f"--query-keys {o.query_keys}: no patient id in the file")
        origin = "declared" if o.base_records is not None else "unknown"
        return KeySource((lambda rng: rng.choice(keys)) if keys else None, o.base_records, origin)

    # ------------------------------------------------------------------ load steps
    def _load(self, target: Target, namespace: str, mix: Any) -> Iterator[Event]:
        from .engine import StepSpec

        o = self.o
        specs = ([StepSpec(users=u, ramp=o.ramp, duration=o.duration, think=self.think)
                  for u in o.users or []]
                 + [StepSpec(rate=r, ramp=o.ramp, duration=o.duration, arrivals=o.arrivals,
                             max_inflight=o.max_inflight) for r in o.rates or []])
        budget = o.setup_timeout + sum(s.ramp + s.duration + 15.0 for s in specs) + 30.0
        if o.engine == "locust":
            budget += len(specs) * 80.0   # process start-up and worker connection per step
        with Watchdog(budget, self._deadline):
            if o.engine == "locust":
                yield from self._load_locust(target, namespace, mix, specs)
            else:
                yield from self._load_builtin(target, namespace, mix, specs)

    def _deadline(self) -> None:
        """The hard deadline passed (a timer thread): tell the handlers — perf.json keeps the
        steps finished so far, with a note — and end the process."""
        for event in (Notice("perf.watchdog", level="error"), PerfAborted(DEADLINE_NOTE)):
            for h in self.handlers:
                with contextlib.suppress(Exception):
                    h.handle(event)
        os._exit(EXIT_USAGE)

    def _step_started(self, spec: Any, index: int, total: int) -> PerfStepStarted:
        label = f"{spec.rate:g}/s" if spec.rate is not None else str(spec.users)
        return PerfStepStarted(label=label, index=index, total=total, users=spec.users,
                               rate=spec.rate, ramp_s=spec.ramp, duration_s=spec.duration)

    def _load_builtin(self, target: Target, namespace: str, mix: Any,
                      specs: list[Any]) -> Iterator[Event]:
        """The asyncio engine, one step per ``Runner.run``: between steps the loop rests while
        the handlers write perf.json (the requests themselves never wait for a handler)."""
        from .engine import AioClient, Engine, PrepareError
        from .workload import Workload

        o = self.o
        assert self.folder is not None
        workload = Workload(mix, target, namespace, run_id=self.folder.path.name)
        engine = Engine(workload, seed=o.seed)
        n = max([int(s.users) for s in specs if s.users] + [mix.pool if o.rates else 0])
        limit = max(n, 100) if o.users else 0
        with asyncio.Runner() as loop:
            engine.client = AioClient(target, limit=limit)
            loop.run(engine.client.start())
            try:
                yield Notice("perf.preparing", {"n": n})
                try:
                    contexts = loop.run(engine.prepare(n, timeout=o.setup_timeout))
                except PrepareError as exc:
                    raise PerfUsage(t("perf.prepare_failed", self.lang, done=exc.done, n=n,
                                      msg=exc)) from None
                for k, spec in enumerate(specs):
                    yield self._step_started(spec, k, len(specs))
                    step = loop.run(engine.run_step(spec, contexts))
                    yield self._emit(PerfStepFinished(step))
            finally:
                loop.run(engine.client.close())

    def _load_locust(self, target: Target, namespace: str, mix: Any,
                     specs: list[Any]) -> Iterator[Event]:
        """Locust master + workers per step; the merged worker reports are the same LoadStep."""
        from .distributed import LocustError, LocustRunner
        from .workload import run_base

        o = self.o
        assert self.folder is not None
        plan = {"profile": target.profile, "namespace": namespace, "mix": mix.path,
                "mix_sha256": mix.sha256,
                "config": os.path.abspath(o.config_path) if o.config_path else None,
                "url": target.endpoint if (o.target_url or target.embedded or not o.config_path)
                else None,
                "name": target.name, "soap_version": target.soap_version,
                "read_timeout": target.read_timeout, "total_timeout": target.total_timeout}
        try:
            runner = LocustRunner(self.folder.path, plan, workers=o.workers,
                                  remote_workers=o.remote_workers, bind=o.master_bind,
                                  port=o.master_port)
        except LocustError as exc:
            raise PerfUsage(t("perf.locust_failed", self.lang, msg=exc)) from None
        for k, spec in enumerate(specs):
            yield self._step_started(spec, k, len(specs))
            run = {"base": run_base() + k * 100_000_000, "run_id": self.folder.path.name}
            try:
                step = runner.run_step(spec, run)
            except LocustError as exc:
                raise PerfUsage(t("perf.locust_failed", self.lang, msg=exc)) from None
            yield self._emit(PerfStepFinished(step, locust=LocustInfo(
                workers=o.workers, remote_workers=o.remote_workers, notes=list(runner.notes))))
