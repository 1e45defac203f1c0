"""SOAP 1.1 / 1.2 transport for HL7 V3 messages, with every exchange recorded.

The request is either wrapped in the platform operation ``HIPMessageServer(action, message)``
(the message travels as escaped text, as real platforms expect) or sent as the bare SOAP body.
Failures never raise: each becomes an ``Exchange`` whose ``error`` names the kind (refused,
reset, dns, timeout-connect, timeout-read, tls, too-large, http) so the step can be judged
``error`` and the run goes on.

``Transport`` speaks HTTP; ``InProcessTransport`` hands the same request to a WSGI application
in this process (the embedded reference platform) and records it the same way.
"""

from __future__ import annotations

import io
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape

import requests
from lxml import etree

from .. import xmlsafe
from ..hl7v3.builder import soap_envelope, soap_headers
from ..model import Exchange as RecordedExchange
from .target import Target

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = ("http://docs.oasis-open.org/wss/2004/01/"
                 "oasis-200401-wss-username-token-profile-1.0#PasswordText")
DEFAULT_NAMESPACE = "urn:conformance:hip-message-server"  # the embedded platform's WSDL


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


@dataclass
class SoapReply:
    """What the platform answered, unwrapped: the V3 message or a fault."""

    message: etree._Element | None = None
    message_bytes: bytes | None = None
    fault: str | None = None
    problem: str | None = None       # not XML, not SOAP, empty result …


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


def unwrap(body: bytes) -> SoapReply:
    """Find the V3 message (or the fault) inside a SOAP response, parsing hardened."""
    if not body.strip():
        return SoapReply(problem="empty response")
    try:
        root = xmlsafe.parse_bytes(body)
    except xmlsafe.ParseProblem as p:
        return SoapReply(problem=f"response is not XML ({p.detail}, line {p.line})")
    ns = etree.QName(root).namespace
    if etree.QName(root).localname != "Envelope" or ns not in (SOAP11, SOAP12):
        return SoapReply(problem=f"response is not a SOAP envelope (root {root.tag})")
    body_el = root.find(f"{{{ns}}}Body")
    if body_el is None or len(body_el) == 0:
        return SoapReply(problem="SOAP envelope has an empty Body")
    first = body_el[0]
    if etree.QName(first).localname == "Fault":
        if ns == SOAP11:
            code = first.findtext("faultcode") or ""
            reason = first.findtext("faultstring") or ""
        else:
            code = first.findtext(f"{{{ns}}}Code/{{{ns}}}Value") or ""
            reason = first.findtext(f"{{{ns}}}Reason/{{{ns}}}Text") or ""
        return SoapReply(fault=f"{code.strip()}: {reason.strip()}".strip(": "))
    if etree.QName(first).namespace == "urn:hl7-org:v3":
        return SoapReply(message=first, message_bytes=etree.tostring(first, encoding="UTF-8"))
    # HIPMessageServerResponse/HIPMessageServerResult holds the V3 message as text (in a
    # recorded request, HIPMessageServer/message does)
    carrier = next((c for c in first if isinstance(c.tag, str)
                    and etree.QName(c).localname == "message"), None)
    text = "".join((carrier if carrier is not None else first).itertext()).strip()
    if not text:
        return SoapReply(problem="the operation returned an empty result")
    data = xmlsafe.text_as_utf8(text)  # decoded by the SOAP layer: its own declaration no longer applies
    try:
        inner = xmlsafe.parse_bytes(data)
    except xmlsafe.ParseProblem as p:
        return SoapReply(problem=f"the result is not XML ({p.detail})")
    return SoapReply(message=inner, message_bytes=data)


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
        try:
            with self._session().post(url, data=body, headers=headers, stream=True,
                                      timeout=timeout) as r:
                ex.status = r.status_code
                ex.response_headers = self._redact_headers(dict(r.headers))
                ex.response_body = self._read(ex, r.iter_content(65536))
        except requests.exceptions.ConnectTimeout as exc:
            ex.error, ex.error_detail = "timeout-connect", str(exc)
        except requests.exceptions.ReadTimeout as exc:
            ex.error, ex.error_detail = "timeout-read", str(exc)
        except requests.exceptions.SSLError as exc:
            ex.error, ex.error_detail = "tls", str(exc)
        except requests.exceptions.ConnectionError as exc:
            ex.error, ex.error_detail = _connection_kind(exc), str(exc)
        except requests.exceptions.RequestException as exc:
            ex.error, ex.error_detail = "http", str(exc)

    def _read(self, ex: Exchange, chunks_in: Iterable[bytes]) -> bytes:
        """The response body, at most ``max_response_bytes`` (beyond: ``too-large``)."""
        limit = self.target.max_response_bytes
        chunks, size = [], 0
        for chunk in chunks_in:
            size += len(chunk)
            if size > limit:
                ex.truncated = True
                ex.error, ex.error_detail = "too-large", f"response exceeds {limit} bytes"
                break
            chunks.append(chunk)
        return b"".join(chunks)

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
                data = self._read(ex, result)
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


def discover_namespace(url: str, timeout: float = 5.0, verify: Any = True) -> str | None:
    """The operation namespace from the platform's own WSDL (``url?wsdl``), if it serves one."""
    try:
        r = requests.get(url.rstrip("?") + "?wsdl", timeout=timeout, verify=verify)
        if r.status_code != 200:
            return None
        root = xmlsafe.parse_bytes(r.content[:5_000_000])
    except (requests.exceptions.RequestException, xmlsafe.ParseProblem):
        return None
    return root.get("targetNamespace")
