"""SARIF 2.1.0: findings with file, line and column so code hosts annotate the exact place."""

from __future__ import annotations

import json
import os
from typing import IO, Any
from urllib.parse import quote

from ..findings import DocumentResult, Finding, Summary

_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def artifact_uri(path: str) -> str:
    """A SARIF artifact URI: relative to the working directory when below it (code hosts
    resolve it against the repository root), members of archives as ``archive!/member``."""
    return _uri(path)


def _uri(path: str) -> str:
    archive, sep, member = path.partition("!/")
    p = archive
    try:
        rel = os.path.relpath(p)
        if not rel.startswith(".."):
            p = rel
    except ValueError:
        pass
    p = p.replace(os.sep, "/")
    return quote(p, safe="/") + (sep + quote(member, safe="/") if sep else "")


def finding_result(f: Finding, uri: str, document_type: str | None = None) -> dict[str, Any]:
    """One SARIF result for a finding located in the artifact ``uri``."""
    region: dict[str, int] = {}
    if f.line:
        region["startLine"] = f.line
        if f.column:
            region["startColumn"] = f.column
    loc: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": uri}}}
    if region:
        loc["physicalLocation"]["region"] = region
    if f.xpath:
        loc["logicalLocations"] = [{"fullyQualifiedName": f.xpath, "kind": "element"}]
    return {"ruleId": f.rule, "level": _LEVEL.get(f.severity, "warning"),
            "message": {"text": f.message}, "locations": [loc],
            "properties": {"layer": f.layer, "source": f.source,
                           "expected": f.expected, "actual": f.actual,
                           "provisional": f.provisional,
                           "documentType": document_type}}


class SarifReporter:
    """Streams one SARIF run. ``extra_rules``: more reportingDescriptor objects (e.g. the
    harness's check ids) for results added with :meth:`result`."""

    def __init__(self, out: IO[str], lang: str, rules: dict[str, Any],
                 extra_rules: list[dict[str, Any]] | None = None) -> None:
        self.out, self.lang, self.rules = out, lang, rules
        self.extra_rules = extra_rules or []
        self.first = True

    def start(self, meta: dict[str, Any]) -> None:
        tool = meta.get("tool", {})
        rules = [
            {"id": rid, "name": rid.replace(".", "_"),
             "shortDescription": {"text": r.message.get(self.lang, r.message["zh"])[:200]},
             "properties": {"layer": r.layer, "source": r.source},
             "defaultConfiguration": {"level": _LEVEL.get(r.severity, "warning")}}
            for rid, r in sorted(self.rules.items())
        ] + self.extra_rules
        head = {
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
        }
        driver = {"name": tool.get("name", "conformance"), "version": tool.get("version"),
                  "informationUri": "https://example.invalid/conformance",
                  "properties": {"ruleset": tool.get("ruleset")}, "rules": rules}
        self.out.write(json.dumps(head, ensure_ascii=False)[:-1])
        self.out.write(', "runs": [{"tool": {"driver": ')
        self.out.write(json.dumps(driver, ensure_ascii=False))
        self.out.write('}, "results": [\n')

    def document(self, doc: DocumentResult) -> None:
        uri = _uri(doc.path)
        for f in doc.findings:
            self.result(finding_result(f, uri, doc.document_type))

    def result(self, res: dict[str, Any]) -> None:
        if not self.first:
            self.out.write(",\n")
        self.first = False
        self.out.write(json.dumps(res, ensure_ascii=False))

    def finish(self, summary: Summary) -> None:
        self.out.write('\n], "properties": ')
        self.out.write(json.dumps({"summary": summary.to_dict()}))
        self.out.write("}]}\n")
