"""JUnit XML: the one writer every producer feeds (validate, the scenario runner, data sets,
perf, scoring and the report's CI export).

API (typed; nothing here reads a file)::

    from conformance.report.junit import JunitWriter

    with open_output(path) as out, JunitWriter(out, name="conformance run") as junit:
        junit.run(results)                  # RunResults: one test case per check, one test
                                            #   suite per scenario suite (``case.suite`` or
                                            #   "cases") — what harness junit.xml holds
        junit.case(case)                    # the same for one CaseResult, as it finishes
        junit.document(doc, suite)          # a validated document (DocumentResult or
                                            #   DocumentRecord): one test case per document
        junit.datasets(verdicts, lang)      # DatasetVerdicts: one test case per data set the
                                            #   inputs held data for (partial → failure)
        junit.perf(perf, lang)              # PerfResults: thresholds (and bands, recorded)
        junit.score(score, lang)            # Score: the levels reached / not reached
        junit.handle(event)                 # model events: DocumentValidated, CaseFinished,
                                            #   DatasetChecked, ThresholdsJudged
    # leaving the block (or close()) writes <testsuites>; nothing is written before

Results map to JUnit as: pass → a plain test case, fail → ``<failure>``, error (could not be
judged) → ``<error>``, skip and interrupted → ``<skipped>``. Test cases are spooled to temporary
files per suite (the counts the suite header needs are known only at the end), so a batch of
100,000 documents stays flat in memory. ``Reporter``-style adapters (``JunitReporter``) serve
``conformance validate --format junit`` and ``validate-dataset``.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

import msgspec

from ..i18n import t
from ..model import (
    UNSET,
    CaseResult,
    DatasetVerdict,
    DocumentRecord,
    DocumentResult,
    Finding,
    PerfResults,
    RunResults,
    Score,
    Status,
    Summary,
    Threshold,
)
from ..model.events import (
    CaseFinished,
    DatasetChecked,
    DocumentValidated,
    Event,
    ThresholdsJudged,
    ValidationStarted,
)
from .views import localized, threshold_result

_MESSAGE_MAX = 500
# characters XML 1.0 does not allow (a binary reply quoted in a message would break the file)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SPOOL = 1 << 20


def _text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def _line(f: Finding) -> str:
    where = f"{f.line}:{f.column or 1}" if f.line else "-"
    return f"[{f.severity}] {f.rule} {where} {f.xpath or ''}\n  {f.message}\n"


@dataclass(slots=True)
class TestCase:
    """One JUnit test case."""

    __test__ = False  # not a pytest class

    classname: str
    name: str
    result: Status = Status.PASS
    message: str = ""
    kind: str | None = None      # failure/error type attribute (a rule id …)
    text: str = ""               # body of <failure>/<error> (default: the message)
    system_out: str = ""
    time: float | None = None    # seconds


def case_xml(c: TestCase) -> str:
    time = f' time="{c.time:.3f}"' if c.time is not None else ""
    out = [f"  <testcase classname={quoteattr(_text(c.classname))} "
           f"name={quoteattr(_text(c.name))}{time}>"]
    kind = f" type={quoteattr(_text(c.kind))}" if c.kind else ""
    msg = quoteattr(_text(c.message[:_MESSAGE_MAX]))
    body = escape(_text(c.text or c.message))
    if c.result == Status.FAIL:
        out.append(f"\n    <failure{kind} message={msg}>{body}</failure>")
    elif c.result == Status.ERROR:
        out.append(f"\n    <error{kind} message={msg}>{body}</error>")
    elif c.result in (Status.SKIP, Status.INTERRUPTED):
        out.append(f"\n    <skipped message={msg}/>")
    if c.system_out:
        out.append(f"\n    <system-out>{escape(_text(c.system_out))}</system-out>")
    out.append("\n  </testcase>\n" if len(out) > 1 else "</testcase>\n")
    return "".join(out)


# ---------------------------------------------------------------------- what each producer gives
def document_case(doc: DocumentResult | DocumentRecord) -> TestCase:
    """A validated document: errors make the failure, warnings and infos go to system-out."""
    errors = [f for f in doc.findings if f.severity == "error"]
    others = [f for f in doc.findings if f.severity != "error"]
    case = TestCase(classname=doc.document_type or "unknown", name=doc.path,
                    system_out="".join(_line(f) for f in others))
    if errors:
        case.result = Status.FAIL
        case.kind = errors[0].rule
        case.message = f"{len(errors)} error(s): {errors[0].message}"
        case.text = "".join(_line(f) for f in errors)
    return case


def check_cases(case: CaseResult) -> list[TestCase]:
    """One test case per check of a scenario case (classname: the case, name: the check)."""
    return [TestCase(classname=case.id, name=k.id, result=k.result, message=k.message)
            for k in case.checks]


def verdict_label(v: DatasetVerdict, lang: str) -> str:
    text = localized(v.verdict, v.verdict_en, lang)
    if not v.provisional:
        return text
    return text + t("paren", lang, text=t("report.provisional", lang))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def verdict_figures(v: DatasetVerdict, lang: str = "zh") -> str:
    """The two figures of the automated data-set test: ``数据元覆盖 6/27（22.2%）  格式符合
    28/29（96.6%，暂定）`` (format conformance is not measured on documents)."""

    def paren(text: str) -> str:
        return t("paren", lang, text=text)

    parts = []
    c = v.element_coverage
    if c is not UNSET:
        parts.append(f"{t('report.ds.fig.covered', lang)} {c.numerator}/{c.denominator}"
                     + paren(_pct(c.value)))
    f = v.format_conformance
    if f is not UNSET:
        if not f.denominator:
            parts.append(f"{t('report.ds.fig.format', lang)} "
                         + (t("report.ds.fig.not_measured", lang) if v.documents else "-"))
        else:
            prov = (t("sep.comma", lang) + t("report.provisional", lang)) \
                if f.provisional is True else ""
            parts.append(f"{t('report.ds.fig.format', lang)} {f.numerator}/{f.denominator}"
                         + paren(_pct(f.value) + prov))
    if not parts:  # a writer that gave no ratios: the element counts
        parts.append(f"{t('report.ds.fig.covered', lang)} {v.elements.covered}/{v.elements.total}")
    return "  ".join(parts)


def dataset_case(v: DatasetVerdict, lang: str = "zh") -> TestCase:
    """A data-set verdict: 完全覆盖且符合 passes (the figures in system-out), 部分符合 fails,
    无此数据 is skipped."""
    case = TestCase(classname="dataset", name=f"{v.id} {v.name or ''}".strip())
    if not v.touched:
        case.result, case.message = Status.SKIP, verdict_label(v, lang)
        return case
    summary = (f"{verdict_label(v, lang)}: {verdict_figures(v, lang)}, "
               f"{t('report.ds.fig.defects', lang)} {sum(v.defects.values())}")
    if v.verdict_key == "full":
        case.system_out = summary
        return case
    case.result, case.kind, case.message = Status.FAIL, "verdict", summary
    case.text = msgspec.json.encode(v).decode()
    return case


def threshold_case(th: Threshold, lang: str = "zh") -> TestCase:
    prov = f" [{t('report.provisional', lang)}]" if th.provisional else ""
    result = threshold_result(th)
    actual = "-" if th.actual is None else f"{th.actual:g}"
    return TestCase("perf.thresholds", (th.description or th.id) + prov, result,
                    "" if result == Status.PASS else f"{th.metric} {th.op} {th.limit:g}: {actual}",
                    kind=th.metric)


# ---------------------------------------------------------------------- the writer
@dataclass(slots=True)
class _Suite:
    spool: Any
    tests: int = 0
    counts: dict[Status, int] = field(default_factory=dict)

    def count(self, *statuses: Status) -> int:
        return sum(self.counts.get(s, 0) for s in statuses)


class JunitWriter:
    """Collects test cases in suites and writes ``<testsuites>`` on ``close()``."""

    def __init__(self, out: IO[str], name: str | None = None,
                 documents_suite: str = "conformance validate") -> None:
        self.out, self.name = out, name
        self.documents_suite = documents_suite
        self._suites: dict[str, _Suite] = {}
        self._closed = False

    def __enter__(self) -> JunitWriter:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self._discard()

    # ------------------------------------------------------------------ generic
    def suite(self, name: str) -> None:
        """Declare a suite (so that it is written even when no test case comes)."""
        if name not in self._suites:
            self._suites[name] = _Suite(tempfile.SpooledTemporaryFile(  # noqa: SIM115
                _SPOOL, mode="w+", encoding="utf-8"))

    def add(self, suite: str, case: TestCase) -> None:
        self.suite(suite)
        s = self._suites[suite]
        s.spool.write(case_xml(case))
        s.tests += 1
        result = Status(case.result)
        s.counts[result] = s.counts.get(result, 0) + 1

    # ------------------------------------------------------------------ typed feeds
    def document(self, doc: DocumentResult | DocumentRecord, suite: str | None = None) -> None:
        self.add(suite or self.documents_suite, document_case(doc))

    def case(self, case: CaseResult, suite: str | None = None) -> None:
        name = suite or case.suite or "cases"
        self.suite(name)
        for tc in check_cases(case):
            self.add(name, tc)

    def run(self, results: RunResults) -> None:
        for c in results.cases:
            self.case(c)

    def dataset(self, verdict: DatasetVerdict, lang: str = "zh",
                suite: str | None = None) -> None:
        self.add(suite or self.documents_suite, dataset_case(verdict, lang))

    def datasets(self, verdicts: Iterable[DatasetVerdict], lang: str = "zh",
                 suite: str | None = None) -> None:
        """The data sets the inputs held data for (an untouched 无此数据 says nothing about the
        institution: the questionnaire answers for it)."""
        for v in verdicts:
            if v.touched:
                self.dataset(v, lang, suite)

    def thresholds(self, thresholds: Iterable[Threshold], lang: str = "zh",
                   suite: str = "conformance perf") -> None:
        for th in thresholds:
            self.add(suite, threshold_case(th, lang))

    def perf(self, perf: PerfResults, lang: str = "zh", suite: str = "conformance perf") -> None:
        self.suite(suite)
        self.thresholds(perf.thresholds, lang, suite)
        for b in perf.bands:
            band = localized(b.band, b.band_en, lang)
            median = "-" if b.median_ms is None else f"{b.median_ms:g}"
            self.add(suite, TestCase("perf.bands", f"{b.item} {b.service}".strip(),
                                     system_out=f"median {median} ms: {band or '-'}"))

    def score(self, score: Score, lang: str = "zh", suite: str = "conformance score") -> None:
        """The level reached passes; each higher level is skipped with its missing items,
        except the required minimum level (``--min-level``), which fails."""
        from .views import Caps, score_view

        s = score_view(score, {}, Caps(), lang)
        mark = f" [{t('report.provisional', lang)}]" if s.provisional or s.level_provisional else ""
        self.suite(suite)
        if s.level:
            self.add(suite, TestCase("score.levels", f"{s.level}{mark}",
                                     system_out=f"total {s.total} / {s.max_total}"))
        for g in s.gaps:
            items = "\n".join(f"{m['code']} {m['text']} ({m['points']})" for m in g["missing"])
            failed = s.min_level is not None and g["level_id"] == s.min_level
            self.add(suite, TestCase("score.levels", f"{g['level']}{mark}",
                                     Status.FAIL if failed else Status.SKIP,
                                     f"{g['count']} item(s) missing for {g['level']}",
                                     kind="level", text=items))

    def handle(self, event: Event) -> None:
        """A handler of the engines' events (``model.events.dispatch``)."""
        if isinstance(event, DocumentValidated):
            self.document(event.document)
        elif isinstance(event, CaseFinished):
            self.case(event.case)
        elif isinstance(event, DatasetChecked):
            if event.verdict.touched:
                self.dataset(event.verdict)
        elif isinstance(event, ThresholdsJudged):
            self.thresholds(event.thresholds)
        elif isinstance(event, ValidationStarted):
            tool = event.header.get("tool")
            ruleset = getattr(tool, "ruleset", None) if not isinstance(tool, dict) \
                else tool.get("ruleset")
            self.documents_suite = f"conformance validate {ruleset or ''}".strip()
            self.suite(self.documents_suite)

    # ------------------------------------------------------------------ output
    def close(self) -> None:
        """Write the XML (once)."""
        if self._closed:
            return
        self._closed = True
        suites = self._suites
        every = _Suite(None)
        for s in suites.values():
            every.tests += s.tests
            for k, n in s.counts.items():
                every.counts[k] = every.counts.get(k, 0) + n

        def counts(s: _Suite) -> str:
            return (f'tests="{s.tests}" failures="{s.count(Status.FAIL)}" '
                    f'errors="{s.count(Status.ERROR)}" '
                    f'skipped="{s.count(Status.SKIP, Status.INTERRUPTED)}"')

        name = f"name={quoteattr(_text(self.name))} " if self.name else ""
        self.out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        self.out.write(f"<testsuites {name}{counts(every)}>\n")
        for suite, s in suites.items():
            self.out.write(f"<testsuite name={quoteattr(_text(suite))} {counts(s)}>\n")
            s.spool.seek(0)
            while chunk := s.spool.read(1 << 16):
                self.out.write(chunk)
            s.spool.close()
            self.out.write("</testsuite>\n")
        self.out.write("</testsuites>\n")

    def _discard(self) -> None:
        self._closed = True
        for s in self._suites.values():
            s.spool.close()


