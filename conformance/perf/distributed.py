"""Load beyond one machine: Locust's distributed mode (one master, N workers) — not a home-made
cluster. ``conformance perf --engine locust --workers N`` starts, per step of the user count, one
Locust master and N local workers as separate processes (``python -m locust -f
conformance/perf/locustfile.py …``), optionally waits for more workers started on other machines
with ``conformance perf-worker --master HOST``, and merges the workers' exact HDR histograms
(appended by the master to a JSON-lines file) into the same step figures as the built-in engine.

The master's ``--run-time`` ends each step; this process also kills every Locust process that
outlives ramp + duration by a grace period (the hard deadline).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import ConformanceError
from ..model.perf import LoadStep
from ..secrets import mask_url
from .engine import StepSpec, step_result
from .monitor import judge
from .recorder import Recorder

START_GRACE_S = 60.0   # processes starting, workers connecting
STOP_GRACE_S = 20.0    # after the run time


class LocustError(ConformanceError):
    pass


def available() -> bool:
    return importlib.util.find_spec("locust") is not None


def locustfile() -> str:
    return str(Path(__file__).with_name("locustfile.py"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PLAN_URL_ENV = "CONFORMANCE_PLAN_URL"


def write_plan(path: Path, plan: dict[str, Any]) -> Path:
    """The plan file the Locust processes read. Credentials in the target URL stay out of it
    (``user:***@``, ``access_token=***``): the processes started here get the URL in their
    environment (``plan_env``)."""
    from ..output import open_output

    shown = dict(plan, url=mask_url(plan["url"])) if plan.get("url") else plan
    with open_output(str(path)) as fh:
        json.dump(shown, fh, ensure_ascii=False, indent=1)
    return path


def plan_env(plan: dict[str, Any]) -> dict[str, str]:
    """The environment of a Locust process of this plan (the target URL as given)."""
    env = dict(os.environ)
    if plan.get("url"):
        env[PLAN_URL_ENV] = str(plan["url"])
    return env


def worker_command(plan_path: Path, master_host: str, master_port: int) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", locustfile(), "--worker",
            "--master-host", master_host, "--master-port", str(master_port),
            "--conformance-plan", str(plan_path), "--loglevel", "WARNING"]


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class LocustRunner:
    """Runs steps of the closed model on Locust (master + workers) and merges their reports."""

    def __init__(self, run_dir: Path, plan: dict[str, Any], *, workers: int = 2,
                 remote_workers: int = 0, bind: str = "127.0.0.1", port: int | None = None) -> None:
        if not available():
            raise LocustError("locust is not installed")
        if workers + remote_workers < 1:
            raise LocustError("at least one worker is needed")
        self.run_dir, self.workers, self.remote = run_dir, workers, remote_workers
        self.bind = bind
        self.port = port
        self.plan_path = write_plan(run_dir / "locust-plan.json", plan)
        self.env = plan_env(plan)
        self.mix_sha256 = plan.get("mix_sha256")
        self.notes: list[str] = []

    def run_step(self, spec: StepSpec, run: dict[str, Any]) -> LoadStep:
        assert spec.users
        users = int(spec.users)
        runtime = max(1, int(math.ceil(spec.ramp + spec.duration)))
        spawn = users / spec.ramp if spec.ramp > 0 else users
        out = self.run_dir / f"locust-{users}.jsonl"
        out.unlink(missing_ok=True)
        port = self.port or free_port()
        n = self.workers + self.remote
        master_log = self.run_dir / f"locust-master-{users}.log"
        cmd = [sys.executable, "-m", "locust", "-f", locustfile(), "--master", "--headless",
               "--master-bind-host", self.bind, "--master-bind-port", str(port),
               "--expect-workers", str(n), "--expect-workers-max-wait", str(int(START_GRACE_S)),
               "-u", str(users), "-r", f"{spawn:g}", "-t", f"{runtime}s", "--stop-timeout", "0",
               "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0",
               "--conformance-plan", str(self.plan_path),
               "--conformance-run", json.dumps({**run, "ramp": spec.ramp,
                                                "think": list(spec.think)}),
               "--conformance-out", str(out)]
        procs: list[subprocess.Popen[bytes]] = []
        with open(master_log, "wb") as mlog:
            master = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=mlog, stderr=mlog,
                                      start_new_session=True, env=self.env)
            procs.append(master)
            host = "127.0.0.1" if self.bind in ("0.0.0.0", "", "*") else self.bind
            try:
                for i in range(self.workers):
                    wlog = open(self.run_dir / f"locust-worker-{users}-{i}.log", "wb")  # noqa: SIM115
                    procs.append(subprocess.Popen(worker_command(self.plan_path, host, port),
                                                  stdin=subprocess.DEVNULL, stdout=wlog, stderr=wlog,
                                                  start_new_session=True, env=self.env))
                    wlog.close()
                deadline = time.monotonic() + START_GRACE_S + runtime + STOP_GRACE_S
                while master.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.1)
                timed_out = master.poll() is None
            finally:
                for p in procs[1:]:
                    try:
                        p.wait(timeout=max(0.1, 5.0))
                    except subprocess.TimeoutExpired:
                        _kill(p)
                _kill(master)
        reports = self._read(out)
        if not reports:
            tail = master_log.read_text(encoding="utf-8", errors="replace")[-1500:]
            why = "the hard deadline passed" if timed_out else f"exit code {master.returncode}"
            raise LocustError(f"no worker reported ({why}); master log {master_log}:\n{tail}")
        return self._merge(reports, spec, n)

    @staticmethod
    def _read(path: Path) -> list[dict[str, Any]]:
        out = []
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        for line in lines:
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out

    def _merge(self, reports: list[dict[str, Any]], spec: StepSpec, n: int) -> LoadStep:
        wall0 = min(float(r.get("wall0") or time.time()) for r in reports)
        rec = Recorder(wall0, steady_from=spec.ramp)
        gens: dict[int, dict[str, Any]] = {}
        setup_errors: list[str] = []
        for r in reports:
            rec.merge(r)
            if r.get("final") and isinstance(r.get("generator"), dict):
                gens[int(r.get("worker") or 0)] = r["generator"]
            for e in r.get("setup_errors") or []:
                if e not in setup_errors:
                    setup_errors.append(e)
            if self.mix_sha256 and r.get("mix_sha256") and r["mix_sha256"] != self.mix_sha256:
                note = (f"worker {r.get('worker')} ran another mix file (sha256 "
                        f"{str(r['mix_sha256'])[:12]}…)")
                if note not in self.notes:
                    self.notes.append(note)
        gen = _worst(list(gens.values()))
        result = step_result(rec, gen, spec, wall0, engine="locust", workers=n)
        result.generator["workers"] = [{"worker": k, **v, "reasons": judge(v)}
                                       for k, v in sorted(gens.items())]
        result.workers_reported = len(gens)
        if setup_errors:
            result.setup_errors = setup_errors
        return result


def _worst(gens: list[dict[str, Any]]) -> dict[str, Any]:
    if not gens:
        return {}
    out: dict[str, Any] = {}
    for key in ("cpu_avg_pct", "cpu_max_pct", "loop_lag_p99_ms", "loop_lag_max_ms",
                "machine_cpu_pct"):
        vals = [g[key] for g in gens if g.get(key) is not None]
        out[key] = max(vals) if vals else None
    out["cores"] = max(int(g.get("cores") or 1) for g in gens)
    return out
