"""Values a client sent, made safe to log, store or echo: bounded, control characters escaped.

Every value of a request that reaches the access log, the audit trail, the stored answers or
the text of an acknowledgement or fault goes through ``clip``, so a request cannot grow the
log or the database by more than a few kilobytes, nor forge a log line or a terminal escape
with a newline, a carriage return or an ESC. Policy (README, "The reference platform"):

- MAX_FIELD_CHARS (256): one identifier-like value — action, interaction, message id, sender,
  HTTP method, path, query — in the access log, an audit column or an echoed id;
- MAX_TEXT_CHARS (1,024): one value substituted into a text (an element name, a parser
  message, a list of findings) and a whole audit detail.

A longer value keeps its first characters and says how long it was: ``AAAA…[9500012 chars]``.
"""

from __future__ import annotations

import re
from typing import Any

from ..i18n import t

MAX_FIELD_CHARS = 256
MAX_TEXT_CHARS = 1024

# C0 controls, DEL, C1 controls, and the Unicode line / paragraph separators
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    if ch in _NAMED:
        return _NAMED[ch]
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def clip(value: Any, limit: int = MAX_FIELD_CHARS) -> str:
    """``value`` as text of at most ``limit`` characters (plus a marker saying how long it was),
    control characters escaped (``\\n``, ``\\x1b``). ``None`` is the empty text."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    n = len(text)
    cut = n > limit
    if cut:
        text = text[:limit]
    if _CONTROL.search(text):
        text = _CONTROL.sub(_escape, text)
        if len(text) > limit:  # escapes take room too
            text, cut = text[:limit], True
    return f"{text}…[{n} chars]" if cut else text


def phrase(key: str, lang: str = "zh", /, **values: Any) -> str:
    """The UI phrase ``key`` (conformance/i18n) with every text value from the request bounded
    and escaped (MAX_TEXT_CHARS): acknowledgement texts, SOAP faults."""
    return t(key, lang, **{k: clip(v, MAX_TEXT_CHARS) if isinstance(v, str) else v
                           for k, v in values.items()})
