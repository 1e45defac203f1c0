"""The JSON contract: one object {tool, documents: [...], summary}, streamed document by
document."""

from __future__ import annotations

import json
from typing import IO, Any

from ..findings import DocumentResult, Summary


class JsonReporter:
    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.first = True

    def start(self, meta: dict[str, Any]) -> None:
        self.out.write("{\n")
        for key, value in meta.items():
            self.out.write(f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n")
        self.out.write('"documents": [\n')

    def document(self, doc: DocumentResult) -> None:
        if not self.first:
            self.out.write(",\n")
        self.first = False
        self.out.write(json.dumps(doc.to_dict(), ensure_ascii=False))

    def finish(self, summary: Summary) -> None:
        self.out.write("\n],\n")
        self.out.write(f'"summary": {json.dumps(summary.to_dict())}\n}}\n')
