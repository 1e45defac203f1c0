"""SOAP 1.1 / 1.2 transport for HL7 V3 messages, with every exchange recorded.

The request is either wrapped in the platform operation ``HIPMessageServer(action, message)``
(the message travels as escaped text, as real platforms expect) or sent as the bare SOAP body.
Failures never raise: each becomes an ``Exchange`` whose ``error`` names the kind (refused,
reset, dns, timeout-connect, timeout-read, timeout-total, tls, too-large, http) so the step can
be judged ``error`` and the run goes on.

Every exchange is bounded: in bytes (``max_response_bytes``; the WSDL read for the operation
namespace by ``WSDL_MAX_BYTES``) and in time — the connect and read timeouts bound one connect
and one read, and the overall deadline (``Target.deadline``) the whole exchange: when it passes,
the exchange's socket is shut down (``_Deadline``, fired by one watchdog thread), which ends
whatever read or write is blocked on it, and the exchange is ``timeout-total``. A platform
dripping a byte at a time can no longer hold a step for as long as it likes.

``Transport`` speaks HTTP; ``InProcessTransport`` hands the same request to a WSGI application
in this process (the embedded reference platform) and records it the same way.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit
from xml.sax.saxutils import escape

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .. import xmlsafe
from ..hl7v3.builder import soap_envelope, soap_headers
from ..hl7v3.soap import SoapReply, unwrap
from ..model import Exchange as RecordedExchange
from .target import Target

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = ("http://docs.oasis-open.org/wss/2004/01/"
                 "oasis-200401-wss-username-token-profile-1.0#PasswordText")
DEFAULT_NAMESPACE = "urn:conformance:hip-message-server"  # the embedded platform's WSDL
WSDL_MAX_BYTES = 5_000_000       # a WSDL read for its namespace: beyond, not one we read


# ---------------------------------------------------------------------------- deadlines
class _Deadline:
    """The overall deadline of one exchange. The connections of the thread running the
    exchange attach their socket (``_attach``); when the deadline passes, that socket is shut
    down, which ends any read or write blocked on it (a TLS socket too: the shutdown is on its
    file descriptor)."""

    __slots__ = ("_lock", "_sock", "at", "expired", "finished", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = self.finished = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            if self.expired:
                _shut(sock)

    def fire(self) -> None:
        with self._lock:
            if self.finished:
                return
            self.expired = True
            if self._sock is not None:
                _shut(self._sock)

    def finish(self) -> bool:
        """Stop watching; whether the deadline had passed first."""
        with self._lock:
            self.finished = True
            return self.expired


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread firing the deadlines of every exchange of the process, in time order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._cond = threading.Condition()
        self._count = 0
        self._thread: threading.Thread | None = None

    def watch(self, deadline: _Deadline) -> None:
        with self._cond:
            heapq.heappush(self._heap, (deadline.at, self._count, deadline))
            self._count += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="exchange-deadlines",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].finished:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)[2].fire()


_WATCHDOG = _Watchdog()
_current = threading.local()


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[_Deadline]:
    """The overall deadline of the exchange this thread runs inside the block."""
    d = _Deadline(seconds)
    _current.deadline = d
    _WATCHDOG.watch(d)
    try:
        yield d
    finally:
        _current.deadline = None
        d.finish()


def _attach(sock: socket.socket | None) -> None:
    d = getattr(_current, "deadline", None)
    if d is not None and sock is not None:
        d.attach(sock)


class _DeadlineHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _attach(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:  # a kept-alive connection reused
        _attach(self.sock)
        super().request(*args, **kwargs)


class _DeadlineHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _attach(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self.sock)
        super().request(*args, **kwargs)


# named as urllib3's own: their names show in error details
_HTTPPool = type("HTTPConnectionPool", (HTTPConnectionPool,),
                 {"ConnectionCls": _DeadlineHTTPConnection})
_HTTPSPool = type("HTTPSConnectionPool", (HTTPSConnectionPool,),
                  {"ConnectionCls": _DeadlineHTTPSConnection})


class _DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections attach their socket to the exchange's deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, kind):
            return True
        todo += [a for a in e.args if isinstance(a, BaseException)]
        todo += [e.__cause__, e.__context__, getattr(e, "reason", None)]
    return False


def wsdl_url(url: str) -> str:
    """The URL of an endpoint's WSDL: ``wsdl`` added to its query (``?wsdl``, ``?a=1&wsdl``)."""
    parts = urlsplit(url)
    query = parts.query.rstrip("&")
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/",
                       f"{query}&wsdl" if query else "wsdl", ""))


