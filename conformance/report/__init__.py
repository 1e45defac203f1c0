"""Reporters and the report.

Streaming reporters of ``conformance validate`` (text, JSON = validate.json, JUnit, SARIF) get
``start(meta)``, ``document(result)`` per document, ``finish(summary)``; none holds the
documents in memory, so a 100k-document batch stays flat. The JUnit and SARIF reporters are
thin adapters over the one JUnit writer (``junit.JunitWriter``) and the one SARIF writer
(``sarif.SarifWriter``) that every producer feeds.

The report of a run folder (HTML, PDF, JSON, JUnit, SARIF): ``render.render_reports``.
"""

from __future__ import annotations

from typing import IO, Any, Protocol

from ..model import DocumentResult, Summary


class Reporter(Protocol):
    def start(self, meta: dict[str, Any]) -> None: ...
    def document(self, doc: DocumentResult) -> None: ...
    def finish(self, summary: Summary) -> None: ...


def make_reporter(fmt: str, out: IO[str], lang: str, **opts: Any) -> Reporter:
    if fmt == "json":
        from .json_report import JsonReporter
        return JsonReporter(out)
    if fmt == "junit":
        from .junit import JunitReporter
        return JunitReporter(out, lang)
    if fmt == "sarif":
        from .sarif import SarifReporter
        return SarifReporter(out, lang, rules=opts.get("rules") or {})
    from .text import TextReporter
    return TextReporter(out, lang, show_info=bool(opts.get("show_info")),
                        color=bool(opts.get("color")))
