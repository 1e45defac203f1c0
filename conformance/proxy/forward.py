"""The forwarding path (aiohttp, one event loop): receive, forward, answer — and hand a copy of
the exchange to the recorder process. Nothing here parses XML, validates, redacts or writes a
file: the loop only moves bytes.

Transparency: the request goes upstream with its method, path, query, headers and body as
received, the answer comes back with its status, reason, headers and body as sent. Hop-by-hop
headers (Connection and those it names, Keep-Alive, Transfer-Encoding, TE, Trailer, Upgrade,
Proxy-*, Expect) are the proxy's own, Host names the upstream, and aiohttp adds Date, Server or
Content-Type only when the upstream sent none. Bodies are buffered up to ``max_body`` (like a
buffering reverse proxy) and streamed beyond it; what is recorded is cut at ``max_body``.

When the upstream gives no usable answer the proxy answers itself, with a SOAP Fault saying why
(SOAP version of the request) and the header ``X-Conformance-Proxy``: 502 for refused, reset, DNS,
TLS or a malformed answer, 504 for a connect or answer timeout (``timeout`` covers the whole
answer, so a body that never ends is cut there). After the answer's headers are out a failure
can only end the connection, which the caller sees as an incomplete answer."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from ..i18n import t
from .options import ProxyOptions
from .wire import Captured

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                        "proxy-connection", "te", "trailer", "trailers", "transfer-encoding",
                        "upgrade", "expect"})
CHUNK = 64 * 1024
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"


def now_ms() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _hop(headers: Any) -> set[str]:
    out = set(HOP_BY_HOP)
    for value in headers.getall("Connection", []):
        out.update(tok.strip().lower() for tok in value.split(",") if tok.strip())
    return out


def classify(exc: BaseException) -> tuple[str, int]:
    """(error kind, status the proxy answers with) for a failure before the answer's headers."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return "tls", 502
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "dns", 502
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return "timeout-connect", 504
    if isinstance(exc, aiohttp.ClientConnectorError):
        err = getattr(exc, "os_error", None)
        return ("refused" if getattr(err, "errno", None) == errno.ECONNREFUSED
                else "connection"), 502
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return "timeout-read", 504      # connected: the answer (or its end) did not come
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "reset", 502
    if isinstance(exc, aiohttp.ClientOSError):
        return "reset", 502
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "incomplete", 502
    if isinstance(exc, aiohttp.ClientResponseError):
        return "bad-response", 502
    return "connection", 502


