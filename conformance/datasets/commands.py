"""CLI: `conformance datasets list|show`, `conformance validate-dataset`, `conformance quality`.

Thin: parse options, call the runner, pick reporters, set the exit code (0 ok, 1 checks
failed, 2 usage or I/O problem)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from .. import __version__
from ..catalog import CatalogError
from ..cliopts import format_option, lang_option, output_option, parallel_options
from ..errors import ConformanceError
from ..i18n import bundle, t
from ..inputs import InputError
from ..output import open_output
from ..profiles import profile_ids


def _fail(msg: str, code: int = 2) -> None:
    click.echo(msg, err=True)
    sys.exit(code)


def _defs(lang: str) -> Any:
    from .definitions import load_definitions

    try:
        return load_definitions()
    except CatalogError as exc:
        _fail(t("err.catalog", lang, msg=exc.render(lang)))


def _common_input_options(f: Any) -> Any:
    opts = [
        click.option("--mapping", "mapping_path", type=click.Path(dir_okay=False), default=None,
                     help="Column → data-element mapping file (YAML or CSV), for headers that "
                          "are not DE codes or element names."),
        click.option("--encoding", default=None,
                     help="Encoding of CSV / JSON files (default: detected — BOM, UTF-8, else "
                          "GBK/GB 18030)."),
        click.option("--delimiter", default=None, help="CSV delimiter (default: detected)."),
        click.option("--sheet", default=None, help="XLSX: check only this sheet."),
        click.option("--header-rows", type=click.IntRange(1, 6), default=None,
                     help="XLSX: number of header rows (default: from the merged cells)."),
        lang_option(),
        parallel_options(
            "Check in N local processes (large files are split by byte ranges; 0: one per CPU "
            "core).",
            "dask: run the same checks partitioned on a Dask cluster.",
            "Dask scheduler address (tcp://host:8786). Without it, --engine dask starts a local "
            "cluster of --jobs workers. Workers must see the input files at the same paths."),
        output_option(),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _load_mapping(path: str | None, defs: Any, lang: str) -> Any:
    if not path:
        return None
    from .mapping import MappingError, load_mapping

    try:
        return load_mapping(path, defs)
    except MappingError as exc:
        _fail(t("datasets.err.mapping", lang, msg=exc.render(lang)))


def _sources(paths: tuple[str, ...], lang: str) -> list[Any]:
    from .readers import expand_sources

    try:
        srcs = expand_sources(list(paths))
    except InputError as exc:
        _fail(t("err.input", lang, msg=exc.render(lang)))
    if not srcs:
        _fail(t("datasets.err.no_input", lang))
    return srcs


def _check_encoding(encoding: str | None, lang: str) -> None:
    from .readers import ReadError, _canonical_encoding

    if encoding:
        try:
            _canonical_encoding(encoding)
        except ReadError as exc:
            _fail(t("err.input", lang, msg=exc.render(lang)))


def _executor(opts: Any, lang: str) -> Any:
    from .runner import DaskError, make_executor

    try:
        return make_executor(opts)
    except DaskError as exc:
        _fail(t("datasets.err.dask", lang, msg=exc.render(lang)))


def _problem(exc: ConformanceError, lang: str) -> str:
    """The message of a problem that stops `validate-dataset`, in the user's language."""
    from ..distributed import DaskError
    from .mapping import MappingError

    if isinstance(exc, MappingError):
        return t("datasets.err.mapping", lang, msg=exc.render(lang))
    if isinstance(exc, DaskError):
        return t("datasets.err.dask", lang, msg=exc.render(lang))
    if type(exc).__name__ == "DatasetUsageError":
        return exc.render(lang)
    return t("err.input", lang, msg=exc.render(lang))


