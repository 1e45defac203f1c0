"""From a mix to the bytes on the wire: per-virtual-user data contexts and request templates.

Engine-neutral (no I/O here): preparing a context is a generator that yields the setup requests
and receives their verdicts, so the asyncio engine (``await``) and the Locust user (gevent,
blocking calls) drive the very same preparation:

    gen = workload.prepare(n)
    req = next(gen)
    while True:
        verdict = classify(*send(req))           # however the engine sends
        try:
            req = gen.send(verdict)
        except StopIteration as stop:
            context = stop.value
            break

A prepared context holds, per transaction, the complete SOAP envelope of every measured step.
Each send replaces the message id (and, for steps that add a record, the business key — in all
the steps of that transaction) by byte substitution: microseconds per request, so the generator
spends its CPU on sending and judging, not on rendering templates.
"""

from __future__ import annotations

import base64
import random
import ssl
import uuid
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import xmlsafe
from ..errors import ConformanceError
from ..harness.runner import render_value, xpath_value
from ..harness.session import CatalogFactory
from ..harness.target import Target
from ..harness.transport import envelope, wsse_header
from ..hl7v3.builder import MessageBuilder, soap_headers
from ..hl7v3.services import ServiceCatalog, load_services
from .classify import Verdict
from .mix import Mix, Transaction

CONTEXTS_PER_WORKER = 100_000
SETUP_RETRIES = 4
TRANSIENT = ("timeout", "connection", "http", "soap_fault")


class SetupError(ConformanceError):
    """A setup step of a virtual user did not succeed (the platform refused the preparation)."""


@dataclass(slots=True)
class Request:
    service: str
    step: str
    url: str
    body: bytes
    headers: dict[str, str]
    expect: tuple[str, ...]


class Wire:
    """SOAP envelopes and headers for one target (the harness Transport's conventions)."""

    def __init__(self, target: Target, namespace: str, services: ServiceCatalog) -> None:
        self.target, self.namespace, self.services = target, namespace, services
        self.header = ""
        if target.auth.get("type") == "wsse":
            self.header = wsse_header(str(target.auth.get("username", "")),
                                      str(target.auth.get("password", "")))
        headers = soap_headers(target.soap_version, f"{namespace.rstrip('/')}/HIPMessageServer")
        headers.update(target.headers)
        if target.auth.get("type") == "basic":
            token = f"{target.auth.get('username', '')}:{target.auth.get('password', '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode("ascii")
        self.headers = headers

    def wire_action(self, action: str) -> str:
        t = self.target
        svc = self.services.get(action)
        if t.action_style == "s-code" and svc is not None and svc.s_code:
            return svc.s_code
        if t.action_style == "custom":
            return t.action_map.get(action, action)
        return action

    def request(self, action: str, step: str, message: bytes, expect: tuple[str, ...]) -> Request:
        t = self.target
        body = envelope(message, self.wire_action(action), soap_version=t.soap_version,
                        wrap=t.wrap, namespace=self.namespace, header=self.header)
        return Request(action, step, t.url_for(action), body, self.headers, expect)


@dataclass(slots=True)
class StepTemplate:
    request: Request
    message_id: bytes                 # quoted, as it appears in the body
    fresh_key: bytes | None = None    # quoted business key to renew on each send


@dataclass
class PreparedTransaction:
    tx: Transaction
    steps: list[StepTemplate]


@dataclass
class DataContext:
    number: int
    transactions: list[PreparedTransaction] = field(default_factory=list)

    def iteration(self, t: int, tag: str) -> list[Request]:
        """The requests of transaction t for one execution; ``tag`` makes ids unique."""
        prepared = self.transactions[t]
        subs = [(s.fresh_key, s.fresh_key[:-1] + b"-" + tag.encode() + b'"')
                for s in prepared.steps if s.fresh_key]
        out = []
        for k, s in enumerate(prepared.steps):
            r = s.request
            body = r.body.replace(s.message_id, f'"{tag}-{k}"'.encode())
            for old, new in subs:
                body = body.replace(old, new)
            out.append(Request(r.service, r.step, r.url, body, r.headers, r.expect))
        return out


def ssl_context(target: Target) -> ssl.SSLContext | None:
    tls = target.tls
    if not any(u.startswith("https:") for u in [target.endpoint, *target.endpoints.values()]):
        return None
    ctx = ssl.create_default_context(cafile=tls.get("ca_bundle") or None)
    if tls.get("verify") is False:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls.get("client_cert"):
        ctx.load_cert_chain(tls["client_cert"], tls.get("client_key") or None)
    return ctx


