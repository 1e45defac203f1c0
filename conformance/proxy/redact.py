"""Secrets never reach the run folder: headers, URLs and bodies are redacted before anything is
written. Built on the one redaction of the package (``conformance.secrets``): its marker, its
credential names and URL shapes, and its search of a known value in every encoding; what is
particular to a capture is here — learning the secrets the traffic carries, and base64 texts
decoded, redacted and encoded again (so that a carried document stays valid).

- Headers: the secret headers (Authorization, Cookie …) and any header whose name says it holds
  a credential (``secrets.secret_name``: token, secret, password, api key, session …) are
  replaced by ``***``. The
  password of HTTP Basic authentication is learned, so that it is redacted where else it appears.
- WS-Security: the content of every ``Password`` element (``wsse:Password``, any prefix, text or
  digest) is replaced, in each encoding a body gives it: raw XML (also in CDATA), XML-escaped
  (the HL7 V3 message carried as text in ``HIPMessageServer/message``, escaped once or twice, by
  entity or character reference) and base64 (a message or document carried base64-encoded,
  wrapped or not). Every password seen is learned and redacted wherever else it appears, in
  every encoding ``secrets.Redactor`` knows (also percent-encoded and JSON-escaped).
- URLs: the password of the user information and query parameters named like credentials
  (``secrets.mask_url``).

The redacted bytes are what is recorded and validated, so findings point into the files as
written."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable

from ..secrets import MARK as REDACTED
from ..secrets import Redactor as KnownValues
from ..secrets import mask_url, secret_name

MARK = REDACTED.encode()
_PREFIX = rb"(?:[A-Za-z_][\w.\-]*:)?"
_RAW = re.compile(rb"(<" + _PREFIX + rb"Password\b[^<>]{0,600}>)(.{0,4096}?)(</" + _PREFIX +
                  rb"Password\s*>)", re.S)
_LT = rb"(?:&(?:amp;)*lt;|&(?:amp;)*#0*60;|&(?:amp;)*#[xX]0*3[cC];)"
_GT = rb"(?:&(?:amp;)*gt;|&(?:amp;)*#0*62;|&(?:amp;)*#[xX]0*3[eE];|>)"
_ESC = re.compile(b"(" + _LT + _PREFIX + rb"Password\b.{0,600}?" + _GT + b")(.{0,4096}?)(" + _LT +
                  b"/" + _PREFIX + rb"Password\s*" + _GT + b")", re.S)
_B64_RUN = re.compile(rb"(?:[A-Za-z0-9+/]{4}[ \t\r\n]*){6,}(?:[A-Za-z0-9+/]{2}==|"
                      rb"[A-Za-z0-9+/]{3}=)?")
_ENTITIES = ((b"&", b"&amp;"), (b"<", b"&lt;"), (b">", b"&gt;"), (b'"', b"&quot;"),
             (b"'", b"&apos;"))
MIN_SECRET = 4           # shorter values are only redacted inside their Password element


def _unescape(value: bytes) -> bytes:
    out = value
    for _ in range(3):  # entities escaped up to twice, as carried messages do
        prev = out
        out = re.sub(rb"&#[xX]([0-9a-fA-F]+);", lambda m: chr(int(m.group(1), 16)).encode(), out)
        out = re.sub(rb"&#([0-9]+);", lambda m: chr(int(m.group(1))).encode(), out)
        for raw, ent in reversed(_ENTITIES):
            out = out.replace(ent, raw)
        if out == prev:
            break
    return out


def _b64_signatures(value: bytes) -> set[bytes]:
    """Substrings the base64 encoding of ``value`` contains at each of the three alignments."""
    sigs = set()
    for shift in range(3):
        enc = base64.b64encode(b"\0" * shift + value)
        start = 4 if shift else 0            # characters touched by the padding bytes
        end = len(enc) - 4                   # characters touched by what follows
        if end - start >= 4:
            sigs.add(enc[start:end])
    return sigs


class Redactor:
    """Redacts one capture's headers, URLs and bodies; learns the secrets it sees."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: set[bytes] = set()
        self._values = KnownValues()
        self._sigs: list[bytes] = [*_b64_signatures(b"Password")]
        for s in secrets:
            self.learn(s.encode("utf-8"))

    # ------------------------------------------------------------------ learning
    def learn(self, value: bytes) -> None:
        value = value.strip()
        if len(value) < MIN_SECRET or value in self.secrets or value == MARK:
            return
        self.secrets.add(value)
        self._values.learn(value.decode("utf-8", "replace"))
        self._sigs.extend(_b64_signatures(value))

    # ------------------------------------------------------------------ headers and URLs
    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in headers:
            low = name.lower()
            if low in ("authorization", "proxy-authorization"):
                self._learn_basic(value)
            secret = secret_name(low)
            value = REDACTED if secret else self.text(value)
            out[name] = f"{out[name]}, {value}" if name in out else value
        return out

    def _learn_basic(self, value: str) -> None:
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() != "basic":
            self.learn(token.encode("utf-8", "replace"))
            return
        try:
            decoded = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return
        _, sep, password = decoded.partition(b":")
        if sep:
            self.learn(password)

    def url(self, url: str) -> str:
        return self.text(mask_url(url))

    def text(self, value: str) -> str:
        if not self.secrets:
            return value
        return self.body(value.encode("utf-8")).decode("utf-8", "replace")

    # ------------------------------------------------------------------ bodies
    def body(self, data: bytes, depth: int = 0) -> bytes:
        if not data:
            return data
        if b"Password" in data:
            data = _RAW.sub(self._raw_sub, data)
        if b"Password" in data or b"assword" in data:
            data = _ESC.sub(self._esc_sub, data)
        if depth < 2 and any(sig in data for sig in self._sigs):
            data = _B64_RUN.sub(lambda m: self._b64_sub(m, depth), data)
        return self._values.redact_bytes(data)   # every learned value, in every encoding

    def _raw_sub(self, m: re.Match[bytes]) -> bytes:
        value = m.group(2)
        if value.startswith(b"<![CDATA[") and value.endswith(b"]]>"):
            value = value[9:-3]
        self.learn(_unescape(value))
        return m.group(1) + MARK + m.group(3)

    def _esc_sub(self, m: re.Match[bytes]) -> bytes:
        self.learn(_unescape(m.group(2)))
        return m.group(1) + MARK + m.group(3)

    def _b64_sub(self, m: re.Match[bytes], depth: int) -> bytes:
        run = m.group(0)
        trailing = run[len(run.rstrip()):]
        compact = b"".join(run.split())
        if not any(sig in compact for sig in self._sigs):
            return run
        try:
            decoded = base64.b64decode(compact + b"=" * (-len(compact) % 4), validate=True)
        except (binascii.Error, ValueError):
            return run
        redacted = self.body(decoded, depth + 1)
        if redacted == decoded:
            return run
        return base64.b64encode(redacted) + trailing
