"""Command line: thin wrapper that parses options, calls the engine, picks reporters and sets
the exit code (0 = no errors, 1 = errors found, 2 = usage or I/O problem)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from . import __version__
from .catalog import CatalogError, load_catalog
from .cliopts import format_option, lang_option, output_option, parallel_options
from .errors import ConformanceError
from .i18n import t
from .inputs import InputError
from .model.io import CODECS
from .output import open_output
from .report import make_reporter


def _fail(msg: str, code: int = 2) -> None:
    click.echo(msg, err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="conformance")
def main() -> None:
    """互联互通标准化成熟度测评工具 — interoperability conformance and maturity assessment."""


@main.command()
@click.argument("paths", nargs=-1, required=True)
@format_option("text", "json", "junit", "sarif", default="text")
@output_option()
@lang_option("Language of messages: zh (简体中文) or en.")
@parallel_options(
    "Validate in N parallel processes (0: one per CPU core).",
    "local: this machine (--jobs processes); dask: a Dask cluster (--scheduler), or a local one "
    "of --jobs workers.",
    "Dask scheduler, e.g. tcp://10.0.0.5:8786 (workers must see the inputs at the same paths).")
@click.option("--schema-dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Use an official schema package (e.g. sdschemas/) instead of the built-in one.")
@click.option("--max-bytes", type=click.IntRange(1), default=50 * 1024 * 1024,
              show_default=True, help="Refuse documents larger than this.")
@click.option("--show-info", is_flag=True, help="Also print info-level findings (text format).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on standard error (default: when it is a terminal).")
def validate(paths: tuple[str, ...], fmt: str, output: str | None, lang: str, jobs: int,
             schema_dir: str | None, max_bytes: int, show_info: bool,
             progress: bool | None, engine: str, scheduler: str | None) -> None:
    """校验 CDA 共享文档（WS/T 500 / WS/T 483）。Validate CDA documents.

    PATHS: files, folders (recursive), glob patterns or .zip archives.
    """
    from .model.events import drain
    from .validate import Validator, ValidatorOptions, api
    from .validate.schema import SchemaUnavailable

    jobs = jobs or os.cpu_count() or 1
    try:
        tasks = api.plan(paths)
    except api.NoInput:
        _fail(t("err.no_input", lang))
    except InputError as exc:
        _fail(t("err.input", lang, msg=exc.render(lang)))
    try:
        validator = Validator(ValidatorOptions(lang=lang, schema_dir=schema_dir,
                                               max_bytes=max_bytes))
    except CatalogError as exc:
        _fail(t("err.catalog", lang, msg=exc.render(lang)))
    except SchemaUnavailable as exc:
        _fail(t("err.schema", lang, msg=exc.render(lang)))
    to_terminal = output in (None, "-") and sys.stdout.isatty()
    if progress is None:
        progress = sys.stderr.isatty() and len(tasks) > 1 and not (fmt == "text" and to_terminal)
    outcome = api.ValidationOutcome()
    try:
        with open_output(output) as out:
            reporter = make_reporter(fmt, out, lang, show_info=show_info,
                                     color=fmt == "text" and to_terminal,
                                     rules=validator.catalog.rules)
            handlers: list[Any] = [api.ReporterHandler(reporter)]
            if progress:
                handlers.append(ProgressHandler(len(tasks), t("progress", lang)))
            last = drain(api.execute(tasks, validator, jobs, engine=engine,
                                     scheduler=scheduler), handlers)
            outcome.summary = last.summary  # type: ignore[union-attr]
    except OSError as exc:
        _fail(t("err.output", lang, path=output, msg=exc))
    except KeyboardInterrupt:
        _fail(t("cli.interrupted", lang), 130)
    except ConformanceError as exc:
        _fail(t("err.input", lang, msg=exc.render(lang)))
    sys.exit(outcome.exit_code)


class ProgressHandler:
    """A progress bar on standard error, one tick per validated document."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label = total, label
        self.bar: Any = None

    def handle(self, event: Any) -> None:
        from .model.events import DocumentValidated, ValidationFinished, ValidationStarted

        if isinstance(event, ValidationStarted):
            self.bar = click.progressbar(length=self.total, label=self.label, file=sys.stderr,
                                         show_pos=True)
            self.bar.__enter__()
        elif isinstance(event, DocumentValidated) and self.bar is not None:
            self.bar.update(1)
        elif isinstance(event, ValidationFinished) and self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Folder to write the example documents to.")
@click.option("--count", type=click.IntRange(1, 100_000), default=1, show_default=True,
              help="Documents per document type (different synthetic patients).")
@click.option("--family", type=click.Choice(["wst500", "wst483", "all"]), default="all",
              show_default=True)
def examples(out_dir: str, count: int, family: str) -> None:
    """生成每种文档类型的合规示例文档。Write conformant example documents (synthetic patients)."""
    from pathlib import Path

    from .synth import Synthesizer

    fams = ("wst500", "wst483") if family == "all" else (family,)
    try:
        written = Synthesizer().write_examples(Path(out_dir), count=count, families=fams)
    except OSError as exc:
        _fail(t("err.output", "zh", path=out_dir, msg=exc))
    click.echo(f"{len(written)} → {out_dir}")


@main.group()
def standards() -> None:
    """查看标准目录（文档类型、章节、数据元、值域、规则）。Browse the standards catalog."""


