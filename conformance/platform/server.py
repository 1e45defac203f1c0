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
import sys
import threading
from types import TracebackType
from typing import Any

from waitress.server import create_server

from .engine import Platform
from .faults import FaultInjector
from .seed import seed_patients as seed_store
from .wsgi import MAX_BODY_DEFAULT, PlatformApp

log = logging.getLogger("conformance.platform")
IDENT = "conformance-platform"   # the Server header of its answers


def _quiet_waitress() -> None:
    # waitress logs a traceback when the 'drop' fault aborts a response on purpose
    logging.getLogger("waitress").setLevel(logging.CRITICAL)


def make_server(platform: Platform, host: str, port: int, faults: FaultInjector | None = None,
                threads: int = 16, max_body: int = MAX_BODY_DEFAULT) -> Any:
    app = PlatformApp(platform, faults, max_body=max_body)
    _quiet_waitress()
    return create_server(app, host=host, port=port, threads=threads,
                         max_request_body_size=max_body, channel_timeout=30,
                         connection_limit=256, ident=IDENT,
                         clear_untrusted_proxy_headers=True)


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
          seed_patients: int = 0) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("conformance.platform.access").setLevel(logging.INFO)
    platform = Platform(profile, db=db, lang=lang)
    if seed_patients > 0:  # a large synthetic base first (3.3.1.2 asks for 500,000 records)
        res = seed_store(platform.store, platform.services, seed_patients,
                         progress=lambda done, n: log.info("seeding patients: %s/%s", done, n))
        log.info("seeded patients: %s new, %s already there, %s in the store (%.1f s)",
                 res.inserted, res.existing, res.total, res.seconds)
    server = make_server(platform, host, port, FaultInjector(faults), threads, max_body)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, on_signal)
    log.info("conformance reference platform (%s, %s services) on http://%s:%s/  WSDL: ?wsdl  db: %s%s",
             profile, len(platform.services.services), host, server.effective_port, db,
             f"  faults: {faults}" if faults else "")
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
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.platform = Platform(profile, db=db, lang=lang)
        self.server = make_server(self.platform, host, port, FaultInjector(faults), threads, max_body)
        self.url = f"http://{host}:{self.server.effective_port}/"
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
