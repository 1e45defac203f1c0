"""The data-set check engine: one pass over the rows of a table (or of one byte-range partition
of it) producing mergeable aggregates — per-element counts, data-quality counters per group
(institution) and the first N findings of each kind with their row and column.

Aggregates are sums (and the first N examples in row order), so partitions checked in any
process or on any Dask worker merge to exactly the figures of a single-process run.
"""

from __future__ import annotations

import bisect
import hashlib
from array import array
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .checks import CheckFactory, ElementCheck, Problem, status_of
from .definitions import DataSet, Definitions, load_definitions
from .readers import Partition, ReadError, Table, _BadRecord

CACHE_LIMIT = 20_000          # distinct values remembered per column (bounded memory)
# problems that mean a value is not in the element's WS 363 representation format (the data-set
# test's "format conformance"); allowed values and ID-number checks are counted apart
FORMAT_RULES = frozenset({"DS.FORMAT", "DS.FORMAT_LENGTH", "DS.DATATYPE", "DS.DATE_INVALID"})
DELAY_EDGES = (1, 2, 4, 8, 12, 24, 48, 72, 168, 336, 720)   # hours; last bucket is open
EMPTY_GROUP = ""


# ==================================================================== job and aggregates
@dataclass(frozen=True, slots=True)
class QualityOptions:
    by_column: int | None             # column index of the institution (None: one group)
    upload_column: int | None
    now: str                          # YYYYMMDDhhmmss: "not in the future" reference
    timely_hours: float


@dataclass(frozen=True, slots=True)
class TableJob:
    """One unit of work: a partition of a table, checked against a data set. Picklable and
    small (the table is a description, not its rows — except XML record lists)."""

    table: Table
    part: Partition
    dataset: str
    bindings: tuple[tuple[int, str, str], ...]     # (column index, element id, column label)
    lang: str = "zh"
    max_examples: int = 200
    quality: QualityOptions | None = None
    standards_dir: str | None = None


Example = tuple[int, "int | None", str, "str | None", "str | None", "str | None", str]
# (line, column number (1-based) or None, column label, actual, expected, detail, status)


@dataclass(slots=True)
class GroupAgg:
    records: int = 0
    nonempty: list[int] = field(default_factory=list)
    passed: list[int] = field(default_factory=list)
    format_ok: list[int] = field(default_factory=list)   # values in the representation format
    consistent: int = 0
    complete: int = 0
    required_cells: int = 0
    required_filled: int = 0
    link_records: int = 0
    link_matched: int = 0
    link_agree: int = 0
    link_empty: int = 0
    time_items: int = 0
    time_ok: int = 0
    plaus_total: int = 0
    plaus_ok: int = 0
    timely_n: int = 0
    timely_ok: int = 0
    delay_sum: float = 0.0
    delay_buckets: list[int] = field(default_factory=lambda: [0] * (len(DELAY_EDGES) + 1))
    upload_before_event: int = 0

    @classmethod
    def sized(cls, n: int) -> GroupAgg:
        return cls(nonempty=[0] * n, passed=[0] * n, format_ok=[0] * n)

    def merge(self, o: GroupAgg) -> None:
        for name in ("records", "consistent", "complete", "required_cells", "required_filled",
                     "link_records", "link_matched", "link_agree", "link_empty", "time_items",
                     "time_ok", "plaus_total", "plaus_ok", "timely_n", "timely_ok",
                     "delay_sum", "upload_before_event"):
            setattr(self, name, getattr(self, name) + getattr(o, name))
        for lst, other in ((self.nonempty, o.nonempty), (self.passed, o.passed),
                           (self.format_ok, o.format_ok),
                           (self.delay_buckets, o.delay_buckets)):
            for i, v in enumerate(other):
                lst[i] += v


