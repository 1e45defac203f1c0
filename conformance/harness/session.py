"""One scenario run into a run folder: picks the cases, brings up the target (the embedded
platform when none is given), wires transport, message factory and validators to the engine
(``runner.py``), and yields its events, ending with ``RunFinished`` and the run's typed
``RunResults``.

The in-process entry point (what ``conformance run`` and ``assess`` call):

    outcome = run_scenarios(RunFolder(path), target, RunOptions(jobs=4), handlers=[console])
    outcome.results          # RunResults (results.json)
    outcome.interrupted      # stopped before every case finished (``--resume`` completes it)

The run folder's writers (``results.folder_writers``) are always attached; ``handlers`` are the
caller's own (progress bar, summary …). ``run.json`` keeps the options and, per session of the
run (the first and every ``--resume``), its start and id block.

The embedded platform is called in-process (``InProcessTransport``, no socket) unless
``RunOptions.http`` or the environment variable ``CONFORMANCE_EMBEDDED_HTTP=1`` asks for a real
HTTP server on a loopback port.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import ConformanceError
from ..model import CaseResult, RunResults, RunSummary, Status, ToolStamp
from ..model.events import (
    CaseFinished,
    Event,
    ExchangeRecorded,
    Handler,
    RunFinished,
    RunStarted,
    StepFinished,
    drain,
)
from ..model.folder import RunFolder
from ..model.io import results_json
from ..output import open_output
from ..profiles import get_profile
from ..secrets import Redactor
from .model import Case, load_suites
from .results import folder_writers
from .runner import IdPlan, Runner, Validators
from .target import Target
from .transport import InProcessTransport, Transport

RUN_STATE = "run.json"
EMBEDDED_URL = "http://embedded.localhost/"   # how in-process exchanges with it are recorded
HTTP_ENV = "CONFORMANCE_EMBEDDED_HTTP"


class SessionError(ConformanceError):
    """The run cannot start as asked (unknown service or level, no scenarios, bad run folder)."""


class NoCases(SessionError):
    """No case matches the selection (--services / --level)."""


def _errors_only(result: Any) -> list[tuple[str, str]]:
    return [(f.rule, f.message) for f in result.findings if f.severity == "error"]


def level_order(profile: str) -> list[str]:
    """The assessment levels in order, from the profile's default index system (its
    assessment definition in standards/assessment/)."""
    from ..resources import standards_dir
    from ..yamlio import YamlError, read_yaml

    p = standards_dir() / "assessment" / f"{get_profile(profile).default_index_system}.yaml"
    try:
        data = read_yaml(p, YamlError) or {}
    except YamlError:
        return []
    return [str(x["id"] if isinstance(x, dict) else x) for x in data.get("levels") or []]


class CatalogFactory:
    """The runner's message factory over the service catalog and its message builder."""

    def __init__(self, builder: Any) -> None:
        self.builder = builder
        self.services = builder.services

    def build(self, template: str, variables: dict[str, Any]) -> bytes:
        v = dict(variables)
        v.pop("message_id", None)
        if "msg_id" in v:
            v["message_id"] = v["msg_id"]
        return self.builder.build_request(template, v)

    def response_roots(self, action: str) -> list[str]:
        svc = self.services.get(action)
        return [svc.response_root] if svc else []

    def s_code(self, action: str) -> str | None:
        svc = self.services.get(action)
        return svc.s_code if svc else None

    def request_key(self, action: str, request: Any) -> str | None:
        svc = self.services.get(action)
        return svc.key.value(request) if svc is not None and svc.key is not None else None


@dataclass
class RunOptions:
    """What a scenario run is asked to do (the CLI's options, typed)."""

    lang: str = "zh"
    jobs: int = 1
    level: str | None = None
    services: list[str] | None = None
    seed: int | None = None                  # reproducible ids (see runner.IdPlan)
    scenarios: Path | None = None            # default: the profile's (standards/profiles/)
    http: bool = False                       # the embedded platform over real HTTP
    faults: str = ""                         # the embedded platform's fault profile (trials)
    config_sha256: str | None = None         # of the target configuration file
    recorded: dict[str, Any] = field(default_factory=dict)  # kept in run.json for --resume


@dataclass
class RunOutcome:
    folder: RunFolder
    results: RunResults
    interrupted: bool

    @property
    def complete(self) -> bool:
        return self.results.complete

    @property
    def failing(self) -> bool:
        s = self.results.summary
        return s.fail > 0 or s.error > 0


