"""Issue 17 item 10: slow clients cannot deny service. Before: 300 clients (more than waitress's
connection limit of 256) each dripping a header line every 5 s kept every other client out
(the inactivity timeout never fires for a client that drips)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time

import pytest
import requests

from conformance.platform.server import EmbeddedPlatform

pytestmark = pytest.mark.slow  # real servers, whole suites or PDFs: the full run, not the unit loop


class Drippers:
    """``n`` clients, each sending a request line, then one header line every ``period`` seconds,
    never finishing (``mode`` "body": complete headers, then a body byte every period; "idle":
    nothing at all); a client the server closes connects again (as an attacker would)."""

    def __init__(self, host: str, port: int, n: int, period: float, mode: str = "headers") -> None:
        self.host, self.port, self.n, self.period, self.mode = host, port, n, period, mode
        self.connected = 0
        self.closed_by_server = 0
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self.stop_event = asyncio.Event()
        await asyncio.gather(*(self._one() for _ in range(self.n)), return_exceptions=True)

    async def _one(self) -> None:
        assert self.stop_event is not None
        while not self.stop_event.is_set():
            try:
                r, w = await asyncio.open_connection(self.host, self.port)
            except OSError:
                await asyncio.sleep(0.2)
                continue
            self.connected += 1
            try:
                drip = {"headers": b"X-Drip: 1\r\n", "body": b"x", "idle": b""}[self.mode]
                if self.mode == "body":  # complete headers, then a body that never ends
                    w.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
                            b"Content-Length: 1000000\r\n\r\n")
                elif self.mode == "headers":
                    w.write(b"POST / HTTP/1.1\r\nHost: x\r\n")
                while not self.stop_event.is_set():
                    try:
                        data = await asyncio.wait_for(r.read(1024), self.period)
                    except TimeoutError:
                        w.write(drip)
                        await w.drain()
                        continue
                    if not data:
                        self.closed_by_server += 1
                        break
            except OSError:
                self.closed_by_server += 1
            finally:
                w.close()
                with contextlib.suppress(Exception):
                    await w.wait_closed()

    def start(self) -> Drippers:
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(timeout=30)


def _timed_get(url: str, timeout: float) -> float:
    t0 = time.monotonic()
    r = requests.get(url + "?wsdl", timeout=timeout)
    assert r.status_code == 200
    return time.monotonic() - t0


@pytest.mark.parametrize("mode", ["headers", "body", "idle"])
def test_300_dripping_clients_do_not_keep_a_normal_client_out(mode: str) -> None:
    with EmbeddedPlatform() as url:
        host, port = url.split("//")[1].rstrip("/").split(":")
        drip = Drippers(host, int(port), 300, 5.0, mode).start()
        try:
            deadline = time.monotonic() + 10
            while drip.connected < 300 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert drip.connected >= 300
            time.sleep(0.5)
            times = []
            for _ in range(3):
                try:
                    times.append(_timed_get(url, timeout=8))
                except requests.exceptions.RequestException as exc:
                    pytest.fail(f"a normal client got no answer while 300 clients drip: {exc}")
            assert max(times) < 3.0, times
        finally:
            drip.stop()


def test_a_request_not_received_in_time_is_closed() -> None:
    with EmbeddedPlatform(request_timeout=1.5) as url:
        host, port = url.split("//")[1].rstrip("/").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
            t0 = time.monotonic()
            closed = None
            while time.monotonic() - t0 < 8:  # drip a header line every 0.3 s
                try:
                    s.sendall(b"X-Drip: 1\r\n")
                    s.settimeout(0.3)
                    if s.recv(1024) == b"":
                        closed = time.monotonic() - t0
                        break
                except TimeoutError:
                    continue
                except OSError:
                    closed = time.monotonic() - t0
                    break
            assert closed is not None and 1.0 < closed < 4.0, closed
        # a request sent at once is answered as before
        assert _timed_get(url, timeout=5) < 2
