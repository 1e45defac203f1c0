"""A scenario run (`conformance run`, and exchanges captured by the proxy): evidence of every
HTTP exchange, check results, steps, cases, and the whole run as results.json holds it."""

from __future__ import annotations

from typing import Any

import msgspec

from .common import UNSET, Record, ToolStamp, UnsetType
from .findings import Finding
from .status import RESULTS, Status, roll_up
from .traffic import Traffic


class Exchange(Record, kw_only=True):
    """One request/response pair as recorded evidence: where it went, what came back, when and
    how long it took. The bodies are files in the run folder (``request_file``/``response_file``,
    relative to it); headers are recorded with secrets redacted."""

    url: str
    action: str | None = None
    soap_version: str | None = None
    request_headers: dict[str, str] = {}
    status: int | None = None
    response_headers: dict[str, str] = {}
    started: str = ""
    duration_ms: float = 0.0
    error: str | None = None          # kind, when no judgeable answer came back
    error_detail: str | None = None
    truncated: bool = False
    request_bytes: int = 0
    response_bytes: int = 0
    step: str | None = None
    case: str | None = None
    request_file: str | None = None
    response_file: str | None = None
    service: str | UnsetType = UNSET          # the catalog service (proxy: identified)
    findings: list[Finding] | UnsetType = UNSET


class CheckResult(Record, omit_defaults=True, kw_only=True):
    """One check of one step: ``id`` (``<step>/<check>`` in a case), result and why."""

    id: str
    result: Status
    message: str = ""
    expected: str | None = None
    actual: str | None = None
    findings: list[Finding] = []

    @property
    def failing(self) -> bool:
        return self.result.failing


class StepResult(Record, kw_only=True):
    """One step of a case; in a proxy run one captured exchange, with its own ``checks``
    (a scenario run lists them in the case, prefixed by the step id)."""

    id: str
    service: str | None = None
    result: Status = Status.SKIP
    exchange: Exchange | None = None
    checks: list[CheckResult] | UnsetType = UNSET


class CaseResult(Record, kw_only=True):
    """One scenario case: its checks (every step's, prefixed by the step id), steps and
    exchanges. ``result`` is the roll-up of the steps (``error`` when a preparation step
    failed)."""

    id: str
    service: str | None = None
    kind: str = "positive"                 # positive | negative | workflow
    title: str | None = None
    suite: str | None = None
    level: str | None = None
    result: Status = Status.SKIP
    checks: list[CheckResult] = []
    steps: list[StepResult] = []
    exchanges: list[Exchange] = []
    duration_ms: float | None = None

    @property
    def failing(self) -> bool:
        return self.result.failing

    def rolled_up(self) -> Status:
        return roll_up(s.result for s in self.steps)


class CheckCounts(Record, kw_only=True):
    pass_: int = msgspec.field(default=0, name="pass")
    fail: int = 0
    error: int = 0
    skip: int = 0
    interrupted: int | UnsetType = UNSET


class RunSummary(Record, kw_only=True):
    cases: int = 0
    pass_: int = msgspec.field(default=0, name="pass")
    fail: int = 0
    error: int = 0
    skip: int = 0
    interrupted: int | UnsetType = UNSET
    checks: CheckCounts = msgspec.field(default_factory=CheckCounts)

    def count(self, status: Status) -> int:
        value = getattr(self, "pass_" if status is Status.PASS else status.value)
        return 0 if value is UNSET else int(value)

    @classmethod
    def of(cls, cases: list[CaseResult]) -> RunSummary:
        counts = {s: 0 for s in Status}
        checks = {s: 0 for s in Status}
        for c in cases:
            counts[c.result] += 1
            for k in c.checks:
                checks[k.result] += 1
        extra = counts[Status.INTERRUPTED]
        return cls(cases=len(cases), pass_=counts[Status.PASS], fail=counts[Status.FAIL],
                   error=counts[Status.ERROR], skip=counts[Status.SKIP],
                   interrupted=extra if extra else UNSET,
                   checks=CheckCounts(pass_=checks[Status.PASS], fail=checks[Status.FAIL],
                                      error=checks[Status.ERROR], skip=checks[Status.SKIP],
                                      interrupted=checks[Status.INTERRUPTED]
                                      if checks[Status.INTERRUPTED] else UNSET))

    def as_dict(self) -> dict[str, int]:
        """Counts by result word (for messages: ``{pass}`` …)."""
        return {"cases": self.cases, **{s.value: self.count(s) for s in RESULTS},
                "interrupted": self.count(Status.INTERRUPTED)}


class RunResults(Record, kw_only=True):
    """results.json: the canonical record of a scenario run (or of captured traffic)."""

    schema_version: int = 1
    tool: ToolStamp
    kind: str = "run"                       # run | proxy
    target: dict[str, Any] = {}             # public target settings, no secrets
    profile: str | None = None
    started: str | None = None
    finished: str | None = None
    complete: bool = True                   # false: interrupted (--resume completes it)
    lang: str = "zh"
    inputs: dict[str, Any] = {}
    cases: list[CaseResult] = []
    summary: RunSummary = msgspec.field(default_factory=RunSummary)
    traffic: Traffic | UnsetType = UNSET     # proxy runs: per-service statistics