def _catalog(lang: str):
    try:
        return load_catalog()
    except CatalogError as exc:
        _fail(t("err.catalog", lang, msg=exc.render(lang)))


@standards.command("list")
@click.option("--kind", type=click.Choice(["documents", "data-elements", "value-sets", "rules"]),
              default="documents", show_default=True)
@format_option("text", "json", default="text")
@lang_option()
def standards_list(kind: str, fmt: str, lang: str) -> None:
    """List document types (default), data elements, value sets or rules."""
    cat = _catalog(lang)
    rows: list[dict[str, Any]]
    if kind == "documents":
        rows = [{"id": d.id, "family": d.family, "standard": d.standard, "name": d.name,
                 "name_en": d.name_en, "template_id": d.template_id, "status": d.status,
                 "template_id_status": d.template_id_status,
                 "variants": [v.code for v in d.variants],
                 "sections": len(d.sections)} for d in cat.templates()]
    elif kind == "data-elements":
        rows = [{"id": k, **{kk: vv for kk, vv in v.items() if kk != "seen_in"}}
                for k, v in sorted(cat.data_elements.items())]
    elif kind == "value-sets":
        rows = [{"oid": v.oid, "name": v.name, "complete": v.complete, "status": v.status,
                 "codes": len(v.codes)} for v in cat.value_sets.values()]
    else:
        rows = [{"id": r.id, "layer": r.layer, "severity": r.severity, "source": r.source,
                 "message": r.message.get(lang, r.message["zh"])}
                for r in sorted(cat.rules.values(), key=lambda r: r.id)]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        if kind == "documents":
            flags = ([t("provisional", lang)] if r["status"] == "provisional" else
                     [t("vendor_consensus", lang)] if r["status"] == "vendor-consensus" else [])
            if r["template_id_status"] == "provisional" and r["status"] != "provisional":
                flags.append(f"templateId {t('provisional', lang)}")
            prov = f"  [{'; '.join(flags)}]" if flags else ""
            name = r["name"] if lang == "zh" else r["name_en"]
            click.echo(f"{r['id']:<9}  {r['template_id']:<26} {r['standard']:<18} {name}{prov}")
        elif kind == "data-elements":
            click.echo(f"{r['id']}  {r.get('name', '')}  {r.get('value_type', '')}")
        elif kind == "value-sets":
            flag = t("cli.value_set.complete" if r["complete"] else "cli.value_set.partial", lang)
            click.echo(f"{r['oid']:<32} {r['name']}  "
                       + t("cli.value_set.codes", lang, n=r["codes"], flag=flag))
        else:
            click.echo(f"{r['id']:<40} {r['layer']:<10} {r['severity']:<8} {r['message']}")


@standards.command("show")
@click.argument("ident")
@format_option("text", "json", default="text")
@lang_option()
def standards_show(ident: str, fmt: str, lang: str) -> None:
    """Show one document type (C0032), data element (DE05.01.024.00), value set (OID) or rule."""
    cat = _catalog(lang)
    obj: Any = None
    doc = cat.document_for(ident)  # a primary code or a recorded variant (B0001 → HSDA00.01)
    if doc is not None:
        obj = {k: v for k, v in doc.raw.items()}
    elif ident in cat.data_elements:
        obj = {"id": ident, **cat.data_elements[ident]}
    elif ident in cat.value_sets:
        obj = cat.value_sets[ident].raw
    elif ident in cat.rules:
        r = cat.rules[ident]
        obj = {"id": r.id, "layer": r.layer, "severity": r.severity, "source": r.source,
               "message": r.message}
    if obj is None:
        _fail(t("err.unknown", lang, what=ident))
    if fmt == "json":
        click.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))
        return
    import yaml

    click.echo(yaml.safe_dump(obj, allow_unicode=True, sort_keys=False, width=100).rstrip())


@main.command("schema")
@click.argument("name", required=False, type=click.Choice(sorted(CODECS)))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Write every artifact's schema as NAME.schema.json into this folder.")
def schema_command(name: str | None, out_dir: str | None) -> None:
    """打印运行目录中各文件的 JSON Schema。Print the JSON Schema of a run-folder artifact.

    NAME: validate, results, perf, datasets, quality, score, manifest or campaign (the files
    validate.json, results.json …). Without NAME, --out writes them all (for a CI job that
    validates run folders).
    """
    from pathlib import Path

    from .model.io.schemas import SCHEMA_DIR, render, write_all

    if out_dir:
        for p in write_all(Path(out_dir)):
            click.echo(str(p))
        return
    if name is None:
        for p in sorted(SCHEMA_DIR.glob("*.schema.json")):
            click.echo(str(p))
        return
    click.echo(render(name), nl=False)


# Feature packages register their commands here (each module exposes register(main)).
_PLUGINS: tuple[str, ...] = ("conformance.platform.commands", "conformance.harness.commands",
                             "conformance.report.commands", "conformance.scoring.commands",
                             "conformance.datasets.commands", "conformance.assess",
                             "conformance.perf.commands", "conformance.campaign.commands",
                             "conformance.proxy.commands")


def _load_plugins() -> None:
    import importlib

    for name in _PLUGINS:
        importlib.import_module(name).register(main)


_load_plugins()

if __name__ == "__main__":  # pragma: no cover
    main()
