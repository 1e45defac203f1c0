"""Run the reference platform on waitress (pure-Python, threaded, production-grade WSGI server).

`serve(...)` blocks until Ctrl-C or SIGTERM and shuts down cleanly; `EmbeddedPlatform` runs it in
a background thread on a free loopback port for tests and the harness:

    with EmbeddedPlatform(profile="hospital") as url:
        ...  # POST SOAP to url, GET url + "?wsdl"
"""

from __future__ import annotations

import contextlib
import logging
import signal
import ssl
import sys
import threading
import time
from types import TracebackType
from typing import Any

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from .auth import Auth
from .engine import Platform
from .faults import FaultInjector
from .seed import seed_patients as seed_store
from .wsgi import MAX_BODY_DEFAULT, PlatformApp, map_large_allocations

log = logging.getLogger("conformance.platform")
IDENT = "conformance-platform"   # the Server header of its answers

# Connection policy (README, "The reference platform"). waitress closes a connection only after
# `channel_timeout` without any byte, so a client that drips a header line every few seconds
# holds its connection for ever, and 256 of them (the connection limit) keep everyone else out.
# The platform bounds the time a request may take to arrive and sheds slow connections first
# when the limit is reached.
REQUEST_TIMEOUT = 20.0        # s to receive one request's headers and body …
MIN_RATE = 64 * 1024          # … plus 1 s per this many bytes received (a big body, a slow link)
IDLE_TIMEOUT = 30             # s an open connection may wait between requests
CONNECTION_LIMIT = 256
_REPORT_EVERY = 10.0          # s between two log lines about closed slow connections


def _quiet_waitress() -> None:
    # waitress logs a traceback when the 'drop' fault aborts a response on purpose
    logging.getLogger("waitress").setLevel(logging.CRITICAL)


class _Channel(HTTPChannel):
    """waitress's HTTP channel, timing the request being received: ``request_started`` is when
    its first byte came (0 when no request is half received), ``request_bytes`` how much of it
    came since. Over TLS (an ``ssl.SSLSocket`` not yet shaken hands), the handshake runs first,
    without blocking, and counts as part of the first request's time."""

    request_started = 0.0
    request_bytes = 0
    tls = False
    tls_pending = False          # handshake not finished
    _tls_want_write = False

    def __init__(self, server: Any, sock: Any, addr: Any, adj: Any, map: Any = None) -> None:
        if isinstance(sock, ssl.SSLSocket):
            self.tls = self.tls_pending = True
            self.request_started = time.monotonic()
        super().__init__(server, sock, addr, adj, map)

    # ---------------------------------------------------------------- TLS
    def readable(self) -> bool:
        return True if self.tls_pending else super().readable()

    def writable(self) -> bool:
        if self.tls_pending:
            return self._tls_want_write or self.will_close
        return super().writable()

    def handle_read(self) -> None:
        if self.tls_pending:
            self._handshake()
        elif not self.tls:
            super().handle_read()
        else:
            self._tls_read()

    def handle_write(self) -> None:
        if self.tls_pending and self.will_close:  # too slow (maintenance) or shed
            self.handle_close()
        elif self.tls_pending:
            self._handshake()
        else:
            super().handle_write()

    def _handshake(self) -> None:
        try:
            self.socket.do_handshake()
        except ssl.SSLWantReadError:
            self._tls_want_write = False
            return
        except ssl.SSLWantWriteError:
            self._tls_want_write = True
            return
        except OSError:  # not TLS (plain HTTP on the TLS port), refused certificate, reset
            self.handle_close()
            return
        self.tls_pending = self._tls_want_write = False
        self.request_started = 0.0

    def _tls_read(self) -> None:
        # read until the TLS layer holds nothing more: poll() cannot see what it has buffered
        while self.socket is not None:
            try:
                data = self.socket.recv(self.adj.recv_bytes)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            except OSError:
                self.handle_close()
                return
            if not data:  # the client closed
                self.handle_close()
                self.connected = False
                return
            self.last_activity = time.time()
            self.received(data)
            if self.socket is None or not self.socket.pending():
                return

    def send(self, data: bytes, do_close: bool = True) -> int:
        if not self.tls:
            return super().send(data, do_close)
        try:
            return self.socket.send(data)
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
            return 0  # try again when the socket is writable (same data, from the outbuf)
        except OSError:
            if do_close:
                self.handle_close()
            return 0

    def received(self, data: bytes) -> bool:
        before = self.request
        done = super().received(data)
        if self.request is None:        # nothing half received (complete, or none started)
            self.request_started, self.request_bytes = 0.0, 0
        elif self.request is not before:  # a new request started in this data
            self.request_started, self.request_bytes = time.monotonic(), len(data)
        else:
            self.request_bytes += len(data)
        return done

    def overdue(self, now: float, timeout: float) -> bool:
        return bool(self.request_started) and \
            now - self.request_started > timeout + self.request_bytes / MIN_RATE

    def sheddable(self) -> bool:
        """Not being answered, nothing left to send: closing it loses no answer."""
        return not (self.requests or self.total_outbufs_len or self.will_close
                    or self.close_when_flushed)


