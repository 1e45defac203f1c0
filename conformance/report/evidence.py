"""Recorded exchanges (``model.Exchange``: request/response evidence) prepared for display.

An exchange names its bodies as files in the run folder (``request_file`` / ``response_file``,
relative to it); a path that leads outside the run folder is never read. Bodies are
pretty-printed (XML with the hardened parser, JSON) when they are small; a body beyond the size
cap, or once the report's inline budget is spent, is shown as a short preview with a link to its
file in the run folder, so a report of thousands of exchanges stays usable. Secrets are masked
again here (defence in depth: the recorder already redacts them): the report knows no secret
value, so it masks their shapes (``conformance.secrets``: credential headers, URL passwords and
credential query parameters, ``Password`` elements raw or escaped).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import msgspec
from lxml import etree

from .. import xmlsafe
from ..model import Exchange
from ..secrets import mask_header, mask_text, mask_url

INLINE_CAP = 32 * 1024          # a body up to this size is shown in full
INLINE_BUDGET = 8 * 1024 * 1024  # total body bytes inlined into one report
PREVIEW = 1536                   # characters shown of a body too big to inline (budget lasting)
PRETTY_MAX = 1024 * 1024         # a body not inlined is still pretty-printed up to this size
MAX_EXCHANGE_FILE = 64 * 1024 * 1024


def mask_body(text: str) -> str:
    return mask_text(text)


def _headers(value: dict[str, str]) -> list[tuple[str, str]]:
    return [(k, mask_header(k, v)) for k, v in value.items()]


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
class ExchangeView:
    """A recorded exchange as the report shows it: the record's facts and both bodies."""

    record: Exchange
    request: Body
    response: Body


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
                    return "json", mask_body(json.dumps(json.loads(text), ensure_ascii=False,
                                                        indent=2)), True
                except ValueError:
                    pass
            return "json", mask_body(text), False
        return "text", mask_body(text), False

    def load(self, file_rel: str | None, headers: dict[str, str] | None = None,
             size_hint: int | None = None) -> Body:
        """The body a recorded exchange keeps in ``file_rel`` (relative to the run folder)."""
        body = Body(headers=_headers(headers or {}))
        if file_rel is None:
            body.size = size_hint or None
            return body
        body.path = file_rel
        full = self.inside(file_rel)
        if full is None:
            body.note = "body.outside"
        elif not full.is_file():
            body.note = "body.missing_file"
        else:
            body.href = self.href(full)
            body.size = full.stat().st_size
            return self._from_file(body, full)
        if size_hint:
            body.size = size_hint
        return body

    def _fits(self, size: int) -> bool:
        return size <= self.cap and self.inlined_bytes + size <= self.budget

    def _from_file(self, body: Body, full: Path) -> Body:
        size = body.size or 0
        if size == 0:
            body.kind = "empty"
            return body
        if self._fits(size):
            self.inlined_bytes += size
            body.kind, body.text, body.pretty = self._render(full.read_bytes(), complete=True)
            if body.kind == "binary":
                body.inlined = False
                body.note = "body.binary"
            return body
        if self.inlined_bytes + self.preview > self.budget:
            return self._preview(body, b"", complete=False)  # budget spent: the link only
        if size <= PRETTY_MAX:  # small enough to pretty-print, then show the beginning
            return self._preview(body, full.read_bytes(), complete=True)
        with full.open("rb") as fh:
            return self._preview(body, fh.read(self.preview), complete=False)

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
    def exchange(self, ex: Exchange) -> ExchangeView:
        shown = mask_url(ex.url)
        return ExchangeView(
            record=ex if shown == ex.url else msgspec.structs.replace(ex, url=shown),
            request=self.load(ex.request_file, ex.request_headers, ex.request_bytes),
            response=self.load(ex.response_file, ex.response_headers, ex.response_bytes))
