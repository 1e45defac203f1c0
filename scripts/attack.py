"""Attack regression checks (issue 17): the tool holds as a hostile platform, a careless operator
and a malicious questionnaire would try it — in bounded time and memory.

    python scripts/attack.py                   # every case
    python scripts/attack.py --only drip,secrets
    python scripts/attack.py --list

Each case runs in a process of its own (this script with ``--case NAME``) under a wall-clock limit
and a memory limit: the resident memory of the process and all its children, sampled every 50 ms;
past either limit the whole process group is killed. One line per case — PASS or FAIL, the time,
the peak memory, what was found — and exit 1 if any case failed (2 on a usage problem).

Cases (the issue's item in brackets):

  secrets        [1-3] a reference platform requiring WS-Security (``conformance serve --auth``,
                 its log on stderr), a target with a password holding & < > " ', a ${ENV} token in
                 X-Hip-Token, a ${ENV} access_token in the endpoint URL and user:password in it;
                 ``run``, ``report`` and ``perf``: no secret, in any encoding, in any file of the
                 run folders, in the console or in the platform's access log.
  wsdl-endless   [7]   a platform whose ?wsdl (and every answer) is an endless body: ``run``
                 finishes, the answers are ``too-large``, memory stays small (was 4.3 GB).
  drip           [8]   a platform that drips one byte every 0.5 s (after its headers, then within
                 them): every exchange ends at the overall deadline as ``timeout-total`` (was:
                 held as long as the platform liked, 120 s with a 3 s read timeout, recorded as
                 "empty response").
  resume         [4]   Ctrl-C a run with --jobs 4, --resume it: every check counted once
                 (tests/test_harness_honest.py).
  ids            [5]   two runs against one persistent platform both pass
                 (tests/test_harness_honest.py).
  yaml-bomb      [6]   an alias bomb in each user YAML (questionnaire, assessment, target config,
                 perf mix, data-set mapping): refused at its line, fast, in little memory.
  slow-clients   [10]  300 clients dripping a header line every 5 s at ``conformance serve``: a
                 normal client is still answered within 3 s.

The hostile servers (``Hostile`` and its behaviours) are used by the tests as well
(tests/test_harness_deadline.py)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MB = 1024 * 1024
RESULT = "ATTACK-RESULT "


# =============================================================================== hostile servers
@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


def read_request(conn: socket.socket, limit: int = 64 * 1024 * 1024) -> Request | None:
    """One HTTP request from ``conn`` (headers, then the body by Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > 1024 * 1024:
            return None
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target = (lines[0].split(" ") + ["", ""])[:2]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = min(int(headers.get("content-length") or 0), limit)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return Request(method, target, headers, body)


class Hostile:
    """A loopback HTTP server that answers badly on purpose: ``behave(server, conn, request)``
    runs for every request, in a thread per connection. ``sent`` counts the bytes behaviours
    wrote (``send``); ``requests`` keeps what came in."""

    def __init__(self, behave: Callable[[Hostile, socket.socket, Request], None]) -> None:
        self.behave = behave
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.stop = threading.Event()
        self.sent = 0
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> Hostile:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self._thread.join(timeout=5)
        self.listener.close()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                while not self.stop.is_set():
                    req = read_request(conn)
                    if req is None:
                        return
                    with self._lock:
                        self.requests.append(req)
                    if self.behave(self, conn, req) is not True:  # True: keep the connection
                        return
            except OSError:
                return

    def send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        with self._lock:
            self.sent += len(data)

    def wait(self, seconds: float) -> bool:
        """Sleep; False when the server is stopping."""
        return not self.stop.wait(seconds)


def head(status: str = "200 OK", length: int | None = None, extra: str = "") -> bytes:
    lines = [f"HTTP/1.1 {status}", "Content-Type: text/xml; charset=utf-8"]
    lines.append(f"Content-Length: {length}" if length is not None else "Connection: close")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def drip_body(interval: float = 0.5, seconds: float = 120.0, declared: int = 1_000_000
              ) -> Callable[[Hostile, socket.socket, Request], None]:
    """Headers at once, then one byte of body every ``interval`` seconds (a space: the body is
    never complete), for ``seconds`` at most."""
    def behave(srv: Hostile, conn: socket.socket, req: Request) -> None:
        srv.send(conn, head(length=declared))
        end = time.monotonic() + seconds
        while time.monotonic() < end and srv.wait(interval):
            srv.send(conn, b" ")
    return behave


def drip_headers(interval: float = 0.5, seconds: float = 120.0
                 ) -> Callable[[Hostile, socket.socket, Request], None]:
    """The status line, then a header that grows by one byte every ``interval`` seconds."""
    def behave(srv: Hostile, conn: socket.socket, req: Request) -> None:
        srv.send(conn, b"HTTP/1.1 200 OK\r\nX-Drip: ")
        end = time.monotonic() + seconds
        while time.monotonic() < end and srv.wait(interval):
            srv.send(conn, b"a")
    return behave


def stalled_body(declared: int = 1000, sent: int = 10, seconds: float = 30.0
                 ) -> Callable[[Hostile, socket.socket, Request], None]:
    """Declares ``declared`` bytes, sends ``sent``, then nothing (the connection held open)."""
    def behave(srv: Hostile, conn: socket.socket, req: Request) -> None:
        srv.send(conn, head(length=declared) + b"<" * sent)
        srv.wait(seconds)
    return behave


def short_body(declared: int = 1000, sent: int = 10
               ) -> Callable[[Hostile, socket.socket, Request], None]:
    """Declares ``declared`` bytes, sends ``sent`` and closes the connection."""
    def behave(srv: Hostile, conn: socket.socket, req: Request) -> None:
        srv.send(conn, head(length=declared) + b"<" * sent)
    return behave


def endless(limit: int = 1 << 40, chunk: int = 256 * 1024
            ) -> Callable[[Hostile, socket.socket, Request], None]:
    """A 200 answer without a length whose body never ends (``limit`` bytes at most): XML-ish
    text at loopback speed until the client goes."""
    block = (b"<definitions xmlns='urn:x'>" + b"<x/>" * (chunk // 4))[:chunk]

    def behave(srv: Hostile, conn: socket.socket, req: Request) -> None:
        srv.send(conn, head())
        while srv.sent < limit and not srv.stop.is_set():
            srv.send(conn, block)
    return behave


WSDL = ('<?xml version="1.0"?><definitions xmlns="http://schemas.xmlsoap.org/wsdl/" '
        'targetNamespace="{ns}"/>')


def wsdl(namespace: str, *, query: str = "wsdl", header: tuple[str, str] | None = None
         ) -> Callable[[Hostile, socket.socket, Request], None]:
    """A WSDL with ``namespace`` for ``GET <path>?<query>`` (and the ``header`` when given),
    404 for anything else."""
    def behave(srv: Hostile, conn: socket.socket, req: Request) -> None:
        ok = req.method == "GET" and req.target.partition("?")[2] == query
        if header is not None:
            ok = ok and req.headers.get(header[0].lower()) == header[1]
        body = WSDL.format(ns=namespace).encode() if ok else b"not found"
        srv.send(conn, head("200 OK" if ok else "404 Not Found", len(body)) + body)
    return behave


# =============================================================================== helpers
def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300.0,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The conformance command line in a process of its own."""
    return subprocess.run([sys.executable, "-m", "conformance.cli", *args], cwd=cwd or ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def pytest_node(*nodes: str, timeout: float = 900.0) -> tuple[bool, str]:
    """Tests of the suite (slow ones included) as a case: passed or the end of their output."""
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "-m", "", *nodes], cwd=ROOT, capture_output=True, text=True,
                       timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)})
    tail = (r.stdout + r.stderr).strip().splitlines()
    return r.returncode == 0, (tail[-1] if tail else f"pytest exit {r.returncode}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(*args: str, env: dict[str, str] | None = None, log: Path):
    """``conformance serve`` on a free loopback port (its log to ``log``); yields the URL."""
    port = free_port()
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", "--port",
                                 str(port), "--db", ":memory:", *args], cwd=ROOT, stdout=fh,
                                stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            if proc.poll() is not None:
                raise RuntimeError(f"serve ended: {log.read_text(errors='replace')[-500:]}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def exchanges(run_dir: Path) -> list[dict[str, Any]]:
    data = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    return [ex for c in data["cases"] for ex in c.get("exchanges") or []]


# =============================================================================== cases
def case_secrets(work: Path) -> tuple[bool, str]:
    from tests.test_secrets_leak import (
        HDR_TOKEN,
        MIX,
        URL_PW,
        URL_TOKEN,
        WSSE_PW,
        folder_texts,
        scan,
        write_config,
    )

    env = {"T17_WSSE_PW": WSSE_PW, "T17_HDR": HDR_TOKEN, "T17_TOKEN": URL_TOKEN,
           "T17_URL_PW": URL_PW}
    log = work / "serve.log"
    with serve("--auth", "wsse", "--username", "u1", "--password", "${ENV:T17_WSSE_PW}",
               env=env, log=log) as url:
        cfg = write_config(work / "target.yaml", url)
        (work / "mix.yaml").write_text(MIX, encoding="utf-8")
        run = cli("run", "--config", str(cfg), "--services", "PatientInfoRegister", "--out",
                  str(work / "run"), "--no-progress", env=env)
        report = cli("report", str(work / "run"), "-f", "html,json", "--fail-on", "never",
                     env=env)
        perf = cli("perf", "--config", str(cfg), "--yes", "--users", "1", "--duration", "1s",
                   "--mix", str(work / "mix.yaml"), "--out", str(work / "perf"), env=env)
    if run.returncode not in (0, 1) or not (work / "run" / "results.json").exists():
        return False, f"run exit {run.returncode}: {run.stderr[-300:]}"
    statuses = {ex.get("status") for ex in exchanges(work / "run")}
    if statuses != {200}:
        return False, f"the platform did not accept the credentials (HTTP {sorted(map(str, statuses))})"
    if perf.returncode not in (0, 1):
        return False, f"perf exit {perf.returncode}: {perf.stderr[-300:]}"
    where = {**{f"run/{k}": v for k, v in folder_texts(work / "run").items()},
             **{f"perf/{k}": v for k, v in folder_texts(work / "perf").items()},
             "console": run.stdout + run.stderr + report.stdout + report.stderr
             + perf.stdout + perf.stderr,
             "platform log": log.read_text(encoding="utf-8", errors="replace")}
    problems = scan(where)
    if problems:
        return False, f"{len(problems)} leak(s): {problems[0]}"
    return True, f"{len(where)} files and streams searched, 4 secrets, no encoding of any found"


def case_wsdl_endless(work: Path) -> tuple[bool, str]:
    with Hostile(endless()) as srv:
        t0 = time.monotonic()
        r = cli("run", "--target", srv.url, "--services", "PatientInfoRegister", "--timeout", "3",
                "--out", str(work / "run"), "--no-progress")
        took = time.monotonic() - t0
    if r.returncode != 1:
        return False, f"run exit {r.returncode} (1 expected): {r.stderr[-300:]}"
    kinds = {ex.get("error") for ex in exchanges(work / "run")}
    if kinds != {"too-large"}:
        return False, f"answers recorded as {sorted(map(str, kinds))}, too-large expected"
    return True, f"run done in {took:.1f} s, answers too-large, {srv.sent / MB:.0f} MB offered"


def case_drip(work: Path) -> tuple[bool, str]:
    found = []
    for name, behave in (("body", drip_body()), ("headers", drip_headers())):
        with Hostile(behave) as srv:
            t0 = time.monotonic()
            r = cli("run", "--target", srv.url, "--services", "PatientInfoRegister", "--timeout",
                    "3", "--total-timeout", "4", "--out", str(work / name), "--no-progress")
            took = time.monotonic() - t0
        if r.returncode != 1:
            return False, f"{name}: run exit {r.returncode} (1 expected): {r.stderr[-300:]}"
        exs = exchanges(work / name)
        kinds = {ex.get("error") for ex in exs}
        longest = max(ex["duration_ms"] for ex in exs) / 1000
        if kinds != {"timeout-total"} or longest > 5.5:
            return False, (f"{name} drip: {sorted(map(str, kinds))}, longest exchange "
                           f"{longest:.1f} s (timeout-total within 4 s expected)")
        found.append(f"{name} drip: {len(exs)} exchanges timeout-total, longest {longest:.1f} s,"
                     f" run {took:.0f} s")
    return True, "; ".join(found)


def case_resume(work: Path) -> tuple[bool, str]:
    return pytest_node("tests/test_harness_honest.py::"
                       "test_ctrl_c_with_jobs_then_resume_counts_every_check_once")


def case_ids(work: Path) -> tuple[bool, str]:
    return pytest_node("tests/test_harness_honest.py::"
                       "test_two_runs_against_one_persistent_platform_both_pass",
                       "tests/test_harness_honest.py::test_seed_makes_the_ids_reproducible")


def case_yaml_bomb(work: Path) -> tuple[bool, str]:
    from tests.test_yamlio import BOMB

    bomb = work / "bomb.yaml"
    bomb.write_text(BOMB, encoding="utf-8")
    csv = work / "t.csv"
    csv.write_text("姓名,性别代码\n张三,1\n", encoding="utf-8")
    commands = [["score", "--self-assessment", str(bomb)], ["score", "--assessment", str(bomb)],
                ["run", "--config", str(bomb)], ["perf", "--mix", str(bomb), "--users", "1"],
                ["validate-dataset", "--mapping", str(bomb), str(csv)]]
    slowest = 0.0
    for args in commands:
        t0 = time.monotonic()
        r = cli(*args, "--lang", "en", timeout=60)
        slowest = max(slowest, time.monotonic() - t0)
        said = r.stdout + r.stderr
        if r.returncode != 2 or not re.search(r"bomb\.yaml:2:\d+:.*expand to", said) \
                or "Traceback" in said:
            return False, f"{args[0]} {args[1]}: exit {r.returncode}: {said[-300:]}"
    return True, f"{len(commands)} commands refused the bomb at bomb.yaml:2 (slowest {slowest:.1f} s)"


def case_slow_clients(work: Path) -> tuple[bool, str]:
    import requests

    from tests.test_platform_slow_clients import Drippers

    with serve(log=work / "serve.log") as url:
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        drip = Drippers("127.0.0.1", port, 300, 5.0, "headers").start()
        try:
            deadline = time.monotonic() + 20
            while drip.connected < 300 and time.monotonic() < deadline:
                time.sleep(0.1)
            if drip.connected < 300:
                return False, f"only {drip.connected} dripping clients connected"
            time.sleep(1.0)
            times = []
            for _ in range(3):
                t0 = time.monotonic()
                try:
                    requests.get(url + "?wsdl", timeout=8).raise_for_status()
                except requests.RequestException as exc:
                    return False, f"a normal client got no answer: {exc}"
                times.append(time.monotonic() - t0)
        finally:
            drip.stop()
    if max(times) > 3.0:
        return False, f"a normal client waited {max(times):.1f} s (3 s at most)"
    return True, f"300 dripping clients; a normal client answered in {max(times):.2f} s at most"


@dataclass(frozen=True)
class Case:
    name: str
    run: Callable[[Path], tuple[bool, str]]
    wall_s: float
    rss_mb: int
    item: str


CASES = [
    Case("secrets", case_secrets, 240, 1200, "1-3"),
    Case("wsdl-endless", case_wsdl_endless, 120, 600, "7"),
    Case("drip", case_drip, 120, 600, "8"),
    Case("resume", case_resume, 900, 2000, "4"),
    Case("ids", case_ids, 600, 2000, "5"),
    Case("yaml-bomb", case_yaml_bomb, 180, 600, "6"),
    Case("slow-clients", case_slow_clients, 120, 800, "10"),
]
BY_NAME = {c.name: c for c in CASES}


# =============================================================================== the monitor
def _tree_rss(pid: int) -> int:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def run_case(case: Case, work: Path) -> tuple[bool, str, float, float]:
    """(passed, detail, seconds, peak MB) of one case in its own process group."""
    work.mkdir(parents=True, exist_ok=True)
    log = work / "case.log"
    t0 = time.monotonic()
    with open(log, "w", encoding="utf-8") as err:
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--case",
                                 case.name, "--workdir", str(work)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=err, text=True,
                                start_new_session=True,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        peak, killed = 0, ""
        while proc.poll() is None:
            rss = _tree_rss(proc.pid)
            peak = max(peak, rss)
            took = time.monotonic() - t0
            if rss > case.rss_mb * MB:
                killed = f"memory limit: {rss / MB:.0f} MB > {case.rss_mb} MB after {took:.1f} s"
            elif took > case.wall_s:
                killed = f"wall-clock limit: {case.wall_s:g} s"
            if killed:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(0.05)
        out = proc.stdout.read() if proc.stdout else ""
    took = time.monotonic() - t0
    if killed:
        return False, f"killed ({killed})", took, peak / MB
    line = next((ln for ln in reversed(out.splitlines()) if ln.startswith(RESULT)), None)
    if line is None:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        return False, f"no result (exit {proc.returncode}): {' | '.join(tail)}", took, peak / MB
    verdict = json.loads(line[len(RESULT):])
    return bool(verdict["ok"]), str(verdict["detail"]), took, peak / MB


def child(name: str, work: Path) -> int:
    try:
        ok, detail = BY_NAME[name].run(work)
    except Exception as exc:  # a case that breaks is a failed case, with its reason
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    print(RESULT + json.dumps({"ok": ok, "detail": detail}, ensure_ascii=False), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Attack regression checks (issue 17): each case in its own process under a "
                    "wall-clock and a memory limit; exit 1 if any fails.",
        epilog="cases: " + ", ".join(f"{c.name} (item {c.item}, {c.wall_s:.0f} s, "
                                     f"{c.rss_mb} MB)" for c in CASES))
    ap.add_argument("--only", action="append", default=[], metavar="NAME[,NAME]",
                    help="run only these cases (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the cases and their limits")
    ap.add_argument("--keep", action="store_true", help="keep the work folders (printed)")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.case:
        return child(args.case, Path(args.workdir))
    if args.list:
        for c in CASES:
            print(f"{c.name:<14} item {c.item:<4} limits {c.wall_s:>4.0f} s {c.rss_mb:>5} MB")
        return 0
    names = [n.strip() for arg in args.only for n in arg.split(",") if n.strip()]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        ap.error(f"unknown case(s) {', '.join(unknown)}; one of {', '.join(BY_NAME)}")
    chosen = [BY_NAME[n] for n in names] if names else CASES
    root = Path(tempfile.mkdtemp(prefix="conformance-attack-"))
    failed = 0
    try:
        for case in chosen:
            ok, detail, took, peak = run_case(case, root / case.name)
            failed += not ok
            print(f"{'PASS' if ok else 'FAIL'} {case.name:<14} {took:6.1f} s  peak {peak:6.0f} MB"
                  f"  {detail}", flush=True)
    finally:
        if args.keep:
            print(f"work folders: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(f"{len(chosen) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
