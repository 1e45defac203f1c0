"""What `conformance proxy` costs the traffic it records: added latency and throughput against
direct calls to the embedded reference platform, in the same run, and the share of exchanges the
proxy validated.

Starts `conformance serve` (hospital, in-memory store) and `conformance proxy --upstream` in
front of it, both as real processes on free loopback ports. Then, interleaved (direct, proxy,
direct, proxy … so that drift of the shared machine hits both alike):

- open model at 50 and 200 requests/s (arrivals at fixed intended times, a register + query
  mix with a fresh message id per request): latency p50 / p99, direct and through the proxy;
  the added latency is the difference of the medians of the rounds;
- closed model at saturation (``--clients`` concurrent connections sending back to back):
  requests/s direct and through the proxy, their ratio;
- CPU time per exchange of the forwarding process and of the recorder process (psutil, over
  the proxy's open-model phases): unlike latency on a shared machine, this does not depend on
  what else runs — the forwarder's CPU per exchange is what the proxy adds to each request, and
  1 / (the recorder's CPU per exchange) is how many exchanges per second one core validates;
- each measurement (a rate, saturation) runs through a fresh proxy, stopped (SIGINT) at its end
  and its results.json read back: exchanges validated and left unvalidated at that load.

Targets (issue 15): added p50 below 2 ms at 50 req/s, throughput at least 0.8 of direct, every
exchange validated at 200 req/s. Loopback only; every loop is bounded in count and time.

    python benchmarks/bench_proxy.py [--seconds 8] [--rounds 2] [--clients 16]
    python benchmarks/bench_proxy.py --proxy-command "mitmdump … -p {port} --mode reverse:{upstream}"
        (compare another proxy: {port} and {upstream} are filled in; no validation figures)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import psutil

from conformance.hl7v3.builder import MessageBuilder, soap_envelope, soap_headers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


class Messages:
    """A register + query mix; every request gets a fresh message id (bytes.replace on a
    template: building messages never runs while the clock does)."""

    def __init__(self, variants: int = 64) -> None:
        b = MessageBuilder("hospital")
        self.items: list[tuple[bytes, bytes]] = []   # (envelope with id placeholder, id)
        for i in range(variants):
            for action in ("PatientInfoRegister", "PatientInfoQuery"):
                mid = uuid.uuid4().hex[:32]
                env = soap_envelope(b.build_request(action, {"index": 900_000 + i,
                                                             "message_id": mid}), action=action)
                assert mid.encode() in env, action
                self.items.append((env, mid.encode()))
        self.n = 0

    def next(self) -> bytes:
        env, mid = self.items[self.n % len(self.items)]
        self.n += 1
        return env.replace(mid, uuid.uuid4().hex.encode())


HEADERS = soap_headers()


async def _send(session: aiohttp.ClientSession, url: str, body: bytes) -> tuple[float, bool]:
    t0 = time.perf_counter()
    try:
        async with session.post(url, data=body, headers=HEADERS) as r:
            await r.read()
            ok = r.status == 200
    except (TimeoutError, aiohttp.ClientError):
        ok = False
    return time.perf_counter() - t0, ok


async def open_model(url: str, msgs: Messages, rate: float, seconds: float) -> dict[str, float]:
    """Arrivals at fixed intended times; latency of each request from when it was sent."""
    n = int(rate * seconds)
    bodies = [msgs.next() for _ in range(n)]
    lat: list[float] = []
    errors = 0
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=30)) as s:
        # warm the connection pool
        await asyncio.gather(*(_send(s, url, msgs.next()) for _ in range(4)))
        start = time.perf_counter() + 0.05
        tasks = []
        for i, body in enumerate(bodies):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(_send(s, url, body)))
        for dt, ok in await asyncio.gather(*tasks):
            lat.append(dt)
            errors += not ok
    return {"requests": n, "errors": errors, "p50_ms": pct(lat, 50) * 1000,
            "p99_ms": pct(lat, 99) * 1000}


async def closed_model(url: str, msgs: Messages, clients: int, seconds: float) -> dict[str, float]:
    done = 0
    errors = 0
    stop = time.perf_counter() + seconds
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=30)) as s:
        async def client() -> None:
            nonlocal done, errors
            while time.perf_counter() < stop:
                _, ok = await _send(s, url, msgs.next())
                done += 1
                errors += not ok
        t0 = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        wall = time.perf_counter() - t0
    return {"requests": done, "errors": errors, "rps": done / wall}


def wait_http(url: str, proc: subprocess.Popen, what: str, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not start in {timeout:.0f} s")


def stop(proc: subprocess.Popen, sig: int = signal.SIGINT, timeout: float = 60) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=8.0, help="length of each open-model phase")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds per measurement")
    ap.add_argument("--clients", type=int, default=16, help="connections at saturation")
    ap.add_argument("--rates", default="50,200")
    ap.add_argument("--proxy-command", default=None,
                    help="another proxy to measure instead ({port}, {upstream} filled in)")
    ap.add_argument("--proxy-args", default="", help="extra options for conformance proxy")
    ap.add_argument("--pin", action="store_true",
                    help="the platform and the load generator on CPU 0, the proxy (forwarder and "
                         "recorder) on CPU 1: the proxy on a core of its own, as where it is "
                         "deployed beside the HIS; without it all share every core")
    args = ap.parse_args()
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if args.pin and len(cpus) < 2:
        ap.error("--pin needs two CPUs")
    side = {cpus[0]} if args.pin else None
    own = {cpus[1]} if args.pin else None

    def on(where: set[int] | None):  # noqa: ANN202 - a preexec_fn
        return (lambda: os.sched_setaffinity(0, where)) if where else None

    if side:
        os.sched_setaffinity(0, side)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    up_port = free_port()
    upstream = f"http://127.0.0.1:{up_port}/"
    tmp = tempfile.TemporaryDirectory()
    platform = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", "--port",
                                 str(up_port), "--threads", "16", "--db", ":memory:"],
                                stderr=subprocess.DEVNULL,
                                env=env, preexec_fn=on(side))
    ours = not args.proxy_command
    label = "proxy" if ours else shlex.split(args.proxy_command)[0].rsplit("/", 1)[-1]

    def start_proxy(tag: str) -> tuple[subprocess.Popen, str, Path]:
        """A fresh proxy per measurement: its results.json counts that measurement only."""
        port = free_port()
        out = Path(tmp.name) / tag
        if ours:
            cmd = [sys.executable, "-m", "conformance.cli", "proxy", "--upstream", upstream,
                   "--listen", f"127.0.0.1:{port}", "--out", str(out), "--no-live",
                   "--findings", "none", "--fail-on", "never", *shlex.split(args.proxy_args)]
        else:
            cmd = shlex.split(args.proxy_command.format(port=port, upstream=upstream))
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env, preexec_fn=on(own))
        url = f"http://127.0.0.1:{port}/"
        wait_http(url, proc, "the proxy")
        time.sleep(2.0)  # let the recorder finish starting
        return proc, url, out

    def finish_proxy(proc: subprocess.Popen, out: Path) -> object | None:
        stop(proc)
        if not ours:
            return None
        from conformance.model.folder import RunFolder

        res = RunFolder(out).results
        return res.traffic if res is not None else None

    cpu = {"forwarder": 0.0, "recorder": 0.0, "exchanges": 0}

    def cpu_now(proc: subprocess.Popen) -> tuple[float, float]:
        if not ours:
            return 0.0, 0.0
        pp = psutil.Process(proc.pid)
        own = sum(pp.cpu_times()[:2])
        kids = sum(sum(c.cpu_times()[:2]) for c in pp.children(recursive=True))
        return own, kids

    try:
        wait_http(upstream, platform, "conformance serve")
        msgs = Messages()
        print(f"embedded platform (conformance serve, hospital, :memory:, 16 threads) direct vs "
              f"through {label}; register + query mix; {os.cpu_count()} CPUs; loopback"
              + ("; pinned: platform + load on CPU 0, proxy on CPU 1" if args.pin else ""))
        asyncio.run(open_model(upstream, msgs, 50, 1.0))       # warm up the platform
        rates = [float(x) for x in args.rates.split(",")]
        print(f"{'rate/s':>7} {'path':>6} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
        added: dict[float, tuple[float, float]] = {}
        shares: dict[str, str] = {}
        for rate in rates:
            proc, proxy_url, out = start_proxy(f"rate-{rate:g}")
            asyncio.run(open_model(proxy_url, msgs, 50, 1.0))  # warm up the proxy path
            rows: dict[str, list[dict[str, float]]] = {"direct": [], "proxy": []}
            for _ in range(args.rounds):
                for path, url in (("direct", upstream), ("proxy", proxy_url)):
                    before = cpu_now(proc)
                    r = asyncio.run(open_model(url, msgs, rate, args.seconds))
                    if path == "proxy":
                        time.sleep(1.5)     # let the recorder finish the phase's backlog
                        after = cpu_now(proc)
                        cpu["forwarder"] += after[0] - before[0]
                        cpu["recorder"] += after[1] - before[1]
                        cpu["exchanges"] += r["requests"] + 4
                    rows[path].append(r)
                    print(f"{rate:>7g} {path:>6} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
                          f"{r['errors']:>6}", flush=True)
            t = finish_proxy(proc, out)
            if t is not None:
                shares[f"{rate:g} req/s"] = (f"{t.validated}/{t.soap} validated, "
                                            f"{t.unvalidated} unvalidated")
            d50 = statistics.median(r["p50_ms"] for r in rows["direct"])
            p50 = statistics.median(r["p50_ms"] for r in rows["proxy"])
            d99 = statistics.median(r["p99_ms"] for r in rows["direct"])
            p99 = statistics.median(r["p99_ms"] for r in rows["proxy"])
            added[rate] = (p50 - d50, p99 - d99)
        proc, proxy_url, out = start_proxy("saturation")
        sat: dict[str, list[float]] = {"direct": [], "proxy": []}
        for _ in range(args.rounds):
            for path, url in (("direct", upstream), ("proxy", proxy_url)):
                r = asyncio.run(closed_model(url, msgs, args.clients, args.seconds))
                sat[path].append(r["rps"])
                print(f"saturation {path:>6}: {r['rps']:8.1f} req/s ({r['errors']} errors)",
                      flush=True)
        t = finish_proxy(proc, out)
        if t is not None:
            shares["saturation"] = (f"{t.validated}/{t.soap} validated, "
                                    f"{t.unvalidated} unvalidated")
        ratio = statistics.median(sat["proxy"]) / statistics.median(sat["direct"])
        print()
        for rate, (a50, a99) in added.items():
            target = "  (target < 2 ms)" if rate == 50 else ""
            print(f"added latency at {rate:g} req/s: p50 {a50:+.2f} ms, p99 {a99:+.2f} ms{target}")
        print(f"throughput at saturation ({args.clients} clients): proxy / direct = {ratio:.2f} "
              "(target >= 0.8)")
        if cpu["exchanges"] and ours:
            n = cpu["exchanges"]
            fwd, rec = cpu["forwarder"] / n * 1000, cpu["recorder"] / n * 1000
            print(f"CPU per exchange: forwarder {fwd:.2f} ms, recorder (redact, record, validate) "
                  f"{rec:.2f} ms → one core validates ~{1000 / rec:.0f} exchanges/s"
                  if rec else f"CPU per exchange: forwarder {fwd:.2f} ms")
        for what, text in shares.items():
            print(f"exchanges validated at {what}: {text}")
    finally:
        stop(platform, signal.SIGTERM)
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
