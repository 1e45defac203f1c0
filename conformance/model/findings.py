"""The one findings model shared by every validator layer, the data-set checks, the message
validator, harness checks and the proxy: ``Finding`` (rule, severity, layer, message, source and
the exact place), ``DocumentResult`` (what the validator concluded about one input, built up while
it validates) and its artifact form ``DocumentRecord`` (as validate.json holds it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from .common import UNSET, Record, ToolStamp, UnsetType

LAYERS = ("parse", "schema", "template", "vocabulary", "datatype")
SEVERITIES = ("error", "warning", "info")


@dataclass(slots=True)
class Finding:
    rule: str
    severity: str
    layer: str
    message: str
    source: str
    xpath: str | None = None
    line: int | None = None
    column: int | None = None
    expected: str | None = None
    actual: str | None = None
    provisional: bool = False
    snippet: str | None = None

    def __reduce__(self) -> tuple:
        # results travel back from --jobs workers: positional fields pickle much faster
        return (Finding, (self.rule, self.severity, self.layer, self.message, self.source,
                          self.xpath, self.line, self.column, self.expected, self.actual,
                          self.provisional, self.snippet))

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "layer": self.layer,
            "message": self.message,
            "xpath": self.xpath,
            "line": self.line,
            "column": self.column,
            "expected": self.expected,
            "actual": self.actual,
            "source": self.source,
            "provisional": self.provisional,
            "snippet": self.snippet,
        }


@dataclass(slots=True)
class DocumentResult:
    """Everything the validator concluded about one input document."""

    path: str
    document_type: str | None = None
    document_name: str | None = None
    layers: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    io_error: bool = False

    def __reduce__(self) -> tuple:
        return (DocumentResult, (self.path, self.document_type, self.document_name,
                                 self.layers, self.findings, self.io_error))

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    @property
    def valid(self) -> bool:
        return self.errors == 0

    def to_record(self) -> DocumentRecord:
        return DocumentRecord(path=self.path, document_type=self.document_type,
                              document_name=self.document_name, valid=self.valid,
                              layers=dict(self.layers), findings=self.findings,
                              io_error=self.io_error or UNSET)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "document_type": self.document_type,
            "document_name": self.document_name,
            "valid": self.valid,
            "layers": dict(self.layers),
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(slots=True)
class Summary:
    documents: int = 0
    valid: int = 0
    invalid: int = 0
    errors: int = 0
    warnings: int = 0
    infos: int = 0
    io_errors: int = 0

    def add(self, doc: DocumentResult) -> None:
        self.documents += 1
        if doc.valid:
            self.valid += 1
        else:
            self.invalid += 1
        for f in doc.findings:
            if f.severity == "error":
                self.errors += 1
            elif f.severity == "warning":
                self.warnings += 1
            else:
                self.infos += 1
        if doc.io_error:
            self.io_errors += 1

    def to_dict(self) -> dict[str, int]:
        return {
            "documents": self.documents,
            "valid": self.valid,
            "invalid": self.invalid,
            "errors": self.errors,
            "warnings": self.warnings,
            "infos": self.infos,
        }


class DocumentRecord(Record, kw_only=True):
    """One validated document as an artifact holds it (validate.json ``documents[]``)."""

    path: str
    document_type: str | None = None
    document_name: str | None = None
    valid: bool = True
    layers: dict[str, str] = {}
    findings: list[Finding] = []
    io_error: bool | UnsetType = UNSET

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    @property
    def infos(self) -> int:
        return sum(1 for f in self.findings if f.severity == "info")


class ValidateResults(Record, kw_only=True):
    """validate.json: every input document with its findings, and the counts."""

    schema_version: int = 1
    tool: ToolStamp
    lang: str | UnsetType = UNSET
    schema: str | None | UnsetType = UNSET      # the schema package used (--schema-dir)
    documents: list[DocumentRecord] = []
    summary: Summary = msgspec.field(default_factory=Summary)