class _Server(TcpWSGIServer):
    """waitress's TCP server with a deadline per request and slow connections shed first."""

    channel_class = _Channel

    def __init__(self, app: Any, *, request_timeout: float, tls: ssl.SSLContext | None = None,
                 **kw: Any) -> None:
        self.request_timeout = request_timeout
        self.tls = tls
        self.dropped = {"deadline": 0, "limit": 0}
        self._reported = time.monotonic()
        adj = Adjustments(**kw)
        dispatcher = ThreadedTaskDispatcher()
        dispatcher.set_thread_count(adj.threads)
        super().__init__(app, map={}, dispatcher=dispatcher, adj=adj, sockinfo=adj.listen[0])

    def handle_accept(self) -> None:
        """waitress's, with the accepted socket wrapped for TLS (handshake later, in the channel)."""
        try:
            pair = self.accept()
            if pair is None:
                return
            conn, addr = pair
            self.set_socket_options(conn)
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        except OSError:  # the client is gone already
            return
        self.channel_class(self, conn, self.fix_addr(addr), self.adj, map=self._map)

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # idle connections (channel_timeout)
        mono = time.monotonic()
        for ch in list(self.active_channels.values()):
            if isinstance(ch, _Channel) and not ch.will_close and ch.overdue(mono, self.request_timeout):
                ch.will_close = True
                self.dropped["deadline"] += 1
        if any(self.dropped.values()) and mono - self._reported >= _REPORT_EVERY:
            log.warning("closed slow connections: %d whose request did not arrive within %.0f s "
                        "(plus 1 s per %d KiB), %d shed at the connection limit (%d)",
                        self.dropped["deadline"], self.request_timeout, MIN_RATE // 1024,
                        self.dropped["limit"], self.adj.connection_limit)
            self.dropped = {"deadline": 0, "limit": 0}
            self._reported = mono

    def readable(self) -> bool:
        now = time.time()
        if now >= self.next_channel_cleanup:
            self.next_channel_cleanup = now + self.adj.cleanup_interval
            self.maintenance(now)
        if not self.accepting:
            return False
        if len(self._map) >= self.adj.connection_limit:
            self._shed()
            return False  # accept again once the shed connection is closed (next loop turn)
        return True

    def _shed(self) -> None:
        """At the connection limit: close the connection whose request has been arriving for
        the longest time, else the one idle for the longest time (a keep-alive connection may
        be closed between requests; clients open another), never one being answered."""
        if any(ch.will_close for ch in self.active_channels.values()):
            return  # one is closing already
        cands = [ch for ch in self.active_channels.values()
                 if isinstance(ch, _Channel) and ch.sheddable()]
        if cands:
            oldest = min(cands, key=lambda ch: (0, ch.request_started) if ch.request_started
                         else (1, ch.last_activity))
            oldest.will_close = True
            self.dropped["limit"] += 1


