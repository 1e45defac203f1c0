"""The recorder process: everything the forwarding loop must not wait for. It reads the frames
of the forwarder, redacts, names the evidence, judges each exchange (the one validator for the
HL7 V3 messages and the CDA documents they carry), keeps the statistics and the rotation, and
emits typed events; the handlers (files, live summary, findings stream) run here too.

Validation is bounded: at most ``backlog`` exchanges wait for the validator; an exchange arriving
when the backlog is full is recorded and judged without the validator, and counted as left
unvalidated (``traffic.unvalidated``). The process runs in the idle scheduling class (nice +10
where there is none), so under load it is validation that waits, never traffic. After Ctrl-C /
SIGTERM the backlog is validated for at most ``drain_timeout`` seconds; when the forwarder's
command ends or the duration is over, all of it. If the forwarder disappears (its pipe closes)
the record is finished the same way, so the folder is consistent even then."""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import select
import signal
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..model import (
    UNSET,
    CaseResult,
    CheckResult,
    Exchange,
    RunResults,
    RunSummary,
    Status,
    StepResult,
    ToolStamp,
    roll_up,
)
from ..model.events import (
    Event,
    EvidenceRotated,
    ExchangeCaptured,
    ExchangeChecked,
    Handler,
    ProxyFinished,
    ProxyStarted,
    ResultsCheckpoint,
    TrafficUpdated,
    drain,
)
from ..model.folder import RunFolder, safe_name
from ..model.traffic import Caps
from .checks import ExchangeChecker, Verdict, is_soap
from .options import ProxyOptions
from .redact import Redactor
from .stats import TrafficStats
from .wire import Captured, Reader, Started, Stop

NICE = 10
TICK = 1.0                       # TrafficUpdated at most this often (s)
CHECKPOINT_MIN = 5.0             # results.json at most this often (s), more rarely when large
_ACTION = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?action\s*>\s*([^<\s]{1,100})\s*<")
AGG_FINDINGS = 5


@dataclass
class WorkerConfig:
    options: ProxyOptions
    run_dir: str
    started: str
    handlers: Sequence[Handler] = ()


@dataclass
class _Rec:
    """An exchange whose evidence is in the folder."""

    case: str
    files: list[str]
    size: int
    failing: bool


@dataclass
class _Agg:
    counts: dict[Status, int] = field(default_factory=dict)
    first: CheckResult | None = None
    first_id: str = ""
    findings: list[Any] = field(default_factory=list)
    last_pass: str = ""
    last_skip: str = ""


@dataclass
class _Case:
    key: str
    service: Any
    steps: OrderedDict[str, StepResult] = field(default_factory=OrderedDict)
    checks: dict[str, _Agg] = field(default_factory=dict)
    duration_ms: float = 0.0


@dataclass
class _Pending:
    x: Captured
    request: bytes
    response: bytes
    exchange: Exchange
    id: str


def _kind(body: bytes, soap: bool) -> str:
    """Evidence file suffix: .xml for SOAP bodies that look like XML (what `conformance
    validate RUN_DIR` re-validates), .bin for other SOAP bodies, .body for other traffic."""
    if not soap:
        return ".body"
    head = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return ".xml" if head.startswith(b"<") else ".bin"


