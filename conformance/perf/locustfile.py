"""Locust user class driven by the project's load mixes — for load beyond one machine.

Locust's distributed mode (one master, N workers, each a process, possibly on other machines)
runs THIS file; ``conformance perf --engine locust`` starts the processes and merges the results,
``conformance perf-worker`` starts a worker on another machine. Locust patches the standard
library with gevent, so this file only ever runs in Locust's own processes, never in the process
of the ``conformance`` command.

Custom Locust arguments:

  --conformance-plan FILE   target, profile and mix (read by each process from ITS disk: a remote
                            worker passes its own copy; secrets stay in its ${ENV:…} config)
  --conformance-run JSON    run parameters (think time, ramp, data base): set on the master and
                            forwarded by Locust to every worker
  --conformance-out FILE    master only: where the workers' reports are appended (JSON lines)

Each virtual user prepares its own data context on start (the mix's setup steps — not measured),
then loops over the mix's transactions with think time. Every exchange is timed with
``perf_counter`` around the request and judged with the same classifier as the built-in engine;
the worker records into HDR histograms and sends them, drained, to the master once a second and
when the test stops (custom message ``conformance_rec``). Locust's own statistics still work (the
web UI, --csv) but the figures of perf.json come from these exact histograms.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import socket
import ssl
import time
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, events, task
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner

from conformance.harness.target import Target, load_target
from conformance.perf.classify import Verdict, classify
from conformance.perf.distributed import PLAN_URL_ENV
from conformance.perf.mix import load_mix
from conformance.perf.monitor import TICK_S, Watch
from conformance.perf.recorder import Recorder
from conformance.perf.workload import Request, SetupError, Workload, run_base, ssl_context

MESSAGE = "conformance_rec"
STATE: dict[str, Any] = {}


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument("--conformance-plan", default="", help="conformance: plan file (target, mix)")
    parser.add_argument("--conformance-run", default="{}", help="conformance: run parameters (JSON)")
    parser.add_argument("--conformance-out", default="", help="conformance: master's output file")


def _target(plan: dict[str, Any]) -> Target:
    t = load_target(plan["config"]) if plan.get("config") else Target(name=plan.get("name") or "target")
    url = os.environ.get(PLAN_URL_ENV) or plan.get("url")   # the plan file holds it masked
    if url:
        t.endpoint = url
    t.profile = plan.get("profile") or t.profile
    if plan.get("soap_version"):
        t.soap_version = plan["soap_version"]
    if plan.get("read_timeout"):
        t.read_timeout = float(plan["read_timeout"])
    if plan.get("total_timeout"):
        t.total_timeout = float(plan["total_timeout"])
    return t


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError | gevent.Timeout):
        return "timeout-read"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "reset"
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, ssl.SSLError):
        return "tls"
    name = type(exc).__name__.lower()
    if "timeout" in name:
        return "timeout-read"
    if "closed" in name or "reset" in name:
        return "reset"
    return "connection"


@events.init.add_listener
def _init(environment: Any, **_kw: Any) -> None:
    opts = environment.parsed_options
    runner = environment.runner
    if opts is None or not getattr(opts, "conformance_plan", ""):
        return
    plan = json.loads(Path(opts.conformance_plan).read_text(encoding="utf-8"))
    STATE["plan"] = plan
    target = _target(plan)
    STATE["target"] = target
    # requests carry absolute URLs (per-service endpoints); the host is Locust's bookkeeping
    ConformanceUser.host = (target.endpoint or next(iter(target.endpoints.values()), "")).rstrip("/")
    ConformanceUser.connection_timeout = target.connect_timeout
    ConformanceUser.network_timeout = target.read_timeout
    ConformanceUser.insecure = target.tls.get("verify") is False
    if target.endpoint.startswith("https:") and not ConformanceUser.insecure:
        ConformanceUser.ssl_context_factory = staticmethod(lambda: ssl_context(target))
    if not isinstance(runner, MasterRunner):
        # load the catalogs and templates now, not in the first virtual user's start
        mix = load_mix(plan.get("mix") or None, plan["profile"])
        wl = Workload(mix, target, plan["namespace"], base=0)
        wl.warm_up()
        STATE["workload"] = wl
    if isinstance(runner, MasterRunner) or not isinstance(runner, WorkerRunner):
        out = getattr(opts, "conformance_out", "")

        def on_report(environment: Any, msg: Any, **_: Any) -> None:
            if out:
                with open(out, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(msg.data) + "\n")

        runner.register_message(MESSAGE, on_report)


@events.test_start.add_listener
def _start(environment: Any, **_kw: Any) -> None:
    runner = environment.runner
    if "plan" not in STATE or isinstance(runner, MasterRunner):
        return
    run = json.loads(getattr(environment.parsed_options, "conformance_run", "") or "{}")
    worker = int(getattr(runner, "worker_index", 0) or 0)
    wl: Workload = STATE["workload"]
    wl.base = int(run["base"]) if run.get("base") is not None else run_base()
    wl.worker = worker + 1
    wl.run_id = str(run.get("run_id") or "perf")
    mix = wl.mix
    STATE["worker"] = worker
    STATE["mix_sha256"] = mix.sha256
    think = run.get("think") or [mix.think_min, mix.think_max]
    STATE["think"] = (float(think[0]), float(think[1]))
    STATE["counter"] = itertools.count()
    wall0 = time.time()
    STATE["recorder"] = Recorder(wall0, steady_from=float(run.get("ramp", 0)))
    STATE["watch"] = Watch(steady_from_wall=wall0 + float(run.get("ramp", 0)))
    STATE["running"] = True
    STATE["greenlets"] = [gevent.spawn(_monitor, runner), gevent.spawn(_reporter, runner)]


def _monitor(runner: Any) -> None:
    watch: Watch = STATE["watch"]
    rec: Recorder = STATE["recorder"]
    watch.start()
    current = int(time.time())
    while STATE.get("running"):
        expected = time.monotonic() + TICK_S
        gevent.sleep(TICK_S)
        watch.tick(time.monotonic() - expected)
        if int(time.time()) != current:
            rec.sample(current + 0.5, **watch.second(), users=float(runner.user_count))
            current = int(time.time())


def _report(runner: Any, final: bool) -> None:
    rec: Recorder = STATE["recorder"]
    data = rec.drain(None if final else time.time())
    data.update({"worker": STATE.get("worker", 0), "final": final,
                 "mix_sha256": STATE.get("mix_sha256"),
                 "generator": STATE["watch"].summary() if final else None,
                 "setup_errors": list(STATE.get("setup_errors") or [])})
    runner.send_message(MESSAGE, data)


def _reporter(runner: Any) -> None:
    while STATE.get("running"):
        gevent.sleep(1.0)
        if STATE.get("running"):
            _report(runner, final=False)


@events.test_stop.add_listener
def _stop(environment: Any, **_kw: Any) -> None:
    runner = environment.runner
    if not STATE.get("running") or isinstance(runner, MasterRunner):
        return
    STATE["running"] = False
    _report(runner, final=True)


class ConformanceUser(FastHttpUser):
    """One virtual user of the mix (closed model: transaction, think, transaction …)."""

    host = "http://127.0.0.1"

    def wait_time(self) -> float:
        lo, hi = STATE.get("think", (0.0, 0.0))
        return random.uniform(lo, hi) if hi > 0 else 0.0

    def _exchange(self, req: Request) -> tuple[Verdict, float]:
        """Send one request; judge it; tell Locust's own statistics too. The target's overall
        deadline bounds the request and its whole answer (``timeout-total``), as in the
        built-in engine: Locust's network timeout bounds one read only."""
        t0 = time.perf_counter()
        target: Target = STATE["target"]
        try:
            with gevent.Timeout(target.deadline), self.client.request(
                    "POST", req.url, data=req.body, headers=req.headers, name=req.service,
                    catch_response=True) as resp:
                elapsed = time.perf_counter() - t0
                err = getattr(resp, "error", None)
                if err is not None and not getattr(resp, "status_code", 0):
                    verdict = classify(None, b"", _error_kind(err), req.expect)
                else:
                    verdict = classify(resp.status_code, resp.content or b"", None, req.expect)
                if verdict.ok:
                    resp.success()
                else:
                    resp.failure(f"{verdict.kind}: {verdict.detail}")
        except gevent.Timeout:
            elapsed = time.perf_counter() - t0
            verdict = classify(None, b"", "timeout-total", req.expect)
        return verdict, elapsed

    def on_start(self) -> None:
        wl: Workload = STATE["workload"]
        self.number = next(STATE["counter"])
        self.rng = random.Random(self.number * 7919 + STATE.get("worker", 0))
        self.seq = 0
        gen = wl.prepare(self.number)
        try:
            req = next(gen)
            while True:
                req = gen.send(self._exchange(req)[0])
        except StopIteration as stop:
            self.ctx = stop.value
        except SetupError as exc:
            errors = STATE.setdefault("setup_errors", [])
            if len(errors) < 5:
                errors.append(str(exc))
            raise StopUser() from None

    @task
    def transaction(self) -> None:
        wl: Workload = STATE["workload"]
        rec: Recorder = STATE["recorder"]
        self.seq += 1
        tag = f"{wl.run_token}w{STATE.get('worker', 0)}-{self.number}-{self.seq}"
        for req in self.ctx.iteration(wl.pick(self.rng), tag):
            verdict, elapsed = self._exchange(req)
            rec.record(req.service, time.time(), elapsed, verdict.kind, verdict.detail)
            if not verdict.ok:
                break
