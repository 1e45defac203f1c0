"""``conformance validate --format json``: validate.json, streamed document by document through
the artifact's own writer (``model.io.validate_json.StreamWriter``: ``schema_version``, the tool,
the header, then each document, then the summary)."""

from __future__ import annotations

from typing import IO, Any

from ..model import DocumentResult, Summary
from ..model.events import DocumentValidated, Event, ValidationFinished, ValidationStarted
from ..model.io.validate_json import StreamWriter


class JsonReporter:
    def __init__(self, out: IO[str]) -> None:
        self.writer = StreamWriter(out)

    def start(self, meta: dict[str, Any]) -> None:
        header = dict(meta)
        self.writer.start(header.pop("tool", {}), **header)

    def document(self, doc: DocumentResult) -> None:
        self.writer.document(doc)

    def finish(self, summary: Summary, **trailer: Any) -> None:
        """``trailer``: what follows the documents (``datasets`` of validate-dataset)."""
        self.writer.finish(summary, **trailer)

    def handle(self, event: Event) -> None:
        if isinstance(event, ValidationStarted):
            self.start(event.header)
        elif isinstance(event, DocumentValidated):
            self.document(event.document)
        elif isinstance(event, ValidationFinished):
            self.finish(event.summary)
