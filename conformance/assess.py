"""`conformance assess`: the whole assessment in one command — validate the shared documents,
replay the interaction scenarios, measure performance, score against the index system and write
the reports — against the embedded reference platform by default, or a --target. The stages are
``conformance.pipeline``; this module builds the options, prints the stages and maps the
outcome to an exit code."""

from __future__ import annotations

import sys

import click

from .cliopts import lang_option
from .errors import ConformanceError
from .i18n import t
from .model.folder import RunFolder
from .pipeline import AssessOptions, assess
from .profiles import profile_ids


def register(main: click.Group) -> None:
    main.add_command(assess_command)


@click.command("assess")
@click.option("--target", "target_url", default=None,
              help="Platform SOAP endpoint (default: the embedded reference platform).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True), default=None)
@click.option("--profile", type=click.Choice(profile_ids()), default=None,
              help="Platform kind (default: the default profile, hospital).")
@click.option("--documents", "documents", type=click.Path(), default=None,
              help="Shared documents to validate (default: the project's example documents).")
@click.option("--datasets", "datasets", type=click.Path(exists=True), default=None,
              help="Data-set exports to check (item 2.1); without it the questionnaire answers.")
@click.option("--self-assessment", "self_assessment", type=click.Path(dir_okay=False, exists=True),
              default=None, help="Questionnaire (default: the project's example questionnaire).")
@click.option("--assessment", type=click.Path(dir_okay=False, exists=True), default=None,
              help="An assessor's own index-system definition.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None)
@click.option("--baseline", type=click.Path(file_okay=False, exists=True), default=None,
              metavar="PREVIOUS_RUN", help="Compare with an earlier run folder.")
@click.option("--fail-on", type=click.Choice(["regression", "never"]), default="never",
              show_default=True)
@click.option("--min-level", default=None, help="Exit 1 when the level reached is lower.")
@click.option("--skip-perf", is_flag=True, help="Do not run the short performance measurement.")
@click.option("--yes", is_flag=True, help="Allow the performance test against a real target.")
@click.option("--jobs", "-j", type=click.IntRange(0, 256), default=1, show_default=True,
              help="Validate the documents in N processes (0: one per CPU core).")
@lang_option()
def assess_command(target_url: str | None, config_path: str | None, profile: str | None,
                   documents: str | None, datasets: str | None, self_assessment: str | None,
                   assessment: str | None, out_dir: str | None, baseline: str | None,
                   fail_on: str, min_level: str | None, skip_perf: bool, yes: bool, jobs: int,
                   lang: str) -> None:
    """一条命令完成测评：文档校验、交互测试、性能、评分与报告。Run the whole assessment."""
    import os

    opts = AssessOptions(target_url=target_url, config_path=config_path, profile=profile,
                         documents=documents, datasets=datasets, questionnaire=self_assessment,
                         assessment=assessment, baseline=baseline, fail_on=fail_on,
                         min_level=min_level, skip_perf=skip_perf, yes=yes, lang=lang,
                         jobs=jobs or os.cpu_count() or 1)
    started: dict[int, float] = {}

    def on_stage(event: str, i: int, n: int, key: str) -> None:
        import time

        if event == "start":
            started[i] = time.perf_counter()
            click.echo(t("assess.stage", lang, i=i, n=n, name=t(f"assess.stage_name.{key}", lang)),
                       err=True)
        elif event == "done":
            click.echo(t("assess.done", lang, secs=time.perf_counter() - started[i]), err=True)

    try:
        folder = RunFolder.create(out_dir, target_name=opts.target_name())
        outcome = assess(folder, opts, on_stage)
    except ConformanceError as exc:
        click.echo(t("err.input", lang, msg=exc.render(lang)), err=True)
        sys.exit(exc.exit_code)
    if outcome.failed is not None:
        if outcome.failed.output:
            click.echo(outcome.failed.output.rstrip(), err=True)
        click.echo(t("assess.failed", lang, code=outcome.failed.code,
                     name=t(f"assess.stage_name.{outcome.failed.key}", lang)),
                   err=True)
        click.echo(t("assess.folder", lang, path=folder.path))
        sys.exit(outcome.exit_code)
    if outcome.score is not None:   # the result first: level, points, the nearest gaps
        from .scoring.report import console_summary

        click.echo(console_summary(outcome.score, lang, max_gap_rows=5))
    click.echo(t("assess.folder", lang, path=folder.path))
    click.echo(t("assess.report", lang, html=folder.path / "report.html",
                  pdf=folder.path / "report.pdf"))
    sys.exit(outcome.exit_code)
