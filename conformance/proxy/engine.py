"""The capture as an in-process API: ``Proxy(options, folder, handlers).run(until)`` listens,
forwards, hands every exchange to the recorder process and returns a typed ``ProxyOutcome``
when ``until`` completes (a command, a duration, a stop event) or on Ctrl-C / SIGTERM.
``ProxyThread`` runs it on a background thread for tests and in-process callers:

    with ProxyThread(ProxyOptions(upstream=url, listen_port=0), RunFolder(out)) as proxy_url:
        ...                                   # send traffic to proxy_url
    outcome = thread.outcome                  # results.json as written, typed
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import ConformanceError
from ..model import RunResults
from ..model.events import Handler
from ..model.folder import RunFolder
from ..model.io import ArtifactError
from ..model.traffic import Traffic
from .forward import Forwarder
from .options import ProxyOptions, ProxyUsage, env_url
from .wire import Captured, Started, Stop, frame

PIPE_CAP = 256 * 1024 * 1024     # bytes waiting for the recorder at most (beyond: lost, counted)
SEVERITIES = {"error": ("error",), "warning": ("error", "warning"), "never": ()}


class ProxyFailed(ConformanceError):
    """The capture could not be recorded (the recorder process failed)."""


@dataclass
class ProxyOutcome:
    folder: RunFolder
    results: RunResults | None
    url: str = ""
    interrupted: bool = False
    command: list[str] | None = None
    command_exit: int | None = None
    problem: str | None = None

    def findings_at(self, fail_on: str) -> int:
        tr = self.results.traffic if self.results is not None else None
        if not isinstance(tr, Traffic):
            return 0
        return sum(tr.findings.get(s, 0) for s in SEVERITIES.get(fail_on, ()))

    def exit_code(self, fail_on: str) -> int:
        """0; 1 when the traffic has findings at ``fail_on`` or the command failed; 2 when the
        capture could not be recorded."""
        if self.problem or self.results is None:
            return 2
        if self.command is not None and self.command_exit not in (0, None):
            return 1
        return 1 if self.findings_at(fail_on) else 0


class _Channel:
    """Frames to the recorder over a pipe, written by the event loop without blocking."""

    def __init__(self) -> None:
        self.transport: asyncio.WriteTransport | None = None
        self.lost = 0
        self.broken = False

    async def open(self, fd: int) -> None:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.connect_write_pipe(
            asyncio.Protocol, os.fdopen(fd, "wb", buffering=0))

    def send_config(self, cfg: Any) -> None:
        assert self.transport is not None
        data = pickle.dumps(cfg)
        self.transport.write(len(data).to_bytes(4, "big") + data)

    def send(self, obj: Captured | Started | Stop, force: bool = False) -> None:
        tr = self.transport
        if tr is None or tr.is_closing():
            self.broken = True
            self.lost += isinstance(obj, Captured)
            return
        if not force and tr.get_write_buffer_size() > PIPE_CAP:
            self.lost += 1
            return
        try:
            tr.write(frame(obj))
        except Exception:  # never break the forwarding path
            self.lost += isinstance(obj, Captured)

    async def close(self, timeout: float) -> None:
        tr = self.transport
        if tr is None:
            return
        deadline = time.monotonic() + timeout
        while not tr.is_closing() and tr.get_write_buffer_size() and \
                time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        tr.close()


@dataclass
class Proxy:
    options: ProxyOptions
    folder: RunFolder
    handlers: Sequence[Handler] = ()
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        self.url = ""
        self.ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._interrupted = False
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ control
    def request_stop(self, interrupted: bool = False) -> None:
        """Thread-safe: end the capture (``interrupted``: as Ctrl-C does)."""
        self._interrupted = self._interrupted or interrupted
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    def install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop, True)

    # ------------------------------------------------------------------ the capture
    async def run(self, until: Callable[[str], Awaitable[int | None]] | None = None,
                  command: list[str] | None = None, signals: bool = False) -> ProxyOutcome:
        """Capture until ``until(url)`` returns (its value: the command's exit code), the
        duration is over, or a stop is requested."""
        from .worker import WorkerConfig

        o = self.options
        o.check()
        o.server_ssl()
        o.client_ssl()
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.folder.path.mkdir(parents=True, exist_ok=True)
        read_fd, write_fd = os.pipe()
        from .handlers import FilesHandler

        handlers = list(self.handlers)
        if not any(isinstance(h, FilesHandler) for h in handlers):  # the record is the outcome
            handlers.insert(0, FilesHandler(self.folder.path))
        cfg = WorkerConfig(options=o, run_dir=str(self.folder.path), started=self.started,
                           handlers=handlers)
        worker = _spawn(read_fd)
        os.close(read_fd)
        channel = _Channel()
        await channel.open(write_fd)
        channel.send_config(cfg)
        fwd = Forwarder(o, channel.send)
        try:
            port = await fwd.start()
        except OSError as exc:
            channel.send(Stop(interrupted=False), force=True)
            await channel.close(1.0)
            await _wait(worker, 30)
            raise ProxyUsage(f"--listen {o.listen_host}:{o.listen_port}: cannot listen "
                             f"({exc.strerror or exc})") from None
        self.url = env_url(o, o.listen_host, port)
        channel.send(Started(listen=self.url, upstream=o.upstream), force=True)
        if signals:
            self.install_signals()
        self.ready.set()
        command_exit: int | None = None
        task = asyncio.ensure_future(until(self.url)) if until is not None else None
        stop_wait = asyncio.ensure_future(self._stop.wait())
        waits = [stop_wait] + ([task] if task is not None else [])
        if o.duration:
            waits.append(asyncio.ensure_future(asyncio.sleep(o.duration)))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                if w is not task:
                    w.cancel()
        if task is not None:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            elif task.exception() is None:
                command_exit = task.result()
            else:
                exc = task.exception()
                if isinstance(exc, ConformanceError):
                    await fwd.close(0.5)
                    channel.send(Stop(interrupted=True), force=True)
                    await channel.close(5.0)
                    await _wait(worker, 60)
                    raise exc
        interrupted = self._interrupted
        cut = await fwd.close(2.0 if interrupted else min(o.timeout, 10.0))
        channel.send(Stop(interrupted=interrupted, lost=channel.lost, in_flight=cut,
                          command=command, command_exit=command_exit), force=True)
        await channel.close(30.0)
        limit = (o.drain_timeout + 60.0) if interrupted else 3600.0
        code = await _wait(worker, limit)
        problem = None
        if code is None:
            worker.kill()
            worker.wait(5)
            problem = "the recorder did not finish in time"
        elif code:
            problem = f"the recorder process failed (exit code {code})"
        self.folder.forget()
        results = None
        try:
            results = self.folder.results
        except ArtifactError as exc:
            problem = problem or str(exc)
        if results is None and problem is None:
            problem = "no results.json was written"
        return ProxyOutcome(folder=self.folder, results=results, url=self.url,
                            interrupted=interrupted, command=command, command_exit=command_exit,
                            problem=problem)


def _spawn(read_fd: int) -> subprocess.Popen:
    """The recorder process (``python -m conformance.proxy.worker FD``), reading the pipe."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return subprocess.Popen([sys.executable, "-m", "conformance.proxy.worker", str(read_fd)],
                            pass_fds=(read_fd,), env=env, stdin=subprocess.DEVNULL,
                            start_new_session=False)


