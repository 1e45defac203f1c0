"""Throughput and latency of the reference platform under a register + query mix.

Starts `conformance serve` (a real process, waitress) on a free loopback port with an in-memory
or file database, then runs bounded loops of SOAP requests from 1, 16 and 64 concurrent clients:
each client alternates PatientInfoRegister (a new patient) and PatientInfoQuery (the patient it
just registered). Prints requests/s and p50/p95/p99 latency per concurrency level. Loopback only;
every loop is bounded in count and time.

    python benchmarks/bench_platform.py [--requests 2000] [--db :memory:] [--threads 16]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

import requests

from conformance.hl7v3.builder import MessageBuilder, soap_envelope, soap_headers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def run_level(url: str, clients: int, total: int, deadline_s: float, offset: int) -> dict[str, float]:
    b = MessageBuilder("hospital")
    per_client = max(2, total // clients)
    # messages are built before the clock starts: the benchmark measures the platform
    bodies: list[list[tuple[bytes, str]]] = []
    for c in range(clients):
        mine = []
        for k in range(per_client // 2):
            i = offset + c * per_client + k
            mine.append((soap_envelope(b.build_request("PatientInfoRegister", {"index": i}),
                                       action="PatientInfoRegister"), "AA"))
            mine.append((soap_envelope(b.build_request("PatientInfoQuery", {"index": i}),
                                       action="PatientInfoQuery"), "AA"))
        bodies.append(mine)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline_s

    def client(mine: list[tuple[bytes, str]]) -> None:
        session = requests.Session()
        local: list[float] = []
        for body, expect in mine:
            if time.monotonic() > stop_at:
                break
            t0 = time.perf_counter()
            try:
                r = session.post(url, data=body, headers=soap_headers(), timeout=30)
                ok = r.status_code == 200 and f'typeCode="{expect}"' in r.text.replace("&quot;", '"')
            except requests.RequestException:
                ok = False
            local.append(time.perf_counter() - t0)
            if not ok:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=client, args=(m,)) for m in bodies]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"clients": clients, "requests": len(latencies), "errors": errors[0],
            "rps": len(latencies) / wall if wall else 0.0,
            "p50_ms": _pct(latencies, 50) * 1000, "p95_ms": _pct(latencies, 95) * 1000,
            "p99_ms": _pct(latencies, 99) * 1000,
            "mean_ms": statistics.fmean(latencies) * 1000 if latencies else float("nan")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000, help="requests per concurrency level")
    ap.add_argument("--levels", default="1,16,64")
    ap.add_argument("--db", default=":memory:")
    ap.add_argument("--threads", type=int, default=16, help="server worker threads")
    ap.add_argument("--deadline", type=float, default=60.0, help="seconds per level at most")
    args = ap.parse_args()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", "--port", str(port),
                             "--db", args.db, "--threads", str(args.threads)],
                            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        for _ in range(200):
            try:
                requests.get(url, timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        else:
            print("server did not start", file=sys.stderr)
            return 2
        print(f"conformance serve (hospital, db={args.db}, {args.threads} threads), register+query mix, "
              f"{args.requests} requests per level, loopback")
        print(f"{'clients':>7} {'requests':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'p99 ms':>8}")
        offset = 100_000
        for level in [int(x) for x in args.levels.split(",")]:
            r = run_level(url, level, args.requests, args.deadline, offset)
            offset += args.requests * 2
            print(f"{r['clients']:>7} {r['requests']:>8} {r['errors']:>6} {r['rps']:>8.1f} "
                  f"{r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['p99_ms']:>8.1f}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