@dataclass(slots=True)
class Partial:
    """What one job found. `findings` maps (group, rule, element id) → [count, examples]."""

    dataset: str
    rows: int = 0
    groups: dict[str, GroupAgg] = field(default_factory=dict)
    findings: dict[tuple[str, str, str], list[Any]] = field(default_factory=dict)
    stopped: tuple[str, str, int | None, str | None] | None = None
    elements: int = 0

    def merge(self, o: Partial, max_examples: int) -> None:
        self.rows += o.rows
        for g, agg in o.groups.items():
            mine = self.groups.get(g)
            if mine is None:
                self.groups[g] = agg
            else:
                mine.merge(agg)
        for key, (count, examples) in o.findings.items():
            mine_f = self.findings.get(key)
            if mine_f is None:
                self.findings[key] = [count, list(examples)]
            else:
                mine_f[0] += count
                room = max_examples - len(mine_f[1]) if max_examples else len(examples)
                if room > 0:
                    mine_f[1].extend(examples[:room])
        if self.stopped is None and o.stopped is not None:
            self.stopped = o.stopped


# ==================================================================== registry (关联性)
def stable_hash(text: str, size: int = 8) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=size).digest(),
                          "little")


@dataclass(slots=True)
class Registry:
    """Registered patients: sorted 64-bit hashes of (link element, scope, value) with 32-bit
    hashes of the identity fields — 20 bytes a patient, whatever the number of rows."""

    link_des: frozenset[str] = frozenset()
    identity_des: tuple[str, ...] = ()
    keys: array = field(default_factory=lambda: array("Q"))
    idents: list[array] = field(default_factory=list)
    display: dict[int, tuple[str, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.keys)

    def lookup(self, key: int) -> int:
        i = bisect.bisect_left(self.keys, key)
        return i if i < len(self.keys) and self.keys[i] == key else -1


def link_key(de: str, scope: str, group: str, value: str) -> int:
    return stable_hash(f"{de}\x1f{group if scope == 'institution' else ''}\x1f{value}")


# ==================================================================== compiled job context
@dataclass(slots=True)
class Col:
    pos: int                 # column index in the row
    elem: int                # element index in the data set
    el_id: str
    label: str
    fn: Any
    cache: dict[str, Any]
    check: ElementCheck
    required: bool
    coded: bool              # bound to an enumerated value set (一致性)
    keep_norm: bool
    slot: int = 0            # position in Compiled.cols (per-row value lists)


class Compiled:
    def __init__(self, job: TableJob, registry: Registry | None) -> None:
        defs: Definitions = load_definitions(job.standards_dir)
        ds: DataSet = defs.datasets[job.dataset]
        self.defs, self.ds = defs, ds
        factory = CheckFactory(defs, defs.catalog, job.lang)
        self.factory = factory
        by_id = {e.id: e for e in ds.elements}
        q = defs.quality
        time_des = {d for r in q.get("time_order") or [] for d in (r["earlier"], r["later"])}
        ident_des = list(q.get("identity_elements") or [])
        event_des = list(q.get("event_time") or [])
        self.cols: list[Col] = []
        bound: set[int] = set()
        for pos, eid, label in job.bindings:
            el = by_id[eid]
            chk = factory.compile(el)
            vs = defs.catalog.value_sets.get(el.value_set) if el.value_set else None
            self.cols.append(Col(
                pos=pos, elem=el.index, el_id=el.id, label=label, fn=chk.fn, cache={}, check=chk,
                required=el.required, coded=bool(vs and vs.codes and vs.complete),
                keep_norm=bool(job.quality) and (el.de in time_des or el.de in ident_des
                                                 or el.de in event_des
                                                 or chk.kind in ("date", "datetime")),
                slot=len(self.cols)))
            bound.add(el.index)
        self.n_elements = len(ds.elements)
        self.required_idx = [e.index for e in ds.elements if e.required]
        self.required_unbound = sum(1 for i in self.required_idx if i not in bound)
        self.width = max((c.pos for c in self.cols), default=-1) + 1
        col_by_de: dict[str, Col] = {}
        for c in sorted(self.cols, key=lambda c: ds.subject_rank(by_id[c.el_id])):
            de = by_id[c.el_id].de
            if de and de not in col_by_de:   # 患者姓名 rather than 联系人姓名 (DE02.01.039.00)
                col_by_de[de] = c
        self.col_by_de = col_by_de
        # ID number: cross-checks with the birth date / gender / ID type of the same record
        rid = defs.formats.get("resident_id") or {}
        self.id_cols = [c for c in self.cols if c.check.resident_id]
        self.birth_col = col_by_de.get(rid.get("birth_element", ""))
        self.gender_col = col_by_de.get(rid.get("gender_element", ""))
        self.idtype_col = col_by_de.get(rid.get("type_element", ""))
        self.idtype_ok = str(rid.get("type_code", ""))
        self.id_gender_codes = frozenset(
            ((defs.catalog.datatypes.get("resident_id") or {}).get("gender_codes") or {}).values())
        for c in (self.birth_col, self.gender_col, self.idtype_col):
            if c is not None:
                c.keep_norm = True
        # quality
        self.quality = job.quality
        self.time_rules: list[tuple[Col, Col, str]] = []
        self.ranges: list[tuple[Col, float, float, str]] = []
        self.event_col: Col | None = None
        self.link: tuple[Col, str, str] | None = None
        self.identity: list[tuple[int, Col | None]] = []
        self.registry = registry
        if job.quality:
            lang = job.lang
            for r in q.get("time_order") or []:
                a, b = col_by_de.get(r["earlier"]), col_by_de.get(r["later"])
                if a and b:
                    nm = r.get("name") or {}
                    self.time_rules.append((a, b, nm.get(lang) or nm.get("zh") or ""))
            for de, spec in (q.get("plausible_ranges") or {}).items():
                c = col_by_de.get(de)
                if c is not None and c.check.kind == "number":
                    self.ranges.append((c, float(spec["min"]), float(spec["max"]),
                                        str(spec.get("unit", ""))))
            for de in event_des:
                if de in col_by_de:
                    self.event_col = col_by_de[de]
                    break
            else:
                self.event_col = next((c for c in self.cols
                                       if c.check.kind in ("datetime", "date")
                                       and by_id[c.el_id].de not in ident_des), None)
            if registry is not None and len(registry):
                for spec in q.get("link_elements") or []:
                    c = col_by_de.get(spec["de"])
                    if c is not None and spec["de"] in registry.link_des:
                        self.link = (c, spec["de"], spec.get("scope", "global"))
                        break
                for i, de in enumerate(registry.identity_des):
                    self.identity.append((i, col_by_de.get(de)))
        self.date_cols = [c for c in self.cols if c.check.kind in ("date", "datetime")]
        # the columns whose values a record-level check reads (others are not kept per row)
        self.id_slots = {c.slot for c in (self.id_cols + [self.birth_col, self.gender_col,
                                                           self.idtype_col]) if c is not None}
        self.needed_slots = set(self.id_slots) | {c.slot for c in self.date_cols} | \
            {c.slot for c, *_ in self.ranges} | \
            {c.slot for r in self.time_rules for c in r[:2]} | \
            {c.slot for _, c in self.identity if c is not None} | \
            ({self.link[0].slot} if self.link else set()) | \
            ({self.event_col.slot} if self.event_col else set())


_COMPILED: dict[tuple, Compiled] = {}


def compiled_for(job: TableJob, registry: Registry | None) -> Compiled:
    key = (job.dataset, job.bindings, job.lang, job.quality, job.standards_dir, id(registry))
    c = _COMPILED.get(key)
    if c is None:
        if len(_COMPILED) > 64:
            _COMPILED.clear()
        c = _COMPILED[key] = Compiled(job, registry)
    return c


# ==================================================================== the row loop
def run_job(job: TableJob, registry: Registry | None = None) -> Partial:
    """Check one partition. Never raises for bad data: reading problems end the partition
    with `stopped` set (rule, detail, line, actual)."""
    comp = compiled_for(job, registry)
    out = Partial(job.dataset, elements=comp.n_elements)
    findings = out.findings
    cap = job.max_examples
    n_el = comp.n_elements
    q = job.quality
    by_col = q.by_column if q else None
    groups = out.groups

    def note(g: str, rule: str, el_id: str, line: int, col: Col | None, actual: str | None,
             expected: str | None, detail: str | None, status: str) -> None:
        key = (g, rule, el_id)
        f = findings.get(key)
        if f is None:
            f = findings[key] = [0, []]
        f[0] += 1
        if not cap or len(f[1]) < cap:
            f[1].append((line, None if col is None else col.pos + 1,
                         "" if col is None else col.label, actual, expected, detail, status))

    # The hot loop reads plain tuples: (position, element, mode, min, max, cache, fn, slot,
    # col). mode 1 = free text with a length check only (no cache: high cardinality). Per
    # cell it counts only what is rare (empty cells, failing cells); non-empty and passing
    # counts are derived once at the end.
    need = comp.needed_slots if q else comp.id_slots
    specs = []
    for c in comp.cols:
        fmt = c.check.element.format
        plain = c.check.kind == "text" and not c.check.element.value_set and \
            fmt.kind == "chars" and fmt.cls != "N"
        specs.append((c.pos, c.elem, 1 if plain else 0,
                      fmt.min_len or 0, fmt.max_len if fmt.max_len is not None else 1 << 62,
                      c.cache, c.fn, c.slot if c.slot in need else -1, c))
    nslots = len(specs)
    keep = bool(need)
    width = comp.width
    ncols_header = len(job.table.columns)
    is_csv = job.table.kind == "csv"
    all_required_bound = comp.required_unbound == 0
    required_cols = [(c.pos, c) for c in comp.cols if c.required]
    coded_elems = {c.elem for c in comp.cols if c.coded}
    blank = _BLANK
    fmt_rules = FORMAT_RULES
    counters: dict[str, tuple[list[int], list[int], list[int]]] = {}
    agg: GroupAgg | None = None
    empties: list[int] = []
    fails: list[int] = []
    fmt_fails: list[int] = []
    last_g: str | None = None
    try:
        for line, row in job.table.rows(job.part):
            if type(row) is _BadRecord:
                note(EMPTY_GROUP, "DS.FILE_FORMAT", "", line, None, None, None, row.reason,
                     "seen")
                continue
            out.rows += 1
            n = len(row)
            if n != ncols_header and is_csv:
                note(EMPTY_GROUP, "DS.RECORD_SHAPE", "", line, None, str(n), str(ncols_header),
                     None, "seen")
            if n < width:
                row = row + [""] * (width - n)
            g = EMPTY_GROUP
            if by_col is not None:
                g = row[by_col].strip() if by_col < len(row) else ""
            if g != last_g or agg is None:
                agg = groups.get(g)
                if agg is None:
                    agg = groups[g] = GroupAgg.sized(n_el)
                    counters[g] = ([0] * n_el, [0] * n_el, [0] * n_el)
                empties, fails, fmt_fails = counters[g]
                last_g = g
            agg.records += 1
            consistent = True
            complete = all_required_bound
            vals = [None] * nslots if keep else None
            norms = [None] * nslots if keep else None
            for pos, elem, mode, lo, hi, cache, fn, slot, c in specs:
                v = row[pos]
                if mode:
                    if v and v[-1] == " " or v[:1] == " ":
                        v = v.strip()
                    if not v:
                        empties[elem] += 1
                        if c.required:
                            complete = False
                            note(g, "DS.REQUIRED_EMPTY", c.el_id, line, c, None, None, None,
                                 c.check.element.required_status)
                        continue
                    ln = len(v)
                    if ln > hi or ln < lo:
                        fails[elem] += 1
                        fmt_fails[elem] += 1
                        note(g, "DS.FORMAT_LENGTH", c.el_id, line, c, v,
                             c.check.element.format.text, str(ln), c.check.format_status)
                    if slot >= 0:
                        vals[slot] = v  # type: ignore[index]
                    continue
                verdict = cache.get(v) if v else blank
                if verdict is None:
                    sv = v.strip()
                    verdict = fn(sv) if sv else blank
                    if len(cache) < CACHE_LIMIT:
                        cache[v] = verdict
                if verdict is blank:
                    empties[elem] += 1
                    if c.required:
                        complete = False
                        note(g, "DS.REQUIRED_EMPTY", c.el_id, line, c, None, None, None,
                             c.check.element.required_status)
                    continue
                probs = verdict[0]
                if probs:
                    fails[elem] += 1
                    for p in probs:
                        if p[0] in fmt_rules:
                            fmt_fails[elem] += 1
                            break
                    sv = v.strip()
                    for rule, actual, expected, detail in probs:
                        note(g, rule, c.el_id, line, c, sv if actual is None else actual,
                             expected, detail, status_of(rule, c.check))
                    if elem in coded_elems and any(p[0].startswith("DS.VALUE") for p in probs):
                        consistent = False
                if slot >= 0:
                    vals[slot] = v.strip() if v[:1] == " " or v[-1:] == " " else v  # type: ignore
                    norms[slot] = verdict[1]  # type: ignore[index]
            if comp.id_cols:
                _id_checks(comp, q, agg, g, line, row, vals, norms, note)
            if complete:
                agg.complete += 1
            if consistent:
                agg.consistent += 1
            if q:
                _quality_row(comp, q, agg, g, line, row, norms, vals, note)
    except ReadError as exc:
        out.stopped = (exc.rule, exc.detail, exc.line, exc.actual)
    # derived counts: non-empty = records − empty cells; passing = non-empty − failing cells
    for g, agg in groups.items():
        empties, fails, fmt_fails = counters[g]
        for c in comp.cols:
            ne = agg.records - empties[c.elem]
            agg.nonempty[c.elem] = ne
            agg.passed[c.elem] = ne - fails[c.elem]
            agg.format_ok[c.elem] = ne - fmt_fails[c.elem]
        agg.required_cells = agg.records * len(comp.required_idx)
        agg.required_filled = sum(agg.nonempty[c.elem] for _, c in required_cols)
    return out


class _Blank:
    """Marks a whitespace-only value in the per-column caches."""


_BLANK: Any = ((), _Blank())


def _id_checks(comp: Compiled, q: QualityOptions | None, agg: GroupAgg, g: str, line: int,
               row: list[str], vals: list[Any], norms: list[Any], note: Any) -> None:
    """ID numbers: GB 11643 with the birth date and gender code of the same record."""
    for c in comp.id_cols:
        v = vals[c.slot]
        if not v:
            continue
        tc = comp.idtype_col
        if tc is not None:
            t = vals[tc.slot]
            if t and t != comp.idtype_ok:
                continue
        bc, gc = comp.birth_col, comp.gender_col
        birth = norms[bc.slot] if bc is not None else None
        gender = vals[gc.slot] if gc is not None else None
        probs = comp.factory.resident_id(
            v, birth[:8] if isinstance(birth, str) else None, gender or None,
            gc.check.element.value_set if gc is not None else None)
        if q:
            # 准确性: format + check character + birth code; agreement with the birth date and
            # with a gender code the ID number can imply (codes the ID cannot say are skipped)
            checks = 1 + (1 if birth else 0) + (1 if gender in comp.id_gender_codes else 0)
            agg.plaus_total += checks
            if probs:
                bad = {p[0] for p in probs}
                fails = (1 if bad & _ID_SELF else 0) + \
                    (1 if "DS.ID_NUMBER_BIRTH_MISMATCH" in bad else 0) + \
                    (1 if "DS.ID_NUMBER_GENDER_MISMATCH" in bad else 0)
                agg.plaus_ok += checks - min(checks, fails)
            else:
                agg.plaus_ok += checks
        for rule, actual, expected, detail in probs:
            note(g, rule, c.el_id, line, c, actual, expected, detail, c.check.id_status)


_ID_SELF = frozenset({"DS.ID_NUMBER_FORMAT", "DS.ID_NUMBER_CHECK_DIGIT",
                      "DS.ID_NUMBER_INVALID_BIRTH"})


def _quality_row(comp: Compiled, q: QualityOptions, agg: GroupAgg, g: str, line: int,
                 row: list[str], norms: list[Any], values: list[Any], note: Any) -> None:
    now = q.now
    # 准确性: plausible ranges and dates not in the future
    for c, lo, hi, unit in comp.ranges:
        num = norms[c.slot]
        if isinstance(num, float):
            agg.plaus_total += 1
            if lo <= num <= hi:
                agg.plaus_ok += 1
            else:
                note(g, "QA.OUT_OF_RANGE", c.el_id, line, c, values[c.slot],
                     f"{lo:g}–{hi:g} {unit}".strip(), None, "provisional")
    late: set[int] = set()
    for c in comp.date_cols:
        ts = norms[c.slot]
        if isinstance(ts, str):
            agg.plaus_total += 1
            if ts > now:
                late.add(c.slot)
                note(g, "QA.FUTURE_DATE", c.el_id, line, c, values[c.slot], now, None,
                     "provisional")
            else:
                agg.plaus_ok += 1
    # EMR 及时性: time items in logical order
    if comp.time_rules:
        items: dict[int, bool] = {}
        for a, b, name in comp.time_rules:
            ta, tb = norms[a.slot], norms[b.slot]
            if not isinstance(ta, str) or not isinstance(tb, str):
                continue
            ok = ta <= tb
            items[a.slot] = items.get(a.slot, True) and ok and a.slot not in late
            items[b.slot] = items.get(b.slot, True) and ok and b.slot not in late
            if not ok:
                note(g, "QA.TIME_ORDER", b.el_id, line, b,
                     f"{values[a.slot]} > {values[b.slot]}", None, name, "seen")
        agg.time_items += len(items)
        agg.time_ok += sum(1 for ok in items.values() if ok)
    # 整合性 / 关联性
    if comp.link is not None:
        c, de, scope = comp.link
        reg = comp.registry
        agg.link_records += 1
        v = values[c.slot]
        if not v:
            agg.link_empty += 1
            note(g, "QA.LINK_EMPTY", c.el_id, line, c, None, None, None, "provisional")
        elif reg is not None:
            i = reg.lookup(link_key(de, scope, g, v))
            if i < 0:
                note(g, "QA.UNLINKED", c.el_id, line, c, v, None, None, "provisional")
            else:
                agg.link_matched += 1
                agree = True
                for k, ic in comp.identity:
                    if ic is None:
                        continue
                    raw = values[ic.slot]
                    if not raw:
                        continue
                    mine = norms[ic.slot]
                    mine_txt = mine[:8] if isinstance(mine, str) else raw
                    theirs = reg.idents[k][i]
                    if theirs and stable_hash(mine_txt, 4) != theirs:
                        agree = False
                        shown = reg.display.get(reg.keys[i], ())
                        note(g, "QA.IDENTITY_CONFLICT", ic.el_id, line, ic, raw,
                             shown[k] if k < len(shown) else None, f"{c.label}={v}",
                             "provisional")
                if agree:
                    agg.link_agree += 1
    # 及时性 (governance): event time → upload time
    if q.upload_column is not None and comp.event_col is not None:
        ev = norms[comp.event_col.slot]
        up_raw = row[q.upload_column].strip() if q.upload_column < len(row) else ""
        up = parse_any_time(up_raw) if up_raw else None
        if isinstance(ev, str) and up is not None:
            hours = (_dt(up) - _dt(ev)).total_seconds() / 3600.0
            agg.timely_n += 1
            if hours < 0:  # an impossible order: counted, never timely, not in the delays
                agg.upload_before_event += 1
                note(g, "QA.UPLOAD_BEFORE_EVENT", "", line, None, up_raw,
                     values[comp.event_col.slot], None, "provisional")
                return
            agg.delay_sum += hours
            b = bisect.bisect_left(DELAY_EDGES, hours)
            agg.delay_buckets[b] += 1
            if hours <= q.timely_hours:
                agg.timely_ok += 1
            else:
                note(g, "QA.LATE_UPLOAD", "", line, None, f"{hours:.1f}", f"{q.timely_hours:g}",
                     None, "provisional")


def _dt(ts14: str) -> datetime:
    return datetime.strptime(ts14[:14].ljust(14, "0"), "%Y%m%d%H%M%S")


_ANY_FORMS = ("%Y%m%dT%H%M%S", "%Y%m%d%H%M%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
              "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y%m%d", "%Y-%m-%d")


def parse_any_time(v: str) -> str | None:
    for f in _ANY_FORMS:
        try:
            return f"{datetime.strptime(v, f):%Y%m%d%H%M%S}"
        except ValueError:
            continue
    return None


__all__ = ["TableJob", "QualityOptions", "Partial", "GroupAgg", "Registry", "run_job",
           "link_key", "stable_hash", "Problem"]
