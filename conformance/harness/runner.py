"""The scenario engine: renders each step's request, sends it, judges the answer with the step's
checks (``checks.py``), extracts variables for later steps, and says what happened as typed
events (``model.events``), in order:

    CaseStarted → (ExchangeRecorded → StepFinished)* → CaseFinished

``Runner.execute(cases)`` is a generator of those events. It never writes a file or prints: the
run folder's writers (``results.py``: case files, evidence, results.json, junit.xml) and the
console (``commands.py``) are handlers that the caller drains the events into. With ``jobs > 1``
cases run on worker threads that feed a queue the generator empties, so handlers always run on
the caller's thread, one event at a time; a case's events stay in order.

Cases are independent: each takes its records' ids from its own slot of the session's id block
(``IdPlan``), so parallel cases, resumed sessions and separate runs never register the same
patient or record twice. When the run is stopped (``stop`` set, e.g. by Ctrl-C), a running case
finishes its current step and reports the rest ``interrupted``; cases not yet started are left
out. An interrupted case is not a result: ``--resume`` runs it again.
"""

from __future__ import annotations

import queue
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import msgspec
from jinja2 import Environment, StrictUndefined
from lxml import etree

from .. import xmlsafe
from ..i18n import t
from ..model import CaseResult, CheckResult, Status, StepResult, roll_up
from ..model.events import CaseFinished, CaseStarted, Event, ExchangeRecorded, StepFinished
from . import checks as C
from .model import Case, Step
from .transport import Transport


class MessageFactory(Protocol):
    """Builds request messages and knows the services (implemented over the service catalog)."""

    def build(self, template: str, variables: dict[str, Any]) -> bytes: ...
    def response_roots(self, action: str) -> list[str]: ...
    def s_code(self, action: str) -> str | None: ...
    def request_key(self, action: str, request: etree._Element) -> str | None: ...


@dataclass
class Validators:
    message: Callable[[bytes, str], list[tuple[str, str]]]
    document: Callable[[bytes, str], list[tuple[str, str]]]


_ENV = Environment(undefined=StrictUndefined, autoescape=False)


def render_value(value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, str) and "{{" in value:
        out = _ENV.from_string(value).render(**variables)
        return out
    if isinstance(value, dict):
        return {k: render_value(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, variables) for v in value]
    return value


def apply_mutations(message: bytes, mutations: list[dict[str, Any]]) -> bytes:
    """Break a request on purpose (negative cases): remove nodes, set attributes or text."""
    if not mutations:
        return message
    root = xmlsafe.parse_bytes(message)
    for m in mutations:
        if "remove" in m:
            for node in root.xpath(m["remove"], namespaces=C.NS):
                if isinstance(node, etree._Element) and node.getparent() is not None:
                    node.getparent().remove(node)
                elif hasattr(node, "getparent") and node.attrname:  # attribute result
                    del node.getparent().attrib[node.attrname]
        elif "set" in m:
            spec = m["set"]
            for node in root.xpath(spec["path"], namespaces=C.NS):
                if isinstance(node, etree._Element):
                    node.text = str(spec["value"])
                elif getattr(node, "attrname", None):
                    node.getparent().set(node.attrname, str(spec["value"]))
        else:
            raise ValueError(f"unknown mutation {m!r}: use remove or set")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# ---------------------------------------------------------------------------------- ids
@dataclass(frozen=True)
class IdPlan:
    """Where one session of a run takes the ids of the records it registers.

    The synthetic data of a case derive from an integer ``index`` (patient ``P<index>``, record
    keys ``<ENTITY><index>``, the document's person …). A session draws a ``block`` and case
    ``n`` uses the indexes ``block × BLOCK + n × 10 …+9`` (a merge partner ``+500000``); blocks
    are 7-digit numbers drawn at random (one of 9 million: two runs share one with a chance of
    about 1 in 10^7), never one an earlier session of the same run used. With a ``seed`` the
    blocks, the case uids and the message ids are reproducible: session ``k`` of a run seeded
    ``s`` draws the same as session ``k`` of any other run seeded ``s`` (so two runs with one
    seed against one persistent platform collide, on purpose)."""

    block: int
    session: int = 0
    seed: int | None = None

    BLOCK = 1_000_000
    LOW, HIGH = 1_000_000, 10_000_000

    @property
    def base(self) -> int:
        return self.block * self.BLOCK

    @classmethod
    def draw(cls, seed: int | None = None, session: int = 0,
             taken: Sequence[int] = ()) -> IdPlan:
        rng = random.Random(f"ids:{seed}:{session}") if seed is not None else secrets.SystemRandom()
        while True:
            block = rng.randrange(cls.LOW, cls.HIGH)
            if block not in taken:
                return cls(block=block, session=session, seed=seed)

    def case_rng(self, case_id: str) -> random.Random:
        """The source of a case's uids and message ids (reproducible with a seed)."""
        if self.seed is None:
            return random.Random(secrets.randbits(128))
        return random.Random(f"case:{self.seed}:{self.session}:{case_id}")

    def index(self, case_index: int) -> int:
        if not 0 <= case_index * 10 < self.BLOCK // 2:
            raise ValueError(f"case index {case_index} outside the id block")
        return self.base + case_index * 10


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


