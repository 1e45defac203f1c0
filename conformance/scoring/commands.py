"""CLI: `conformance init`, `conformance score`, `conformance manifest` (registered as a plugin)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .. import __version__
from ..output import open_output
from .definition import DefinitionError, default_for_profile, get_definition, load_definition, shipped_ids
from .engine import score as run_score
from .manifest import MANIFEST, update_manifest, verify_manifest, write_manifest
from .messages import m
from .model import Definition
from .questionnaire import Questionnaire, QuestionnaireError, load_questionnaire, write_template
from .report import build_score_json, console_summary
from .results import FILES, ResultsError, RunInputs, load_results
from .yamlutil import YamlProblem, load_file

LANGS = click.Choice(["zh", "en"])


def _fail(msg: str, code: int = 2) -> None:
    click.echo(msg, err=True)
    sys.exit(code)


def tool_stamp() -> dict[str, Any]:
    ruleset = None
    try:
        from ..catalog import load_catalog

        ruleset = load_catalog().ruleset
    except Exception:  # noqa: BLE001 - the stamp is informative; a broken catalog is reported by validate
        ruleset = None
    return {"name": "conformance", "version": __version__, "ruleset": ruleset}


def _definition(assessment: str | None, index_system: str | None, profile: str | None,
                questionnaire: str | None) -> Definition:
    if assessment:
        return load_definition(assessment)
    if index_system:
        return get_definition(index_system)
    if questionnaire:
        try:
            data, _ = load_file(Path(questionnaire))
            ident = data.get("assessment") if isinstance(data, dict) else None
        except YamlProblem:
            ident = None  # reported properly when the questionnaire is loaded
        if isinstance(ident, str) and ident in shipped_ids():
            return get_definition(ident)
    return get_definition(default_for_profile(profile or "hospital"))


def register(main: click.Group) -> None:
    @main.command("init")
    @click.option("--profile", type=click.Choice(["hospital", "regional"]), default="hospital",
                  show_default=True, help="Assessment profile (selects the default index system).")
    @click.option("--index-system", "index_system", default=None,
                  help="Index system id, e.g. hospital-2020, emr-application-2018, smart-service-2019.")
    @click.option("--assessment", type=click.Path(dir_okay=False), default=None,
                  help="Use your own assessment definition file instead of a shipped one.")
    @click.option("--out", "out", type=click.Path(dir_okay=False), required=True,
                  help="Questionnaire file to write (YAML).")
    @click.option("--force", is_flag=True, help="Overwrite an existing file.")
    @click.option("--lang", type=LANGS, default="zh", show_default=True)
    def init_cmd(profile: str, index_system: str | None, assessment: str | None, out: str, force: bool,
                 lang: str) -> None:
        """写出自评问卷模板。Write the self-assessment questionnaire for an index system."""
        try:
            d = _definition(assessment, index_system, profile, None)
        except DefinitionError as exc:
            _fail(exc.render(lang))
        if Path(out).exists() and not force:
            _fail(m("c.exists", lang, path=out))
        text, asked, auto = write_template(d, lang)
        try:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            with open_output(out) as fh:
                fh.write(text)
        except OSError as exc:
            _fail(f"{out}: {exc}")
        click.echo(m("c.init_written", lang, path=out, n=asked, auto=auto))

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
    @click.option("--profile", type=click.Choice(["hospital", "regional"]), default=None)
    @click.option("--datasets", "datasets", type=click.Path(dir_okay=False), default=None,
                  help="A data-set conformance result (JSON) for the 2.1 items.")
    @click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
                  help="Folder for score.json (default: the run folder when exactly one is given).")
    @click.option("--min-level", "min_level", default=None,
                  help="Exit 1 when the level reached is lower (CI gate), e.g. 四级甲等.")
    @click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
                  help="Console output: summary text or the score.json object.")
    @click.option("--lang", type=LANGS, default="zh", show_default=True)
    def score_cmd(run_dirs: tuple[str, ...], results: tuple[str, ...], self_assessment: str | None,
                  assessment: str | None, index_system: str | None, profile: str | None,
                  datasets: str | None, out_dir: str | None, min_level: str | None, fmt: str,
                  lang: str) -> None:
        """按测评指标体系评分并给出差距分析。Score results against an index system, with the gaps."""
        folders = [Path(p) for p in (*results, *run_dirs)]
        try:
            d = _definition(assessment, index_system, profile, self_assessment)
        except DefinitionError as exc:
            _fail(exc.render(lang))
        want = None
        if min_level:
            want = d.find_level(min_level)
            if want is None:
                _fail(m("c.bad_min_level", lang, got=min_level, name=d.id,
                        allowed=", ".join(lv.id for lv in d.levels)))
        tool = tool_stamp()
        try:
            inputs = load_results(folders, Path(datasets) if datasets else None, tool) \
                if folders or datasets else RunInputs()
        except ResultsError as exc:
            _fail(exc.render(lang))
        q: Questionnaire | None = None
        if self_assessment:
            try:
                q = load_questionnaire(self_assessment, d)
            except QuestionnaireError as exc:
                _fail(exc.render(lang))
        sc, notes = run_score(d, inputs, q, lang)
        warnings = [m(k, lang, **v) for k, v in [*inputs.warnings, *(q.warnings if q else []), *notes]]
        data = build_score_json(sc, inputs, q, tool, warnings, lang, want.id if want else None)
        target_dir = Path(out_dir) if out_dir else (folders[0] if len(folders) == 1 else None)
        written = None
        if target_dir is not None:
            try:
                target_dir.mkdir(parents=True, exist_ok=True)
                target = target_dir / "score.json"
                with open_output(str(target)) as fh:
                    json.dump(data, fh, ensure_ascii=False, indent=2, default=str)
                    fh.write("\n")
                update_manifest(target_dir, [target], tool)
                written = target
            except OSError as exc:
                _fail(f"{target_dir}: {exc}")
        if fmt == "json":
            click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        else:
            click.echo(console_summary(data, lang))
            click.echo(m("c.written", lang, path=written) if written else m("c.no_out", lang))
        if want is not None:
            got = sc.level.index if (sc.level is not None and sc.determinable) else -1
            label = sc.level.label(lang) if sc.level else m("none_level", lang)
            if got < want.index:
                click.echo(m("c.min_level_fail", lang, got=label, want=want.label(lang)), err=True)
                sys.exit(1)
            click.echo(m("c.min_level_ok", lang, got=label, want=want.label(lang)), err=True)

    @main.command("manifest")
    @click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
    @click.option("--verify", is_flag=True, help="Only check the folder against its manifest.json.")
    @click.option("--lang", type=LANGS, default="zh", show_default=True)
    def manifest_cmd(run_dir: str, verify: bool, lang: str) -> None:
        """封存或校验运行目录（manifest.json 中的 SHA-256）。Seal or verify a run folder."""
        folder = Path(run_dir)
        if verify:
            present = [n for n in FILES if (folder / n).is_file()]
            ver = verify_manifest(folder, present)
            if not ver.present:
                _fail(m("r.no_manifest", lang, folder=str(folder)), 1)
            if ver.problems:
                _fail("\n".join(m(k, lang, **v) for k, v in ver.problems), 1)
            click.echo(m("c.verified", lang, folder=folder, n=len(ver.checked)))
            return
        try:
            path = write_manifest(folder, tool_stamp())
        except OSError as exc:
            _fail(f"{folder}: {exc}")
        n = len(json.loads(path.read_text(encoding="utf-8"))["artifacts"])
        click.echo(m("c.sealed", lang, folder=folder, n=n))


__all__ = ["MANIFEST", "register", "tool_stamp"]
