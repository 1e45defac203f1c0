"""``conformance report RUN_DIR``: render a run folder as HTML, PDF, JSON, JUnit or SARIF.

Exit codes: 0 ok; 1 the run has failures (document errors, failed/errored checks, failed
performance thresholds, level below score.json's min_level) — or, with ``--fail-on regression``,
only failures that are new against ``--baseline``; 2 usage or I/O problem.
"""

from __future__ import annotations

import sys

import click

from ..cliopts import lang_option
from ..i18n import t
from .render import FORMATS


def _formats(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for item in value or ("html",):
        for name in item.split(","):
            name = name.strip().lower()
            if not name:
                continue
            if name == "all":
                out.extend(FORMATS)
            elif name in FORMATS:
                out.append(name)
            else:
                raise click.BadParameter(f"{name!r} is not one of {', '.join(FORMATS)}, all")
    return list(dict.fromkeys(out))


def register(main: click.Group) -> None:
    @main.command("report")
    @click.argument("run_dir", type=click.Path())
    @click.option("--format", "-f", "formats", multiple=True, callback=_formats,
                  metavar="html|pdf|json|junit|sarif|all",
                  help="Output format; repeat or separate with commas (default html).")
    @lang_option("Report language: zh (简体中文) or en.")
    @click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
                  help="Write to FILE ('-': standard output) instead of RUN_DIR/report.<ext>; "
                       "with one --format only.")
    @click.option("--baseline", type=click.Path(), default=None, metavar="PREVIOUS_RUN",
                  help="An earlier run folder: show what got better and what regressed.")
    @click.option("--fail-on", type=click.Choice(["failure", "regression", "never"]),
                  default="failure", show_default=True,
                  help="Exit 1 on any failure, only on new failures against --baseline, or never.")
    def report(run_dir: str, formats: list[str], lang: str, output: str | None,
               baseline: str | None, fail_on: str) -> None:
        """生成测评报告（HTML/PDF/JSON/JUnit/SARIF）。Render the reports of a run folder.

        RUN_DIR: a run folder (runs/<YYYYmmdd-HHMMSS>-<target>/ or the --out DIR of
        run/perf/score/assess) holding any of validate.json, datasets.json, results.json,
        perf.json, score.json and evidence/.
        """
        from ..errors import ConformanceError
        from .pdf import PdfUnavailable
        from .render import render_reports

        def fail(msg: str, code: int = 2) -> None:
            click.echo(msg, err=True)
            sys.exit(code)

        if fail_on == "regression" and baseline is None:
            fail(t("report.cli.need_baseline", lang))
        if output is not None and len(formats) != 1:
            fail(t("report.cli.one_output", lang))
        if output == "-" and formats == ["pdf"] and sys.stdout.isatty():
            fail(t("report.cli.pdf_stdout", lang))
        try:
            outcome = render_reports(run_dir, formats, lang, baseline=baseline,
                                     outputs={formats[0]: output} if output else None)
        except PdfUnavailable as exc:
            fail(t("report.cli.pdf_unavailable", lang, msg=exc))
        except ConformanceError as exc:
            fail(t("report.cli.err", lang, msg=exc.render(lang)))
        except OSError as exc:
            fail(t("report.cli.err_output", lang, path=output or run_dir,
                    msg=exc.strerror or exc))
        except KeyboardInterrupt:
            fail(t("cli.interrupted", lang), 130)
        except Exception as exc:  # a defect: say so, never a traceback (written files are whole)
            fail(t("report.cli.err", lang, msg=t("report.cli.internal", lang,
                                                 error=f"{type(exc).__name__}: {exc}")))
        for warning in outcome.warnings:
            click.echo(f"⚠ {warning}", err=True)
        for path in outcome.paths.values():
            if path is not None:
                click.echo(t("report.cli.written", lang, path=path), err=True)
        if outcome.failures:
            click.echo(t("report.cli.failures", lang, n=len(outcome.failures)), err=True)
        cmp = outcome.comparison
        if cmp is not None:
            click.echo(t("report.cli.new_failures", lang, new=cmp.new_failures,
                          fixed=len(cmp.improvements)), err=True)
        if fail_on == "never":
            sys.exit(0)
        if fail_on == "regression":
            sys.exit(1 if outcome.new_failures else 0)
        sys.exit(1 if outcome.failures else 0)