# ---------------------------------------------------------------------------------- engine


class _Done:
    pass


@dataclass
class _Failed:
    error: BaseException


class Runner:
    def __init__(self, transport: Transport, factory: MessageFactory, validators: Validators,
                 *, lang: str = "zh", jobs: int = 1, ids: IdPlan | None = None,
                 run_id: str = "", base_vars: dict[str, Any] | None = None,
                 stop: threading.Event | None = None) -> None:
        self.transport, self.factory, self.validators = transport, factory, validators
        self.lang, self.jobs = lang, max(1, jobs)
        self.ids = ids or IdPlan.draw()
        self.run_id = run_id
        self.base_vars = base_vars or {}
        self.stop_event = stop or threading.Event()

    def stop(self) -> None:
        self.stop_event.set()

    @property
    def stopped(self) -> bool:
        return self.stop_event.is_set()

    # ------------------------------------------------------------------ a whole run
    def execute(self, cases: Sequence[tuple[int, Case]]) -> Iterator[Event]:
        """The events of running ``cases`` (``(index, case)`` pairs), in order per case."""
        if self.jobs == 1 or len(cases) <= 1:
            for index, case in cases:
                if self.stopped:
                    return
                yield from self.run_case(case, index)
            return
        yield from self._parallel(cases)

    def _parallel(self, cases: Sequence[tuple[int, Case]]) -> Iterator[Event]:
        events: queue.SimpleQueue[Event | _Done | _Failed] = queue.SimpleQueue()
        todo = iter(cases)
        lock = threading.Lock()
        abort = threading.Event()           # the consumer went away: finish quietly

        def work() -> None:
            try:
                while not self.stopped and not abort.is_set():
                    with lock:
                        item = next(todo, None)
                    if item is None:
                        break
                    for event in self.run_case(item[1], item[0]):
                        events.put(event)
            except BaseException as exc:  # handed to the consumer, which re-raises it
                events.put(_Failed(exc))
            finally:
                events.put(_Done())

        workers = [threading.Thread(target=work, name=f"case-{n}", daemon=True)
                   for n in range(min(self.jobs, len(cases)))]
        for w in workers:
            w.start()
        running = len(workers)
        try:
            while running:
                item = events.get()
                if isinstance(item, _Done):
                    running -= 1
                elif isinstance(item, _Failed):
                    self.stop()
                    raise item.error
                else:
                    yield item
        finally:
            if running:
                abort.set()
                self.stop()
            for w in workers:
                w.join()

    # ------------------------------------------------------------------ one case
    def case_vars(self, case: Case, index: int, rng: random.Random) -> dict[str, Any]:
        now = datetime.now(UTC) + timedelta(hours=8)  # China Standard Time, as platforms log
        v: dict[str, Any] = dict(self.base_vars)
        v.update({"case_id": case.id, "case_index": index, "run_id": self.run_id,
                  "index": self.ids.index(index), "index_base": self.ids.base,
                  "now": now.strftime("%Y%m%d%H%M%S"), "today": now.strftime("%Y%m%d"),
                  "uid": _hex(rng, 12)})
        v.update(render_value(case.vars, v))
        return v

    def run_case(self, case: Case, index: int) -> Iterator[Event]:
        """The events of one case; nothing when the run was stopped before it began."""
        if self.stopped:
            return
        yield CaseStarted(case=case.id, service=case.service)
        t0 = time.perf_counter()
        rng = self.ids.case_rng(case.id)
        variables = self.case_vars(case, index, rng)
        steps: list[StepResult] = []
        checks: list[CheckResult] = []
        exchanges = []
        setup_failed = False
        for n, step in enumerate(case.steps, start=1):
            if setup_failed or self.stopped:
                status = Status.SKIP if setup_failed else Status.INTERRUPTED
                why = t("run.step.setup_failed" if setup_failed else "run.step.interrupted", self.lang)
                steps.append(StepResult(id=step.id, service=step.service, result=status))
                checks.append(CheckResult(id=f"{step.id}/step", result=status, message=why))
                continue
            step_result, step_checks, wire = self.run_step(case, step, n, variables, rng)
            steps.append(step_result)
            checks.extend(msgspec.structs.replace(c, id=f"{step.id}/{c.id}") for c in step_checks)
            if wire is not None and step_result.exchange is not None:
                exchanges.append(step_result.exchange)
                yield ExchangeRecorded(case=case.id, step=step.id, exchange=step_result.exchange,
                                       request_body=wire.request_body,
                                       response_body=wire.response_body)
            yield StepFinished(case=case.id, step=step.id, result=step_result.result,
                               exchange=step_result.exchange)
            if step.setup and step_result.result is not Status.PASS:
                setup_failed = True
        result = roll_up(s.result for s in steps)
        if setup_failed and result is Status.FAIL:
            result = Status.ERROR  # the case could not be judged: its preparation failed
        yield CaseFinished(case=CaseResult(
            id=case.id, service=case.service, kind=case.kind, title=case.title, suite=case.suite,
            level=case.level, result=result, checks=checks, steps=steps, exchanges=exchanges,
            duration_ms=round((time.perf_counter() - t0) * 1000, 3)))

    def run_step(self, case: Case, step: Step, n: int, variables: dict[str, Any],
                 rng: random.Random) -> tuple[StepResult, list[CheckResult], Any]:
        kind = "negative" if case.kind == "negative" and not step.setup else "positive"
        variables["msg_id"] = _hex(rng, 32)
        try:
            step_vars = dict(variables)
            step_vars.update(render_value(step.vars, variables))
            message = self.factory.build(step.message, step_vars)
            message = apply_mutations(message, render_value(step.mutate, step_vars))
            check_objs = step.check_objects(kind)
        except Exception as exc:  # a scenario defect: say so, never crash the run
            return (StepResult(id=step.id, service=step.service, result=Status.ERROR),
                    [CheckResult(id="build", result=Status.ERROR,
                                 message=f"cannot build the request: {type(exc).__name__}: {exc}")],
                    None)
        request_root = xmlsafe.parse_bytes(message)
        for var, path in step.extract_request.items():
            variables[var] = xpath_value(request_root, path)
        if step.extract_key:
            variables[step.extract_key] = self.factory.request_key(step.service, request_root)
        wire, reply = self.transport.send(step.service, message,
                                          s_code=self.factory.s_code(step.service))
        folder = f"evidence/{file_stem(case.id)}"
        stem = f"{n:02d}-{file_stem(step.id)}"
        exchange = wire.record(step=step.id, case=case.id,
                               request_file=f"{folder}/{stem}.request.xml",
                               response_file=f"{folder}/{stem}.response.xml")
        ctx = C.StepContext(exchange=wire, reply=reply, request=request_root, kind=kind,
                            expect=step.expect, variables=variables,
                            validate_message=self.validators.message,
                            validate_document=self.validators.document, lang=self.lang,
                            response_roots=self.factory.response_roots(step.service))
        results = [c.evaluate(ctx) for c in check_objs]
        if reply is not None and reply.message is not None:
            for var, path in step.extract.items():
                found = xpath_value(reply.message, path)
                if found not in (None, ""):
                    variables[var] = found
        for key, value in ctx.notes.items():
            variables[f"{step.id}_{key}"] = value
        return (StepResult(id=step.id, service=step.service,
                           result=roll_up(r.result for r in results), exchange=exchange),
                results, wire)


def xpath_value(root: etree._Element, path: str) -> str | None:
    """First value an XPath yields (string, number or node text): what steps extract."""
    try:
        found = root.xpath(path, namespaces=C.NS)
    except etree.XPathError:
        return None
    if isinstance(found, list):
        if not found:
            return None
        first = found[0]
        return str(first) if isinstance(first, str) else "".join(first.itertext())
    return None if found is None else (str(int(found)) if isinstance(found, float)
                                       and found.is_integer() else str(found))


def file_stem(name: str) -> str:
    """A case or step id as a file name (cases/<id>.json, evidence/<case>/<n>-<step>.*)."""
    return "".join(ch if ch.isalnum() or ch in "-_.（）" else "_" for ch in name)[:120]