def build_step(factory: CatalogFactory, step: Any, variables: dict[str, Any],
               msg_id: str) -> tuple[bytes, str | None]:
    """The request of one step and its request key: its variables rendered over the
    transaction's, the message built, and what later steps need from it (extract_request, the
    request key) stored back into ``variables``."""
    step_vars = dict(variables)
    step_vars.update(render_value(step.vars, variables))
    step_vars["msg_id"] = msg_id
    message = factory.build(step.message, step_vars)
    root = xmlsafe.parse_bytes(message)
    for var, path in step.extract_request.items():
        variables[var] = xpath_value(root, path)
    key = factory.request_key(step.service, root)
    if step.extract_key:
        variables[step.extract_key] = key
    return message, key


def run_base(now: float | None = None) -> int:
    """A run-specific base for the synthetic-data indexes, so that runs against a persistent
    platform do not collide with the records of earlier runs."""
    import time

    return (int(now if now is not None else time.time()) % 1_000_000) * 1_000_000_000


class Workload:
    """One mix over one target: prepares data contexts and picks transactions by weight."""

    def __init__(self, mix: Mix, target: Target, namespace: str, *, base: int | None = None,
                 worker: int = 0, run_id: str = "perf") -> None:
        self.mix, self.target = mix, target
        self.services = load_services(target.profile)
        self.builder = MessageBuilder(target.profile, self.services)
        self.factory = CatalogFactory(self.builder)
        self.wire = Wire(target, namespace, self.services)
        self.base = run_base() if base is None else base
        self.worker = worker
        self.run_id = run_id
        self.weights = [t.weight for t in mix.transactions]
        self.run_token = uuid.uuid4().hex[:8]
        for t in mix.transactions:
            for s in t.steps:
                if self.services.get(s.service) is None:
                    raise SetupError(f"{mix.path}: transaction {t.id}: unknown service "
                                     f"{s.service!r} for profile {target.profile}")

    def warm_up(self) -> None:
        """Load catalogs, templates and the document synthesizer before the clock starts."""
        seen: set[str] = set()
        for tx in self.mix.transactions:
            for s in tx.steps:
                if s.message not in seen:
                    seen.add(s.message)
                    self.builder.build_request(s.message, {"index": 1})

    def index(self, context: int, t: int) -> int:
        n = len(self.mix.transactions)
        return self.base + ((self.worker * CONTEXTS_PER_WORKER + context) * n + t) * 10

    def pick(self, rng: random.Random) -> int:
        return rng.choices(range(len(self.weights)), weights=self.weights)[0]

    def _vars(self, context: int, t: int, tx: Transaction) -> dict[str, Any]:
        now = datetime.now(UTC) + timedelta(hours=8)  # China Standard Time, as platforms log
        v: dict[str, Any] = {"case_id": tx.scenario or tx.id, "case_index": context,
                             "run_id": self.run_id, "index": self.index(context, t),
                             "now": now.strftime("%Y%m%d%H%M%S"), "today": now.strftime("%Y%m%d"),
                             "uid": uuid.uuid4().hex[:12], "index_base": self.base}
        v.update(render_value(tx.vars, v))
        return v

    def prepare(self, context: int) -> Generator[Request, Verdict, DataContext]:
        ctx = DataContext(context)
        for t, tx in enumerate(self.mix.transactions):
            variables = self._vars(context, t, tx)
            templates: list[StepTemplate] = []
            for k, step in enumerate(tx.steps):
                mid = f"{self.run_token}w{self.worker}c{context}t{t}s{k}"
                message, key = build_step(self.factory, step, variables, mid)
                expect = tuple(step.expect.get("ack") or ("AA",))
                req = self.wire.request(step.service, step.id, message, expect)
                if step.setup:
                    verdict = yield req
                    for _ in range(SETUP_RETRIES):   # a transient failure is tried again
                        if verdict.kind not in TRANSIENT:
                            break
                        verdict = yield req
                    if not verdict.ok:
                        raise SetupError(f"{tx.id}/{step.id} ({step.service}): {verdict.kind}"
                                         f" ({verdict.detail})")
                    if verdict.message is not None:
                        for var, path in step.extract.items():
                            found = xpath_value(verdict.message, path)
                            if found not in (None, ""):
                                variables[var] = found
                    continue
                quoted = f'"{mid}"'.encode()
                if quoted not in req.body:
                    raise SetupError(f"{tx.id}/{step.id}: the message id is not in the request")
                svc = self.services.get(step.service)
                fresh = None
                if svc is not None and svc.kind == "write" and svc.op == "add" and key:
                    q = f'"{key}"'.encode()
                    fresh = q if q in req.body else None
                templates.append(StepTemplate(req, quoted, fresh))
            ctx.transactions.append(PreparedTransaction(tx, templates))
        return ctx
