"""The built-in load engine: asyncio + aiohttp on one thread (one core), closed and open models.

Closed model — N virtual users, each looping: pick a transaction by weight, send its steps one
after the other, think (uniform in the mix's think time), again. Users start evenly over the
ramp. Latency is from the send to the last byte of the answer.

Open model — transactions ARRIVE at a fixed rate whatever the platform does (the rate rises
linearly during the ramp; ``arrivals="poisson"`` draws exponential gaps instead of even ones).
Each arrival has an intended send time and the latency of its first step is measured from THAT
time, not from when the request actually left: if the platform stalls, or an in-flight cap makes
requests queue, the waiting is in the figures (no coordinated omission). The service time (from
the actual send) is reported next to it.

Both stop at the step's deadline (ramp + duration) no matter what: requests still running are
cancelled and counted as ``unfinished`` with the age of the oldest.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from ..errors import ConformanceError
from ..harness.target import Target
from ..model.perf import LoadStep, SeriesPoint, Stats
from .classify import classify
from .monitor import TICK_S, Watch, judge, machine_saturated
from .recorder import Recorder
from .workload import DataContext, Request, SetupError, Workload, ssl_context


@dataclass
class StepSpec:
    users: int | None = None          # closed model
    rate: float | None = None         # open model (transactions per second)
    ramp: float = 0.0
    duration: float = 10.0
    think: tuple[float, float] = (0.0, 0.0)
    arrivals: str = "constant"        # open model: constant | poisson
    max_inflight: int = 10_000        # open model: requests in flight at most (then they queue)

    @property
    def model(self) -> str:
        return "open" if self.rate is not None else "closed"


class PrepareError(ConformanceError):
    def __init__(self, message: str, done: int) -> None:
        super().__init__(message)
        self.done = done


class AioClient:
    """One aiohttp session for a target: keep-alive pool, timeouts, size limit, error kinds.

    The connect and read timeouts bound one connect and one read; the target's overall deadline
    (``Target.deadline``) bounds the whole request and its answer, as in the harness's transport:
    beyond it the request is ``timeout-total`` (a platform dripping its answer a byte at a time
    cannot hold a virtual user)."""

    def __init__(self, target: Target, limit: int = 0) -> None:
        self.target = target
        self.limit = limit
        self.session: aiohttp.ClientSession | None = None
        # parsed once, not per request (requests share their URL and header objects)
        self._urls: dict[str, URL] = {}
        self._headers: dict[int, tuple[dict[str, str], CIMultiDict[str]]] = {}

    async def start(self) -> None:
        t = self.target
        connector = aiohttp.TCPConnector(limit=self.limit, ssl=ssl_context(t) or False,
                                         ttl_dns_cache=300)
        self.session = aiohttp.ClientSession(
            connector=connector, trust_env=False, cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=t.connect_timeout,
                                          sock_read=t.read_timeout))

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def send(self, req: Request) -> tuple[int | None, bytes, str | None, str | None]:
        """(status, body, error kind, error detail) — never raises for network trouble."""
        seconds = self.target.deadline
        try:
            async with asyncio.timeout(seconds):
                return await self._send(req)
        except TimeoutError:  # the deadline's (a read timeout is answered inside)
            return None, b"", "timeout-total", (f"no complete answer within {seconds:g} s, the "
                                                f"request's overall deadline (timeouts.total)")

    async def _send(self, req: Request) -> tuple[int | None, bytes, str | None, str | None]:
        assert self.session is not None
        cap = self.target.max_response_bytes
        try:
            url = self._urls.get(req.url)
            if url is None:
                url = self._urls[req.url] = URL(req.url)
            cached = self._headers.get(id(req.headers))
            if cached is None or cached[0] is not req.headers:
                cached = self._headers[id(req.headers)] = (req.headers, CIMultiDict(req.headers))
            headers = cached[1]
            async with self.session.post(url, data=req.body, headers=headers) as r:
                length = r.content_length
                if length is not None:          # the usual case: read it in one go
                    if length > cap:
                        return r.status, b"", "too-large", f"response exceeds {cap} bytes"
                    return r.status, await r.read(), None, None
                chunks, size = [], 0            # chunked: count as it comes
                while True:
                    chunk = await r.content.readany()
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > cap:
                        return r.status, b"", "too-large", f"response exceeds {cap} bytes"
                    chunks.append(chunk)
                return r.status, b"".join(chunks), None, None
        except aiohttp.ConnectionTimeoutError as exc:
            return None, b"", "timeout-connect", str(exc)
        except (aiohttp.SocketTimeoutError, aiohttp.ServerTimeoutError, TimeoutError) as exc:
            return None, b"", "timeout-read", str(exc)
        except aiohttp.ClientConnectorDNSError as exc:
            return None, b"", "dns", str(exc)
        except aiohttp.ClientSSLError as exc:
            return None, b"", "tls", str(exc)
        except aiohttp.ClientConnectorError as exc:
            kind = "refused" if isinstance(exc.os_error, ConnectionRefusedError) else "connection"
            return None, b"", kind, str(exc)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError,
                aiohttp.ClientOSError, ConnectionResetError) as exc:
            return None, b"", "reset", str(exc) or type(exc).__name__
        except aiohttp.ClientError as exc:
            return None, b"", "http", f"{type(exc).__name__}: {exc}"


class Engine:
    """Runs steps of one workload against one target in the current thread's event loop."""

    def __init__(self, workload: Workload, *, seed: int = 0, tag: str = "p",
                 log: Callable[[str], None] | None = None) -> None:
        self.workload = workload
        self.target = workload.target
        self.seed = seed
        self.tag = f"{workload.run_token}{tag}"
        self.log = log or (lambda s: None)
        self.client: AioClient | None = None
        self.step_no = 0

    # ------------------------------------------------------------------ data preparation
    async def prepare(self, n: int, *, concurrency: int = 16, timeout: float = 120.0,
                      offset: int = 0) -> list[DataContext]:
        """Data contexts offset … offset+n-1 (setup steps sent, verdicts checked)."""
        assert self.client is not None
        sem = asyncio.Semaphore(concurrency)
        done: list[DataContext] = []

        async def one(i: int) -> DataContext:
            async with sem:
                gen = self.workload.prepare(offset + i)
                try:
                    req = next(gen)
                    while True:
                        status, body, err, _detail = await client.send(req)
                        req = gen.send(classify(status, body, err, req.expect))
                except StopIteration as stop:
                    done.append(stop.value)
                    return stop.value

        client = self.client
        tasks = [asyncio.ensure_future(one(i)) for i in range(n)]
        try:
            return list(await asyncio.wait_for(asyncio.gather(*tasks), timeout))
        except TimeoutError:
            raise PrepareError(f"not done within {timeout:g} s", len(done)) from None
        except SetupError as exc:
            raise PrepareError(str(exc), len(done)) from None
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ steps
    async def run_step(self, spec: StepSpec, contexts: list[DataContext]) -> LoadStep:
        self.step_no += 1    # in the ids: steps reuse the data contexts, never their fresh keys
        if spec.rate is not None:
            rec, watch, started = await self._open(spec, contexts)
        else:
            rec, watch, started = await self._closed(spec, contexts)
        return step_result(rec, watch.summary(open_model=spec.rate is not None), spec, started,
                           engine="builtin")

    async def _monitor(self, watch: Watch, rec: Recorder, active: Callable[[], int]) -> None:
        loop = asyncio.get_running_loop()
        watch.start()
        current = int(time.time())
        try:
            while True:
                expected = loop.time() + TICK_S
                await asyncio.sleep(TICK_S)
                watch.tick(loop.time() - expected)
                if int(time.time()) != current:   # a wall-clock second is complete
                    rec.sample(current + 0.5, **watch.second(), users=float(active()))
                    current = int(time.time())
        finally:
            rec.sample(current + 0.5, **watch.second(), users=float(active()))

    async def _closed(self, spec: StepSpec, contexts: list[DataContext]
                      ) -> tuple[Recorder, Watch, float]:
        assert self.client is not None and spec.users
        loop = asyncio.get_running_loop()
        client = self.client
        users = int(spec.users)
        wall0, mono0 = time.time(), loop.time()
        deadline = mono0 + spec.ramp + spec.duration
        rec = Recorder(wall0, steady_from=spec.ramp)
        watch = Watch(steady_from_wall=wall0 + spec.ramp)
        inflight: dict[int, float] = {}
        active = [0]
        lo, hi = spec.think
        pick = self.workload.pick

        async def vu(v: int) -> None:
            start = mono0 + (spec.ramp * v / users)
            if start > loop.time():
                await asyncio.sleep(start - loop.time())
            active[0] += 1
            rng = random.Random(self.seed * 1_000_003 + v)
            ctx = contexts[v % len(contexts)]
            seq = 0
            while loop.time() < deadline:
                seq += 1
                for req in ctx.iteration(pick(rng), f"{self.tag}s{self.step_no}-{v}-{seq}"):
                    t_send = loop.time()
                    inflight[v] = t_send
                    status, body, err, _ = await client.send(req)
                    t_end = loop.time()
                    del inflight[v]
                    verdict = classify(status, body, err, req.expect)
                    rec.record(req.service, wall0 + (t_end - mono0), t_end - t_send, verdict.kind,
                               verdict.detail)
                    if not verdict.ok:
                        break
                think = rng.uniform(lo, hi) if hi > 0 else 0.0
                left = deadline - loop.time()
                if think > 0 and left > 0:
                    await asyncio.sleep(min(think, left))

        mon = asyncio.ensure_future(self._monitor(watch, rec, lambda: active[0]))
        tasks = [asyncio.ensure_future(vu(v)) for v in range(users)]
        await asyncio.sleep(max(0.0, deadline - loop.time()))
        await _wind_down(rec, inflight, list(tasks), mon, loop.time())
        return rec, watch, wall0

    async def _open(self, spec: StepSpec, contexts: list[DataContext]
                    ) -> tuple[Recorder, Watch, float]:
        assert self.client is not None and spec.rate
        loop = asyncio.get_running_loop()
        client = self.client
        rate, ramp = float(spec.rate), spec.ramp
        wall0, mono0 = time.time(), loop.time()
        deadline = mono0 + ramp + spec.duration
        rec = Recorder(wall0, steady_from=ramp)
        watch = Watch(steady_from_wall=wall0 + ramp)
        sem = asyncio.Semaphore(spec.max_inflight)
        waiting: dict[int, float] = {}          # arrival → intended time, until it completes
        rng = random.Random(self.seed)
        pick = self.workload.pick

        async def one(k: int, intended: float) -> None:
            waiting[k] = intended
            capped = sem.locked()
            async with sem:
                ctx = contexts[k % len(contexts)]
                first = True
                for req in ctx.iteration(pick(rng), f"{self.tag}s{self.step_no}-o{k}"):
                    t_send = loop.time()
                    if first and not capped:
                        watch.send_lags.append(t_send - intended)
                    status, body, err, _ = await client.send(req)
                    t_end = loop.time()
                    verdict = classify(status, body, err, req.expect)
                    start = intended if first else t_send
                    rec.record(req.service, wall0 + (t_end - mono0), t_end - start, verdict.kind,
                               verdict.detail, service_time_s=t_end - t_send)
                    first = False
                    if not verdict.ok:
                        break
            waiting.pop(k, None)

        mon = asyncio.ensure_future(self._monitor(watch, rec, lambda: len(waiting)))
        tasks: set[asyncio.Future[Any]] = set()
        arrivals = _arrivals(rate, ramp, spec.arrivals, random.Random(self.seed + 1))
        for k, offset in enumerate(arrivals):
            intended = mono0 + offset
            if intended >= deadline:
                break
            delay = intended - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.ensure_future(one(k, intended))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.sleep(max(0.0, deadline - loop.time()))
        await _wind_down(rec, waiting, list(tasks), mon, loop.time())
        return rec, watch, wall0


