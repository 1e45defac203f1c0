"""Typed events the engines emit while they work. Writers (results files, evidence, JUnit,
SARIF, console tables, progress bars) are handlers that subscribe to them; an engine never
writes a report or prints.

An engine's ``execute()`` yields events in order; ``dispatch`` hands each to every handler.
Handlers see the same typed entities the artifacts hold (``CaseResult``, ``LoadStep`` …)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .datasets import DatasetVerdict
from .findings import DocumentResult, Summary
from .perf import Band, LoadStep, LocustInfo, PerfResults, Threshold
from .run import CaseResult, CheckResult, Exchange, RunResults
from .status import Status
from .traffic import Traffic


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event."""


# ---------------------------------------------------------------- scenario runs
@dataclass(frozen=True, slots=True)
class RunStarted(Event):
    run_dir: str
    target: str
    profile: str
    cases: int                      # cases selected for this run
    resumed: int = 0                # of which already finished (--resume)


@dataclass(frozen=True, slots=True)
class CaseStarted(Event):
    case: str
    service: str | None


@dataclass(frozen=True, slots=True)
class ExchangeRecorded(Event):
    """One exchange of a step, with its bodies: the evidence writer stores them in the run
    folder under ``exchange.request_file`` / ``exchange.response_file`` (secrets already
    redacted from the request)."""

    case: str
    step: str
    exchange: Exchange
    request_body: bytes = b""
    response_body: bytes = b""


@dataclass(frozen=True, slots=True)
class StepFinished(Event):
    case: str
    step: str
    result: Status
    exchange: Exchange | None = None


@dataclass(frozen=True, slots=True)
class CaseFinished(Event):
    case: CaseResult
    resumed: bool = False           # finished in an earlier session of this run


@dataclass(frozen=True, slots=True)
class RunFinished(Event):
    results: RunResults
    interrupted: bool = False


# ---------------------------------------------------------------- validation
@dataclass(frozen=True, slots=True)
class ValidationStarted(Event):
    inputs: int
    header: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DocumentValidated(Event):
    document: DocumentResult


@dataclass(frozen=True, slots=True)
class ValidationFinished(Event):
    summary: Summary


@dataclass(frozen=True, slots=True)
class DatasetChecked(Event):
    verdict: DatasetVerdict


# ---------------------------------------------------------------- performance
@dataclass(frozen=True, slots=True)
class PerfStarted(Event):
    target: str
    profile: str
    plan: dict[str, Any] = field(default_factory=dict)
    run_dir: str = ""
    # perf.json as it starts: the settings, and what an earlier run of the folder keeps
    results: PerfResults | None = None


@dataclass(frozen=True, slots=True)
class PerfPlatformReady(Event):
    """The embedded platform answers (its own process): where, and what it holds."""

    url: str
    platform: dict[str, Any]
    target: dict[str, Any]           # the target as written to perf.json (now with the URL)


@dataclass(frozen=True, slots=True)
class BandMeasured(Event):
    band: Band


@dataclass(frozen=True, slots=True)
class PerfStepStarted(Event):
    label: str                       # "20" users or "50/s"
    index: int
    total: int
    users: int | None = None
    rate: float | None = None
    ramp_s: float = 0.0
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class PerfStepFinished(Event):
    step: LoadStep
    locust: LocustInfo | None = None   # --engine locust: the workers so far


@dataclass(frozen=True, slots=True)
class ThresholdsJudged(Event):
    thresholds: Sequence[Threshold]


# ---------------------------------------------------------------- captured traffic (proxy)
@dataclass(frozen=True, slots=True)
class ProxyStarted(Event):
    run_dir: str
    listen: str                      # the URL systems send to
    upstream: str
    profile: str


@dataclass(frozen=True, slots=True)
class ExchangeCaptured(Event):
    """An exchange passed through (already forwarded), secrets redacted; ``exchange`` names the
    evidence files its bodies belong in (``request_file`` / ``response_file``, run-relative;
    None: nothing to record)."""

    id: str
    exchange: Exchange
    request_body: bytes
    response_body: bytes


@dataclass(frozen=True, slots=True)
class ExchangeChecked(Event):
    """The verdict on one exchange: its checks (findings of the validator and of the exchange
    checks inside); ``validated`` is False when it was left unvalidated (overload, too large)."""

    id: str
    service: str | None
    result: Status
    checks: tuple[CheckResult, ...]
    exchange: Exchange
    validated: bool = True


@dataclass(frozen=True, slots=True)
class EvidenceRotated(Event):
    """Evidence files removed to stay within the caps (the exchanges stay counted)."""

    ids: tuple[str, ...]
    files: tuple[str, ...]           # run-relative paths


@dataclass(frozen=True, slots=True)
class TrafficUpdated(Event):
    """The statistics so far (about once a second while traffic flows)."""

    traffic: Traffic


@dataclass(frozen=True, slots=True)
class ResultsCheckpoint(Event):
    """results.json as it stands (written every few seconds: a killed capture keeps it)."""

    results: RunResults


@dataclass(frozen=True, slots=True)
class ProxyFinished(Event):
    results: RunResults
    interrupted: bool = False        # stopped by Ctrl-C / SIGTERM (still a complete record)


@dataclass(frozen=True, slots=True)
class PerfAborted(Event):
    """The run stops before its end (the hard deadline): what is recorded so far stays."""

    note: str


@dataclass(frozen=True, slots=True)
class PerfFinished(Event):
    results: PerfResults


@dataclass(frozen=True, slots=True)
class Notice(Event):
    """Something the user should read (a warning, a note about the measurement); ``key`` is a
    UI phrase key, ``values`` fill it in."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)
    level: str = "info"              # info | warning


class Handler(Protocol):
    def handle(self, event: Event) -> None: ...


def dispatch(events: Iterable[Event], handlers: Sequence[Handler]) -> Iterator[Event]:
    """Hand every event to every handler, in order; yield it on (so a caller can watch too)."""
    for event in events:
        for h in handlers:
            h.handle(event)
        yield event


def drain(events: Iterable[Event], handlers: Sequence[Handler]) -> Event | None:
    """Dispatch every event; return the last one (engines end with their result event)."""
    last = None
    for event in dispatch(events, handlers):
        last = event
    return last
