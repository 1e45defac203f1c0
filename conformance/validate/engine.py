"""Runs the layers over one document, and over batches (streamed, optionally in processes)."""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .. import xmlsafe
from ..catalog import HL7_NS, Catalog, load_catalog
from ..inputs import Task, read_task
from ..model.findings import LAYERS, DocumentResult
from ..resources import standards_dir
from . import datatype, schema, template, vocabulary
from .context import DocContext, render_message
from .diagnostics import parse_detail
from .status import skipped

CDA_ROOT = f"{{{HL7_NS}}}ClinicalDocument"


@dataclass(frozen=True, slots=True)
class ValidatorOptions:
    lang: str = "zh"
    schema_dir: str | None = None
    max_bytes: int = xmlsafe.MAX_BYTES_DEFAULT
    max_depth: int = xmlsafe.MAX_DEPTH_DEFAULT
    standards_dir: str | None = None


class Validator:
    """Validate CDA documents. One instance per process: catalog and schema compile once."""

    def __init__(self, options: ValidatorOptions | None = None) -> None:
        self.options = options or ValidatorOptions()
        self.catalog: Catalog = load_catalog(self.options.standards_dir)
        self.schema: schema.SchemaValidator | None = None
        self.schema_why_not: str | None = None
        try:
            if self.options.schema_dir:
                entry = schema.find_entry_schema(Path(self.options.schema_dir))
            else:
                entry = Path(self.options.standards_dir or standards_dir()) / "schemas" / "cda" / "CDA.xsd"
                if not entry.exists():
                    raise schema.SchemaUnavailable(f"{entry} not found")
            self.schema = schema.SchemaValidator(entry)
        except schema.SchemaUnavailable as exc:
            if self.options.schema_dir:
                raise
            self.schema_why_not = str(exc)

    @property
    def ruleset(self) -> str:
        return self.catalog.ruleset

    # ------------------------------------------------------------------ one document
    def validate_bytes(self, data: bytes, path: str, *, cda_only: bool = False,
                       carried: bool = True) -> DocumentResult:
        """One document or message. cda_only: a CDA document is expected (one carried in an
        HL7 V3 message): any other root is CDA.ROOT_UNKNOWN, never validated as a message.
        carried=False: a CDA document an HL7 V3 message carries is decoded but not validated
        with the message (a run folder lists it as a document of its own)."""
        result = DocumentResult(path=path)
        lang = self.options.lang
        layers = result.layers
        enc = None
        try:
            # the declaration is checked here; invalid UTF-8 bytes make libxml2 fail, and only
            # then is the whole text decoded to locate the first bad byte
            enc = xmlsafe.check_declared_encoding(data)
            root = xmlsafe.parse_bytes(data, max_bytes=self.options.max_bytes,
                                       max_depth=self.options.max_depth, keep_blank_text=False)
        except xmlsafe.ParseProblem as p:
            if enc is None:
                enc = xmlsafe.check_encoding(data)
            if enc is not None and enc.rule != p.rule:
                self._parse_finding(result, enc)
            self._parse_finding(result, p)
            layers["parse"] = "ran"
            why = skipped(lang, "not_parsed")
            for layer in LAYERS[1:]:
                layers[layer] = why
            return result
        ctx = DocContext(self.catalog, lang, data, root, result,
                         validate_carried=self._validate_carried if carried and not cda_only
                         else None)
        if enc is not None:
            self._parse_finding(result, self._tolerated_encoding(data) or enc)
        layers["parse"] = "ran"
        if root.tag != CDA_ROOT:
            from . import message as v3

            if cda_only:
                pass  # a carried document must be one
            elif v3.handles(root):  # an HL7 V3 interaction message (issue 3)
                layers.update(v3.run(ctx))
                return result
            elif root.tag in v3.SOAP_ENVELOPES:  # a captured request or response
                layers.update(v3.run_soap(ctx))
                return result
            ns = etree.QName(root).namespace
            ctx.report("CDA.ROOT_UNKNOWN", root, snippet=False, actual=xmlsafe.local_name(root)
                       + (f' xmlns="{ns}"' if ns else ""))
            why = skipped(lang, "not_cda", root=xmlsafe.local_name(root))
            for layer in LAYERS[1:]:
                layers[layer] = why
            return result
        layers["schema"] = schema.run(ctx, self.schema, self.schema_why_not)
        doc = template.identify(ctx)
        ctx.template = doc
        if doc is not None:
            result.document_type = doc.code
            result.document_name = doc.name
        layers["template"] = template.run(ctx)
        layers["vocabulary"] = vocabulary.run(ctx)
        layers["datatype"] = datatype.run(ctx)
        return result

    def _tolerated_encoding(self, data: bytes) -> xmlsafe.ParseProblem | None:
        """A document correctly declared and encoded in a tolerated national character set
        (vocabulary/conventions.yaml document_encoding): a warning, not the UTF-8 error."""
        conv = self.catalog.conventions.get("document_encoding") or {}
        tolerated = frozenset(str(e).lower() for e in conv.get("tolerated") or ())
        name = xmlsafe.declared_in_tolerated(data, tolerated) if tolerated else None
        if name is None:
            return None
        return xmlsafe.ParseProblem("PARSE.ENCODING_DECLARED", f"declared encoding {name}", 1, 1,
                                    actual=name)

    def _validate_carried(self, data: bytes, path: str) -> DocumentResult:
        return self.validate_bytes(data, path, cda_only=True)

    def _parse_finding(self, result: DocumentResult, p: xmlsafe.ParseProblem) -> None:
        rule = self.catalog.rules[p.rule]
        lang = self.options.lang
        expected = str(self.options.max_bytes) if p.rule == "PARSE.TOO_LARGE" else None
        msg = render_message(rule.message.get(lang) or rule.message["zh"],
                             {"detail": parse_detail(p.detail, lang), "actual": p.actual,
                              "expected": expected}, lang)
        from ..model.findings import Finding

        result.findings.append(Finding(
            rule=p.rule, severity=rule.severity, layer="parse", message=msg, source=rule.source,
            xpath=None, line=p.line, column=p.column, expected=expected, actual=p.actual))

    def validate_task(self, task: Task) -> DocumentResult | None:
        """One task's result; None for a recorded exchange that carries no document."""
        try:
            data = read_task(task, self.options.max_bytes)
        except xmlsafe.ParseProblem as p:
            result = DocumentResult(path=task.display)
            self._parse_finding(result, p)
            result.io_error = p.rule == "PARSE.IO_ERROR"
            result.layers["parse"] = "ran"
            for layer in LAYERS[1:]:
                result.layers[layer] = skipped(self.options.lang, "not_read")
            return result
        # recorded SOAP evidence ("soap") is validated as it is: validate_bytes opens the
        # envelope and places findings in the file; the CDA document its message carries is
        # the task "soap-document", listed as a document of its own
        carried = True
        if task.kind == "soap":
            carried = False
        elif task.kind == "soap-document":
            data = _document_in_evidence(data)
            if data is None:
                return None
        try:
            return self.validate_bytes(data, task.display, carried=carried,
                                       cda_only=task.kind == "soap-document")
        except Exception as exc:  # a bug must not stop the batch: report it on the document
            result = DocumentResult(path=task.display)
            result.findings.append(_internal_error(exc))
            return result

    # ------------------------------------------------------------------ batches
    def iter_validate(self, tasks: Iterable[Task], jobs: int = 1) -> Iterator[DocumentResult]:
        """Results in input order, streamed (constant memory in the number of documents)."""
        if jobs <= 1:
            for t in tasks:
                r = self.validate_task(t)
                if r is not None:
                    yield r
            return
        global _WORKER
        _WORKER = self  # inherited by forked workers: nothing is compiled twice
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        ctx = mp.get_context(method)
        init_args = (self.options,) if method == "spawn" else (None,)
        if method == "fork":
            self.precompile()  # every template's plans, once, inherited by all workers
            gc.freeze()  # the compiled catalog is never collected: its pages stay shared
        try:
            with ctx.Pool(jobs, initializer=_init_worker, initargs=init_args) as pool:
                # small chunks keep both workers busy to the end of a batch; large ones cut IPC
                n = len(tasks) if isinstance(tasks, list | tuple) else 10_000
                chunk = max(1, min(32, n // (jobs * 16)))
                for r in pool.imap(_work, tasks, chunksize=chunk):
                    if r is not None:
                        yield r
        finally:
            if method == "fork":
                gc.unfreeze()

    def precompile(self) -> None:
        """Build the per-template structures the layers otherwise build on first use."""
        ctx = DocContext(self.catalog, self.options.lang, b"", etree.Element("precompile"),
                         DocumentResult(path=""))
        template.precompile(ctx)
        vocabulary.precompile(ctx)
        datatype.precompile(ctx)
        ctx.statement_code_systems()


def _document_in_evidence(data: bytes) -> bytes | None:
    """The CDA document that the HL7 V3 message of recorded SOAP evidence carries, if any
    (read where the catalog says; one that does not decode is reported on the evidence)."""
    from ..hl7v3.soap import unwrap
    from . import carried

    reply = unwrap(data)
    if reply.message is None:
        return None
    return carried.first_document(reply.message)


def _internal_error(exc: Exception):
    from ..model.findings import Finding

    return Finding(rule="INTERNAL.ERROR", severity="error", layer="parse",
                   message=f"internal error while validating: {type(exc).__name__}: {exc}",
                   source="conformance tool")


_WORKER: Validator | None = None


def _init_worker(options: ValidatorOptions | None) -> None:
    global _WORKER
    if options is not None:
        _WORKER = Validator(options)
    os.environ.setdefault("PYTHONHASHSEED", "0")


def _work(task: Task) -> DocumentResult | None:
    assert _WORKER is not None
    return _WORKER.validate_task(task)


def validate_file(path: str | os.PathLike[str], lang: str = "zh") -> DocumentResult:
    """Convenience for library users and other layers (platform, harness)."""
    v = _default_validator(lang)
    return v.validate_task(Task(str(path), str(path)))


_DEFAULTS: dict[str, Validator] = {}


def _default_validator(lang: str) -> Validator:
    if lang not in _DEFAULTS:
        _DEFAULTS[lang] = Validator(ValidatorOptions(lang=lang))
    return _DEFAULTS[lang]


__all__ = ["Validator", "ValidatorOptions", "validate_file", "etree"]
