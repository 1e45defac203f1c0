"""Run the data-set checks over many inputs: open each table, decide its data set and column
bindings, split it into partitions, check the partitions on an executor (this process, a local
process pool, or a Dask cluster) and put the results back together in input order.

The executors run the same ``run_job`` on the same partitions and the results are merged in
partition order, so every figure is identical whichever executor ran it.
"""

from __future__ import annotations

import multiprocessing as mp
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..distributed import DaskError, DaskPool  # noqa: F401 - DaskError re-exported
from ..inputs import Task
from .definitions import DataSet, Definitions, load_definitions, norm_label
from .engine import Partial, QualityOptions, Registry, TableJob, link_key, run_job, stable_hash
from .mapping import (
    Binding,
    Detection,
    Mapping,
    TableMapping,
    bind,
    by_file_name,
    choose,
    index_of,
    profile_matters,
    rank,
)
from .options import ReadOptions
from .readers import ReadError, Source, Table, expand_sources, open_tables


@dataclass
class RunOptions(ReadOptions):
    dataset: str | None = None
    mapping: Mapping | None = None
    max_examples: int = 200
    max_bytes: int = 200 * 1024 * 1024
    # quality
    quality: bool = False
    by: str | None = None
    upload_column: str | None = None
    now: str = field(default_factory=lambda: f"{datetime.now():%Y%m%d%H%M%S}")
    timely_hours: float | None = None
    registry_paths: tuple[str, ...] = ()
    standards_dir: str | None = None


# ==================================================================== executors
_REGISTRY: Registry | None = None
_VALIDATOR: Any = None


def _cda_item(task: Task, lang: str) -> Any:
    from ..validate import Validator, ValidatorOptions
    from .cda import check_cda

    global _VALIDATOR
    if _VALIDATOR is None or _VALIDATOR.options.lang != lang:
        _VALIDATOR = Validator(ValidatorOptions(lang=lang))
    return check_cda(_VALIDATOR, load_definitions(), task)


def work(item: Any, registry: Registry | None = None) -> Any:
    """The one function executors run: a table partition, or a CDA document."""
    if isinstance(item, TableJob):
        return run_job(item, registry if registry is not None else _REGISTRY)
    if isinstance(item, RegistryJob):
        return registry_entries(item)
    task, lang = item
    return _cda_item(task, lang)


def _pool_work(item: Any) -> Any:
    return work(item)


class SerialExecutor:
    def imap(self, items: Iterable[Any], registry: Registry | None) -> Iterator[Any]:
        for it in items:
            yield work(it, registry)

    def close(self) -> None:
        pass