async def _wind_down(rec: Any, pending: dict[Any, float], tasks: list[asyncio.Task],
                     mon: asyncio.Task, now: float) -> None:
    """End a measured step: record what was still in flight (and since when), cancel the
    users or arrivals and the monitor, and wait for them to go."""
    rec.unfinished = len(pending)
    rec.unfinished_oldest_s = max((now - t for t in pending.values()), default=0.0)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    mon.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await mon


def _arrivals(rate: float, ramp: float, kind: str, rng: random.Random):  # noqa: ANN202
    """Offsets (seconds from the step start) of the arrivals: the rate rises linearly from 0 to
    ``rate`` over ``ramp`` seconds, then stays; even gaps or exponential (Poisson) ones."""
    if kind == "poisson":
        t = 0.0
        while True:
            current = rate * min(1.0, t / ramp) if ramp > 0 else rate
            t += rng.expovariate(max(current, rate * 0.01))
            yield t
    ramp_n = rate * ramp / 2.0          # arrivals during the ramp: ∫ rate·t/ramp dt
    k = 0
    while True:
        if ramp > 0 and k < ramp_n:
            yield math.sqrt(2.0 * ramp * k / rate)
        else:
            yield ramp + (k - ramp_n) / rate
        k += 1


def step_result(rec: Recorder, gen: dict[str, Any], spec: StepSpec, started_wall: float, *,
                engine: str, workers: int | None = None) -> LoadStep:
    """One perf.json step from a recorder and the generator's self-watch."""
    s = rec.summary(spec.duration)
    reasons = judge(gen)
    services = {k: Stats(**v) for k, v in s.pop("services").items()}
    if spec.model == "closed":
        mode: dict[str, Any] = {"think_time_s": list(spec.think)}
    else:
        mode = {"arrivals": spec.arrivals, "max_inflight": spec.max_inflight}
    if workers is not None:
        mode["workers"] = workers
    return LoadStep(
        users=spec.users, rate=spec.rate, model=spec.model, engine=engine,
        started=datetime.fromtimestamp(started_wall, UTC).isoformat(timespec="seconds"),
        ramp_s=spec.ramp, duration_s=spec.duration, **mode, **s, services=services,
        generator={**gen, "reasons": reasons}, generator_saturated=bool(reasons),
        machine_saturated=machine_saturated(gen),
        series=[SeriesPoint(**p) for p in rec.series(started_wall,
                                                      started_wall + spec.ramp + spec.duration)])