class Recorder:
    """The engine of the recorder process (``execute`` yields its events)."""

    def __init__(self, cfg: WorkerConfig) -> None:
        from .. import __version__
        from ..catalog import load_catalog
        from ..hl7v3.services import load_services
        from ..profiles import get_profile
        from ..validate import Validator, ValidatorOptions

        self.cfg = cfg
        o = self.o = cfg.options
        self.folder = RunFolder(cfg.run_dir)
        self.profile = get_profile(o.profile)
        self.services = load_services(self.profile.id)
        self.validator = Validator(ValidatorOptions(lang=o.lang, max_bytes=max(o.max_body, 1)))
        self.catalog = load_catalog()
        self.tool = ToolStamp(name="conformance", version=__version__,
                              ruleset=self.catalog.ruleset)
        bands, self.bands_source = self._bands()
        self.checker = ExchangeChecker(self.catalog, self.services, self.validator, bands, o.lang)
        self.redactor = Redactor()
        self.caps = Caps(max_body=o.max_body, keep=o.keep, keep_bytes=o.keep_bytes,
                         backlog=o.backlog)
        self.stats = TrafficStats("", self.redactor.url(o.upstream), self.services, bands,
                                  self.bands_source, self.caps, o.fail_on)
        self.backlog: deque[_Pending] = deque()
        self.recorded: dict[str, _Rec] = {}          # evidence in the folder (also pending)
        self.recorded_bytes = 0
        self.passing: OrderedDict[str, _Rec] = OrderedDict()   # judged, in rotation order
        self.failing: OrderedDict[str, _Rec] = OrderedDict()
        self.failing_bytes = 0
        self.cases: dict[str, _Case] = {}
        self.stop: Stop | None = None
        self.eof = False
        self.listen = ""

    def _bands(self) -> tuple[list[Any], str | None]:
        from ..scoring.definition import DefinitionError, get_definition, load_definition

        ident = self.o.assessment or self.profile.default_index_system
        try:
            d = load_definition(ident) if ident.endswith((".yaml", ".yml")) else \
                get_definition(ident)
        except (DefinitionError, OSError, KeyError):
            return [], None
        return list(d.bands), d.id

    # ------------------------------------------------------------------ the loop
    def execute(self, fd: int) -> Iterator[Event]:
        reader = Reader()
        next_tick = time.monotonic() + TICK
        next_checkpoint = time.monotonic() + CHECKPOINT_MIN
        deadline: float | None = None
        while True:
            now = time.monotonic()
            wait = 0.0 if self.backlog else max(0.0, min(next_tick, next_checkpoint) - now)
            if not self.eof:
                ready, _, _ = select.select([fd], [], [], wait)
                if ready:
                    chunk = os.read(fd, 1 << 20)
                    if not chunk:
                        self.eof = True
                    for f in reader.feed(chunk):
                        yield from self._frame(f)
            elif not self.backlog:
                pass
            if (self.stop is not None or self.eof) and deadline is None:
                interrupted = self.stop is None or self.stop.interrupted
                deadline = time.monotonic() + self.o.drain_timeout if interrupted else None
                if not interrupted:
                    deadline = float("inf")
            if self.backlog:
                if deadline is not None and time.monotonic() > deadline:
                    while self.backlog:      # no time left: recorded, not validated
                        yield from self._judge(self.backlog.popleft(), validate=False)
                else:
                    yield from self._judge(self.backlog.popleft(), validate=True)
            now = time.monotonic()
            if now >= next_tick:
                next_tick = now + TICK
                yield TrafficUpdated(self.stats.snapshot())
            if deadline is not None and not self.backlog and (self.eof or self.stop is not None):
                break
            if now >= next_checkpoint:
                t0 = time.monotonic()
                yield ResultsCheckpoint(self.results(complete=False))
                spent = time.monotonic() - t0
                next_checkpoint = time.monotonic() + max(CHECKPOINT_MIN, 20 * spent)
        interrupted = self.stop is None or self.stop.interrupted
        yield TrafficUpdated(self.stats.snapshot())
        yield ProxyFinished(self.results(complete=True), interrupted=interrupted)

    def _frame(self, f: Any) -> Iterator[Event]:
        if isinstance(f, Captured):
            yield from self._capture(f)
        elif isinstance(f, Started):
            self.listen = f.listen
            self.stats.listen = f.listen
            yield ProxyStarted(run_dir=str(self.folder.path), listen=f.listen,
                               upstream=self.stats.upstream, profile=self.profile.id)
        elif isinstance(f, Stop):
            self.stop = f
            self.stats.lost += f.lost
            self.stats.in_flight = f.in_flight
            if f.command is not None:
                self.stats.command, self.stats.command_exit = f.command, f.command_exit

    # ------------------------------------------------------------------ one exchange
    def _capture(self, x: Captured) -> Iterator[Event]:
        r = self.redactor
        xid = f"{x.seq:06d}"
        req_headers = r.headers(x.request_headers)
        resp_headers = r.headers(x.response_headers)
        request, response = r.body(x.request_body), r.body(x.response_body)
        m = _ACTION.search(request[:4096])
        label = safe_name(m.group(1).decode("utf-8", "replace"), 40) if m else \
            ("soap" if x.method == "POST" else x.method.lower())
        soap = is_soap(x.method)
        folder = f"evidence/{datetime.now():%Y%m%d-%H}"
        stem = f"{folder}/{xid}-{label}"
        files: list[str] = []
        req_file = resp_file = None
        if request:
            req_file = f"{stem}.request{_kind(request, soap)}"
            files.append(req_file)
        if response:
            resp_file = f"{stem}.response{_kind(response, soap)}"
            files.append(resp_file)
        limit = self.o.max_body
        ex = Exchange(url=r.url(x.url), action=m.group(1).decode("utf-8", "replace") if m else None,
                      request_headers=req_headers, status=x.status,
                      response_headers=resp_headers, started=x.started,
                      duration_ms=x.duration_ms, error=x.error,
                      error_detail=r.text(x.error_detail) if x.error_detail else None,
                      truncated=x.request_size > limit or x.response_size > limit,
                      request_bytes=x.request_size, response_bytes=x.response_size, step=xid,
                      request_file=req_file, response_file=resp_file)
        yield ExchangeCaptured(id=xid, exchange=ex, request_body=request, response_body=response)
        self.stats.recorded += bool(files)
        self.recorded_bytes += len(request) + len(response)
        self.recorded[xid] = _Rec(case="", files=files, size=len(request) + len(response),
                                  failing=False)
        item = _Pending(x=x, request=request, response=response, exchange=ex, id=xid)
        if len(self.backlog) < self.o.backlog:
            self.backlog.append(item)
        else:
            yield from self._judge(item, validate=False)

    def _judge(self, p: _Pending, validate: bool) -> Iterator[Event]:
        if validate and self.o.validate_delay:
            time.sleep(self.o.validate_delay)
        v: Verdict = self.checker.judge(p.x, p.request, p.response, validate=validate,
                                        max_body=self.o.max_body)
        result = v.result
        failing = result in (Status.FAIL, Status.ERROR)
        unvalidated = v.soap and not validate and not v.too_large
        self.stats.add(p.x, v, failing, unvalidated)
        ex = p.exchange
        ex.case = v.service_key if v.soap else "http"
        if v.service is not None:
            ex.service = v.service.action
            if ex.action is None:
                ex.action = v.service.action
        ex.soap_version = v.soap_version
        checks = tuple(v.checks)
        key = ex.case
        case = self.cases.get(key)
        if case is None:
            case = self.cases[key] = _Case(key=key, service=v.service)
        step = StepResult(id=p.id, service=ex.service if ex.service is not UNSET else None,
                          result=result, exchange=ex, checks=list(checks))
        rec = self.recorded.get(p.id)
        if rec is not None:
            rec.case, rec.failing = key, failing
            if rec.files:
                case.steps[p.id] = step
            if failing:
                self.failing[p.id] = rec
                self.failing_bytes += rec.size
            else:
                self.passing[p.id] = rec
        case.duration_ms += p.x.duration_ms
        for c in checks:
            agg = case.checks.setdefault(c.id, _Agg())
            agg.counts[c.result] = agg.counts.get(c.result, 0) + 1
            if c.result in (Status.FAIL, Status.ERROR):
                if agg.first is None or (agg.first.result is Status.ERROR
                                         and c.result is Status.FAIL):
                    agg.first, agg.first_id = c, p.id
                if len(agg.findings) < AGG_FINDINGS:
                    agg.findings.extend(c.findings[:AGG_FINDINGS - len(agg.findings)])
            elif c.result is Status.PASS:
                agg.last_pass = c.message
            elif c.result is Status.SKIP:
                agg.last_skip = c.message
        yield ExchangeChecked(id=p.id, service=ex.service if ex.service is not UNSET else None,
                              result=result, checks=checks, exchange=ex,
                              validated=v.validated)
        yield from self._rotate()

    def _rotate(self) -> Iterator[Event]:
        """Stay within --keep / --keep-bytes: the oldest exchanges without findings go first;
        exchanges with findings only once they alone exceed the caps (an exchange still waiting
        for the validator is never removed)."""
        o = self.o
        ids: list[str] = []
        files: list[str] = []
        while len(self.recorded) > o.keep or self.recorded_bytes > o.keep_bytes:
            if self.passing:
                victim, rec = self.passing.popitem(last=False)
            elif self.failing and (len(self.failing) > o.keep
                                   or self.failing_bytes > o.keep_bytes):
                victim, rec = self.failing.popitem(last=False)
                self.failing_bytes -= rec.size
            else:
                break
            del self.recorded[victim]
            self.recorded_bytes -= rec.size
            ids.append(victim)
            files.extend(rec.files)
            if rec.files:
                self.stats.recorded -= 1
                self.stats.rotated += 1
            case = self.cases.get(rec.case)
            if case is not None:
                case.steps.pop(victim, None)
        if ids:
            yield EvidenceRotated(ids=tuple(ids), files=tuple(files))

    # ------------------------------------------------------------------ the record
    def _case(self, c: _Case) -> CaseResult:
        from ..i18n import t

        lang = self.o.lang
        checks = []
        for cid, agg in c.checks.items():
            n = sum(agg.counts.values())
            status = roll_up(s for s, k in agg.counts.items() if k)
            counts = t("proxy.counts", lang, **{("pass_" if s is Status.PASS else s.value):
                                                 agg.counts.get(s, 0) for s in
                                                 (Status.PASS, Status.FAIL, Status.ERROR,
                                                  Status.SKIP)})
            if agg.first is not None:
                message = t("proxy.check.failing", lang, n=n, counts=counts, id=agg.first_id,
                            message=agg.first.message)
                checks.append(CheckResult(id=cid, result=status, message=message,
                                          expected=agg.first.expected, actual=agg.first.actual,
                                          findings=list(agg.findings)))
            else:
                checks.append(CheckResult(id=cid, result=status, message=t(
                    "proxy.check.passing", lang, n=n, counts=counts,
                    message=agg.last_pass or agg.last_skip or "-")))
        svc = c.service
        steps = list(c.steps.values())
        title = svc.display_name(lang) if svc is not None else None
        cid = {"-": "unidentified", "http": "http"}.get(c.key, c.key)
        return CaseResult(id=cid, service=svc.action if svc is not None else None,
                          kind="workflow", title=title, suite="proxy",
                          level=svc.level if svc is not None else None,
                          result=roll_up(k.result for k in checks), checks=checks, steps=steps,
                          exchanges=[s.exchange for s in steps if s.exchange is not None],
                          duration_ms=round(c.duration_ms, 3))

    def results(self, complete: bool) -> RunResults:
        o = self.o
        cases = [self._case(c) for _, c in sorted(self.cases.items())]
        upstream = self.stats.upstream
        host = upstream.split("//", 1)[-1].split("/", 1)[0]
        return RunResults(
            tool=self.tool, kind="proxy",
            target={"name": host, "endpoint": upstream, "listen": self.listen,
                    "profile": self.profile.id, "tls": bool(o.tls_cert),
                    "upstream_tls": {"ca": o.ca, "client_cert": o.client_cert,
                                     "insecure": o.insecure} if upstream.startswith("https")
                    else None},
            profile=self.profile.id, started=self.cfg.started,
            finished=datetime.now(UTC).isoformat(timespec="seconds"), complete=complete,
            lang=o.lang,
            inputs={"service_catalog": f"services/{self.services.path.name}",
                    "assessment": self.bands_source, "fail_on": o.fail_on,
                    "caps": {"max_body": o.max_body, "keep": o.keep, "keep_bytes": o.keep_bytes,
                             "backlog": o.backlog},
                    "timeouts": {"connect": o.connect_timeout, "answer": o.timeout}},
            cases=cases, summary=RunSummary.of(cases), traffic=self.stats.snapshot())


