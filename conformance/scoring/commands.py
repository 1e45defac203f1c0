"""CLI: `conformance init`, `conformance score`, `conformance manifest` (registered as a plugin).
Each command builds its options, runs the engine (``scoring.api``) and maps the outcome to an
exit code: 0, 1 (below --min-level; a folder that does not verify), 2 (a ConformanceError)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn

import click

from ..cliopts import format_option, lang_option
from ..errors import ConformanceError
from ..i18n import t
from ..model.folder import RunFolder
from ..model.io import score_json
from ..output import open_output
from ..profiles import profile_ids
from .api import resolve_definition, score_folder, tool_stamp
from .questionnaire import write_template
from .report import console_summary
from .results import FILES


def _fail(msg: str, code: int = 2) -> NoReturn:
    click.echo(msg, err=True)
    sys.exit(code)


def _errors_exit_2(fn: Callable[..., None]) -> Callable[..., None]:
    """A ConformanceError is printed in the command's language and exits with its code."""
    @wraps(fn)
    def run(*args: Any, **kw: Any) -> None:
        try:
            fn(*args, **kw)
        except ConformanceError as exc:
            _fail(exc.render(kw.get("lang", "zh")), exc.exit_code)
    return run


def register(main: click.Group) -> None:
    @main.command("init")
    @click.option("--profile", type=click.Choice(profile_ids()), default=None,
                  show_default=True, help="Assessment profile (selects the default index system).")
    @click.option("--index-system", "index_system", default=None,
                  help="Index system id, e.g. hospital-2020, emr-application-2018, smart-service-2019.")
    @click.option("--assessment", type=click.Path(dir_okay=False), default=None,
                  help="Use your own assessment definition file instead of a shipped one.")
    @click.option("--out", "out", type=click.Path(dir_okay=False), required=True,
                  help="Questionnaire file to write (YAML).")
    @click.option("--force", is_flag=True, help="Overwrite an existing file.")
    @lang_option()
    @_errors_exit_2
    def init_cmd(profile: str, index_system: str | None, assessment: str | None, out: str, force: bool,
                 lang: str) -> None:
        """写出自评问卷模板。Write the self-assessment questionnaire for an index system."""
        d = resolve_definition(assessment=assessment, index_system=index_system, profile=profile)
        if Path(out).exists() and not force:
            _fail(t("score.console.exists", lang, path=out))
        text, asked, auto = write_template(d, lang)
        try:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            with open_output(out) as fh:
                fh.write(text)
        except OSError as exc:
            _fail(f"{out}: {exc.strerror or exc}")
        click.echo(t("score.console.init_written", lang, path=out, n=asked, auto=auto))

    @main.command("score")
    @click.argument("run_dirs", nargs=-1, type=click.Path(file_okay=False))
    @click.option("--results", "results", multiple=True, type=click.Path(file_okay=False),
                  help="Run folder with validate.json / results.json / perf.json (repeatable).")
    @click.option("--self-assessment", "self_assessment", type=click.Path(dir_okay=False), default=None,
                  help="The filled-in questionnaire (from `conformance init`).")
    @click.option("--assessment", type=click.Path(dir_okay=False), default=None,
                  help="Your own assessment definition file (validated; errors name file:line).")
    @click.option("--index-system", "index_system", default=None,
                  help="Shipped index system id (default: the questionnaire's, else the profile's).")
    @click.option("--profile", type=click.Choice(profile_ids()), default=None)
    @click.option("--datasets", "datasets", type=click.Path(dir_okay=False), default=None,
                  help="A data-set conformance result (JSON) for the 2.1 items.")
    @click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
                  help="Folder for score.json (default: the run folder when exactly one is given).")
    @click.option("--min-level", "min_level", default=None,
                  help="Exit 1 when the level reached is lower (CI gate), e.g. 四级甲等.")
    @format_option("text", "json", default="text",
                   help="Console output: summary text or the score.json object.")
    @lang_option()
    @_errors_exit_2
    def score_cmd(run_dirs: tuple[str, ...], results: tuple[str, ...], self_assessment: str | None,
                  assessment: str | None, index_system: str | None, profile: str | None,
                  datasets: str | None, out_dir: str | None, min_level: str | None, fmt: str,
                  lang: str) -> None:
        """按测评指标体系评分并给出差距分析。Score results against an index system, with the gaps."""
        d = resolve_definition(assessment=assessment, index_system=index_system, profile=profile,
                               questionnaire=self_assessment)
        outcome = score_folder([RunFolder(p) for p in (*results, *run_dirs)], d, self_assessment,
                               datasets=Path(datasets) if datasets else None,
                               out=Path(out_dir) if out_dir else None, min_level=min_level,
                               lang=lang)
        sc = outcome.score
        if fmt == "json":
            click.echo(score_json.dumps(sc).decode("utf-8"), nl=False)
        else:
            click.echo(console_summary(sc, lang))
            click.echo(t("score.console.written", lang, path=outcome.written) if outcome.written
                       else t("score.console.no_out", lang))
        want = outcome.min_level
        if want is not None:
            label = sc.level_name if sc.level is not None else t("score.none_level", lang)
            key = "score.console.min_level_fail" if outcome.exit_code else "score.console.min_level_ok"
            click.echo(t(key, lang, got=label, want=want.label(lang)), err=True)
        if outcome.exit_code:
            sys.exit(outcome.exit_code)

    @main.command("manifest")
    @click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
    @click.option("--verify", is_flag=True, help="Only check the folder against its manifest.json.")
    @lang_option()
    @_errors_exit_2
    def manifest_cmd(run_dir: str, verify: bool, lang: str) -> None:
        """封存或校验运行目录（manifest.json 中的 SHA-256）。Seal or verify a run folder."""
        folder = RunFolder(run_dir)
        if verify:
            ver = folder.verify([n for n in FILES if (folder.path / n).is_file()])
            if not ver.present:
                _fail(t("score.results.no_manifest", lang, folder=str(folder.path)), 1)
            if ver.problems:
                _fail("\n".join(t(k, lang, **v) for k, v in ver.problems), 1)
            click.echo(t("score.console.verified", lang, folder=folder.path, n=len(ver.checked)))
            return
        try:
            folder.seal(tool_stamp())
        except OSError as exc:
            _fail(f"{folder.path}: {exc.strerror or exc}")
        click.echo(t("score.console.sealed", lang, folder=folder.path, n=len(folder.manifest.artifacts)))


__all__ = ["register"]
