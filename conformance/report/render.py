"""Render the reports of a run folder — the in-process entry point behind ``conformance report``
(and what ``conformance assess`` calls at the end of its pipeline).

    outcome = render_reports(RunFolder(path), ["html", "pdf"], "zh", baseline=None)
    outcome.paths      # {"html": Path, "pdf": Path}
    outcome.failures   # what fails the run (exit code 1 of `conformance report`)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..i18n import t
from ..model.folder import RunFolder
from ..output import open_output
from .baseline import Comparison, Item, compare, failures
from .model import ReportError, open_run

FORMATS: tuple[str, ...] = ("html", "pdf", "json", "junit", "sarif")
DEFAULT_NAMES: dict[str, str] = {"html": "report.html", "pdf": "report.pdf",
                                 "json": "report.json", "junit": "report-junit.xml",
                                 "sarif": "report.sarif"}


@dataclass(slots=True)
class ReportOutcome:
    folder: RunFolder
    paths: dict[str, Path | None] = field(default_factory=dict)  # None: standard output
    comparison: Comparison | None = None
    failures: list[Item] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)   # translated, for the console
    pdf_pages: int | None = None

    @property
    def new_failures(self) -> int:
        return self.comparison.new_failures if self.comparison else 0


def render_reports(folder: RunFolder | str | Path, formats: Iterable[str] = ("html", "pdf"),
                   lang: str = "zh", baseline: RunFolder | str | Path | None = None,
                   outputs: Mapping[str, str | Path] | None = None) -> ReportOutcome:
    """Write the reports of a run folder in ``formats`` (default file names in the run folder:
    report.html, report.pdf, report.json, report-junit.xml, report.sarif; ``outputs`` maps a
    format to another path, "-" for standard output). Every file is written atomically.
    ``baseline``: an earlier run folder to compare with.

    Raises (all ``ConformanceError``): ``model.RunError`` (unusable run or baseline folder),
    ``pdf.PdfUnavailable`` (WeasyPrint or Pango missing), ``model.ReportError`` (unknown
    format); ``OSError`` when a report cannot be written."""
    formats = list(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ReportError.phrase("report.run.formats", formats=", ".join(unknown),
                                 known=", ".join(FORMATS))
    run = open_run(folder)
    outcome = ReportOutcome(folder=run)
    if baseline is not None:
        outcome.comparison = compare(open_run(baseline), run)
    outcome.failures = failures(run)
    if "pdf" in formats:  # fail before writing anything when PDF cannot be made
        from .pdf import check_available
        check_available()
    for fmt in formats:
        target = (outputs or {}).get(fmt)
        path = run.path / DEFAULT_NAMES[fmt] if target is None else target
        to_stdout = str(path) == "-"
        report_dir = Path.cwd() if to_stdout else Path(path).resolve().parent
        if fmt == "html":
            from .html import build_context, render_html
            ctx = build_context(run, lang, "html", report_dir, outcome.comparison)
            with open_output(str(path)) as out:
                render_html(ctx, out)
        elif fmt == "pdf":
            from .html import build_context
            from .pdf import font_warning, render_pdf
            warning = font_warning()
            if warning:
                outcome.warnings.append(t(f"report.{warning}", lang))
            ctx = build_context(run, lang, "pdf", report_dir, outcome.comparison, warning)
            with open_output(str(path), binary=True) as bout:
                outcome.pdf_pages = render_pdf(ctx, bout, report_dir)
        elif fmt == "json":
            from .report_json import write_json
            with open_output(str(path)) as out:
                write_json(run, out, lang, outcome.comparison)
        elif fmt == "junit":
            from .ci import write_junit
            with open_output(str(path)) as out:
                write_junit(run, out, lang)
        else:
            from .ci import write_sarif
            with open_output(str(path)) as out:
                write_sarif(run, out, lang)
        outcome.paths[fmt] = None if to_stdout else Path(path)
    return outcome