def lower_priority() -> str:
    """Validation waits for the CPU, never traffic: the idle scheduling class where the system
    has it (the recorder runs only on CPU time nothing else wants; what it cannot validate in
    time is counted as unvalidated), else nice +10."""
    idle = getattr(os, "SCHED_IDLE", None)
    if idle is not None and os.environ.get("CONFORMANCE_PROXY_PRIORITY") != "nice":
        try:
            os.sched_setscheduler(0, idle, os.sched_param(0))
            return "idle"
        except OSError:
            pass
    with contextlib.suppress(OSError):
        os.nice(NICE)
    return "nice"


def _read_exact(fd: int, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = os.read(fd, n - len(out))
        if not chunk:
            raise EOFError("the forwarder closed the pipe before sending the configuration")
        out += chunk
    return bytes(out)


def main(fd: int) -> None:
    """Entry point of the recorder process: the first frame of the pipe is its configuration
    (pickled by the forwarder, the parent process), then the exchanges."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # the forwarder decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    lower_priority()
    n = int.from_bytes(_read_exact(fd, 4), "big")
    cfg: WorkerConfig = pickle.loads(_read_exact(fd, n))
    recorder = Recorder(cfg)
    drain(recorder.execute(fd), list(cfg.handlers))


if __name__ == "__main__":
    main(int(sys.argv[1]))
