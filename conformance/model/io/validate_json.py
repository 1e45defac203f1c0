"""validate.json — `conformance validate --format json`: every input document with its findings.

Written as a stream (one document per line, the batch is never held in memory); read whole."""

from __future__ import annotations

from typing import IO, Any

from ..common import ToolStamp
from ..findings import DocumentRecord, DocumentResult, Summary, ValidateResults
from .base import ENCODER, Codec

SCHEMA_VERSION = 1


def _valid_required(schema: dict[str, Any]) -> None:
    doc = schema.get("$defs", {}).get("DocumentRecord")
    if doc:
        doc.setdefault("required", [])
        for key in ("path", "valid", "findings"):
            if key not in doc["required"]:
                doc["required"].append(key)


CODEC: Codec[ValidateResults] = Codec(
    name="validate", filename="validate.json", type=ValidateResults,
    schema_version=SCHEMA_VERSION, title="conformance validate.json",
    description="CDA documents and HL7 V3 messages validated by `conformance validate`: per "
                "document its type, layers run and findings (rule, severity, layer, message, "
                "source, XPath, line, column), and the counts.",
    producer="conformance validate --format json -o RUN_DIR/validate.json DOCUMENTS",
    indent=0, post_schema=_valid_required)

load, loads, dump, dumps = CODEC.load, CODEC.loads, CODEC.dump, CODEC.dumps


class StreamWriter:
    """Writes the artifact one document at a time: ``start`` (header), ``document`` (each
    result), ``finish`` (summary, and anything that follows the documents)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.first = True

    def start(self, tool: ToolStamp | dict[str, Any], **header: Any) -> None:
        self.out.write("{\n")
        self.out.write(f'"schema_version": {SCHEMA_VERSION},\n')
        self.out.write(f'"tool": {ENCODER.encode(tool).decode()},\n')
        for key, value in header.items():
            self.out.write(f'"{key}": {ENCODER.encode(value).decode()},\n')
        self.out.write('"documents": [\n')

    def document(self, doc: DocumentResult | DocumentRecord) -> None:
        if not self.first:
            self.out.write(",\n")
        self.first = False
        record = doc.to_record() if isinstance(doc, DocumentResult) else doc
        self.out.write(ENCODER.encode(record).decode())

    def finish(self, summary: Summary, **trailer: Any) -> None:
        self.out.write("\n],\n")
        for key, value in trailer.items():
            self.out.write(f'"{key}": {ENCODER.encode(value).decode()},\n')
        self.out.write(f'"summary": {ENCODER.encode(summary).decode()}\n}}\n')
