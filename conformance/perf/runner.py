"""`conformance perf` from options to perf.json: target and safety, the embedded platform, the
3.3 bands, the load steps (built-in engine or Locust), thresholds, console summary, exit code."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from .. import __version__
from ..errors import ConformanceError
from ..harness.target import Target, TargetError, check, load_target
from ..i18n import t
from . import report as R
from . import thresholds as TH
from .messages import m

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
OPTIONAL_KEYS = ("engine", "model", "users", "rates", "duration_s", "ramp_s", "mix", "think_time_s",
                 "platform")


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
    setup_timeout: float = 300.0
    seed: int = 7
    platform_threads: int = 16
    lang: str = "zh"


def make_target(o: PerfOptions) -> Target:
    target = load_target(o.config_path) if o.config_path else Target()
    if o.target_url:
        target.endpoint = o.target_url
        target.embedded = False
        if not o.config_path:
            target.name = o.target_url.split("//", 1)[-1].split("/", 1)[0]
    elif not o.config_path:
        target.embedded = True
        target.name = "embedded"
    if o.profile:
        target.profile = o.profile
    if o.timeout:
        target.read_timeout = o.timeout
    check(target, o.config_path or "--target")
    return target


def default_run_dir(name: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:60]
    return Path("runs") / f"{stamp}-{safe}"


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


class PerfRun:
    def __init__(self, o: PerfOptions) -> None:
        self.o = o
        self.lang = o.lang
        self.prov = t("provisional", o.lang)
        self.notes: list[str] = []
        self.doc: dict[str, Any] = {}
        self.run_dir = Path(".")
        self.platform: Any = None

    def say(self, text: str) -> None:
        click.echo(text, err=True)

    # ------------------------------------------------------------------ validation
    def validate(self) -> tuple[Target, Any, list[TH.Threshold]]:
        o = self.o
        if not o.bands and not o.users and not o.rates:
            raise PerfUsage(m("no_mode", self.lang))
        if o.users and o.rates:
            raise PerfUsage("--users (closed model) and --rate (open model) exclude each other; "
                            "run them one after the other")
        try:
            target = make_target(o)
        except TargetError as exc:
            raise PerfUsage(str(exc)) from None
        if not target.embedded:
            for name, given in (("--faults", bool(o.faults)), ("--seed-patients", o.seed_patients),
                                ("--db", o.db != ":memory:")):
                if given:
                    raise PerfUsage(m("embedded_only", self.lang, opt=name))
        if o.engine == "locust":
            from .distributed import available

            if o.rates:
                raise PerfUsage(m("rate_locust", self.lang))
            if not available():
                raise PerfUsage(m("locust_missing", self.lang))
            if target.embedded and o.remote_workers:
                raise PerfUsage("--remote-workers need a target other machines can reach "
                                "(--target/--config); the embedded platform listens on 127.0.0.1")
        if o.query_keys and target.embedded:
            raise PerfUsage(m("external_only", self.lang, opt="--query-keys"))
        definition = _definition(o, target.profile)
        try:
            ths = [TH.parse(x) for x in o.thresholds]
            ths += TH.from_definition(definition.raw, definition.path)
            if o.users or o.rates:
                TH.check_scope(ths, o.users, o.rates)
            elif ths:
                raise TH.ThresholdError("thresholds judge load steps: add --users or --rate")
        except TH.ThresholdError as exc:
            raise PerfUsage(str(exc)) from None
        if o.bands and not definition.bands:
            # e.g. the regional 2020 scheme: nothing to record — say so, measure the rest
            self.say(m("bands_none", self.lang, id=definition.id))
            self.notes.append(f"{definition.id} has no performance bands: --bands measured nothing")
            o.bands = False
        return target, definition, ths

    # ------------------------------------------------------------------ the run
    def execute(self) -> int:
        o = self.o
        target, definition, ths = self.validate()
        if not target.embedded and not o.yes:
            self.say(m("refuse", self.lang, target=target.endpoint or target.name))
            return EXIT_USAGE
        mix = plan = None
        if o.users or o.rates:
            from .mix import MixError, load_mix

            try:
                mix = load_mix(o.mix_path, target.profile)
            except MixError as exc:
                raise PerfUsage(str(exc)) from None
        if o.bands:
            from .bands import PlanError, load_plan

            try:
                plan = load_plan(o.bands_plan, target.profile)
            except PlanError as exc:
                raise PerfUsage(str(exc)) from None
        if target.rate_limit and (o.users or o.rates):
            self.say(m("rate_limit_ignored", self.lang))
        self.run_dir = Path(o.out_dir) if o.out_dir else default_run_dir(target.name)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.doc = self._header(target, definition, mix)
        prev = R.previous(self.run_dir, self.doc)
        if prev is not None:      # the part this run does not measure stays (before any write)
            if plan is None and prev.get("bands"):
                self.doc["bands"] = prev["bands"]
                self.notes.append("bands kept from the earlier perf.json of this folder")
            if mix is None and prev.get("steps"):
                for key in ("steps", "thresholds", "mix", "engine", "model", "users", "rates",
                            "duration_s", "ramp_s", "think_time_s"):
                    self.doc[key] = prev.get(key)
                self.notes.append("load steps kept from the earlier perf.json of this folder")
        if mix is None and plan is None:          # nothing left to measure (see the notes)
            self._finish()
            click.echo(m("written", self.lang, path=self.run_dir / "perf.json"))
            return EXIT_OK
        with self._platform(target, plan):
            namespace = self._namespace(target)
            if plan is not None:
                self.doc["bands"] = self._bands(target, namespace, plan, definition)
                self._save()
                R.echo_bands(self.doc["bands"], self.lang, self.prov)
            if mix is not None:
                steps = self._load(target, namespace, mix)
                self.doc["steps"] = steps
        if mix is not None:
            self.doc["thresholds"] = TH.judge(ths, self.doc["steps"])
        self._finish()
        R.echo_steps(self.doc["steps"] if mix is not None else [], self.lang)
        R.echo_thresholds(self.doc["thresholds"] if mix is not None else [], self.lang, self.prov)
        click.echo(m("written", self.lang, path=self.run_dir / "perf.json"))
        steps = self.doc["steps"] if mix is not None else []
        if steps and all(s["requests"] and s["requests"] == s["errors"]["connection"] for s in steps):
            kinds = set()
            for s in steps:
                kinds.update(k for k in (s.get("errors_detail") or {}))
            self.say(m("unreachable", self.lang, kinds=", ".join(sorted(kinds))))
            return EXIT_USAGE
        if any(r["passed"] is not True for r in self.doc.get("thresholds") or []):
            return EXIT_FAIL
        return EXIT_OK

    def _header(self, target: Target, definition: Any, mix: Any) -> dict[str, Any]:
        from ..catalog import load_catalog

        o = self.o
        return {
            "schema": R.SCHEMA_ID, "kind": "perf",
            "tool": {"name": "conformance", "version": __version__, "ruleset": load_catalog().ruleset},
            "target": target.public(), "profile": target.profile,
            "started": datetime.now(UTC).isoformat(timespec="seconds"), "finished": None,
            "complete": False,
            "engine": o.engine if mix is not None else None,
            "model": ("open" if o.rates else "closed") if mix is not None else None,
            "users": o.users, "rates": o.rates,
            "duration_s": o.duration if mix is not None else None,
            "ramp_s": o.ramp if mix is not None else None,
            "mix": mix.summary() if mix is not None else None,
            "assessment": {"id": definition.id, "path": definition.path,
                           "sha256": definition.sha256},
            "band_definitions": [{"id": b.id, "label": b.label, "label_en": b.label_en,
                                  "max_ms": b.max_ms} for b in definition.bands],
            "platform": None, "provisional": False,
            "bands": [], "steps": [], "thresholds": [], "notes": self.notes,
        }

    def _save(self) -> None:
        R.write_perf(self.run_dir, self.doc)

    def _finish(self) -> None:
        for key in OPTIONAL_KEYS:       # settings of a part that did not run: leave them out
            if self.doc.get(key) is None:
                self.doc.pop(key, None)
        self.doc["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        self.doc["complete"] = True
        self.doc["provisional"] = bool(any(b.get("provisional") for b in self.doc["bands"])
                                       or any(x.get("provisional") for x in self.doc["thresholds"]))
        self._save()

    @contextlib.contextmanager
    def _platform(self, target: Target, plan: Any) -> Iterator[None]:
        if not target.embedded:
            yield
            return
        from .embedded import PlatformProcess, PlatformProcessError

        o = self.o
        seed = o.seed_patients
        if seed is None:
            seed = max((i.base_records or 0) for i in plan.items) if plan is not None else 0
        self.say(m("starting_platform", self.lang, profile=target.profile))
        if seed:
            self.say(m("seeding", self.lang, n=seed))
        proc = PlatformProcess(target.profile, db=o.db, faults=o.faults, seed_patients=seed,
                               threads=o.platform_threads, echo=seed >= 100_000)
        try:
            info = proc.start()
        except PlatformProcessError as exc:
            raise PerfUsage(m("platform_failed", self.lang, msg=exc)) from None
        try:
            self.platform = info
            target.endpoint = info["url"]
            if info.get("seed"):
                self.say(m("seeded", self.lang, **info["seed"]))
            self.say(m("platform_ready", self.lang, url=info["url"]))
            self.doc["platform"] = {"embedded": True, "faults": o.faults or None, "db": o.db,
                                    "threads": o.platform_threads,
                                    "patients": info.get("patients"), "seed": info.get("seed")}
            self.doc["target"] = target.public()
            yield
        finally:
            proc.stop()

    def _namespace(self, target: Target) -> str:
        from ..harness.transport import discover_namespace
        from ..hl7v3.services import load_services

        default = str(load_services(target.profile).soap.get("namespace"))
        if target.namespace:
            return target.namespace
        if target.embedded:
            return default
        return discover_namespace(target.url_for(""), verify=target.tls.get("ca_bundle") or bool(
            target.tls.get("verify", True))) or default

    # ------------------------------------------------------------------ bands
    def _bands(self, target: Target, namespace: str, plan: Any, definition: Any) -> list[dict[str, Any]]:
        from ..harness.transport import Transport
        from ..platform.seed import seeded_key
        from .bands import BandRunner

        o = self.o
        known = {i.code for i in definition.items if getattr(i, "record", None) == "band"}
        unknown = [i.item for i in plan.items if i.item not in known]
        if unknown:
            raise PerfUsage(f"{plan.path}: item(s) {', '.join(unknown)} are not band items of "
                            f"{definition.id}")
        keys = self._key_source(target, seeded_key)
        transport = Transport(target, namespace=namespace)
        runner = BandRunner(transport, target.profile, repeat=o.repeat, warmup=o.warmup, keys=keys,
                            seed=o.seed)
        out = []
        for item in plan.items:
            res = runner.measure(item, definition.bands)
            if item.base_records is not None:
                res["base_records"] = {"count": keys.count, "origin": keys.origin,
                                       "required": item.base_records}
                if keys.keys is None:
                    res["base_records"]["queried"] = "patients registered by this run"
            out.append(res)
        return out

    def _key_source(self, target: Target, seeded_key: Callable[[int], str]) -> Any:
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
    def _load(self, target: Target, namespace: str, mix: Any) -> list[dict[str, Any]]:
        o = self.o
        think = o.think if o.think is not None else (mix.think_min, mix.think_max)
        from .engine import StepSpec

        specs = ([StepSpec(users=u, ramp=o.ramp, duration=o.duration, think=think) for u in o.users or []]
                 + [StepSpec(rate=r, ramp=o.ramp, duration=o.duration, arrivals=o.arrivals,
                             max_inflight=o.max_inflight) for r in o.rates or []])
        self.doc["think_time_s"] = list(think) if o.users else None
        budget = o.setup_timeout + sum(s.ramp + s.duration + 15.0 for s in specs) + 30.0
        if o.engine == "locust":
            budget += len(specs) * 80.0   # process start-up and worker connection per step

        def fire() -> None:
            self.say(m("watchdog", self.lang))
            with contextlib.suppress(Exception):
                self.doc["notes"].append("stopped by the hard deadline")
                self._save()
            os._exit(EXIT_USAGE)

        with Watchdog(budget, fire):
            if o.engine == "locust":
                return self._load_locust(target, namespace, mix, specs)
            return asyncio.run(self._load_builtin(target, namespace, mix, specs))

    async def _load_builtin(self, target: Target, namespace: str, mix: Any,
                            specs: list[Any]) -> list[dict[str, Any]]:
        from .engine import AioClient, Engine, PrepareError
        from .workload import SetupError, Workload

        o = self.o
        try:
            workload = Workload(mix, target, namespace, run_id=self.run_dir.name)
        except SetupError as exc:
            raise PerfUsage(str(exc)) from None
        engine = Engine(workload, seed=o.seed)
        n = max([int(s.users) for s in specs if s.users] + [mix.pool if o.rates else 0])
        limit = max(n, 100) if o.users else 0
        engine.client = AioClient(target, limit=limit)
        await engine.client.start()
        steps: list[dict[str, Any]] = []
        try:
            self.say(m("preparing", self.lang, n=n))
            try:
                contexts = await engine.prepare(n, timeout=o.setup_timeout)
            except PrepareError as exc:
                raise PerfUsage(m("prepare_failed", self.lang, done=exc.done, n=n, msg=exc)) from None
            for spec in specs:
                self._announce(spec)
                steps.append(await engine.run_step(spec, contexts))
                self.doc["steps"] = steps
                self._save()
        finally:
            await engine.client.close()
        return steps

    def _load_locust(self, target: Target, namespace: str, mix: Any,
                     specs: list[Any]) -> list[dict[str, Any]]:
        from .distributed import LocustError, LocustRunner
        from .workload import run_base

        o = self.o
        plan = {"profile": target.profile, "namespace": namespace, "mix": mix.path,
                "mix_sha256": mix.sha256, "config": os.path.abspath(o.config_path) if o.config_path else None,
                "url": target.endpoint if (o.target_url or target.embedded) else None,
                "name": target.name, "soap_version": target.soap_version,
                "read_timeout": target.read_timeout}
        try:
            runner = LocustRunner(self.run_dir, plan, workers=o.workers, remote_workers=o.remote_workers,
                                  bind=o.master_bind, port=o.master_port)
        except LocustError as exc:
            raise PerfUsage(m("locust_failed", self.lang, msg=exc)) from None
        steps: list[dict[str, Any]] = []
        for k, spec in enumerate(specs):
            self._announce(spec)
            run = {"base": run_base() + k * 100_000_000, "run_id": self.run_dir.name}
            try:
                steps.append(runner.run_step(spec, run))
            except LocustError as exc:
                raise PerfUsage(m("locust_failed", self.lang, msg=exc)) from None
            self.doc["steps"] = steps
            self.doc["locust"] = {"workers": o.workers, "remote_workers": o.remote_workers,
                                  "notes": runner.notes}
            self._save()
        return steps

    def _announce(self, spec: Any) -> None:
        if spec.rate is not None:
            self.say(m("step_open", self.lang, rate=f"{spec.rate:g}", ramp=f"{spec.ramp:g}",
                       duration=f"{spec.duration:g}"))
        else:
            self.say(m("step_closed", self.lang, users=spec.users, ramp=f"{spec.ramp:g}",
                       duration=f"{spec.duration:g}"))