def resume_options(folder: RunFolder) -> dict[str, Any]:
    """The options an interrupted run was started with (from its run.json)."""
    try:
        state = json.loads((folder.path / RUN_STATE).read_text(encoding="utf-8"))
        options = state["options"]
        if not isinstance(options, dict):
            raise TypeError("options is not a mapping")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SessionError(f"{folder.path}: not a resumable run folder ({exc})") from None
    return options


class RunSession:
    def __init__(self, folder: RunFolder, target: Target, options: RunOptions) -> None:
        from ..hl7v3.services import load_services  # the service catalog (standards/services)

        self.folder, self.target, self.options = folder, target, options
        self.catalog = load_services(target.profile)
        where = options.scenarios or get_profile(target.profile).scenarios
        self.suites = load_suites(where, target.profile)
        if not self.suites:
            raise SessionError(f"no scenario suite for profile {target.profile} under {where}")
        wanted = None
        if options.services:
            wanted = set()
            for s in options.services:
                svc = self.catalog.get(s.strip())
                if svc is None:
                    raise SessionError(f"--services: unknown service {s!r}; see "
                                       "`conformance standards services`")
                wanted.add(svc.action)
        levels = level_order(target.profile)
        allowed_levels = None
        if options.level:
            if options.level not in levels:
                raise SessionError(f"--level: unknown level {options.level!r}; one of "
                                   f"{', '.join(levels)}")
            allowed_levels = set(levels[: levels.index(options.level) + 1])
        self.cases: list[tuple[int, Case]] = []
        index = 0
        for suite in self.suites:
            for case in suite.cases:
                index += 1
                svc = self.catalog.get(case.service)
                case.level = svc.level if svc else None
                if wanted is not None and (svc is None or svc.action not in wanted):
                    continue
                if allowed_levels is not None and (svc is None or svc.level not in allowed_levels):
                    continue
                self.cases.append((index, case))
        if not self.cases:
            raise NoCases("no case matches the selection (--services / --level)")

    # ------------------------------------------------------------------ run.json
    def _begin(self) -> tuple[str, IdPlan]:
        """Record this session in run.json: the run's start (kept from the first session), the
        options, and the id block drawn for this session (never one an earlier session used)."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        path = self.folder.path / RUN_STATE
        state: dict[str, Any] = {}
        if path.exists():
            with contextlib.suppress(OSError, ValueError):
                state = json.loads(path.read_text(encoding="utf-8"))
        sessions = [s for s in state.get("sessions") or [] if isinstance(s, dict)]
        taken = [int(s["id_block"]) for s in sessions if isinstance(s.get("id_block"), int)]
        ids = IdPlan.draw(self.options.seed, len(sessions), taken)
        started = str(state.get("started") or now)
        sessions.append({"started": now, "id_block": ids.block, "seed": ids.seed,
                         "jobs": self.options.jobs})
        with open_output(str(path)) as fh:
            json.dump({"started": started, "options": self.options.recorded,
                       "tool_version": __version__, "sessions": sessions},
                      fh, ensure_ascii=False, indent=1)
        return started, ids

    def _inputs(self) -> dict[str, Any]:
        return {"suites": [{"id": s.id, "version": s.version, "path": s.path,
                            "sha256": hashlib.sha256(Path(s.path).read_bytes()).hexdigest()}
                           for s in self.suites],
                "service_catalog": str(self.catalog.path),
                "level": self.options.level,
                "services": self.options.recorded.get(
                    "services", ",".join(self.options.services or []) or None),
                "jobs": self.options.jobs, "target_config_sha256": self.options.config_sha256}

    # ------------------------------------------------------------------ the target
    @contextlib.contextmanager
    def _transport(self) -> Iterator[Transport]:
        t = self.target
        default_ns = self.catalog.soap.get("namespace")
        if not t.embedded:
            yield Transport(t, namespace=self._namespace())
            return
        db = str(self.folder.path / "embedded-platform.sqlite")
        namespace = t.namespace or default_ns
        if self.options.http or os.environ.get(HTTP_ENV, "") not in ("", "0"):
            from ..platform.server import EmbeddedPlatform

            with EmbeddedPlatform(profile=t.profile, db=db, faults=self.options.faults) as url:
                t.endpoint = url
                yield Transport(t, namespace=namespace)
            return
        from ..platform.engine import Platform
        from ..platform.faults import FaultInjector
        from ..platform.server import IDENT
        from ..platform.wsgi import PlatformApp

        platform = Platform(t.profile, db=db)
        try:
            t.endpoint = EMBEDDED_URL
            app = PlatformApp(platform, FaultInjector(self.options.faults))
            yield InProcessTransport(t, app, namespace=namespace, server=IDENT)
        finally:
            platform.close()

    def _namespace(self) -> str | None:
        from .transport import discover_namespace

        default = self.catalog.soap.get("namespace")
        if self.target.namespace:
            return self.target.namespace
        return discover_namespace(self.target) or default

    # ------------------------------------------------------------------ the run
    def execute(self, stop: threading.Event | None = None) -> Iterator[Event]:
        """RunStarted, the cases finished in earlier sessions (``resumed``), the events of the
        cases still to run, and RunFinished with the whole run."""
        from ..catalog import load_catalog
        from ..hl7v3.builder import MessageBuilder
        from ..validate import Validator, ValidatorOptions

        self.folder.path.mkdir(parents=True, exist_ok=True)
        started, ids = self._begin()
        wanted = {c.id for _, c in self.cases}
        done = {k: c for k, c in results_json.load_cases(self.folder.path).items()
                if k in wanted and c.result is not Status.INTERRUPTED}
        todo = [(i, c) for i, c in self.cases if c.id not in done]
        redactor = self.target.redactor()
        yield RunStarted(run_dir=str(self.folder.path), target=redactor.redact_text(self.target.name),
                         profile=self.target.profile, cases=len(self.cases), resumed=len(done))
        finished: dict[str, CaseResult] = {}
        for _, c in self.cases:
            if c.id in done:
                finished[c.id] = done[c.id]
                yield CaseFinished(case=done[c.id], resumed=True)
        validator = Validator(ValidatorOptions(lang=self.options.lang))
        validators = Validators(
            message=lambda data, name: _errors_only(validator.validate_bytes(data, name)),
            document=lambda data, name: _errors_only(validator.validate_bytes(data, name)))
        stop = stop or threading.Event()
        with self._transport() as transport:
            runner = Runner(transport, CatalogFactory(MessageBuilder(self.target.profile)),
                            validators, lang=self.options.lang, jobs=self.options.jobs, ids=ids,
                            run_id=self.folder.path.name, stop=stop)
            for event in runner.execute(todo):
                event = redacted(event, redactor)
                if isinstance(event, CaseFinished):
                    finished[event.case.id] = event.case
                yield event
        ordered = [finished[c.id] for _, c in self.cases if c.id in finished]
        complete = len(ordered) == len(self.cases) and all(
            c.result is not Status.INTERRUPTED for c in ordered)
        results = RunResults(
            tool=ToolStamp(name="conformance", version=__version__,
                           ruleset=load_catalog().ruleset),
            kind="run", target=self.target.public(), profile=self.target.profile,
            started=started, finished=datetime.now(UTC).isoformat(timespec="seconds"),
            complete=complete, lang=self.options.lang, inputs=self._inputs(), cases=ordered,
            summary=RunSummary.of(ordered))
        yield RunFinished(results=redactor.redact_record(results),
                          interrupted=stop.is_set() or not complete)


def redacted(event: Event, redactor: Redactor) -> Event:
    """The event as the run's writers and the caller's handlers may see it: the target's
    secrets gone from the response body (the request's went at the transport), the recorded
    exchange and the case (check messages quote what a platform answered)."""
    if isinstance(event, ExchangeRecorded):
        return dataclasses.replace(event, exchange=redactor.redact_record(event.exchange),
                                   response_body=redactor.redact_bytes(event.response_body))
    if isinstance(event, StepFinished) and event.exchange is not None:
        return dataclasses.replace(event, exchange=redactor.redact_record(event.exchange))
    if isinstance(event, CaseFinished):
        return dataclasses.replace(event, case=redactor.redact_record(event.case))
    return event


def run_scenarios(folder: RunFolder, target: Target, options: RunOptions,
                  handlers: Sequence[Handler] = (), *,
                  stop: threading.Event | None = None) -> RunOutcome:
    """Run the scenarios into ``folder`` (a new run, or the rest of an interrupted one); the
    folder's writers and ``handlers`` see every event. Set ``stop`` to interrupt: running cases
    finish their current step. Raises ``ConformanceError`` (``SessionError``, ``NoCases``,
    ``ScenarioError``) for what the user asked that cannot run."""
    session = RunSession(folder, target, options)
    last = drain(session.execute(stop), [*folder_writers(folder), *handlers])
    assert isinstance(last, RunFinished)
    return RunOutcome(folder=folder, results=last.results, interrupted=last.interrupted)
