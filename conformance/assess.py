"""`conformance assess`: the whole assessment in one command — validate the shared documents,
replay the interaction scenarios, measure performance, score against the index system and write
the reports — against the embedded reference platform by default, or a --target.

Each stage is the same command a user can run alone (one implementation, one serializer); this
module only sequences them into one run folder and says what happened.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from .resources import test_cases_dir

_UI = {
    "stage": {"zh": "[{i}/{n}] {name}", "en": "[{i}/{n}] {name}"},
    "done": {"zh": "    完成（{secs:.1f} 秒）{detail}", "en": "    done ({secs:.1f} s) {detail}"},
    "failed": {"zh": "    阶段失败（退出码 {code}）：{name}", "en": "    stage failed (exit {code}): {name}"},
    "folder": {"zh": "运行目录：{path}", "en": "Run folder: {path}"},
    "report": {"zh": "报告：{html}  {pdf}", "en": "Report: {html}  {pdf}"},
    "validate": {"zh": "校验共享文档（{docs}）", "en": "Validating shared documents ({docs})"},
    "datasets": {"zh": "校验数据集（{path}）", "en": "Validating data sets ({path})"},
    "run": {"zh": "回放交互服务场景", "en": "Replaying interaction scenarios"},
    "perf": {"zh": "测量平台性能（短测）", "en": "Measuring platform performance (short)"},
    "score": {"zh": "按测评指标体系评分", "en": "Scoring against the index system"},
    "seal": {"zh": "封存运行目录（manifest.json）", "en": "Sealing the run folder (manifest.json)"},
    "reports": {"zh": "生成报告（HTML、PDF）", "en": "Writing reports (HTML, PDF)"},
    "no_docs": {"zh": "未找到文档目录 {path}", "en": "Documents folder not found: {path}"},
}


def ui(key: str, lang: str, **kw: Any) -> str:
    e = _UI[key]
    return (e.get(lang) or e["zh"]).format(**kw)


@contextlib.contextmanager
def _captured(quiet: bool) -> Iterator[io.StringIO]:
    buf = io.StringIO()
    if not quiet:
        yield buf
        return
    old = sys.stdout
    sys.stdout = buf
    try:
        yield buf
    finally:
        sys.stdout = old


def invoke(args: list[str], quiet: bool = False) -> tuple[int, str]:
    """Run one `conformance` command in-process; return its exit code (and output when quiet)."""
    from .cli import main

    with _captured(quiet) as buf:
        try:
            main.main(args=args, prog_name="conformance", standalone_mode=False)
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0) if not isinstance(exc.code, str) else 2
        except click.ClickException as exc:
            exc.show()
            code = exc.exit_code
        except Exception as exc:  # a defect in a stage: say which, never a traceback
            click.echo(f"conformance {' '.join(args[:1])}: internal error: "
                       f"{type(exc).__name__}: {exc} (run the stage alone to see details)",
                       err=True)
            code = 3
    return code, buf.getvalue()


def register(main: click.Group) -> None:
    main.add_command(assess_command)


@click.command("assess")
@click.option("--target", "target_url", default=None,
              help="Platform SOAP endpoint (default: the embedded reference platform).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True), default=None)
@click.option("--profile", type=click.Choice(["hospital", "regional"]), default="hospital",
              show_default=True)
@click.option("--documents", "documents", type=click.Path(exists=True), default=None,
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
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def assess_command(target_url: str | None, config_path: str | None, profile: str,
                   documents: str | None, datasets: str | None, self_assessment: str | None,
                   assessment: str | None, out_dir: str | None, baseline: str | None,
                   fail_on: str, min_level: str | None, skip_perf: bool, yes: bool,
                   lang: str) -> None:
    """一条命令完成测评：文档校验、交互测试、性能、评分与报告。Run the whole assessment."""
    name = "embedded" if not (target_url or config_path) else (
        (target_url or config_path or "").split("//", 1)[-1].split("/", 1)[0])
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:60]
    run_dir = Path(out_dir) if out_dir else Path("runs") / (
        f"{datetime.now():%Y%m%d-%H%M%S}-{safe}")
    run_dir.mkdir(parents=True, exist_ok=True)
    family = "wst500" if profile == "hospital" else "wst483"
    docs = Path(documents) if documents else test_cases_dir() / "documents" / family
    if not docs.exists():
        click.echo(ui("no_docs", lang, path=docs), err=True)
        sys.exit(2)
    target_args = (["--target", target_url] if target_url else []) + (
        ["--config", config_path] if config_path else [])
    questionnaire = self_assessment or str(
        test_cases_dir() / "self-assessment" / f"{profile}-example.yaml")
    stages: list[tuple[str, list[str], bool, set[int]]] = [
        (ui("validate", lang, docs=docs),
         ["validate", "--format", "json", "-o", str(run_dir / "validate.json"), "--lang", lang,
          "--no-progress", str(docs)], True, {0, 1}),
    ]
    if datasets:
        stages.append((ui("datasets", lang, path=datasets),
                       ["validate-dataset", "--auto", "--format", "json", "-o",
                        str(run_dir / "datasets.json"), "--lang", lang, datasets], True, {0, 1}))
    stages.append((ui("run", lang), ["run", *target_args, "--profile", profile, "--out",
                                     str(run_dir), "--lang", lang], False, {0, 1}))
    if not skip_perf:
        stages.append((ui("perf", lang), ["perf", *target_args, "--profile", profile, "--bands",
                                          "--quick", "--out", str(run_dir), "--lang", lang,
                                          *(["--yes"] if yes else [])], False, {0, 1}))
    stages.append((ui("seal", lang), ["manifest", str(run_dir), "--lang", lang], True, {0}))
    score_args = ["score", "--results", str(run_dir), "--out", str(run_dir), "--profile", profile,
                  "--lang", lang]
    if Path(questionnaire).is_file():
        score_args += ["--self-assessment", questionnaire]
    if datasets:
        score_args += ["--datasets", str(run_dir / "datasets.json")]
    if assessment:
        score_args += ["--assessment", assessment]
    if min_level:
        score_args += ["--min-level", min_level]
    stages.append((ui("score", lang), score_args, False, {0, 1}))
    report_args = ["report", str(run_dir), "--format", "html", "--format", "pdf", "--lang", lang,
                   "--fail-on", fail_on if baseline else "never"]
    if baseline:
        report_args += ["--baseline", baseline]
    stages.append((ui("reports", lang), report_args, False, {0, 1}))

    worst = 0
    for i, (title, args, quiet, ok_codes) in enumerate(stages, start=1):
        click.echo(ui("stage", lang, i=i, n=len(stages), name=title), err=True)
        t0 = time.perf_counter()
        code, _out = invoke(args, quiet=quiet)
        if code not in ok_codes:
            click.echo(ui("failed", lang, code=code, name=" ".join(args[:1])), err=True)
            click.echo(ui("folder", lang, path=run_dir))
            sys.exit(code or 2)
        if args[0] in ("score", "report") and code == 1:
            worst = 1  # --min-level not reached, or a regression with --fail-on regression
        click.echo(ui("done", lang, secs=time.perf_counter() - t0, detail=""), err=True)
    click.echo(ui("folder", lang, path=run_dir))
    click.echo(ui("report", lang, html=run_dir / "report.html", pdf=run_dir / "report.pdf"))
    sys.exit(worst)