def register(main: click.Group) -> None:
    @main.group("datasets")
    def datasets() -> None:
        """数据集定义（WS 445 的 58 个子集，区域 EHR-DE-01…20）。Browse data-set definitions."""

    @datasets.command("list")
    @click.option("--profile", type=click.Choice([*profile_ids(), "all"]), default="all",
                  show_default=True)
    @format_option("text", "json", default="text")
    @lang_option()
    def datasets_list(profile: str, fmt: str, lang: str) -> None:
        """List the data sets (id, name, profile, number of elements)."""
        defs = _defs(lang)
        items = defs.ordered(None if profile == "all" else profile)
        rows = [ds.summary(lang) for ds in items]
        if fmt == "json":
            click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        for r in rows:
            prov = f"  [{t('provisional', lang)}]" if r["provisional"] else ""
            extra = ""
            if r.get("assessment_item"):
                extra = f"  {r['assessment_item']} {r.get('level', '')} {r.get('points', '')}"
            src = f"  [{t('datasets.transcribed', lang)}]" if r["elements_status"] == "transcribed" else ""
            click.echo(f"{r['id']:<12} {r['profile']:<9} {r['name']:<18} "
                       f"{r['elements']:>3} {t('datasets.elements', lang)}{extra}{src}{prov}")

    @datasets.command("show")
    @click.argument("ident")
    @format_option("text", "json", default="text")
    @lang_option()
    def datasets_show(ident: str, fmt: str, lang: str) -> None:
        """Show one data set: WS445.1.1, 2.1.1.1, EHR-DE-01, C0002 or a name (患者基本信息)."""
        defs = _defs(lang)
        ds = defs.get(ident)
        if ds is None:
            _fail(t("datasets.err.dataset", lang, what=ident))
        head = ds.summary(lang)
        head["aliases"] = list(ds.aliases)
        head["provenance"] = ds.raw.get("provenance")
        head["profile_name"] = defs.profiles[ds.profile].get("name" if lang == "zh" else
                                                             "name_en")
        if fmt == "json":
            click.echo(json.dumps({**head, "elements": [e.to_dict() for e in ds.elements]},
                                  ensure_ascii=False, indent=2))
            return
        prov = f"  [{t('provisional', lang)}]" if ds.provisional else ""
        click.echo(f"{ds.id} {ds.name}{prov}")
        click.echo(f"  {head['profile_name']}")
        if head.get("standard"):
            click.echo(f"  {head['standard']}")
        if head.get("assessment_item"):
            click.echo("  " + t("datasets.show.item", lang, item=head["assessment_item"],
                                level=head.get("level"), points=head.get("points"))
                       + (t("datasets.show.optional", lang) if head.get("optional_business") else ""))
        if head["documents"]:
            click.echo(f"  CDA: {', '.join(head['documents'])}")
        for k, v in (head["provenance"] or {}).items():
            click.echo(f"  {k}: {v if isinstance(v, str) else ', '.join(map(str, v))}")
        basis_key = f"datasets.basis.{ds.elements_status}"
        basis = t(basis_key, lang) if basis_key in bundle(lang) else ds.elements_status
        click.echo("  " + t("datasets.figures", lang, n=len(ds.elements), basis=basis,
                             known=ds.formats_known))
        click.echo(f"  {len(ds.elements)} {t('datasets.elements', lang)}:")
        for e in ds.elements:
            req = t("datasets.required", lang) if e.required else ""
            flag = f" [{t('provisional', lang)}]" if e.status == "provisional" else ""
            vs = f" {e.value_set}" if e.value_set else ""
            code = e.de or e.item or "—"
            iid = e.internal_id or ""
            occ = f" ({t('datasets.occurrence', lang, k=e.occurrence[0], n=e.occurrence[1])})" \
                if e.occurrence else ""
            click.echo(f"    {iid:<14} {code:<15} {e.name:<20} {e.data_type:<3} "
                       f"{e.format.text:<9} {req:<4}{vs}{occ}{flag}")

    @main.command("validate-dataset")
    @click.argument("paths", nargs=-1, required=True)
    @click.option("--dataset", "dataset_id", default=None,
                  help="The data set of every table (id, assessment item, document code or "
                       "name); default: detected per file.")
    @click.option("--auto", is_flag=True,
                  help="Detect the data set of each file from its name and headers (default).")
    @_common_input_options
    @format_option("text", "json", "junit", "sarif", default="text")
    @click.option("--max-findings", type=click.IntRange(0), default=200, show_default=True,
                  help="List at most N findings of each kind per element and file (0 = all); "
                       "the rest are counted.")
    @click.option("--show-info", is_flag=True, help="Also print info-level findings (text).")
    @click.option("--strict", is_flag=True,
                  help="Exit 1 unless every data set with data is 完全覆盖且符合.")
    @click.option("--profile", type=click.Choice(profile_ids()), multiple=True,
                  help="Report the verdicts of all data sets of this profile (default: the "
                       "profiles of the data found); one profile is also preferred when a "
                       "table's headers match data sets of both equally.")
    def validate_dataset(paths: tuple[str, ...], dataset_id: str | None, auto: bool,
                         mapping_path: str | None, encoding: str | None,
                         delimiter: str | None, sheet: str | None, header_rows: int | None,
                         lang: str, jobs: int, engine: str, scheduler: str | None,
                         output: str | None, fmt: str, max_findings: int, show_info: bool,
                         strict: bool, profile: tuple[str, ...]) -> None:
        """校验医院/区域导出的数据集（CSV、XLSX、JSON lines、XML 数据集文件、CDA 文档）。

        Check data-set exports: per data element coverage, representation format, data type
        and allowed values; every finding with its row and column; per data set the verdict
        完全覆盖且符合 / 部分符合 / 无此数据 with element coverage (elements with a value /
        elements required) and format conformance (values in the WS 363 format / values
        checked). A folder of CDA documents gives the coverage of the WS 445 subsets their
        document types map to.

        \b
        Headers name elements by internal id (HDSD00.02.039), name (联系人姓名), DE id with
        name (DE02.01.039.00 联系人姓名) or DE id; a DE id several elements share binds to the
        first free one, with a warning. Without --dataset the data set is told from the file
        name, else from the headers (most columns explained, then the larger share of the data
        set, then the profile of the other inputs); the runner-up is named.

        \b
        Mapping file (YAML):  dataset: WS445.1.1
                              columns: {XM: 患者姓名, LXR: HDSD00.02.039, XB: DE02.01.040.00,
                                        BZ: "-"}

        Exit code: 0 no errors; 1 errors (with --strict also any 部分符合 verdict); 2 usage or
        I/O problem.
        """
        from ..model.events import drain
        from . import api
        from .report import make_dataset_reporter

        options = api.DatasetOptions(
            lang=lang, dataset_id=dataset_id, auto=auto, mapping_path=mapping_path,
            encoding=encoding, delimiter=delimiter, sheet=sheet, header_rows=header_rows,
            jobs=jobs, engine=engine, scheduler=scheduler, max_findings=max_findings,
            profiles=tuple(profile))
        try:
            p = api.plan(paths, options)
        except ConformanceError as exc:
            _fail(_problem(exc, lang))
        to_terminal = output in (None, "-") and sys.stdout.isatty()
        collect = api.Collect()
        try:
            with open_output(output) as out:
                reporter = make_dataset_reporter(fmt, out, lang, show_info=show_info,
                                                 color=fmt == "text" and to_terminal,
                                                 rules=p.rules)
                drain(api.execute(p), [api.ReporterHandler(reporter), collect])
        except OSError as exc:
            _fail(t("err.output", lang, path=output, msg=exc))
        except KeyboardInterrupt:
            _fail(t("cli.interrupted", lang), 130)
        except ConformanceError as exc:   # e.g. the Dask scheduler cannot be reached
            _fail(_problem(exc, lang))
        sys.exit(collect.outcome.exit_code(strict))

    @main.command("quality")
    @click.argument("paths", nargs=-1, required=True)
    @click.option("--by", "by", default=None,
                  help="Column (header, or data element such as 医疗机构组织机构代码) that names "
                       "the institution: one scorecard row per institution.")
    @click.option("--dataset", "dataset_id", default=None,
                  help="The data set of every table (default: detected per file).")
    @_common_input_options
    @format_option("text", "json", default="text")
    @click.option("--upload-column", default=None,
                  help="Column with the upload time (及时性); default: a column named like "
                       "上传时间 / upload_time.")
    @click.option("--timely-hours", type=click.FloatRange(0), default=None,
                  help="Upload time limit in hours for 及时性 (default 24, provisional).")
    @click.option("--registry", "registry_paths", multiple=True,
                  type=click.Path(exists=True),
                  help="Patient registration data (a WS445.1.1 / EHR-DE-01 table) for "
                       "整合性/关联性, when it is not among PATHS.")
    @click.option("--now", "now", default=None,
                  help="Reference time for 'not in the future' (yyyyMMddHHmmss; default: now).")
    def quality(paths: tuple[str, ...], by: str | None, dataset_id: str | None,
                mapping_path: str | None, encoding: str | None, delimiter: str | None,
                sheet: str | None, header_rows: int | None, lang: str, jobs: int, engine: str,
                scheduler: str | None, output: str | None, fmt: str,
                upload_column: str | None, timely_hours: float | None,
                registry_paths: tuple[str, ...], now: str | None) -> None:
        """数据质量评分卡：每个机构、每个数据集的数据质量系数与治理维度，以及问题清单。

        Data-quality scorecard per institution and data set: the four data-quality
        coefficients of the EMR application-level rating (一致性, 完整性, 整合性, 及时性) and
        the six governance dimensions (规范性, 完整性, 准确性, 及时性, 关联性, 实用性), each
        printed with its definition, and a problem list (问题清单) per institution.

        Exit code: 0 scorecard written; 1 some input could not be scored (unreadable table,
        unknown data set — listed with "!"); 2 usage or I/O problem.
        """
        jobs = jobs or os.cpu_count() or 1
        import re

        from .quality import run_quality, write_text
        from .runner import RunOptions

        defs = _defs(lang)
        if dataset_id and defs.get(dataset_id) is None:
            _fail(t("datasets.err.dataset", lang, what=dataset_id))
        if now is not None and not re.fullmatch(r"\d{14}", now):
            _fail(t("datasets.err.now", lang))
        mapping = _load_mapping(mapping_path, defs, lang)
        _check_encoding(encoding, lang)
        srcs = _sources(paths, lang)
        reg_srcs = _sources(registry_paths, lang) if registry_paths else []
        examples = int((defs.quality.get("issue_list") or {}).get("examples", 3))
        kw: dict[str, Any] = {}
        if now:
            kw["now"] = now
        opts = RunOptions(lang=lang, dataset=defs.get(dataset_id).id if dataset_id else None,
                          mapping=mapping, encoding=encoding, delimiter=delimiter, sheet=sheet,
                          header_rows=header_rows, jobs=jobs, engine=engine,
                          scheduler=scheduler, max_examples=examples, quality=True, by=by,
                          upload_column=upload_column, timely_hours=timely_hours, **kw)
        executor = _executor(opts, lang)
        meta = {"tool": {"name": "conformance", "version": __version__,
                         "ruleset": defs.ruleset},
                "lang": lang, "by": by, "now": opts.now, "engine": engine, "jobs": jobs}
        try:
            data, problems, io_errors = run_quality(srcs, reg_srcs, opts, defs, executor, meta)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        finally:
            executor.close()
        try:
            with open_output(output) as out:
                if fmt == "json":
                    json.dump(data, out, ensure_ascii=False, indent=1)
                    out.write("\n")
                else:
                    write_text(data, out, lang)
                    for p in problems:
                        out.write(f"! {p}\n")
        except OSError as exc:
            _fail(t("err.output", lang, path=output, msg=exc))
        sys.exit(2 if io_errors else 1 if problems else 0)
