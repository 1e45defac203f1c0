"""Authentication and TLS of the reference platform (`conformance serve --auth/--tls-cert`).

The harness speaks HTTP Basic and WS-Security UsernameToken (``harness/transport.py``); the
platform checks the same, so both paths can be tested against it:

- ``basic``: the ``Authorization: Basic`` header of every SOAP request (RFC 7617, UTF-8);
- ``wsse``: a ``wsse:Security/wsse:UsernameToken`` in the SOAP Header, the password as text
  (``#PasswordText``) or digested (``#PasswordDigest``: Base64(SHA-1(nonce + created +
  password)), created within 5 minutes);
- ``any``: either of them.

A request without valid credentials is answered with HTTP 401 and a SOAP Fault (Sender), with
``WWW-Authenticate`` naming what is accepted. The WSDL (``?wsdl``) and the info page stay open:
they describe the service and hold no data (and a WS-Security client cannot authenticate a GET).

Secrets on the command line may be written ``${ENV:NAME}`` (as in the harness's target files);
they are never logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import os
import re
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from ..i18n import t

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
KINDS = ("basic", "wsse", "any")
REALM = "conformance-platform"
DIGEST_WINDOW = 300  # s: how far a digested password's Created may be from now
_ENV_RE = re.compile(r"\$\{ENV:([A-Za-z_][A-Za-z0-9_]*)\}")


class SecretError(Exception):
    """A ``${ENV:NAME}`` that is not set, a certificate that cannot be loaded …"""


def expand_env(value: str, what: str) -> tuple[str, bool]:
    """``value`` with every ``${ENV:NAME}`` replaced by the variable's value, and whether it
    held one (a literal password on the command line is visible in the process list)."""
    used = False

    def sub(m: re.Match[str]) -> str:
        nonlocal used
        used = True
        name = m.group(1)
        if name not in os.environ:
            raise SecretError(f"{what}: environment variable {name} is not set "
                              f"(referenced as ${{ENV:{name}}})")
        return os.environ[name]

    return _ENV_RE.sub(sub, value), used


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison (no length or prefix leaks through timing)."""
    return hmac.compare_digest(hashlib.sha256(given.encode("utf-8")).digest(),
                               hashlib.sha256(expected.encode("utf-8")).digest())


@dataclass(frozen=True)
class Auth:
    kind: str          # basic | wsse | any
    username: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"auth kind must be one of {', '.join(KINDS)}")

    @property
    def basic(self) -> bool:
        return self.kind in ("basic", "any")

    @property
    def wsse(self) -> bool:
        return self.kind in ("wsse", "any")

    def how(self) -> str:
        return {"basic": "HTTP Basic", "wsse": "WS-Security UsernameToken",
                "any": "HTTP Basic / WS-Security UsernameToken"}[self.kind]

    def challenge(self) -> list[tuple[str, str]]:
        out = []
        if self.basic:
            out.append(("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"'))
        if self.wsse:
            out.append(("WWW-Authenticate", f'WSSE realm="{REALM}", profile="UsernameToken"'))
        return out

    # ------------------------------------------------------------------ HTTP Basic
    def basic_given(self, environ: dict[str, Any]) -> bool:
        return (environ.get("HTTP_AUTHORIZATION") or "").lower().startswith("basic ")

    def basic_ok(self, environ: dict[str, Any]) -> bool:
        header = environ.get("HTTP_AUTHORIZATION") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic" or len(token) > 4096:
            return False
        try:
            raw = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        user, sep, password = text.partition(":")
        return bool(sep) and _same(user, self.username) & _same(password, self.password)

    # ------------------------------------------------------------------ WS-Security
    def wsse_given(self, envelope: etree._Element) -> bool:
        return self._token(envelope) is not None

    def wsse_ok(self, envelope: etree._Element, now: datetime | None = None) -> bool:
        token = self._token(envelope)
        if token is None:
            return False
        user = (token.findtext(f"{{{WSSE}}}Username") or "").strip()
        pw_el = token.find(f"{{{WSSE}}}Password")
        if pw_el is None:
            return False
        given = pw_el.text or ""
        if (pw_el.get("Type") or "").endswith("#PasswordDigest"):
            nonce = (token.findtext(f"{{{WSSE}}}Nonce") or "").strip()
            created = (token.findtext(f"{{{WSU}}}Created") or "").strip()
            if not nonce or not created or not _fresh(created, now):
                return False
            try:
                raw_nonce = base64.b64decode(nonce, validate=True)
            except (binascii.Error, ValueError):
                return False
            expected = base64.b64encode(hashlib.sha1(  # noqa: S324 - the profile's algorithm
                raw_nonce + created.encode("utf-8") + self.password.encode("utf-8")).digest()).decode()
            return _same(user, self.username) & _same(given.strip(), expected)
        return _same(user, self.username) & _same(given, self.password)

    @staticmethod
    def _token(envelope: etree._Element) -> etree._Element | None:
        ns = etree.QName(envelope).namespace
        header = envelope.find(f"{{{ns}}}Header")
        if header is None:
            return None
        return header.find(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")


def _fresh(created: str, now: datetime | None) -> bool:
    try:
        when = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return abs(((now or datetime.now(UTC)) - when).total_seconds()) <= DIGEST_WINDOW


def tls_context(cert: str, key: str | None = None, key_password: str | None = None) -> ssl.SSLContext:
    """A server context (TLS 1.2 or later) with the certificate chain and its private key."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key, password=key_password)
    except (OSError, ssl.SSLError) as exc:
        raise SecretError(f"cannot load the TLS certificate {cert}"
                          f"{' / key ' + key if key else ''}: {exc}") from None
    return ctx


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host`` (127.0.0.0/8, ::1, localhost)."""
    h = host.strip("[]").lower()
    if h in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def exposure_warnings(host: str, auth: Auth | None, tls: bool, lang: str = "zh") -> list[str]:
    """What to tell the operator when the platform listens beyond this machine."""
    if is_loopback(host):
        return []
    out = []
    if auth is None:
        out.append(t("platform.exposed_no_auth", lang, host=host))
    if not tls:
        out.append(t("platform.exposed_no_tls", lang, host=host))
    return out
