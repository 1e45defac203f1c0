"""WSGI application of the reference platform: SOAP 1.1 / 1.2 at the root URL, WSDL at ?wsdl.

Envelope problems (wrong content type, oversize, not XML, not SOAP) are answered with a SOAP
Fault and a 4xx status; message problems with an AR/AE acknowledgement (HTTP 200); a bug with a
500 Fault (details only in the server log, never a traceback page).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from lxml import etree

from .. import xmlsafe
from ..catalog import HL7_NS
from ..hl7v3.builder import SOAP11_NS, SOAP12_NS, environment
from ..secrets import mask_query
from ..validate.diagnostics import parse_detail
from .auth import Auth
from .engine import Platform
from .explain import element_name
from .faults import Decision, FaultInjector
from .safe import clip, phrase

log = logging.getLogger("conformance.platform")
access_log = logging.getLogger("conformance.platform.access")
MAX_BODY_DEFAULT = 10 * 1024 * 1024
# Requests with a body larger than this (or of unknown length) are handled at most
# MAX_LARGE_REQUESTS at a time: each holds several copies of its body while it is parsed and
# checked (README, "The reference platform").
LARGE_BODY = 1024 * 1024
MAX_LARGE_REQUESTS = 4
_XML_TYPES = {"text/xml": "1.1", "application/soap+xml": "1.2", "application/xml": None}

StartResponse = Callable[..., Any]


class _Dropped(Exception):
    """Raised after the headers are out to make the server close the connection (fault 'drop')."""


class PlatformApp:
    def __init__(self, platform: Platform, faults: FaultInjector | None = None,
                 max_body: int = MAX_BODY_DEFAULT, auth: Auth | None = None) -> None:
        self.platform = platform
        self.auth = auth
        self.faults = faults or FaultInjector("")
        self.max_body = max_body
        self._large = threading.BoundedSemaphore(MAX_LARGE_REQUESTS)
        soap = platform.services.soap
        self.ns = str(soap.get("namespace") or "urn:conformance:hip-message-server")
        self.op = str(soap.get("operation") or "HIPMessageServer")
        self.service_name = str(soap.get("service") or "HIPMessageServerService")
        self.lang = platform.lang

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        t0 = time.perf_counter()
        info: dict[str, Any] = {"action": "-", "interaction": "-", "ack": "-"}
        status = "500 Internal Server Error"
        body = b""
        try:
            status, headers, body, decision = self._dispatch(environ, info)
        except Exception:
            log.exception("unhandled error")
            status, headers, body = self._fault("1.1", "Receiver",
                                                phrase("platform.fault.internal", self.lang), 500)
            decision = Decision()
        if decision.slow:
            time.sleep(decision.slow)
        self._log(environ, status, len(body), info, t0, decision)
        if decision.drop:
            start_response(status, headers + [("Content-Length", str(len(body)))])
            return _DropIterator(body[:1])
        start_response(status, headers + [("Content-Length", str(len(body)))])
        return [body]

    def _log(self, environ: dict[str, Any], status: str, size: int, info: dict[str, Any], t0: float,
             decision: Decision) -> None:
        ms = (time.perf_counter() - t0) * 1000
        extra = f" faults={'+'.join(decision.names())}" if decision.any else ""
        query = environ.get("QUERY_STRING")
        access_log.info('%s "%s %s%s" %s %d action=%s interaction=%s ack=%s %.1fms%s',
                        clip(environ.get("REMOTE_ADDR", "-")), clip(environ.get("REQUEST_METHOD", "-")),
                        clip(environ.get("PATH_INFO", "/")), ("?" + clip(mask_query(query))) if query else "",
                        status.split()[0], size, clip(info["action"]), clip(info["interaction"]),
                        clip(info["ack"]), ms, extra)

    def _dispatch(self, environ: dict[str, Any], info: dict[str, Any]
                  ) -> tuple[str, list[tuple[str, str]], bytes, Decision]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        qs = environ.get("QUERY_STRING", "")
        if method in ("GET", "HEAD"):
            if "wsdl" in {k.lower() for k in parse_qs(qs, keep_blank_values=True)}:
                return "200 OK", [("Content-Type", "text/xml; charset=utf-8")], self.wsdl(environ), Decision()
            if environ.get("PATH_INFO", "/") in ("", "/"):
                text = (f"conformance reference platform ({self.platform.profile}): POST SOAP 1.1/1.2 "
                        f"{self.op}(action, message) here; WSDL at ?wsdl\n")
                return "200 OK", [("Content-Type", "text/plain; charset=utf-8")], text.encode(), Decision()
            plain = [("Content-Type", "text/plain; charset=utf-8")]
            return "404 Not Found", plain, b"not found\n", Decision()
        if method != "POST":
            st, h, b = self._fault("1.1", "Sender",
                                   phrase("platform.fault.method", self.lang, method=method), 405)
            return st, h + [("Allow", "GET, POST")], b, Decision()
        ctype = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        if ctype not in _XML_TYPES:
            return (*self._fault("1.1", "Sender",
                                 phrase("platform.fault.content_type", self.lang, ct=ctype or "-"), 415),
                    Decision())
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.max_body:
            return (*self._fault(_XML_TYPES[ctype] or "1.1", "Sender",
                                 phrase("platform.fault.too_large", self.lang, size=length,
                                        limit=self.max_body), 413),
                    Decision())
        authed = self.auth is None or (self.auth.basic and self.auth.basic_ok(environ))
        if not authed and not self.auth.wsse:  # Basic only: refused before the body is read
            return self._unauthorized(_XML_TYPES[ctype] or "1.1", self.auth.basic_given(environ))
        large = not length or length > LARGE_BODY
        with self._large if large else contextlib.nullcontext():
            try:
                return self._post(environ, info, ctype, length, authed)
            finally:
                if large:  # the request's copies are gone: give their memory back
                    release_memory()

    def _post(self, environ: dict[str, Any], info: dict[str, Any], ctype: str, length: int,
              authed: bool) -> tuple[str, list[tuple[str, str]], bytes, Decision]:
        stream = environ["wsgi.input"]
        data = stream.read(length) if length else stream.read(self.max_body + 1)
        if len(data) > self.max_body:
            return (*self._fault(_XML_TYPES[ctype] or "1.1", "Sender",
                                 phrase("platform.fault.too_large", self.lang, size=len(data),
                                        limit=self.max_body), 413),
                    Decision())
        if length and len(data) < length:
            return (*self._fault(_XML_TYPES[ctype] or "1.1", "Sender",
                                 phrase("platform.fault.incomplete", self.lang, declared=length,
                                        got=len(data)), 400),
                    Decision())
        decision = self.faults.decide()
        version = _XML_TYPES[ctype] or "1.1"
        try:
            env = xmlsafe.parse_bytes(data, max_bytes=self.max_body)
            del data  # the tree holds it now
        except xmlsafe.ParseProblem as p:
            said = parse_detail(p.detail, self.lang)
            return (*self._fault(version, "Sender",
                                 phrase("platform.fault.not_xml", self.lang, detail=said), 400),
                    Decision())
        ns = etree.QName(env).namespace
        if etree.QName(env).localname != "Envelope":
            return (*self._fault(version, "Sender",
                                 phrase("platform.fault.not_envelope", self.lang,
                                        root=element_name(env)), 400),
                    Decision())
        if ns not in (SOAP11_NS, SOAP12_NS):
            shown = ns or phrase("platform.no_namespace", self.lang)
            return (*self._fault(version, "VersionMismatch",
                                 phrase("platform.fault.version", self.lang, ns=shown), 400),
                    Decision())
        version = "1.2" if ns == SOAP12_NS else "1.1"
        if not authed:  # WS-Security: the UsernameToken is in the SOAP Header
            assert self.auth is not None
            if not self.auth.wsse_ok(env):
                return self._unauthorized(version, self.auth.wsse_given(env)
                                          or self.auth.basic_given(environ))
        body_el = env.find(f"{{{ns}}}Body")
        payload = next((c for c in body_el if isinstance(c.tag, str)), None) if body_el is not None else None
        if payload is None:
            return (*self._fault(version, "Sender", phrase("platform.fault.no_body", self.lang), 400),
                    Decision())
        wrapped = etree.QName(payload).localname == self.op
        if wrapped:
            action, message = self._params(payload)
            if not message:
                return (*self._fault(version, "Sender",
                                     phrase("platform.fault.no_message", self.lang, op=self.op), 400),
                        Decision())
        elif etree.QName(payload).namespace == HL7_NS:
            message = etree.tostring(payload, encoding="utf-8")
            action = self._header_action(environ, version)
        else:
            return (*self._fault(version, "Sender", phrase("platform.fault.body", self.lang,
                                                        el=element_name(payload), op=self.op),
                                 400), Decision())
        if decision.http500:
            info["action"] = clip(action) or "-"
            return (*self._fault(version, "Receiver", phrase("platform.fault.injected", self.lang), 500),
                    decision)
        del env, body_el, payload  # only the message is needed now
        outcome = self.platform.handle(message, action)
        del message
        info.update(action=(outcome.service.action if outcome.service else (clip(action) or "-")),
                    interaction=outcome.interaction or "-", ack=outcome.ack)
        response = outcome.response
        if decision.wrong_ack or decision.bad_schema:
            response = _corrupt(response, decision)
        envelope = self._envelope(version, response, wrapped)
        return "200 OK", [("Content-Type", _ctype(version))], envelope, decision

    def _params(self, payload: etree._Element) -> tuple[str | None, bytes | str]:
        action: str | None = None
        message: bytes | str = b""
        for child in payload:
            if not isinstance(child.tag, str):
                continue
            name = etree.QName(child).localname
            if name == "action":
                action = (child.text or "").strip()
            elif name == "message":
                elements = [c for c in child if isinstance(c.tag, str)]
                if elements:  # the message embedded as XML instead of escaped text
                    message = etree.tostring(elements[0], encoding="utf-8")
                else:  # text, already decoded: the platform parses it as text (see handle)
                    message = (child.text or "").strip()
        return action, message

    def _header_action(self, environ: dict[str, Any], version: str) -> str | None:
        raw = environ.get("HTTP_SOAPACTION", "")
        if version == "1.2":
            for part in (environ.get("CONTENT_TYPE") or "").split(";")[1:]:
                k, _, v = part.strip().partition("=")
                if k.lower() == "action":
                    raw = v
        raw = raw.strip().strip('"')
        code = raw.rsplit("/", 1)[-1] if raw else ""
        return code if code and self.platform.services.get(code) is not None else None

    # ------------------------------------------------------------------ building answers
    def _envelope(self, version: str, response: bytes, wrapped: bool) -> bytes:
        ns = SOAP12_NS if version == "1.2" else SOAP11_NS
        text = response.decode("utf-8")
        if wrapped:
            inner = (f'<{self.op}Response xmlns="{escape(self.ns)}"><{self.op}Result>{escape(text)}'
                     f"</{self.op}Result></{self.op}Response>")
        else:
            inner = text.split("?>", 1)[1].lstrip() if text.startswith("<?xml") else text
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope xmlns:soap="{ns}">'
                f"<soap:Body>{inner}</soap:Body></soap:Envelope>").encode()

    def _unauthorized(self, version: str, given: bool
                      ) -> tuple[str, list[tuple[str, str]], bytes, Decision]:
        assert self.auth is not None
        text = phrase("platform.fault.auth_failed" if given else "platform.fault.auth_required", self.lang,
                   how=self.auth.how())
        status, headers, body = self._fault(version, "Sender", text, 401)
        return status, headers + self.auth.challenge(), body, Decision()

    def _fault(self, version: str, code: str, reason: str, http: int
               ) -> tuple[str, list[tuple[str, str]], bytes]:
        status = {400: "400 Bad Request", 401: "401 Unauthorized", 405: "405 Method Not Allowed",
                  413: "413 Payload Too Large", 415: "415 Unsupported Media Type",
                  500: "500 Internal Server Error"}[http]
        if version == "1.2":
            body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope xmlns:soap="{SOAP12_NS}">'
                    f"<soap:Body><soap:Fault><soap:Code><soap:Value>soap:{code}</soap:Value></soap:Code>"
                    f'<soap:Reason><soap:Text xml:lang="{self.lang}">{escape(reason)}</soap:Text>'
                    "</soap:Reason>"
                    f"</soap:Fault></soap:Body></soap:Envelope>")
        else:
            code11 = {"Sender": "Client", "Receiver": "Server"}.get(code, code)
            body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope xmlns:soap="{SOAP11_NS}">'
                    f"<soap:Body><soap:Fault><faultcode>soap:{code11}</faultcode>"
                    f"<faultstring>{escape(reason)}</faultstring></soap:Fault></soap:Body></soap:Envelope>")
        return status, [("Content-Type", _ctype(version))], body.encode("utf-8")

    def wsdl(self, environ: dict[str, Any]) -> bytes:
        host = clip(environ.get("HTTP_HOST")) or \
            f"{environ.get('SERVER_NAME', '127.0.0.1')}:{environ.get('SERVER_PORT', '80')}"
        url = f"{environ.get('wsgi.url_scheme', 'http')}://{host}/"
        return environment().get_template("hipMessageServer.wsdl.j2").render(
            ns=self.ns, op=self.op, service=self.service_name, url=url,
            profile=self.platform.profile).encode("utf-8")


def _libc() -> Any:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


_LIBC = _libc()
_M_MMAP_THRESHOLD = -3  # mallopt parameter (glibc malloc.h)


def map_large_allocations(threshold: int = LARGE_BODY) -> None:
    """Make the C allocator map every block of ``threshold`` bytes or more on its own, and so
    give it back to the system when it is freed. glibc's default threshold grows up to 32 MiB
    after the first large free, and the copies of a large body then stay in per-thread arenas:
    the process would keep its peak size after a burst of large requests. No-op without glibc."""
    mallopt = getattr(_LIBC, "mallopt", None)
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, threshold)


def release_memory() -> None:
    """Return freed heap memory to the system (glibc's malloc_trim; no-op without it)."""
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)


def _ctype(version: str) -> str:
    return "application/soap+xml; charset=utf-8" if version == "1.2" else "text/xml; charset=utf-8"


def _corrupt(response: bytes, decision: Decision) -> bytes:
    root = etree.fromstring(response)
    h = f"{{{HL7_NS}}}"
    if decision.wrong_ack:
        ack = root.find(f"{h}acknowledgement")
        if ack is not None and ack.get("typeCode") in ("AA", "AE"):
            ack.set("typeCode", "AE" if ack.get("typeCode") == "AA" else "AA")
    if decision.bad_schema:
        for path in (f"{h}creationTime", f"{h}acknowledgement/{h}targetMessage"):
            el = root.find(path)
            if el is not None:
                el.getparent().remove(el)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


class _DropIterator:
    """Yields the first byte of the answer, then fails: the server closes the connection mid-response
    (the request itself was processed — a lost answer, the harder case for a client)."""

    def __init__(self, first: bytes) -> None:
        self.first: bytes | None = first or b" "

    def __iter__(self) -> _DropIterator:
        return self

    def __next__(self) -> bytes:
        if self.first is not None:
            out, self.first = self.first, None
            return out
        raise _Dropped("connection dropped (--faults drop)")