async def _wait(proc: subprocess.Popen, timeout: float) -> int | None:
    """The process's exit code, or None when it is still running after ``timeout``."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return proc.returncode


async def run_command(command: list[str], url: str) -> int:
    """Run ``command`` with CONFORMANCE_PROXY_URL set; its exit code (terminated when the
    capture is interrupted)."""
    env = {**os.environ, "CONFORMANCE_PROXY_URL": url}
    try:
        proc = await asyncio.create_subprocess_exec(*command, env=env)
    except OSError as exc:
        raise ProxyUsage(f"cannot run {command[0]!r}: {exc.strerror or exc}") from None
    try:
        return await proc.wait()
    except asyncio.CancelledError:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        raise


class ProxyThread:
    """The capture on a background thread (its own event loop); the context value is the URL
    systems send to. Leaving the block ends the capture as a finished command would (every
    waiting exchange validated); ``outcome`` is then set."""

    def __init__(self, options: ProxyOptions, folder: RunFolder,
                 handlers: Sequence[Handler] = ()) -> None:
        self.proxy = Proxy(options, folder, handlers)
        self.outcome: ProxyOutcome | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="conformance-proxy", daemon=True)

    def _run(self) -> None:
        try:
            self.outcome = asyncio.run(self.proxy.run())
        except BaseException as exc:  # handed to the caller
            self.error = exc
            self.proxy.ready.set()

    def start(self) -> str:
        self._thread.start()
        self.proxy.ready.wait(60)
        if self.error is not None:
            raise self.error
        return self.proxy.url

    def stop(self, interrupted: bool = False) -> ProxyOutcome:
        self.proxy.request_stop(interrupted)
        self._thread.join()
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self._thread.is_alive():
            self.stop()
