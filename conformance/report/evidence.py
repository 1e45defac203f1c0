"""Recorded exchanges (request/response evidence) prepared for display.

An exchange is an object inline in results.json ``cases[].exchanges[]`` or a path (relative to
the run folder) of a JSON file holding that object. Bodies are inline (``body``) or files in the
run folder (``body_file``); see ARCHITECTURE.md "Reports" for the accepted field names.

Bodies are pretty-printed (XML with the hardened parser, JSON) when they are small; a body beyond
the size cap, or once the report's inline budget is spent, is shown as a short preview with a
link to its file in the run folder, so a report of thousands of exchanges stays usable. Secrets
are masked again here (defence in depth: the recorder already redacts them).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from lxml import etree

from .. import xmlsafe

INLINE_CAP = 32 * 1024          # a body up to this size is shown in full
INLINE_BUDGET = 8 * 1024 * 1024  # total body bytes inlined into one report
PREVIEW = 1536                   # characters shown of a body too big to inline (budget lasting)
PRETTY_MAX = 1024 * 1024         # a body not inlined is still pretty-printed up to this size
MAX_EXCHANGE_FILE = 64 * 1024 * 1024

_SENSITIVE_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
                      "api-key", "x-auth-token"}
_SENSITIVE_WORDS = ("token", "secret", "password", "passwd")
_MASK = "***"
_PASSWORD_RE = re.compile(r"(<(?:[\w.\-]+:)?Password\b[^>]*>)([^<]*)(</(?:[\w.\-]+:)?Password>)")


def _first(d: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        v = d.get(k)
        if v is not None and v != "":
            return v
    return None


def mask_header(name: str, value: str) -> str:
    low = name.lower()
    if low in _SENSITIVE_HEADERS or any(w in low for w in _SENSITIVE_WORDS):
        if value and set(value) <= set("*") or value.lower() in ("redacted", "<redacted>"):
            return value
        scheme = value.split(" ", 1)[0] if low.endswith("authorization") and " " in value else ""
        return f"{scheme} {_MASK}".strip()
    return value


def mask_body(text: str) -> str:
    return _PASSWORD_RE.sub(lambda m: m.group(1) + (_MASK if m.group(2).strip() else "")
                            + m.group(3), text)


def _headers(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = [tuple(x) if isinstance(x, list | tuple) and len(x) == 2 else
                 (str(x.get("name")), x.get("value")) if isinstance(x, dict) else (str(x), "")
                 for x in value]
    else:
        return []
    return [(str(k), mask_header(str(k), "" if v is None else str(v))) for k, v in items]


@dataclass(slots=True)
class Body:
    headers: list[tuple[str, str]] = field(default_factory=list)
    text: str | None = None
    size: int | None = None
    kind: str = "empty"        # xml | json | text | binary | empty
    href: str | None = None    # link to the body file, relative to the report
    path: str | None = None    # the body file, relative to the run folder
    inlined: bool = True       # the whole body is shown
    pretty: bool = False
    note: str | None = None    # string key: why the body is not (fully) shown


@dataclass(slots=True)
class Exchange:
    id: str | None
    url: str | None
    action: str | None
    soap_version: str | None
    method: str | None
    status: Any
    started: str | None
    duration_ms: float | None
    error: str | None
    request: Body
    response: Body
    source: str | None = None  # JSON file the exchange came from, relative to the run folder
    error_detail: str | None = None
    truncated: bool = False    # the recorder kept only the first part of a huge reply
    step: str | None = None


class BodyLoader:
    """Loads bodies for one report, spending a byte budget on inlined text."""

    def __init__(self, run_dir: Path, report_dir: Path | None, cap: int = INLINE_CAP,
                 budget: int = INLINE_BUDGET, preview: int = PREVIEW) -> None:
        self.run_dir = run_dir
        self.run_root = run_dir.resolve()
        self.report_dir = report_dir
        self.cap, self.budget, self.preview = cap, budget, preview
        self.inlined_bytes = 0
        self.linked = 0

    # ------------------------------------------------------------------ paths
    def inside(self, rel: str) -> Path | None:
        """The file a run-relative path names, or None when it points outside the run folder."""
        p = Path(rel)
        full = p if p.is_absolute() else self.run_dir / p
        try:
            resolved = full.resolve()
        except OSError:
            return None
        return resolved if resolved.is_relative_to(self.run_root) else None

    def href(self, file: Path) -> str:
        base = self.report_dir.resolve() if self.report_dir else self.run_root
        try:
            rel = os.path.relpath(file, base)
        except ValueError:  # another drive (Windows)
            return file.as_uri()
        return quote(rel.replace(os.sep, "/"), safe="/")

    # ------------------------------------------------------------------ display
    def _render(self, data: bytes, complete: bool) -> tuple[str, str, bool]:
        """(kind, text, pretty) for body bytes; only complete bodies are pretty-printed."""
        if b"\x00" in data[:4096]:
            return "binary", "", False
        text = data.decode("utf-8", errors="replace")
        head = text.lstrip()[:1]
        if head == "<":
            if complete:
                try:
                    root = xmlsafe.parse_bytes(data)
                    etree.indent(root, space="  ")
                    return "xml", mask_body(etree.tostring(root, encoding="unicode")), True
                except (xmlsafe.ParseProblem, ValueError, TypeError):
                    pass
            return "xml", mask_body(text), False
        if head in "{[" and head:
            if complete:
                try:
                    return "json", json.dumps(json.loads(text), ensure_ascii=False, indent=2), True
                except ValueError:
                    pass
            return "json", text, False
        return "text", mask_body(text), False

    def load(self, spec: Any, headers: Any = None, file_key: str | None = None) -> Body:
        """spec: a dict {headers, body, body_file, body_base64, size} or the body as a string."""
        body = Body(headers=_headers(headers))
        inline: Any = None
        file_rel: Any = file_key
        size_hint: Any = None
        if isinstance(spec, dict):
            body.headers = body.headers or _headers(spec.get("headers"))
            inline = _first(spec, "body", "text", "content")
            b64 = spec.get("body_base64")
            if inline is None and isinstance(b64, str):
                try:
                    inline = base64.b64decode(b64, validate=True)
                except (binascii.Error, ValueError):
                    body.note = "body.bad_base64"
            file_rel = file_rel or _first(spec, "body_file", "file", "path")
            size_hint = spec.get("size")
        elif isinstance(spec, str):
            inline = spec
        if isinstance(inline, dict | list):
            inline = json.dumps(inline, ensure_ascii=False)
        if isinstance(file_rel, str):
            body.path = file_rel
            full = self.inside(file_rel)
            if full is None:
                body.note = "body.outside"
            elif not full.is_file():
                body.note = "body.missing_file"
            else:
                body.href = self.href(full)
                body.size = full.stat().st_size
                if inline is None:
                    return self._from_file(body, full)
        if inline is None:
            if isinstance(size_hint, int):
                body.size = size_hint
            return body
        data = inline.encode("utf-8") if isinstance(inline, str) else bytes(inline)
        body.size = body.size or len(data)
        return self._from_bytes(body, data, linkable=body.href is not None)

    def _fits(self, size: int) -> bool:
        return size <= self.cap and self.inlined_bytes + size <= self.budget

    def _from_file(self, body: Body, full: Path) -> Body:
        size = body.size or 0
        if size == 0:
            body.kind = "empty"
            return body
        if self._fits(size):
            return self._from_bytes(body, full.read_bytes(), linkable=True)
        if self.inlined_bytes + self.preview > self.budget:
            return self._preview(body, b"", complete=False)  # budget spent: the link only
        if size <= PRETTY_MAX:  # small enough to pretty-print, then show the beginning
            return self._preview(body, full.read_bytes(), complete=True)
        with full.open("rb") as fh:
            return self._preview(body, fh.read(self.preview), complete=False)

    def _from_bytes(self, body: Body, data: bytes, linkable: bool) -> Body:
        if self._fits(len(data)):
            self.inlined_bytes += len(data)
            body.kind, body.text, body.pretty = self._render(data, complete=True)
            if body.kind == "binary":
                body.inlined = False
                body.note = "body.binary"
            return body
        if not linkable:
            body.note = "body.truncated_inline"
        if self.inlined_bytes + self.preview > self.budget and linkable:
            return self._preview(body, b"", complete=False)
        return self._preview(body, data if len(data) <= PRETTY_MAX else data[: self.preview],
                             complete=len(data) <= PRETTY_MAX)

    def _preview(self, body: Body, data: bytes, complete: bool) -> Body:
        """The beginning of a body that is not shown in full (pretty-printed first when the
        whole body is at hand), cut at a line end near the preview size."""
        self.linked += 1
        body.inlined = False
        # cut at a character boundary
        text_bytes = data.decode("utf-8", errors="ignore").encode("utf-8")
        if text_bytes:
            body.kind, text, body.pretty = self._render(text_bytes, complete)
            if len(text) > self.preview:
                cut = text.rfind("\n", 0, self.preview)
                text = text[: cut if cut > self.preview // 2 else self.preview]
            body.text = text
            self.inlined_bytes += len(text.encode("utf-8"))
        else:
            body.kind, body.text = "link", None
        if body.note is None:
            body.note = "body.too_big" if (body.size or 0) > self.cap else "body.budget"
        return body

    # ------------------------------------------------------------------ exchanges
    def exchange(self, spec: Any) -> Exchange | None:
        source = None
        if isinstance(spec, str):
            full = self.inside(spec)
            if full is None or not full.is_file() or full.stat().st_size > MAX_EXCHANGE_FILE:
                return Exchange(id=spec, url=None, action=None, soap_version=None, method=None,
                                status=None, started=None, duration_ms=None,
                                error="exchange file missing or outside the run folder",
                                request=Body(note="body.missing_file"),
                                response=Body(note="body.missing_file"), source=spec)
            source = os.path.relpath(full, self.run_root).replace(os.sep, "/")
            try:
                spec = json.loads(full.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                spec = {"id": source, "error": "exchange file is not valid JSON"}
        if not isinstance(spec, dict):
            return None
        req = spec.get("request")
        resp = spec.get("response")
        request = self.load(req if req is not None else spec.get("request_body"),
                            headers=spec.get("request_headers"),
                            file_key=_first(spec, "request_file", "request_body_file"))
        response = self.load(resp if resp is not None else spec.get("response_body"),
                             headers=spec.get("response_headers"),
                             file_key=_first(spec, "response_file", "response_body_file"))
        for body, key in ((request, "request_bytes"), (response, "response_bytes")):
            if body.size is None and isinstance(spec.get(key), int):
                body.size = spec[key]
        duration = _first(spec, "duration_ms", "elapsed_ms")
        if duration is None and isinstance(spec.get("duration_s"), int | float):
            duration = spec["duration_s"] * 1000
        status = _first(spec, "status", "http_status", "status_code")
        if status is None and isinstance(resp, dict):
            status = _first(resp, "status", "status_code")
        return Exchange(
            id=_str(_first(spec, "id", "seq")), url=_str(spec.get("url")),
            action=_str(_first(spec, "action", "soap_action")),
            soap_version=_str(_first(spec, "soap_version", "soap")),
            method=_str(spec.get("method")), status=status,
            started=_str(_first(spec, "started", "start", "started_at", "start_time")),
            duration_ms=float(duration) if isinstance(duration, int | float) else None,
            error=_str(spec.get("error")), request=request, response=response, source=source,
            error_detail=_str(spec.get("error_detail")), truncated=bool(spec.get("truncated")),
            step=_str(spec.get("step")))


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
