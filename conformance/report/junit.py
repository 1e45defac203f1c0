"""JUnit XML.

``JunitReporter`` (conformance validate): one test case per document; errors become
<failure>, warnings go to system-out. ``write_suites`` writes any set of suites of
:class:`Case` — ``conformance report --format junit`` uses it for a whole run (documents,
interaction checks, performance thresholds, levels), one test case per check.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from ..findings import DocumentResult, Finding, Summary

_MESSAGE_MAX = 500


def _line(f: Finding) -> str:
    where = f"{f.line}:{f.column or 1}" if f.line else "-"
    return f"[{f.severity}] {f.rule} {where} {f.xpath or ''}\n  {f.message}\n"


@dataclass(slots=True)
class Case:
    """One JUnit test case: result is pass | fail | error | skip."""
    classname: str
    name: str
    result: str = "pass"
    message: str = ""
    kind: str | None = None      # failure/error type attribute (a rule or check id)
    text: str = ""               # body of <failure>/<error>
    system_out: str = ""
    time: float | None = None    # seconds


def case_xml(c: Case) -> str:
    time = f' time="{c.time:.3f}"' if c.time is not None else ""
    out = [f"  <testcase classname={quoteattr(c.classname)} name={quoteattr(c.name)}{time}>"]
    kind = f" type={quoteattr(c.kind)}" if c.kind else ""
    msg = quoteattr(c.message[:_MESSAGE_MAX])
    if c.result == "fail":
        out.append(f"\n    <failure{kind} message={msg}>{escape(c.text or c.message)}</failure>")
    elif c.result == "error":
        out.append(f"\n    <error{kind} message={msg}>{escape(c.text or c.message)}</error>")
    elif c.result == "skip":
        out.append(f"\n    <skipped message={msg}/>")
    if c.system_out:
        out.append(f"\n    <system-out>{escape(c.system_out)}</system-out>")
    out.append("\n  </testcase>\n" if len(out) > 1 else "</testcase>\n")
    return "".join(out)


def document_case(doc: DocumentResult) -> Case:
    """A validated document as a test case (what `conformance validate --format junit` writes)."""
    errors = [f for f in doc.findings if f.severity == "error"]
    others = [f for f in doc.findings if f.severity != "error"]
    case = Case(classname=doc.document_type or "unknown", name=doc.path,
                system_out="".join(_line(f) for f in others))
    if errors:
        case.result = "fail"
        case.kind = errors[0].rule
        case.message = f"{len(errors)} error(s): {errors[0].message}"
        case.text = "".join(_line(f) for f in errors)
    return case


def write_suites(out: IO[str], name: str, suites: Iterable[tuple[str, list[Case]]]) -> None:
    """<testsuites> with one <testsuite> per (name, cases), counts in the attributes."""
    suites = [(n, cs) for n, cs in suites]

    def count(cs: list[Case], result: str) -> int:
        return sum(1 for c in cs if c.result == result)

    every = [c for _, cs in suites for c in cs]
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(f"<testsuites name={quoteattr(name)} tests=\"{len(every)}\" "
              f"failures=\"{count(every, 'fail')}\" errors=\"{count(every, 'error')}\" "
              f"skipped=\"{count(every, 'skip')}\">\n")
    for suite, cases in suites:
        out.write(f"<testsuite name={quoteattr(suite)} tests=\"{len(cases)}\" "
                  f"failures=\"{count(cases, 'fail')}\" errors=\"{count(cases, 'error')}\" "
                  f"skipped=\"{count(cases, 'skip')}\">\n")
        for c in cases:
            out.write(case_xml(c))
        out.write("</testsuite>\n")
    out.write("</testsuites>\n")


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
        self.body.write(case_xml(document_case(doc)))

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