@dataclass
class Exchange:
    """One request/response pair as it happened, bodies in memory; the URL, the headers, the
    request body and the error detail with the target's secrets redacted (the response body as
    it came: it is judged; the run's writers get it redacted, ``session.redacted``);
    ``record()`` gives the evidence form."""

    url: str
    action: str
    soap_version: str
    request_headers: dict[str, str]
    request_body: bytes
    started: str = ""
    duration_ms: float = 0.0
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""
    error: str | None = None          # kind, when no judgeable answer came back
    error_detail: str | None = None
    truncated: bool = False

    def record(self, **where: Any) -> RecordedExchange:
        """The exchange as recorded evidence (``model.Exchange``): the bodies become files of the
        run folder, named in ``where`` (``request_file``, ``response_file``, ``step``, ``case``)."""
        return RecordedExchange(
            url=self.url, action=self.action, soap_version=self.soap_version,
            request_headers=self.request_headers, status=self.status,
            response_headers=self.response_headers, started=self.started,
            duration_ms=round(self.duration_ms, 3), error=self.error,
            error_detail=self.error_detail, truncated=self.truncated,
            request_bytes=len(self.request_body), response_bytes=len(self.response_body), **where)


def wsse_header(username: str, password: str) -> str:
    return (f'<wsse:Security xmlns:wsse="{WSSE}"><wsse:UsernameToken>'
            f"<wsse:Username>{escape(username)}</wsse:Username>"
            f'<wsse:Password Type="{PASSWORD_TEXT}">{escape(password)}</wsse:Password>'
            "</wsse:UsernameToken></wsse:Security>")


def envelope(message: bytes, action: str, *, soap_version: str = "1.1", wrap: str = "operation",
             namespace: str = DEFAULT_NAMESPACE, header: str = "") -> bytes:
    """A SOAP envelope carrying an HL7 V3 message (the builder's, plus an optional header)."""
    return soap_envelope(message, soap_version, action=action if wrap == "operation" else None,
                         namespace=namespace, header=header)


