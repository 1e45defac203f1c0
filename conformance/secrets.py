"""Secrets never reach a file, a log or the terminal: the one redaction every writer uses.

Two kinds of redaction, both replacing what they find by ``***`` (``MARK``):

- **Known values** (``Redactor``): the secrets of a target — every ``${ENV:…}`` value of its
  configuration, the passwords and tokens of ``auth``, the values of credential headers, the
  password and credential query values of its URLs. Each is found in every encoding it takes on
  the wire or in a file: as written; XML/HTML-escaped, by entity (``&amp;``, ``&lt;``,
  ``&quot;`` …) or character reference (``&#38;``, ``&#x26;``, leading zeros, any case), escaped
  once or more (a message carried as text in ``HIPMessageServer/message``); percent-encoded
  (URLs, form bodies; ``+`` for a space; encoded twice); JSON-escaped (``\\"``, ``\\u0026`` …);
  and base64 (HTTP Basic credentials ``user:password``, and the value inside any longer base64
  text at each of the three alignments, when it is long enough to be told from chance — 6
  characters and more). Letters and digits are matched as written (no serializer escapes
  them); every other character in any of its escapes, so mixed forms are found too.
  A value shorter than ``MIN_SECRET`` characters is not searched for in free text (every ``1``
  of a document would go): it is redacted only where it stands alone (a header or setting whose
  whole value it is) or where its place is known (a credential header, a URL's password or
  credential parameter, a ``Password`` element).
- **Shapes** (module functions, for readers that know no value: the report, the platform's
  log): header names that say they carry a credential (``SECRET_HEADERS`` and names with
  auth, token, secret, password, api key, session, cookie, credential, signature — the
  ``Authorization`` scheme is kept: ``Basic ***``), a URL's password (``user:***@host``) and
  the values of query parameters named like credentials (``access_token=***``), and the content
  of WS-Security ``Password`` elements, raw or escaped.

``Redactor`` applies both; its API is what each writer needs: ``redact_text``,
``redact_bytes``, ``redact_headers``, ``redact_url``, ``redact_obj`` (strings inside dicts and
lists), ``redact_record`` (a ``msgspec`` record, returned unchanged when nothing in it is
secret). ``learn`` adds a value met on the way (the proxy learns the passwords it sees).

This module imports nothing of the package: every layer may use it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

MARK = "***"
REDACTED = MARK
MIN_SECRET = 4
MIN_BASE64 = 6       # bytes of a value before its base64 form is searched inside longer text
SECRET_HEADERS = frozenset(("authorization", "proxy-authorization", "cookie", "set-cookie",
                            "x-api-key", "api-key", "x-auth-token"))
# names of headers, query parameters and settings that carry a credential
SECRET_NAME = re.compile(r"auth(?!or)|token|secret|passw|pwd|api[-_]?key|session|cookie|credential|"
                         r"signature|private[-_]?key|passphrase", re.I)
_QUERY_NAMES = {"key", "sig", "pw", "pass"}   # short names, matched whole
_SCHEMES = ("basic", "bearer", "digest", "negotiate", "ntlm", "token", "hoba", "mutual", "aws4-hmac-sha256")

T = TypeVar("T")


# --------------------------------------------------------------------------- shapes
def secret_name(name: str) -> bool:
    """A header, parameter or setting name that says its value is a credential."""
    low = name.strip().lower()
    return low in SECRET_HEADERS or bool(SECRET_NAME.search(low))


def _secret_query_name(name: str) -> bool:
    low = unquote(name).strip().lower()
    return low in _QUERY_NAMES or bool(SECRET_NAME.search(low))


def mask_header(name: str, value: str) -> str:
    """``value`` masked when ``name`` says it is a credential (the Authorization scheme kept)."""
    if not secret_name(name):
        return value
    if not value or set(value) <= set("*") or value.lower() in ("redacted", "<redacted>"):
        return value
    scheme, sep, _ = value.strip().partition(" ")
    if sep and scheme.lower() in _SCHEMES:
        return f"{scheme} {MARK}"
    return MARK


_QUERY_PAIR = re.compile(r"(?P<sep>^|[&;])(?P<name>[^=&;#]*)=(?P<value>[^&;#]*)")


def mask_query(query: str) -> str:
    """A query string with the values of credential-named parameters masked (the rest kept as
    written)."""
    if not query or "=" not in query:
        return query

    def sub(m: re.Match[str]) -> str:
        if m.group("value") and m.group("value") != MARK and _secret_query_name(m.group("name")):
            return f"{m.group('sep')}{m.group('name')}={MARK}"
        return m.group(0)

    return _QUERY_PAIR.sub(sub, query)


def mask_url(url: str) -> str:
    """A URL with its password (``user:***@``; a bare token ``***@``) and the values of
    credential-named query parameters masked."""
    if not url or ("@" not in url and "=" not in url):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, sep, _ = userinfo.partition(":")
        netloc = f"{user}:{MARK}@{host}" if sep else f"{MARK}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, mask_query(parts.query), parts.fragment))


_URL_USERINFO = re.compile(r"://(?P<user>[^\s/?#@:<>\"']*)(?::(?P<pw>[^\s/?#@<>\"']*))?@")
_URL_QUERY = re.compile(r"(?P<sep>[?&;]|&amp;)(?P<name>[A-Za-z0-9_.\-]{1,64})=(?P<value>[^&;#\s<>\"']+)")
# words one of which a credential query parameter's name holds (lower case): the query pattern
# only runs on a text that has one ("auth" only when it is not the start of the HL7 V3 element
# names author, authorization, authenticator that most messages hold)
_QUERY_HINTS = ("token", "secret", "passw", "pwd", "key", "session", "cookie", "credential",
                "signature", "sig=", "pw=", "pass")
_NOT_AUTH = ("author", "authentic")
_QUERY_HINTS_B = tuple(h.encode() for h in _QUERY_HINTS)
_QUERY_SHAPE = re.compile(r"[?&;][A-Za-z0-9_.\-]{1,64}=")     # a query parameter, cheaply
_QUERY_SHAPE_B = re.compile(_QUERY_SHAPE.pattern.encode())
_NOT_AUTH_B = tuple(w.encode() for w in _NOT_AUTH)


def _query_hint(low: str | bytes) -> bool:
    if isinstance(low, bytes):
        if any(h in low for h in _QUERY_HINTS_B):
            return True
        return b"auth" in low and low.count(b"auth") > sum(low.count(w) for w in _NOT_AUTH_B)
    if any(h in low for h in _QUERY_HINTS):
        return True
    return "auth" in low and low.count("auth") > sum(low.count(w) for w in _NOT_AUTH)


_PREFIX = r"(?:[A-Za-z_][\w.\-]*:)?"
_PASSWORD_RAW = re.compile(r"(<" + _PREFIX + r"Password\b[^<>]{0,600}>)"
                           r"(<!\[CDATA\[.{0,4096}?\]\]>|[^<]{1,4096})"
                           r"(</" + _PREFIX + r"Password\s*>)", re.S)
_LT = r"(?:&(?:amp;)*lt;|&(?:amp;)*#0*60;|&(?:amp;)*#[xX]0*3[cC];)"
_GT = r"(?:&(?:amp;)*gt;|&(?:amp;)*#0*62;|&(?:amp;)*#[xX]0*3[eE];|>)"
_PASSWORD_ESC = re.compile("(" + _LT + _PREFIX + r"Password\b(?:(?!" + _LT + ").){0,600}?" + _GT +
                           ")((?:(?!" + _LT + ").){1,4096}?)(" + _LT + "/" + _PREFIX + r"Password\s*" +
                           _GT + ")", re.S)


def _mask_userinfo(m: re.Match[str]) -> str:
    if m.group("pw") is not None:
        return f"://{m.group('user')}:{MARK}@"
    return f"://{MARK}@" if m.group("user") and m.group("user") != MARK else m.group(0)


def _mask_query_value(m: re.Match[str]) -> str:
    if m.group("value") != MARK and _secret_query_name(m.group("name")):
        return f"{m.group('sep')}{m.group('name')}={MARK}"
    return m.group(0)


def mask_text(text: str) -> str:
    """Shapes of credentials in free text: URL passwords and credential query values of the
    URLs in it, and the content of ``Password`` elements (raw or escaped)."""
    if "://" in text and "@" in text:
        text = _URL_USERINFO.sub(_mask_userinfo, text)
    if "=" in text and _QUERY_SHAPE.search(text) and _query_hint(text.lower()):
        text = _URL_QUERY.sub(_mask_query_value, text)
    if "assword" in text:
        text = _PASSWORD_RAW.sub(lambda m: m.group(1) + MARK + m.group(3)
                                 if m.group(2).strip() and m.group(2) != MARK else m.group(0), text)
        text = _PASSWORD_ESC.sub(lambda m: m.group(1) + MARK + m.group(3)
                                 if m.group(2).strip() and m.group(2) != MARK else m.group(0), text)
    return text


def mask_bytes(data: bytes) -> bytes:
    """``mask_text`` for bytes (UTF-8 or any ASCII-compatible encoding)."""
    if not data:
        return data
    shapes = (b"assword" in data or (b"@" in data and b"://" in data)  # cheap gates first
              or (b"=" in data and _QUERY_SHAPE_B.search(data) and _query_hint(data.lower())))
    if not shapes:
        return data
    text = data.decode("utf-8", "surrogateescape")
    masked = mask_text(text)
    return data if masked == text else masked.encode("utf-8", "surrogateescape")


# --------------------------------------------------------------------------- known values
_NAMED = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos"}
_JSON_SHORT = {'"': '\\\\"', "\\": "\\\\\\\\", "/": "\\\\/", "\n": "\\\\n", "\r": "\\\\r",
               "\t": "\\\\t", "\b": "\\\\b", "\f": "\\\\f"}


def _hex_ci(n: int, width: int = 0) -> str:
    """A regex for the hexadecimal digits of ``n`` in either case (``3[cC]``)."""
    digits = f"{n:0{width}x}" if width else f"{n:x}"
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in digits)


def _char_forms(c: str) -> str:
    """A regex matching one character of a secret in any of its encodings."""
    if c.isascii() and c.isalnum():
        return re.escape(c)
    o = ord(c)
    amp = "&(?:amp;)*"   # an entity escaped again (&amp;lt;) is the same character
    alts = [re.escape(c), f"{amp}#0*{o};", f"{amp}#[xX]0*{_hex_ci(o)};"]
    if c in _NAMED:
        alts.append(f"{amp}{_NAMED[c]};")
    if o < 0x10000:
        alts.append(f"\\\\u{_hex_ci(o, 4)}")
    else:  # a JSON surrogate pair
        hi, lo = 0xD800 + ((o - 0x10000) >> 10), 0xDC00 + ((o - 0x10000) & 0x3FF)
        alts.append(f"\\\\u{_hex_ci(hi, 4)}\\\\u{_hex_ci(lo, 4)}")
    if c in _JSON_SHORT:
        alts.append(_JSON_SHORT[c])
    alts.append("".join(f"%(?:25)*{_hex_ci(b, 2)}" for b in c.encode("utf-8")))
    if c == " ":
        alts.append(r"\+")
    return "(?:" + "|".join(alts) + ")"


def _literal_run(secret: str) -> str:
    """The longest run of ASCII letters and digits: every form of the secret contains it."""
    runs = re.findall(r"[A-Za-z0-9]+", secret)
    return max(runs, key=len) if runs else ""


def _b64_forms(value: bytes) -> set[str]:
    """What every base64 text holding ``value`` contains, at the three alignments (the
    characters shared with the neighbours cut off), standard and URL-safe alphabets."""
    out: set[str] = set()
    if len(value) < MIN_BASE64:
        return out
    for shift in range(3):
        enc = base64.b64encode(b"\0" * shift + value + b"\0\0")
        start = 4 * ((shift + 2) // 3) if shift else 0
        end = 4 * ((shift + len(value)) // 3)
        sig = enc[start:end].decode("ascii")
        if len(sig) >= 8:
            out.add(sig)
            out.add(sig.replace("+", "-").replace("/", "_"))
    return out


class _Secret:
    __slots__ = ("anchor", "anchor_b", "pattern", "pattern_b", "value")

    def __init__(self, value: str) -> None:
        self.value = value
        source = "".join(_char_forms(c) for c in value)
        self.pattern = re.compile(source)
        self.pattern_b = re.compile(source.encode("utf-8"))
        self.anchor = _literal_run(value) if len(_literal_run(value)) >= 3 else ""
        self.anchor_b = self.anchor.encode("ascii")


class Redactor:
    """Redacts the known secret values (every encoding) and the shapes of credentials."""

    def __init__(self, secrets: Iterable[str] = (), *,
                 basic: Iterable[tuple[str, str]] = ()) -> None:
        self._secrets: dict[str, _Secret] = {}
        self._short: set[str] = set()          # too short to search for: masked when alone
        self._ordered: list[_Secret] = []      # longest first: a secret holding another goes first
        self._literals: set[str] = set()       # base64 forms
        self._literal_order: list[str] = []
        for s in secrets:
            self.learn(s)
        for user, password in basic:
            self.learn_basic(user, password)

    # ------------------------------------------------------------------ learning
    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def learn(self, value: str | bytes | None) -> None:
        """Redact ``value`` from now on (ignored when shorter than ``MIN_SECRET``)."""
        if value is None:
            return
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        for v in {value, value.strip()}:
            if not v or v in self._secrets or set(v) <= set("*"):
                continue
            if len(v) < MIN_SECRET:
                self._short.add(v)
                continue
            self._secrets[v] = _Secret(v)
            self._ordered = sorted(self._secrets.values(), key=lambda s: -len(s.value))
            self._add_literals(_b64_forms(v.encode("utf-8")))

    def learn_basic(self, user: str, password: str) -> None:
        """The HTTP Basic credentials ``user:password`` (their base64 token) and the password."""
        self.learn(password)
        if password:
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            self._add_literals({token, token.rstrip("=")})

    def _add_literals(self, forms: set[str]) -> None:
        self._literals |= forms
        self._literal_order = sorted(self._literals, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._secrets or self._literals or self._short)

    # ------------------------------------------------------------------ text and bytes
    def _values_text(self, text: str) -> str:
        for s in self._ordered:
            if s.anchor and s.anchor not in text:
                continue
            text = s.pattern.sub(MARK, text)
        for lit in self._literal_order:
            if lit in text:
                text = text.replace(lit, MARK)
        return text

    def _values_bytes(self, data: bytes) -> bytes:
        for s in self._ordered:
            if s.anchor_b and s.anchor_b not in data:
                continue
            data = s.pattern_b.sub(MARK.encode(), data)
        for lit in self._literal_order:
            b = lit.encode("ascii")
            if b in data:
                data = data.replace(b, MARK.encode())
        return data

    def redact_text(self, text: str) -> str:
        """``text`` without the known secrets (any encoding) and without credential shapes."""
        if not text:
            return text
        if text in self._short or text.strip() in self._short:
            return MARK
        return mask_text(self._values_text(text))

    def redact_bytes(self, data: bytes) -> bytes:
        """``redact_text`` for a body (bytes in UTF-8 or any ASCII-compatible encoding)."""
        if not data:
            return data
        return mask_bytes(self._values_bytes(data))

    def contains_secret(self, text: str | bytes) -> bool:
        """Whether redaction would change ``text``."""
        if isinstance(text, bytes):
            return self.redact_bytes(text) != text
        return self.redact_text(text) != text

    # ------------------------------------------------------------------ structured values
    def redact_headers(self, headers: Mapping[str, str] | Iterable[tuple[str, str]]
                       ) -> dict[str, str]:
        """Headers as they may be recorded: credential headers masked (``Basic ***``), secrets
        removed from the others; a repeated header is joined with ``, ``."""
        items = headers.items() if isinstance(headers, Mapping) else headers
        out: dict[str, str] = {}
        for name, value in items:
            value = str(value)
            shown = mask_header(name, value) if secret_name(name) else self.redact_text(value)
            out[name] = f"{out[name]}, {shown}" if name in out else shown
        return out

    def redact_url(self, url: str) -> str:
        """A URL as it may be recorded: password and credential parameters masked, known
        secrets removed wherever they are (host, path, any parameter)."""
        if not url:
            return url
        return mask_url(self._values_text(url))

    def redact_obj(self, value: Any) -> Any:
        """Strings inside dicts, lists and tuples redacted (keys too); a dict value whose key
        names a credential is masked whole."""
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, Mapping):
            return {self.redact_text(str(k)) if isinstance(k, str) else k:
                    (MARK if isinstance(k, str) and secret_name(k) and isinstance(v, str) and v
                     else self.redact_obj(v)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.redact_obj(v) for v in value)
        return value

    def redact_record(self, record: T) -> T:
        """A ``msgspec`` record (a case, a run's results) with every string in it redacted;
        the same object when nothing in it is secret."""
        import msgspec

        raw = msgspec.json.encode(record)
        if self.redact_bytes(raw) == raw:
            return record
        plain = msgspec.to_builtins(record)
        return msgspec.convert(self._redact_plain(plain), type(record))

    def _redact_plain(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, dict):
            return {k: self._redact_plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._redact_plain(v) for v in value]
        return value


def url_secrets(url: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The secrets a URL carries: its password and the values of credential-named query
    parameters (as written and decoded), and the (user, password) pair for Basic credentials."""
    values: list[str] = []
    pairs: list[tuple[str, str]] = []
    try:
        parts = urlsplit(url)
    except ValueError:
        return values, pairs
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        user, sep, password = userinfo.partition(":")
        if sep:
            values += [password, unquote(password)]
            pairs.append((unquote(user), unquote(password)))
        else:
            values += [user, unquote(user)]
    for m in _QUERY_PAIR.finditer(parts.query):
        if m.group("value") and _secret_query_name(m.group("name")):
            values += [m.group("value"), unquote(m.group("value")),
                       unquote(m.group("value").replace("+", " "))]
    return [v for v in values if v], pairs


def host_label(url: str) -> str:
    """What names a target given only by its URL: host and port, never its credentials."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        host, port = "", None
    if not host:
        return mask_url(url).split("//", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if port else host
