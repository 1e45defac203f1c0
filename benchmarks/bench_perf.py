"""Load-generator capacity of `conformance perf` on this machine, against Locust in the same run;
and the 500,000-patient base of 3.3.1.2 (seeding time, query time against a small base).

Generator capacity. A trivial responder (a raw asyncio HTTP/1.1 server started by this script
in its own process, answering every POST with the same SOAP envelope carrying an HL7 V3 AA
acknowledgement, as the platform wraps it) takes the load of, one after the other:

  1. the built-in engine (asyncio + aiohttp, one process): closed model, N users, no think time,
     every answer unwrapped and judged as in a real run;
  2. Locust FastHttpUser (one process, plain POST of the same envelope, no judging);
  3. Locust with the project's ConformanceUser (locustfile.py: the same judging as 1).

Requests are counted by the responder over a measurement window after a warm-up, and each
generator's CPU time over the same window is read with psutil: requests per CPU-second = the
requests/s one core gives. Target: the built-in engine reaches >= 50 % of Locust FastHttpUser
per core. Loopback only; every run is bounded in time.

    python benchmarks/bench_perf.py [--users 32] [--seconds 5] [--rounds 3] [--seed 500000]
                                    [--skip-seed]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------- the responder
def _answer() -> bytes:
    from xml.sax.saxutils import escape

    from conformance.hl7v3.builder import MessageBuilder

    ack = MessageBuilder("hospital").ack(code="AA", target_id="bench", text="ok").decode("utf-8")
    body = ('<?xml version="1.0" encoding="UTF-8"?><soap:Envelope '
            'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
            '<HIPMessageServerResponse xmlns="urn:conformance:hip-message-server">'
            f"<HIPMessageServerResult>{escape(ack)}</HIPMessageServerResult>"
            "</HIPMessageServerResponse></soap:Body></soap:Envelope>").encode()
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


def responder(port: int) -> None:
    answer = _answer()
    count = [0]

    class Proto(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.t = transport
            self.buf = b""

        def data_received(self, data: bytes) -> None:
            self.buf += data
            while True:
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = self.buf[:end].lower()
                n = 0
                i = head.find(b"content-length:")
                if i >= 0:
                    n = int(head[i + 15:].split(b"\r\n", 1)[0])
                if len(self.buf) < end + 4 + n:
                    return
                self.buf = self.buf[end + 4 + n:]
                if head.startswith(b"get /count"):
                    text = str(count[0]).encode()
                    self.t.write(b"HTTP/1.1 200 OK\r\nContent-Length: " + str(len(text)).encode()
                                 + b"\r\n\r\n" + text)
                else:
                    count[0] += 1
                    self.t.write(answer)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Proto, "127.0.0.1", port)
        await server.serve_forever()

    asyncio.run(main())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _count(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/count", timeout=5) as r:
        return int(r.read())


def _start(cmd: list[str], **kw: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True, **kw)  # type: ignore[call-overload]


def _stop(p: subprocess.Popen[bytes]) -> None:
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def _cpu(proc: psutil.Process) -> float:
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def measure(name: str, cmd: list[str], port: int, warmup: float, seconds: float) -> dict[str, float]:
    """Run a generator process; count the requests it gets answered, and its CPU, in a window."""
    with tempfile.TemporaryFile() as log:
        proc = _start(cmd, stdout=log, stderr=log)
        try:
            time.sleep(warmup)
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"{name} exited early:\n{log.read().decode(errors='replace')[-2000:]}")
            ps = psutil.Process(proc.pid)
            c0, n0, t0 = _cpu(ps), _count(port), time.monotonic()
            time.sleep(seconds)
            c1, n1, t1 = _cpu(ps), _count(port), time.monotonic()
        finally:
            _stop(proc)
    n, wall, cpu = n1 - n0, t1 - t0, c1 - c0
    return {"requests": n, "rps": n / wall, "cpu_cores": cpu / wall, "rps_per_core": n / cpu if cpu else 0.0}


# ---------------------------------------------------------------------- generators
def ours(url: str, users: int, seconds: float) -> None:
    """The built-in engine as `conformance perf` runs it (a child process of the benchmark)."""
    from conformance.harness.target import Target
    from conformance.perf.engine import AioClient, Engine, StepSpec
    from conformance.perf.mix import load_mix
    from conformance.perf.workload import Workload

    with tempfile.TemporaryDirectory() as tmp:
        mix_path = Path(tmp) / "mix.yaml"
        mix_path.write_text(MIX, encoding="utf-8")
        mix = load_mix(mix_path, "hospital")
    target = Target(name="bench", endpoint=url, embedded=False)
    engine = Engine(Workload(mix, target, "urn:conformance:hip-message-server"))

    async def main() -> None:
        engine.client = AioClient(target, limit=users)
        await engine.client.start()
        ctxs = await engine.prepare(users)
        step = await engine.run_step(StepSpec(users=users, duration=seconds), ctxs)
        await engine.client.close()
        print(json.dumps({k: getattr(step, k) for k in ("requests", "tps", "p50_ms", "error_rate",
                                                        "generator_saturated")}), file=sys.stderr)

    asyncio.run(main())


MIX = """mix: bench
profile: hospital
think_time: 0
transactions:
  - id: query
    steps: [{id: main, service: PatientInfoQuery, vars: {key: P00000001}}]