class PoolExecutor:
    """A local process pool. With fork, workers inherit the compiled definitions and the
    patient registry; results come back in submission order."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        self.ctx = mp.get_context(method)

    def imap(self, items: Iterable[Any], registry: Registry | None) -> Iterator[Any]:
        global _REGISTRY
        _REGISTRY = registry
        load_definitions()  # compile once before forking
        with self.ctx.Pool(self.jobs, initializer=_init_worker, initargs=(registry,)) as pool:
            yield from pool.imap(_pool_work, items, chunksize=1)

    def close(self) -> None:
        pass


def _init_worker(registry: Registry | None) -> None:
    global _REGISTRY
    _REGISTRY = registry


class DaskExecutor:
    """Partitions as Dask tasks on a cluster (``--scheduler ADDRESS``), or on a local cluster of
    ``jobs`` worker processes when no address is given (the shared ``DaskPool``). Workers read
    the input files themselves: they must see them at the same paths (shared storage)."""

    def __init__(self, scheduler: str | None, jobs: int) -> None:
        self.pool = DaskPool(scheduler, jobs)

    def imap(self, items: Iterable[Any], registry: Registry | None) -> Iterator[Any]:
        if registry is None:
            yield from self.pool.imap(work, items)
        else:
            yield from self.pool.imap(work, items, registry)

    def close(self) -> None:
        self.pool.close()


def make_executor(opts: RunOptions) -> SerialExecutor | PoolExecutor | DaskExecutor:
    if opts.engine == "dask":
        return DaskExecutor(opts.scheduler, opts.jobs)
    if opts.jobs > 1:
        return PoolExecutor(opts.jobs)
    return SerialExecutor()


# ==================================================================== preparing work
@dataclass(slots=True)
class TableWork:
    """One table (or a file that could not be read) and the jobs that check it."""

    display: str
    table: Table | None = None
    dataset: DataSet | None = None
    binding: Binding | None = None
    jobs: list[Any] = field(default_factory=list)
    error: ReadError | None = None
    note: str = ""                     # why the data set is unknown
    how: str = ""
    cda: bool = False
    by_missing: str | None = None     # the --by column, when this table lacks it
    io_error: bool = False
    detection: Detection | None = None  # how the data set was told from the headers
    section: TableMapping | None = None
    skip: set[int] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class RegistryJob:
    job: TableJob
    link: tuple[tuple[int, str, str], ...]      # (column index, de, scope)
    identity: tuple[int | None, ...]            # column index of each identity element
    identity_kind: tuple[str, ...]


def _name_parts(src: Source) -> list[str]:
    parts = list(Path(src.path).parts[-3:])
    if src.member:
        parts += list(Path(src.member).parts)
    if src.inner:
        parts += list(Path(src.inner).parts)
    return parts


def _find_column(columns: list[str], paths: list[str], ref: str | None,
                 binding: Binding | None) -> int | None:
    if not ref:
        return None
    key = norm_label(ref)
    for i, (c, p) in enumerate(zip(columns, paths, strict=False)):
        if norm_label(c) == key or norm_label(p) == key:
            return i
    if binding is not None:  # the institution may be a data element (医疗机构组织机构代码)
        hits = index_of(binding.dataset).resolve(ref)
        if len(hits) == 1:
            for col, eid, _ in binding.bindings:
                if eid == hits[0].id:
                    return col
    return None


def open_works(src: Source, opts: RunOptions, defs: Definitions) -> Iterator[TableWork]:
    """The tables of one input, each with its data set when --dataset, the mapping file, the
    file name or the headers alone tell it (`detection` holds the ranked candidates when the
    profile of the other inputs must decide)."""
    try:
        tables = open_tables(src, encoding=opts.encoding, delimiter=opts.delimiter,
                             sheet=opts.sheet, header_rows=opts.header_rows,
                             max_bytes=opts.max_bytes)
    except ReadError as exc:
        yield TableWork(src.display, error=exc, io_error=exc.rule == "DS.IO_ERROR")
        return
    for t in tables:
        if t.cda:
            yield TableWork(t.display, table=t, cda=True, jobs=[(src.task(), opts.lang)])
            continue
        w = TableWork(t.display, table=t)
        w.section = opts.mapping.for_file(src.name) if opts.mapping else None
        ds = None
        if opts.dataset:
            ds = defs.get(opts.dataset)
            w.how = "--dataset"
        elif w.section is not None and w.section.dataset:
            ds = defs.datasets[w.section.dataset]
            w.how = "mapping"
        for ref in (opts.by, opts.upload_column):
            i = _find_column(t.columns, t.column_paths, ref, None)
            if i is not None:
                w.skip.add(i)
        if ds is None and t.columns:
            ds = by_file_name(defs, _name_parts(src) + ([t.sheet] if t.sheet else []))
            if ds is not None:
                w.how = "file name"
            else:
                cands = rank(defs, t.columns, t.column_paths, w.section, w.skip)
                w.detection = Detection(None, "", candidates=cands)
                if not profile_matters(cands):
                    _decide(w, None, opts.lang)
                    ds = w.dataset
        w.dataset = ds
        yield w


def _decide(w: TableWork, prefer: str | None, lang: str) -> None:
    assert w.detection is not None
    w.detection = choose(w.detection.candidates, prefer, lang)
    w.dataset = w.detection.dataset
    w.how = w.detection.how
    if w.dataset is None:
        w.note = w.detection.reason


def finish_work(w: TableWork, opts: RunOptions, defs: Definitions) -> TableWork:
    """Bind the columns of a table whose data set is known and split it into jobs."""
    t, ds = w.table, w.dataset
    if ds is None or t is None or w.cda or w.error is not None or not t.columns:
        return w
    w.binding = bind(ds, t.columns, t.column_paths, w.section, w.skip)
    q = None
    if opts.quality:
        by_i = _find_column(t.columns, t.column_paths, opts.by, w.binding)
        w.by_missing = opts.by if opts.by is not None and by_i is None else None
        up_name = opts.upload_column
        up_i = _find_column(t.columns, t.column_paths, up_name, None) if up_name else None
        if up_i is None and not up_name:
            for cand in defs.quality.get("upload_columns") or []:
                up_i = _find_column(t.columns, t.column_paths, str(cand), None)
                if up_i is not None:
                    break
        hours = opts.timely_hours if opts.timely_hours is not None else \
            float(defs.quality.get("timely_hours", 24))
        q = QualityOptions(by_i, up_i, opts.now, hours)
    bindings = tuple(w.binding.bindings)
    for part in t.partitions(opts.jobs if opts.jobs > 1 else 1):
        w.jobs.append(TableJob(t, part, ds.id, bindings, opts.lang, opts.max_examples, q,
                               opts.standards_dir))
    return w


def preferred_profile(works: list[TableWork], opts: RunOptions) -> str | None:
    """The profile the other inputs belong to: --profile when it names one, else the profile of
    most tables whose data set is already known (none when they split evenly)."""
    if len(opts.profiles) == 1:
        return opts.profiles[0]
    counts: dict[str, int] = {}
    for w in works:
        if w.dataset is not None:
            counts[w.dataset.profile] = counts.get(w.dataset.profile, 0) + 1
    if not counts:
        return None
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


def prepare_all(sources: list[Source], opts: RunOptions, defs: Definitions) -> list[TableWork]:
    """Every table of every input, with its data set and jobs. A table whose headers match data
    sets of both profiles equally takes the profile of the other inputs."""
    works = [w for src in sources for w in open_works(src, opts, defs)]
    pending = [w for w in works if w.dataset is None and w.detection is not None
               and w.how == "" and not w.note]
    if pending:
        prefer = preferred_profile(works, opts)
        for w in pending:
            _decide(w, prefer, opts.lang)
    return [finish_work(w, opts, defs) for w in works]


def prepare(src: Source, opts: RunOptions, defs: Definitions) -> Iterator[TableWork]:
    """The tables of one input, bound and split into jobs (no other inputs to look at)."""
    for w in open_works(src, opts, defs):
        if w.dataset is None and w.detection is not None and not w.how and not w.note:
            _decide(w, opts.profiles[0] if len(opts.profiles) == 1 else None, opts.lang)
        yield finish_work(w, opts, defs)


def run_pipeline(sources: list[Source], opts: RunOptions, executor: Any,
                 registry: Registry | None = None,
                 works: Iterable[TableWork] | None = None
                 ) -> Iterator[tuple[TableWork, list[Any]]]:
    """(work, results of its jobs) per table, in input order, with every job of every table
    flowing through one executor stream (parallel across files and partitions)."""
    defs = load_definitions(opts.standards_dir)
    queue: deque[TableWork] = deque()
    source_works = works if works is not None else prepare_all(sources, opts, defs)

    def stream() -> Iterator[Any]:
        for w in source_works:
            queue.append(w)
            yield from w.jobs

    results = executor.imap(stream(), registry)
    got: list[Any] = []
    for res in results:
        got.append(res)
        while queue and len(got) >= len(queue[0].jobs):
            w = queue.popleft()
            n = len(w.jobs)
            yield w, got[:n]
            got = got[n:]
    while queue:  # works without jobs at the end of the stream
        w = queue.popleft()
        yield w, got[: len(w.jobs)]
        got = got[len(w.jobs):]


def merge(results: list[Partial], max_examples: int) -> Partial | None:
    if not results:
        return None
    total = Partial(results[0].dataset, elements=results[0].elements)
    for p in results:
        if total.stopped is not None:
            break  # a decoding error ends the file: later partitions are not counted
        total.merge(p, max_examples)
    return total


# ==================================================================== patient registry
def registry_entries(rj: RegistryJob) -> tuple[Any, ...]:
    """Keys and identity hashes of the registered patients in one partition."""
    from array import array

    keys = array("Q")
    idents = [array("I") for _ in rj.identity]
    display: list[tuple[int, tuple[str, ...]]] = []
    job = rj.job
    by = job.quality.by_column if job.quality else None
    try:
        for _, row in job.table.rows(job.part):
            if not isinstance(row, list) or not row:
                continue
            g = row[by].strip() if by is not None and by < len(row) else ""
            vals = []
            for i, kind in zip(rj.identity, rj.identity_kind, strict=True):
                v = row[i].strip() if i is not None and i < len(row) else ""
                if v and kind == "date":
                    v = "".join(ch for ch in v if ch.isdigit())[:8]
                vals.append(v)
            hashes = [stable_hash(v, 4) if v else 0 for v in vals]
            for col, de, scope in rj.link:
                v = row[col].strip() if col < len(row) else ""
                if not v:
                    continue
                k = link_key(de, scope, g, v)
                keys.append(k)
                for a, h in zip(idents, hashes, strict=True):
                    a.append(h)
                if len(display) < 10_000:
                    display.append((k, tuple(vals)))
    except ReadError:
        pass
    return keys, idents, display


def build_registry(works: list[TableWork], executor: Any, defs: Definitions) -> Registry:
    from array import array

    q = defs.quality
    link_specs = list(q.get("link_elements") or [])
    ident_des = tuple(q.get("identity_elements") or [])
    rjobs: list[RegistryJob] = []
    link_des: set[str] = set()
    for w in works:
        if w.binding is None or not w.jobs:
            continue
        col_by_de: dict[str, int] = {}
        kinds: dict[str, str] = {}
        ds = w.dataset
        assert ds is not None
        by_id = {e.id: e for e in ds.elements}
        bound = sorted(((by_id[eid], col) for col, eid, _ in w.binding.bindings),
                       key=lambda x: ds.subject_rank(x[0]))
        for el, col in bound:
            if el.de and el.de not in col_by_de:
                col_by_de[el.de] = col
                kinds[el.de] = "date" if el.format.kind == "date" else "text"
        link = tuple((col_by_de[s["de"]], s["de"], s.get("scope", "global"))
                     for s in link_specs if s["de"] in col_by_de)
        if not link:
            continue
        link_des.update(de for _, de, _ in link)
        ident = tuple(col_by_de.get(de) for de in ident_des)
        ikind = tuple(kinds.get(de, "text") for de in ident_des)
        for j in w.jobs:
            rjobs.append(RegistryJob(j, link, ident, ikind))
    reg = Registry(frozenset(link_des), ident_des)
    if not rjobs:
        return reg
    all_keys = array("Q")
    all_idents = [array("I") for _ in ident_des]
    display: dict[int, tuple[str, ...]] = {}
    for keys, idents, disp in executor.imap(rjobs, None):
        all_keys.extend(keys)
        for a, b in zip(all_idents, idents, strict=True):
            a.extend(b)
        for k, vals in disp:
            if len(display) < 10_000:
                display.setdefault(k, vals)
    order = sorted(range(len(all_keys)), key=all_keys.__getitem__)
    reg.keys = array("Q", (all_keys[i] for i in order))
    reg.idents = [array("I", (a[i] for i in order)) for a in all_idents]
    reg.display = display
    return reg


def source_list(paths: list[str]) -> list[Source]:
    return expand_sources(paths)