class Transport:
    """Thread-safe HTTP client for one target (connection pooling, rate limit, redaction)."""

    def __init__(self, target: Target, namespace: str | None = None) -> None:
        self.target = target
        self.namespace = namespace or DEFAULT_NAMESPACE
        self._local = threading.local()
        self._lock = threading.Lock()
        self._next_slot = 0.0

    def _session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            t = self.target
            s.mount("http://", _DeadlineAdapter())
            s.mount("https://", _DeadlineAdapter())
            s.verify = t.tls.get("ca_bundle") or bool(t.tls.get("verify", True))
            if t.tls.get("client_cert"):
                s.cert = ((t.tls["client_cert"], t.tls["client_key"]) if t.tls.get("client_key")
                          else t.tls["client_cert"])
            if t.auth.get("type") == "basic":
                s.auth = (str(t.auth.get("username", "")), str(t.auth.get("password", "")))
            s.trust_env = False
            self._local.session = s
        return s

    def _throttle(self) -> None:
        rate = self.target.rate_limit
        if rate <= 0:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1.0 / rate
        if slot > now:
            time.sleep(slot - now)

    def wire_action(self, action: str, s_code: str | None = None) -> str:
        t = self.target
        if t.action_style == "s-code" and s_code:
            return s_code
        if t.action_style == "custom":
            return t.action_map.get(action, action)
        return action

    def send(self, action: str, message: bytes, *, s_code: str | None = None,
             timeout: tuple[float, float] | None = None) -> tuple[Exchange, SoapReply | None]:
        t = self.target
        url = t.url_for(action)
        wire = self.wire_action(action, s_code)
        header = ""
        if t.auth.get("type") == "wsse":
            header = wsse_header(str(t.auth.get("username", "")), str(t.auth.get("password", "")))
        body = envelope(message, wire, soap_version=t.soap_version, wrap=t.wrap,
                        namespace=self.namespace, header=header)
        headers = soap_headers(t.soap_version, f"{self.namespace.rstrip('/')}/HIPMessageServer")
        headers.update(t.headers)
        redactor = t.redactor()
        ex = Exchange(url=redactor.redact_url(url), action=wire, soap_version=t.soap_version,
                      request_headers=redactor.redact_headers(headers),
                      request_body=redactor.redact_bytes(body))
        self._throttle()
        ex.started = datetime.now(UTC).isoformat(timespec="milliseconds")
        t0 = time.perf_counter()
        self._post(ex, url, body, headers, timeout or (t.connect_timeout, t.read_timeout))
        ex.duration_ms = (time.perf_counter() - t0) * 1000
        if ex.error_detail:
            ex.error_detail = redactor.redact_text(ex.error_detail)
        if ex.error:
            return ex, None
        return ex, unwrap(ex.response_body)

    def _post(self, ex: Exchange, url: str, body: bytes, headers: dict[str, str],
              timeout: tuple[float, float]) -> None:
        """POST over HTTP; fill in the answer (status, headers, body) or the error kind."""
        self._http(ex, "POST", url, body, headers, timeout, self.target.max_response_bytes)

    def _http(self, ex: Exchange, method: str, url: str, body: bytes | None,
              headers: dict[str, str], timeout: tuple[float, float], limit: int) -> None:
        """One HTTP exchange within the target's overall deadline (``timeout-total``)."""
        seconds = self.target.deadline
        session = self._session()
        with _deadline(seconds) as deadline:
            try:
                with session.request(method, url, data=body, headers=headers, stream=True,
                                     timeout=timeout) as r:
                    ex.status = r.status_code
                    ex.response_headers = self._redact_headers(dict(r.headers))
                    self._read(ex, r.iter_content(65536), limit)
                    deadline.finish()
            except requests.exceptions.ConnectTimeout as exc:
                ex.error, ex.error_detail = "timeout-connect", str(exc)
            except requests.exceptions.ReadTimeout as exc:
                ex.error, ex.error_detail = "timeout-read", str(exc)
            except requests.exceptions.SSLError as exc:
                ex.error, ex.error_detail = "tls", str(exc)
            except requests.exceptions.ConnectionError as exc:
                # requests reports a read timeout in the body as a ConnectionError: a declared
                # length that never arrives is a read timeout
                kind = ("timeout-read" if _caused_by(exc, urllib3.exceptions.ReadTimeoutError)
                        else _connection_kind(exc))
                ex.error, ex.error_detail = kind, str(exc)
            except requests.exceptions.ChunkedEncodingError as exc:  # the body cut short
                ex.error, ex.error_detail = "reset", f"the answer ended early: {exc}"
            except requests.exceptions.RequestException as exc:
                ex.error, ex.error_detail = "http", str(exc)
        if deadline.expired:
            ex.error = "timeout-total"
            ex.error_detail = (f"no complete answer within {seconds:g} s, the exchange's overall "
                               f"deadline (timeouts.total); {len(ex.response_body)} bytes of body "
                               f"received" + ("" if ex.status else ", no status line"))
            ex.truncated = ex.truncated or bool(ex.response_body)

    def _read(self, ex: Exchange, chunks_in: Iterable[bytes], limit: int | None = None) -> bytes:
        """The response body into ``ex.response_body`` (what came, also when the read fails),
        at most ``limit`` bytes (``max_response_bytes``; beyond: ``too-large``)."""
        limit = self.target.max_response_bytes if limit is None else limit
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in chunks_in:
                size += len(chunk)
                if size > limit:
                    ex.truncated = True
                    ex.error, ex.error_detail = "too-large", f"response exceeds {limit} bytes"
                    break
                chunks.append(chunk)
        finally:
            ex.response_body = b"".join(chunks)
        return ex.response_body

    def discover_namespace(self) -> str | None:
        """The operation namespace from the platform's own WSDL (``wsdl_url``), read with the
        target's credentials, headers and TLS settings, bounded like every exchange (at most
        ``WSDL_MAX_BYTES``, within the overall deadline); None when it serves none."""
        t = self.target
        url = wsdl_url(t.url_for(""))
        ex = Exchange(url=t.redactor().redact_url(url), action="", soap_version=t.soap_version,
                      request_headers={}, request_body=b"")
        self._http(ex, "GET", url, None, dict(t.headers), (t.connect_timeout, t.read_timeout),
                   WSDL_MAX_BYTES)
        if ex.error or ex.status != 200 or not ex.response_body:
            return None
        try:
            root = xmlsafe.parse_bytes(ex.response_body)
        except xmlsafe.ParseProblem:
            return None
        return root.get("targetNamespace")

    def _redact_headers(self, headers: dict[str, str]) -> dict[str, str]:
        return self.target.redactor().redact_headers(headers)


