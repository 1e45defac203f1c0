"""The embedded reference platform in its OWN process for load tests.

In the generator's process the platform's server threads would compete with the generator's event
loop for the GIL and distort both; in a child process each gets a core. The child seeds the
store when asked, starts the platform on a free loopback port, writes a small JSON "ready" file
(url, patient count, seeding figures) and serves until its standard input closes or it gets
SIGTERM.

    python -m conformance.perf.embedded --profile hospital --ready FILE [--db PATH]
        [--faults SPEC] [--seed-patients N] [--threads 16]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from ..errors import ConformanceError


class PlatformProcessError(ConformanceError):
    pass


def _main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m conformance.perf.embedded")
    ap.add_argument("--profile", default="hospital")
    ap.add_argument("--db", default=":memory:")
    ap.add_argument("--faults", default="")
    ap.add_argument("--seed-patients", type=int, default=0)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--ready", required=True)
    args = ap.parse_args(argv)

    from ..output import open_output
    from ..platform.seed import count_entity, register_service, seed_patients
    from ..platform.server import EmbeddedPlatform

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    ep = EmbeddedPlatform(profile=args.profile, db=args.db, faults=args.faults,
                          threads=args.threads)
    info: dict[str, Any] = {"pid": os.getpid(), "profile": args.profile, "db": args.db,
                            "faults": args.faults}
    try:
        if args.seed_patients > 0:
            def progress(done: int, n: int) -> None:
                print(f"seed: {done}/{n}", file=sys.stderr, flush=True)

            res = seed_patients(ep.platform.store, ep.platform.services, args.seed_patients,
                                progress=progress)
            info["seed"] = res.to_dict()
        entity = register_service(ep.platform.services).entity
        info["patients"] = count_entity(ep.platform.store, entity)
        info["url"] = ep.start()
        with open_output(args.ready) as fh:
            json.dump(info, fh)

        def watch_stdin() -> None:
            with contextlib.suppress(Exception):
                sys.stdin.read()
            stop.set()

        threading.Thread(target=watch_stdin, daemon=True).start()
        while not stop.wait(0.5):
            pass
    finally:
        ep.stop()
    return 0


class PlatformProcess:
    """Start the child, wait until it is ready, stop it on exit (context manager)."""

    def __init__(self, profile: str = "hospital", db: str = ":memory:", faults: str = "",
                 seed_patients: int = 0, threads: int = 16, timeout: float = 1800.0,
                 echo: bool = False) -> None:
        self.args = ["--profile", profile, "--db", db, "--faults", faults,
                     "--seed-patients", str(seed_patients), "--threads", str(threads)]
        self.timeout = timeout
        self.echo = echo
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}
        self._log: Any = None
        self._dir = tempfile.TemporaryDirectory(prefix="conformance-platform-")

    @property
    def url(self) -> str:
        return str(self.info["url"])

    def start(self) -> dict[str, Any]:
        ready = Path(self._dir.name) / "ready.json"
        log = Path(self._dir.name) / "platform.log"
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "conformance.perf.embedded", *self.args, "--ready", str(ready)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=None if self.echo else self._log, start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while not ready.exists():
            if self.proc.poll() is not None:
                self._log.flush()
                tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
                raise PlatformProcessError(f"exited with code {self.proc.returncode}: {tail.strip()}")
            if time.monotonic() > deadline:
                self.stop()
                raise PlatformProcessError(f"not ready within {self.timeout:g} s")
            time.sleep(0.05)
        self.info = json.loads(ready.read_text(encoding="utf-8"))
        return self.info

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(Exception):
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        with contextlib.suppress(Exception):
            self._log.close()
        self._dir.cleanup()

    def __enter__(self) -> PlatformProcess:
        self.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


if __name__ == "__main__":
    sys.exit(_main())