def make_server(platform: Platform, host: str, port: int, faults: FaultInjector | None = None,
                threads: int = 16, max_body: int = MAX_BODY_DEFAULT,
                request_timeout: float = REQUEST_TIMEOUT, auth: Auth | None = None,
                tls: ssl.SSLContext | None = None) -> Any:
    app = PlatformApp(platform, faults, max_body=max_body, auth=auth)
    _quiet_waitress()
    map_large_allocations()
    return _Server(app, request_timeout=request_timeout, tls=tls,
                   url_scheme="https" if tls is not None else "http", host=host, port=port,
                   threads=threads,
                   max_request_body_size=max_body, channel_timeout=IDLE_TIMEOUT,
                   connection_limit=CONNECTION_LIMIT, cleanup_interval=1, asyncore_use_poll=True,
                   # the loop notices a stop within 0.2 s (waitress: 1 s), idle cost negligible
                   asyncore_loop_timeout=0.2,
                   ident=IDENT, clear_untrusted_proxy_headers=True)


def _shutdown(server: Any) -> None:
    """Close listeners and connections, finish running tasks (as webtest's stoppable server)."""
    with contextlib.suppress(Exception):  # shutting down anyway
        server.close()
    for ch in list(getattr(server, "_map", {}).values()):  # waitress has no public API for this
        with contextlib.suppress(Exception):
            ch.handle_close()
    server.task_dispatcher.shutdown(timeout=5)


def serve(profile: str, host: str = "127.0.0.1", port: int = 8080, db: str = ":memory:",
          faults: str = "", lang: str = "zh", threads: int = 16, max_body: int = MAX_BODY_DEFAULT,
          seed_patients: int = 0, request_timeout: float = REQUEST_TIMEOUT,
          auth: Auth | None = None, tls: ssl.SSLContext | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("conformance.platform.access").setLevel(logging.INFO)
    platform = Platform(profile, db=db, lang=lang)
    if seed_patients > 0:  # a large synthetic base first (3.3.1.2 asks for 500,000 records)
        res = seed_store(platform.store, platform.services, seed_patients,
                         progress=lambda done, n: log.info("seeding patients: %s/%s", done, n))
        log.info("seeded patients: %s new, %s already there, %s in the store (%.1f s)",
                 res.inserted, res.existing, res.total, res.seconds)
    server = make_server(platform, host, port, FaultInjector(faults), threads, max_body,
                         request_timeout, auth, tls)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, on_signal)
    log.info("conformance reference platform (%s, %s services) on %s://%s:%s/  WSDL: ?wsdl  db: %s%s%s",
             profile, len(platform.services.services), "https" if tls else "http", host,
             server.effective_port, db, f"  faults: {faults}" if faults else "",
             f"  auth: {auth.kind} (user {auth.username})" if auth else "")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, old)
        _shutdown(server)
        platform.close()
        log.info("stopped")


class EmbeddedPlatform:
    """The platform in a background thread on a free port of 127.0.0.1; the context value is the URL."""

    def __init__(self, profile: str = "hospital", db: str = ":memory:", faults: str = "",
                 lang: str = "zh", threads: int = 16, max_body: int = MAX_BODY_DEFAULT,
                 host: str = "127.0.0.1", port: int = 0,
                 request_timeout: float = REQUEST_TIMEOUT, auth: Auth | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        self.platform = Platform(profile, db=db, lang=lang)
        self.server = make_server(self.platform, host, port, FaultInjector(faults), threads, max_body,
                                  request_timeout, auth, tls)
        self.url = f"{'https' if tls else 'http'}://{host}:{self.server.effective_port}/"
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        self._thread = threading.Thread(target=self._run, name="conformance-platform", daemon=True)
        self._thread.start()
        return self.url

    def _run(self) -> None:
        with contextlib.suppress(Exception):  # closing the map may end the loop with an error
            self.server.run()

    def stop(self) -> None:
        _shutdown(self.server)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.platform.close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
