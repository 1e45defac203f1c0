"""The data-set checks as an engine: plan the inputs (files, data-set choice, mapping, options),
then emit typed events — ``ValidationStarted``, one ``DocumentValidated`` per table or CDA
document, one ``DatasetChecked`` per data-set verdict (as datasets.json holds it),
``ValidationFinished`` with the counts. The CLI's reporters and ``check_into`` (datasets.json
in a run folder, what ``assess`` uses) are handlers."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from .. import __version__
from ..errors import ConformanceError
from ..i18n import t
from ..model import DatasetVerdict, Summary, ToolStamp
from ..model.events import (
    DatasetChecked,
    DocumentValidated,
    Event,
    Handler,
    ValidationFinished,
    ValidationStarted,
    drain,
)
from ..model.folder import RunFolder
from ..model.io.validate_json import StreamWriter
from ..validate import api as validate_api
from .options import ReadOptions


class DatasetUsageError(ConformanceError):
    """What was asked cannot run (both --dataset and --auto, an unknown data set, no input);
    ``key`` and ``values`` are its UI phrase."""

    def __init__(self, key: str, **values: Any) -> None:
        self.key, self.values = key, values
        super().__init__(t(key, "en", **values))

    def render(self, lang: str = "zh") -> str:
        return t(self.key, lang, **self.values)


@dataclass
class DatasetOptions(ReadOptions):
    """What `validate-dataset` (and the pipeline) asks for, before anything is resolved."""

    dataset_id: str | None = None
    auto: bool = False
    mapping_path: str | None = None
    max_findings: int = 200


@dataclass
class DatasetPlan:
    options: DatasetOptions
    defs: Any
    sources: list[Any]
    run_options: Any

    @property
    def rules(self) -> dict[str, Any]:
        rules = dict(self.defs.catalog.rules)
        rules.update(self.defs.rules)
        return rules

    @property
    def tool(self) -> ToolStamp:
        return ToolStamp(name="conformance", version=__version__, ruleset=self.defs.ruleset)


@dataclass
class DatasetsOutcome:
    summary: Summary = field(default_factory=Summary)
    verdicts: list[DatasetVerdict] = field(default_factory=list)
    io_errors: int = 0

    def exit_code(self, strict: bool = False) -> int:
        """0 no errors; 1 errors (strict: also any 部分符合 verdict); 2 an input unreadable."""
        if self.io_errors:
            return 2
        if self.summary.errors:
            return 1
        return 1 if strict and any(v.verdict_key == "partial" for v in self.verdicts) else 0


def plan(paths: Sequence[str], options: DatasetOptions) -> DatasetPlan:
    """Everything checked before anything runs; problems raise ``ConformanceError``."""
    from .definitions import load_definitions
    from .mapping import load_mapping
    from .readers import _canonical_encoding, expand_sources
    from .runner import RunOptions

    o = options
    if o.dataset_id and o.auto:
        raise DatasetUsageError("datasets.err.both")
    defs = load_definitions()
    if o.dataset_id and defs.get(o.dataset_id) is None:
        raise DatasetUsageError("datasets.err.dataset", what=o.dataset_id)
    mapping = load_mapping(o.mapping_path, defs) if o.mapping_path else None
    sources = expand_sources(list(paths))
    if not sources:
        raise DatasetUsageError("datasets.err.no_input")
    if o.encoding:
        _canonical_encoding(o.encoding)
    jobs = o.jobs or os.cpu_count() or 1
    read = {f.name: getattr(o, f.name) for f in fields(ReadOptions)}
    read.update(jobs=jobs, profiles=tuple(o.profiles))
    run_options = RunOptions(**read, dataset=defs.get(o.dataset_id).id if o.dataset_id else None,
                             mapping=mapping, max_examples=o.max_findings)
    return DatasetPlan(options=o, defs=defs, sources=sources, run_options=run_options)


def execute(p: DatasetPlan) -> Iterator[Event]:
    from .report import records
    from .results import Collector
    from .runner import make_executor, merge, run_pipeline

    o = p.options
    yield ValidationStarted(inputs=len(p.sources), header={
        "tool": p.tool, "lang": o.lang, "kind": "datasets", "engine": o.engine,
        "jobs": p.run_options.jobs})
    collector = Collector(p.defs, o.lang, o.max_findings)
    summary = Summary()
    executor = make_executor(p.run_options)
    try:
        for w, results in run_pipeline(p.sources, p.run_options, executor):
            doc = (collector.cda_result(results[0]) if w.cda
                   else collector.table_result(w, merge(results, o.max_findings)))
            summary.add(doc)
            yield DocumentValidated(doc)
    finally:
        executor.close()
    summary.errors = collector.total_errors
    summary.warnings = collector.total_warnings
    summary.infos = collector.total_infos
    for verdict in records(collector.verdict_list(set(o.profiles) if o.profiles else None),
                           o.lang):
        yield DatasetChecked(verdict)
    yield ValidationFinished(summary)


class Collect:
    """Keeps what an outcome needs (every handler sees the events anyway)."""

    def __init__(self) -> None:
        self.outcome = DatasetsOutcome()

    def handle(self, event: Event) -> None:
        if isinstance(event, DocumentValidated):
            self.outcome.io_errors += 1 if event.document.io_error else 0
        elif isinstance(event, DatasetChecked):
            self.outcome.verdicts.append(event.verdict)
        elif isinstance(event, ValidationFinished):
            self.outcome.summary = event.summary


class ReporterHandler(validate_api.ReporterHandler):
    """Feeds a `validate-dataset` reporter: documents as they come, the verdicts at the end."""

    def __init__(self, reporter: Any) -> None:
        super().__init__(reporter)
        self.verdicts: list[DatasetVerdict] = []

    def other(self, event: Event) -> None:
        if isinstance(event, DatasetChecked):
            self.verdicts.append(event.verdict)

    def finished(self, summary: Summary) -> None:
        self.reporter.finish_datasets(self.verdicts, summary)


class StreamHandler(validate_api.StreamHandler):
    """datasets.json through the validate.json stream writer, the verdicts as its trailer."""

    def __init__(self, writer: StreamWriter) -> None:
        super().__init__(writer)
        self.verdicts: list[DatasetVerdict] = []

    def other(self, event: Event) -> None:
        if isinstance(event, DatasetChecked):
            self.verdicts.append(event.verdict)

    def finished(self, summary: Summary) -> None:
        self.writer.finish(summary, datasets=self.verdicts)


def check_into(folder: RunFolder, paths: Sequence[str], options: DatasetOptions,
               handlers: Sequence[Handler] = ()) -> DatasetsOutcome:
    """Check ``paths`` into ``folder``/datasets.json (in-process; what ``assess`` runs)."""
    p = plan(paths, options)
    collect = Collect()
    with folder.document_stream("datasets") as writer:
        drain(execute(p), [StreamHandler(writer), collect, *handlers])
    return collect.outcome
