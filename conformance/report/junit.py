"""JUnit XML: one test case per document; errors become <failure>, warnings go to system-out."""

from __future__ import annotations

import tempfile
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from ..findings import DocumentResult, Summary


def _line(f) -> str:
    where = f"{f.line}:{f.column or 1}" if f.line else "-"
    return f"[{f.severity}] {f.rule} {where} {f.xpath or ''}\n  {f.message}\n"


class JunitReporter:
    def __init__(self, out: IO[str], lang: str) -> None:
        self.out, self.lang = out, lang
        # test cases are spooled to disk so that a 100k-document batch stays flat in memory;
        # the counts the <testsuite> header needs are known only at the end
        self.body = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self.meta: dict[str, Any] = {}

    def start(self, meta: dict[str, Any]) -> None:
        self.meta = meta

    def document(self, doc: DocumentResult) -> None:
        cls = f"{doc.document_type or 'unknown'}"
        self.body.write(f"  <testcase classname={quoteattr(cls)} name={quoteattr(doc.path)}>\n")
        errors = [f for f in doc.findings if f.severity == "error"]
        if errors:
            first = errors[0]
            self.body.write(
                f"    <failure type={quoteattr(first.rule)} "
                f"message={quoteattr(f'{len(errors)} error(s): {first.message}')}>"
                f"{escape(''.join(_line(f) for f in errors))}</failure>\n")
        others = [f for f in doc.findings if f.severity != "error"]
        if others:
            self.body.write(f"    <system-out>{escape(''.join(_line(f) for f in others))}"
                            "</system-out>\n")
        self.body.write("  </testcase>\n")

    def finish(self, summary: Summary) -> None:
        tool = self.meta.get("tool", {})
        self.out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        self.out.write(
            f"<testsuites tests=\"{summary.documents}\" failures=\"{summary.invalid}\">\n"
            f"<testsuite name={quoteattr('conformance validate ' + str(tool.get('ruleset')))} "
            f"tests=\"{summary.documents}\" failures=\"{summary.invalid}\" errors=\"0\">\n")
        self.body.seek(0)
        while chunk := self.body.read(1 << 16):
            self.out.write(chunk)
        self.body.close()
        self.out.write("</testsuite>\n</testsuites>\n")