async def _read_upto(content: aiohttp.StreamReader, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes; True when that was the whole body."""
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = await content.read(CHUNK)
        if not chunk:
            return b"".join(parts), True
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts), False


class Forwarder:
    """An aiohttp low-level server forwarding to one upstream; every exchange → ``send``."""

    def __init__(self, opts: ProxyOptions, send: Callable[[Captured], None]) -> None:
        self.o = opts
        self.send = send
        self.origin, self.base_path, _ = opts.upstream_parts
        self.seq = 0
        self.in_flight = 0
        self.session: aiohttp.ClientSession | None = None
        self.server: web.Server | None = None
        self.listener: asyncio.Server | None = None
        self.port = 0

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> int:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, ssl=self.o.client_ssl(),
                                           force_close=False),
            auto_decompress=False, trust_env=False, cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=self.o.timeout, connect=self.o.connect_timeout))
        self.server = web.Server(self.handle, access_log=None, auto_decompress=False,
                                 handler_cancellation=False)
        loop = asyncio.get_running_loop()
        self.listener = await loop.create_server(self.server, self.o.listen_host,
                                                 self.o.listen_port, ssl=self.o.server_ssl(),
                                                 reuse_address=True, backlog=1024)
        self.port = self.listener.sockets[0].getsockname()[1]
        return self.port

    async def close(self, grace: float) -> int:
        """Stop accepting; give running exchanges ``grace`` seconds; return how many were cut."""
        if self.listener is not None:
            self.listener.close()
        deadline = time.monotonic() + grace
        while self.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        cut = self.in_flight
        if self.server is not None:
            await self.server.shutdown(0.1)
        if self.listener is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.listener.wait_closed(), 1.0)
        # handlers cancelled by the shutdown record themselves as interrupted
        for _ in range(50):
            if not self.in_flight:
                break
            await asyncio.sleep(0.01)
        if self.session is not None:
            await self.session.close()
        return cut

    # ------------------------------------------------------------------ one exchange
    def target(self, path_qs: str) -> URL:
        if path_qs == "/" or path_qs.startswith("/?"):
            path_qs = self.base_path + path_qs[1:]
        return URL(self.origin + path_qs, encoded=True)

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        t0 = time.perf_counter()
        self.seq += 1
        self.in_flight += 1
        peer = request.remote or "-"
        url = self.target(request.raw_path)
        rec = Captured(seq=self.seq, started=now_ms(), duration_ms=0.0, method=request.method,
                       path=request.raw_path, url=str(url), client=peer,
                       request_headers=[(str(k), v) for k, v in request.headers.items()],
                       request_body=b"",
                       request_size=0)
        try:
            return await self._forward(request, url, rec)
        except asyncio.CancelledError:
            rec.error = rec.error or "interrupted"
            rec.error_detail = rec.error_detail or "the capture ended during the exchange"
            raise
        finally:
            rec.duration_ms = round((time.perf_counter() - t0) * 1000, 3)
            self.in_flight -= 1
            self.send(rec)   # never raises: a frame that cannot go is counted as lost

    async def _forward(self, request: web.BaseRequest, url: URL,
                       rec: Captured) -> web.StreamResponse:
        assert self.session is not None
        limit = self.o.max_body
        hop = _hop(request.headers)
        headers = CIMultiDict((k, v) for k, v in request.headers.items()
                              if k.lower() not in hop and k.lower() != "host")
        data: Any
        if request.body_exists:
            length = request.content_length
            if length is not None and length <= limit:
                body, whole = await request.read(), True
            else:
                body, whole = await _read_upto(request.content, limit)
            rec.request_body = body[:limit]
            rec.request_size = len(body)
            if whole:
                data = body
                headers.popall("Content-Length", None)
            else:
                data = self._tee(body, request.content, rec)
        else:
            data = None
            headers.popall("Content-Length", None)
        try:
            async with self.session.request(request.method, url, data=data, headers=headers,
                                            allow_redirects=False, compress=None,
                                            chunked=None) as up:
                rec.status, rec.reason = up.status, up.reason
                rec.response_headers = [(str(k), v) for k, v in up.headers.items()]
                out = CIMultiDict((k, v) for k, v in up.headers.items()
                                  if k.lower() not in _hop(up.headers))
                if request.method == "HEAD":
                    resp = web.StreamResponse(status=up.status, reason=up.reason, headers=out)
                    await resp.prepare(request)
                    await resp.write_eof()
                    return resp
                first, whole = await _read_upto(up.content, limit)
                rec.response_body = first[:limit]
                rec.response_size = len(first)
                if whole:
                    out.popall("Content-Length", None)
                    resp = web.Response(status=up.status, reason=up.reason, body=first,
                                        headers=out)
                    await resp.prepare(request)
                    await resp.write_eof()
                    return resp
                return await self._stream(request, up, out, first, rec)
        except (TimeoutError, aiohttp.ClientError) as exc:
            kind, status = classify(exc)
            rec.error, rec.error_detail = kind, _detail(exc)
            rec.status, rec.reason = status, None
            rec.response_headers, rec.response_body = [], b""
            return await self._answer(request, status, kind, rec)
        except ConnectionResetError as exc:  # the caller went away
            rec.error, rec.error_detail = "client-gone", _detail(exc)
            return web.Response(status=499)

    async def _tee(self, first: bytes, content: aiohttp.StreamReader,
                   rec: Captured) -> AsyncIterator[bytes]:
        yield first
        size = len(first)
        async for chunk in content.iter_any():
            size += len(chunk)
            rec.request_size = size
            yield chunk

    async def _stream(self, request: web.BaseRequest, up: aiohttp.ClientResponse,
                      out: CIMultiDict[str], first: bytes, rec: Captured) -> web.StreamResponse:
        resp = web.StreamResponse(status=up.status, reason=up.reason, headers=out)
        await resp.prepare(request)
        size = len(first)
        try:
            await resp.write(first)
            async for chunk in up.content.iter_any():
                size += len(chunk)
                await resp.write(chunk)
            await resp.write_eof()
        except (TimeoutError, aiohttp.ClientError) as exc:
            kind, _ = classify(exc)
            rec.error = "timeout-read" if kind.startswith("timeout") else "incomplete"
            rec.error_detail = _detail(exc)
            if request.transport is not None:
                request.transport.abort()
        except ConnectionResetError as exc:
            rec.error, rec.error_detail = "client-gone", _detail(exc)
        finally:
            rec.response_size = size
        return resp

    async def _answer(self, request: web.BaseRequest, status: int, kind: str,
                      rec: Captured) -> web.StreamResponse:
        """The proxy's own answer (502 / 504): a SOAP Fault naming the cause."""
        rec.answered_by_proxy = True
        ctype = request.headers.get("Content-Type", "")
        v12 = "application/soap+xml" in ctype.lower()
        text = t(f"proxy.fault.{kind}" if kind in _FAULT_KINDS else "proxy.fault.connection",
                 self.o.lang, upstream=self.origin, timeout=f"{self.o.timeout:g}",
                 detail=rec.error_detail or "-")
        if v12:
            body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope xmlns:soap="{SOAP12}">'
                    "<soap:Body><soap:Fault><soap:Code><soap:Value>soap:Receiver</soap:Value>"
                    f"</soap:Code><soap:Reason><soap:Text xml:lang=\"{self.o.lang}\">"
                    f"{escape(text)}</soap:Text></soap:Reason></soap:Fault></soap:Body>"
                    "</soap:Envelope>")
            ct = "application/soap+xml; charset=utf-8"
        else:
            body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope xmlns:soap="{SOAP11}">'
                    "<soap:Body><soap:Fault><faultcode>soap:Server</faultcode>"
                    f"<faultstring>{escape(text)}</faultstring></soap:Fault></soap:Body>"
                    "</soap:Envelope>")
            ct = "text/xml; charset=utf-8"
        data = body.encode("utf-8")
        headers = {"Content-Type": ct, "X-Conformance-Proxy": f"{status} {kind}"}
        rec.response_headers = list(headers.items())
        rec.response_body, rec.response_size = data, len(data)
        resp = web.Response(status=status, body=data, headers=headers)
        try:
            await resp.prepare(request)
            await resp.write_eof()
        except ConnectionResetError:
            pass
        return resp


_FAULT_KINDS = ("refused", "reset", "dns", "tls", "timeout-connect", "timeout-read",
                "bad-response", "incomplete")


def _detail(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:500]