"""

LOCUST_FAST = '''
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

BODY = {body!r}
HEADERS = {{"Content-Type": "text/xml; charset=utf-8",
           "SOAPAction": '"urn:conformance:hip-message-server/HIPMessageServer"'}}


class Plain(FastHttpUser):
    wait_time = constant(0)

    @task
    def post(self):
        self.client.post("/", data=BODY, headers=HEADERS)
'''


def _envelope() -> bytes:
    from conformance.harness.transport import envelope
    from conformance.hl7v3.builder import MessageBuilder

    msg = MessageBuilder("hospital").build_request("PatientInfoQuery", {"key": "P00000001"})
    return envelope(msg, "PatientInfoQuery")


# ---------------------------------------------------------------------- the 500k base
def bench_seed(n: int, queries: int) -> dict[str, float]:
    import random

    from conformance.harness.target import Target
    from conformance.harness.transport import Transport
    from conformance.hl7v3.builder import MessageBuilder
    from conformance.perf.classify import classify
    from conformance.perf.embedded import PlatformProcess
    from conformance.platform.seed import seeded_key

    b = MessageBuilder("hospital")
    out: dict[str, float] = {}
    for size in (1000, n):
        with PlatformProcess(seed_patients=size, timeout=3600) as p:
            t = Transport(Target(name="bench", endpoint=p.url, embedded=True))
            rng = random.Random(5)
            times = []
            for _ in range(queries):
                msg = b.build_request("PatientInfoQuery", {"key": seeded_key(rng.randint(1, size))})
                ex, _ = t.send("PatientInfoQuery", msg)
                assert classify(ex.status, ex.response_body, ex.error).ok
                times.append(ex.duration_ms)
            out[f"seed_s_{size}"] = p.info["seed"]["seconds"]
            out[f"query_p50_ms_{size}"] = statistics.median(times)
            out[f"query_p95_ms_{size}"] = sorted(times)[int(0.95 * (len(times) - 1))]
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=500_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--skip-seed", action="store_true")
    ap.add_argument("--responder", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--ours", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.responder:
        responder(a.responder)
        return 0
    if a.ours:
        ours(a.ours[0], int(a.ours[1]), float(a.ours[2]))
        return 0

    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    resp = _start([sys.executable, __file__, "--responder", str(port)])
    results: dict[str, dict[str, float]] = {}
    try:
        for _ in range(100):
            try:
                _count(port)
                break
            except OSError:
                time.sleep(0.1)
        run_for = a.warmup + a.seconds + 5
        with tempfile.TemporaryDirectory() as tmp:
            fast = Path(tmp) / "fast_locustfile.py"
            fast.write_text(textwrap.dedent(LOCUST_FAST.format(body=_envelope())), encoding="utf-8")
            plan = Path(tmp) / "plan.json"
            mix = Path(tmp) / "mix.yaml"
            mix.write_text(MIX, encoding="utf-8")
            plan.write_text(json.dumps({"profile": "hospital", "url": url, "mix": str(mix),
                                        "namespace": "urn:conformance:hip-message-server"}),
                            encoding="utf-8")
            locust = [sys.executable, "-m", "locust", "--headless", "-u", str(a.users), "-r",
                      str(a.users * 10), "-t", f"{int(run_for)}s", "--only-summary", "--loglevel",
                      "ERROR", "-H", url.rstrip("/")]
            generators = {
                "conformance built-in (asyncio+aiohttp)":
                    [sys.executable, __file__, "--ours", url, str(a.users), str(run_for)],
                "Locust FastHttpUser (plain POST)": [*locust, "-f", str(fast)],
                "Locust ConformanceUser (judged)":
                    [*locust, "-f", str(ROOT / "conformance/perf/locustfile.py"),
                     "--conformance-plan", str(plan)],
            }
            # interleaved rounds, best of each: other work on the machine only ever slows a
            # generator down, so the best round is the closest to its capacity
            for _ in range(a.rounds):
                for name, cmd in generators.items():
                    r = measure(name, cmd, port, a.warmup, a.seconds)
                    if name not in results or r["rps_per_core"] > results[name]["rps_per_core"]:
                        results[name] = r
    finally:
        _stop(resp)
    base = results["Locust FastHttpUser (plain POST)"]["rps_per_core"]
    print(f"Generator capacity against a trivial loopback responder ({a.users} users, "
          f"{a.seconds:g} s window, best of {a.rounds} interleaved rounds, {psutil.cpu_count()} cores)")
    print(f"{'generator':<42} {'req/s':>9} {'cores':>6} {'req/s per core':>15} {'vs Locust Fast':>15}")
    for name, r in results.items():
        print(f"{name:<42} {r['rps']:>9.0f} {r['cpu_cores']:>6.2f} {r['rps_per_core']:>15.0f} "
              f"{r['rps_per_core'] / base:>14.0%}")
    ratio = results["conformance built-in (asyncio+aiohttp)"]["rps_per_core"] / base
    print(f"target: built-in >= 50% of Locust FastHttpUser per core → {ratio:.0%} "
          f"({'met' if ratio >= 0.5 else 'NOT met'})")
    if not a.skip_seed:
        s = bench_seed(a.seed, a.queries)
        print(f"\nSynthetic patient base (3.3.1.2), seeded in the platform process, "
              f"{a.queries} sequential PatientInfoQuery over HTTP:")
        for size in (1000, a.seed):
            print(f"  {size:>8} patients: seeded in {s[f'seed_s_{size}']:.1f} s; query p50 "
                  f"{s[f'query_p50_ms_{size}']:.2f} ms, p95 {s[f'query_p95_ms_{size}']:.2f} ms")
        print(f"  query p50 ratio {a.seed} / 1000 patients: "
              f"{s[f'query_p50_ms_{a.seed}'] / s['query_p50_ms_1000']:.2f}× (indexed: ~1×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