# ---------------------------------------------------------------------- validate's reporter
class JunitReporter:
    """``conformance validate --format junit`` (start / document / finish): one test suite,
    one test case per document; ``datasets()`` adds the data-set verdicts of
    ``validate-dataset`` to the same suite."""

    def __init__(self, out: IO[str], lang: str) -> None:
        self.lang = lang
        self.writer = JunitWriter(out)

    def start(self, meta: dict[str, Any]) -> None:
        tool = meta.get("tool") or {}
        ruleset = tool.get("ruleset") if isinstance(tool, dict) else getattr(tool, "ruleset",
                                                                             None)
        self.writer.documents_suite = f"conformance validate {ruleset}"
        self.writer.suite(self.writer.documents_suite)

    def document(self, doc: DocumentResult) -> None:
        self.writer.document(doc)

    def datasets(self, verdicts: Iterable[DatasetVerdict]) -> None:
        self.writer.datasets(verdicts, self.lang)

    def handle(self, event: Event) -> None:
        self.writer.handle(event)

    def finish(self, summary: Summary) -> None:
        self.writer.close()


__all__ = ["JunitReporter", "JunitWriter", "TestCase", "case_xml", "check_cases",
           "dataset_case", "document_case", "threshold_case", "verdict_figures", "verdict_label"]