class InProcessTransport(Transport):
    """The same transport for a platform running in this process: the request goes to its WSGI
    application directly (no socket, no HTTP parsing), and is recorded as the HTTP exchange it
    stands for — the same URL form, headers (with the ``Date`` and ``Server`` an HTTP server
    adds), status, body and timing. An application that fails while producing its answer is a
    ``reset`` (the connection would have been closed mid-response)."""

    def __init__(self, target: Target, app: Callable[..., Iterable[bytes]], *,
                 namespace: str | None = None, server: str = "") -> None:
        super().__init__(target, namespace)
        self.app = app
        self.server = server

    def _post(self, ex: Exchange, url: str, body: bytes, headers: dict[str, str],
              timeout: tuple[float, float]) -> None:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = str(parts.port or (443 if parts.scheme == "https" else 80))
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": unquote(parts.path or "/"),
            "QUERY_STRING": parts.query, "SERVER_NAME": host, "SERVER_PORT": port,
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_LENGTH": str(len(body)), "wsgi.version": (1, 0),
            "wsgi.url_scheme": parts.scheme or "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
            "wsgi.run_once": False, "HTTP_HOST": parts.netloc or host}
        for name, value in headers.items():
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = value
            else:
                environ[f"HTTP_{key}"] = value
        answer: dict[str, Any] = {}

        def start_response(status: str, response_headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Callable[[bytes], None]:
            answer["status"], answer["headers"] = status, response_headers
            return lambda data: None

        try:
            result = self.app(environ, start_response)
            try:
                data = self._read(ex, result, self.target.max_response_bytes)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception as exc:  # the platform broke off its answer
            ex.error, ex.error_detail = "reset", f"the platform ended the response: {exc!r}"
            return
        merged = {k: v for k, v in answer.get("headers", [])}
        merged.setdefault("Date", formatdate(usegmt=True))
        if self.server:
            merged.setdefault("Server", self.server)
        ex.status = int(str(answer.get("status", "500")).split()[0])
        ex.response_headers = self._redact_headers(dict(sorted(merged.items())))
        ex.response_body = data


def _connection_kind(exc: Exception) -> str:
    text = repr(exc)
    if "NameResolution" in text or "Name or service not known" in text or isinstance(
            getattr(exc, "__cause__", None), socket.gaierror):
        return "dns"
    if "Connection refused" in text or "ConnectionRefused" in text:
        return "refused"
    if "reset" in text.lower() or "RemoteDisconnected" in text or "aborted" in text.lower():
        return "reset"
    return "connection"


def discover_namespace(target: Target) -> str | None:
    """The operation namespace a platform's WSDL declares (``Transport.discover_namespace``)."""
    return Transport(target).discover_namespace()
