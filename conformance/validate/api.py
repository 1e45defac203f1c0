"""The validator as an engine: expand the inputs, validate them (streamed, optionally in
processes) and emit typed events — ``ValidationStarted``, one ``DocumentValidated`` per input
in input order, ``ValidationFinished`` with the counts. Writers are handlers: the CLI's
reporters (text, JSON, JUnit, SARIF), its progress bar, and ``FolderWriter`` (validate.json in a
run folder, what ``assess`` uses)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..errors import ConformanceError
from ..inputs import InputError, Task, expand
from ..model import DocumentResult, Summary, ToolStamp
from ..model.events import (
    DocumentValidated,
    Event,
    Handler,
    ValidationFinished,
    ValidationStarted,
    drain,
)
from ..model.folder import RunFolder
from ..model.io.validate_json import StreamWriter
from .engine import Validator, ValidatorOptions
from .schema import SchemaUnavailable


class NoInput(ConformanceError):
    """Nothing to validate among the inputs."""


@dataclass
class ValidationOutcome:
    summary: Summary = field(default_factory=Summary)
    tool: ToolStamp | None = None

    @property
    def exit_code(self) -> int:
        """0 no errors, 1 errors found, 2 an input could not be read."""
        if self.summary.io_errors:
            return 2
        return 1 if self.summary.errors else 0


def tool_stamp(validator: Validator) -> ToolStamp:
    return ToolStamp(name="conformance", version=__version__, ruleset=validator.ruleset)


def header(validator: Validator) -> dict[str, Any]:
    """What a validate.json says before its documents."""
    return {"lang": validator.options.lang,
            "schema": str(validator.schema.entry) if validator.schema else None}


def plan(paths: Sequence[str]) -> list[Task]:
    """The inputs (files, folders, globs, archives) as tasks; none is a ``NoInput``."""
    tasks = expand(list(paths))
    if not tasks:
        raise NoInput("no documents to validate (give .xml files, folders, patterns or .zip)")
    return tasks


def execute(tasks: list[Task], validator: Validator, jobs: int = 1, *, engine: str = "local",
            scheduler: str | None = None) -> Iterator[Event]:
    """Validate ``tasks``: ``engine`` local (one process, or ``jobs`` forked processes) or dask
    (a Dask cluster at ``scheduler``, or a local cluster of ``jobs`` workers) — the same
    results in the same order either way."""
    yield ValidationStarted(inputs=len(tasks), header={"tool": tool_stamp(validator),
                                                       **header(validator)})
    summary = Summary()
    if engine == "dask":
        from .distributed import iter_validate_dask

        docs: Iterator[Any] = iter_validate_dask(tasks, validator.options, scheduler, jobs)
    else:
        docs = validator.iter_validate(tasks, jobs=jobs)
    for doc in docs:
        summary.add(doc)
        yield DocumentValidated(doc)
    yield ValidationFinished(summary)


class Feed:
    """A handler of the validation stream: the start, each document, the end; events of a richer
    stream (a data-set verdict …) go to ``other``."""

    def handle(self, event: Event) -> None:
        if isinstance(event, DocumentValidated):
            self.document(event.document)
        elif isinstance(event, ValidationStarted):
            self.started(dict(event.header))
        elif isinstance(event, ValidationFinished):
            self.finished(event.summary)
        else:
            self.other(event)

    def started(self, header: dict[str, Any]) -> None:
        """The run's header (``tool`` and the options)."""

    def document(self, doc: DocumentResult) -> None:
        """One validated document."""

    def finished(self, summary: Summary) -> None:
        """The counts, once every document is in."""

    def other(self, event: Event) -> None:
        """An event of a richer stream: a subclass's to take."""


class ReporterHandler(Feed):
    """Feeds a reporter (``start(meta)``, ``document(doc)``, ``finish(summary)``)."""

    def __init__(self, reporter: Any) -> None:
        self.reporter = reporter

    def started(self, header: dict[str, Any]) -> None:
        tool = header.pop("tool")
        self.reporter.start({"tool": {"name": tool.name, "version": tool.version,
                                      "ruleset": tool.ruleset}, **header})

    def document(self, doc: DocumentResult) -> None:
        self.reporter.document(doc)

    def finished(self, summary: Summary) -> None:
        self.reporter.finish(summary)


class StreamHandler(Feed):
    """Writes the validate.json shape to an open text stream."""

    def __init__(self, writer: StreamWriter) -> None:
        self.writer = writer

    def started(self, header: dict[str, Any]) -> None:
        self.writer.start(header.pop("tool"), **header)

    def document(self, doc: DocumentResult) -> None:
        self.writer.document(doc)

    def finished(self, summary: Summary) -> None:
        self.writer.finish(summary)


def validate_into(folder: RunFolder, paths: Sequence[str], *, lang: str = "zh", jobs: int = 1,
                  schema_dir: str | None = None, engine: str = "local",
                  scheduler: str | None = None,
                  handlers: Sequence[Handler] = ()) -> ValidationOutcome:
    """Validate ``paths`` into ``folder``/validate.json (in-process; what ``assess`` runs)."""
    try:
        validator = Validator(ValidatorOptions(lang=lang, schema_dir=schema_dir))
    except SchemaUnavailable as exc:
        raise InputError(f"cannot use the schema folder: {exc}") from None
    tasks = plan(paths)
    with folder.document_stream("validate") as writer:
        last = drain(execute(tasks, validator, jobs, engine=engine, scheduler=scheduler),
                     [StreamHandler(writer), *handlers])
    assert isinstance(last, ValidationFinished)
    return ValidationOutcome(summary=last.summary, tool=tool_stamp(validator))
