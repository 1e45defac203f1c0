"""Which data set a table holds and which column carries which data element.

Headers that are internal ids (HDSD00.02.039), element names (联系人姓名), DE codes with the name
("DE02.01.039.00 联系人姓名", "联系人姓名(DE02.01.039.00)") or DE codes (DE02.01.040.00,
DE02_01_040_00) resolve by themselves; other headers need a mapping file. A DE code that several
elements of the data set share (DE02.01.039.00: 患者姓名, 联系人姓名, 建档者姓名) binds a header
to the first of them no other column holds, with a warning; in a mapping file that names its
data set it is refused (the file must say which).

```yaml
dataset: WS445.1.1            # optional: the data set of the tables this mapping covers
columns:                      # column header → data element (internal id, name, DE code, …)
  XM: 患者姓名
  LXR: HDSD00.02.039          # 联系人姓名
  XB: DE02.01.040.00
  BZ: "-"                     # "-" = not a data element, do not report it
tables:                       # optional, per file (glob on the file name)
  - match: "mzbl_*.csv"
    dataset: WS445.2.1
    columns: {JZKH: DE01.00.021.00}
```

or a CSV with the columns ``column,element[,dataset]``. Every mistake in a mapping file is a
MappingError naming the file, line and how to fix it.
"""

from __future__ import annotations

import csv
import difflib
import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConformanceError
from ..i18n import Phrase, t
from ..yamlio import LineDict, LineList, YamlError, load_text, read_bytes
from .definitions import DataSet, Definitions, Element, norm_de, norm_label

IGNORE = "-"
_DE_IN_TEXT = re.compile(r"DE\d{2}[._]?\d{2}[._]?\d{3}[._]?\d{2}", re.IGNORECASE)


class MappingError(ConformanceError):
    """A mapping file that cannot be used (usage problem: exit code 2)."""


@dataclass(slots=True)
class TableMapping:
    match: str | None
    dataset: str | None
    columns: dict[str, str]
    lines: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Mapping:
    path: str
    sections: list[TableMapping]

    def for_file(self, name: str) -> TableMapping | None:
        """The section for a file: the first `tables` entry whose glob matches, else the
        top-level section."""
        default = None
        for s in self.sections:
            if s.match is None:
                default = default or s
            elif fnmatch.fnmatch(name, s.match):
                return s
        return default


# ==================================================================== element index per data set
_INTERNAL_IN_TEXT = re.compile(r"HDSD\d{2}[._]?\d{2}[._]?\d{3}", re.IGNORECASE)
_BRACKETS = "()（）[]【】<>《》:：-－_ "


def _norm_internal(s: str) -> str:
    d = re.sub(r"\D", "", s)
    return f"HDSD{d[0:2]}.{d[2:4]}.{d[4:7]}"


@dataclass(slots=True)
class Index:
    """How headers and mapping references name the elements of one data set: the element id,
    the internal id (HDSD00.02.039), the name, the DE id with the name ("DE02.01.039.00 联系人姓名",
    "联系人姓名(DE02.01.039.00)"), a bare DE id (all the elements that share it), then — only when
    nothing else claims them — other names the project knows and names without an optional
    leading word (姓名 → 患者姓名)."""

    ds: DataSet
    by_key: dict[str, list[Element]]
    by_internal: dict[str, list[Element]] = field(default_factory=dict)

    @classmethod
    def build(cls, ds: DataSet, optional_prefixes: tuple[str, ...] = ()) -> Index:
        by: dict[str, list[Element]] = {}
        internal: dict[str, list[Element]] = {}

        def add(key: str, el: Element) -> None:
            lst = by.setdefault(key, [])
            if el not in lst:
                lst.append(el)

        for el in ds.elements:
            add(norm_label(el.id), el)
            add(norm_label(el.name), el)
            if el.de:
                add(el.de, el)
                add(norm_label(f"{el.de}{el.name}"), el)
                add(norm_label(f"{el.name}{el.de}"), el)
            if el.item:
                add(norm_label(el.item), el)
            if el.internal_id:
                internal.setdefault(el.internal_id, []).append(el)
                add(norm_label(el.internal_id), el)
                add(norm_label(f"{el.internal_id}{el.name}"), el)
                add(norm_label(f"{el.name}{el.internal_id}"), el)
        # other names: only when nothing else claims them, and only when they name one element
        weak: dict[str, list[Element]] = {}
        for el in ds.elements:
            names = list(el.aliases)
            for p in optional_prefixes:
                if el.name.startswith(p) and len(el.name) > len(p) + 1:
                    names.append(el.name[len(p):])
            for alias in names:
                k = norm_label(alias)
                if k not in by and el not in weak.setdefault(k, []):
                    weak[k].append(el)
        by.update({k: v for k, v in weak.items() if len(v) == 1})
        return cls(ds, by, internal)

    def resolve(self, ref: str) -> list[Element]:
        """Elements a header or mapping reference may mean (empty: none; >1: ambiguous)."""
        ref = ref.strip()
        if not ref:
            return []
        hit = self.by_key.get(norm_label(ref))
        if hit:
            return hit
        de = norm_de(ref)
        if de:
            return self.by_key.get(de, [])
        for pattern, lookup in ((_INTERNAL_IN_TEXT, self._internal), (_DE_IN_TEXT, self._de)):
            m = pattern.search(ref)
            if m:  # "患者姓名(DE02.01.039.00)", "HDSD00.02.039 联系人姓名" and the like
                cands = lookup(m.group(0))
                rest = norm_label(pattern.sub("", ref).strip(_BRACKETS))
                if not rest:
                    return cands
                named = [e for e in cands if norm_label(e.name) == rest or
                         any(norm_label(a) == rest for a in e.aliases)]
                if not named:   # "姓名(DE02.01.039.00)": a name the index knows otherwise
                    named = [e for e in self.by_key.get(rest, []) if e in cands]
                return named or (cands if len(cands) == 1 else [])
        return []

    def _internal(self, text: str) -> list[Element]:
        return list(self.by_internal.get(_norm_internal(text), []))

    def _de(self, text: str) -> list[Element]:
        return list(self.by_key.get(norm_de(text) or "", []))

    def bare_de(self, ref: str) -> str | None:
        """The DE id when `ref` is a bare DE id shared by several elements of the set."""
        de = norm_de(ref.strip())
        return de if de and len(self.ds.by_de.get(de, [])) > 1 else None

    def suggest(self, ref: str) -> list[str]:
        names = [e.name for e in self.ds.elements] + [e.id for e in self.ds.elements]
        return difflib.get_close_matches(ref, names, n=3, cutoff=0.5)


_INDEXES: dict[str, Index] = {}


def index_of(ds: DataSet) -> Index:
    idx = _INDEXES.get(ds.id)
    if idx is None or idx.ds is not ds:
        idx = _INDEXES[ds.id] = Index.build(ds, ds.name_prefixes)
    return idx


# ==================================================================== loading mapping files
def _yaml_lines(data: Any) -> dict[tuple[str, ...], int]:
    """Line number (1-based) of every mapping key and list item, by its path of keys/indexes
    (from the one YAML reader's LineDict / LineList)."""
    out: dict[tuple[str, ...], int] = {}

    def walk(n: Any, path: tuple[str, ...]) -> None:
        if isinstance(n, LineDict):
            for k, v in n.items():
                key = path + (str(k),)
                out[key] = n.line_of(k)
                walk(v, key)
        elif isinstance(n, LineList):
            for i, v in enumerate(n):
                key = path + (str(i),)
                out[key] = n.line_of(i)
                walk(v, key)

    walk(data, ())
    return out


def load_mapping(path: str, defs: Definitions) -> Mapping:
    p = Path(path)
    try:
        raw = read_bytes(p)
    except YamlError as exc:
        raise MappingError.like(exc) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise MappingError.phrase("datasets.map.not_text", path=path) from None
    if p.suffix.lower() in (".csv", ".tsv", ".txt"):
        return _load_csv_mapping(path, text, defs)
    try:
        data = load_text(text, path)
    except YamlError as exc:
        if exc.key == "yaml.syntax":
            raise MappingError.phrase("datasets.map.syntax", problem=exc.as_phrase()) from None
        raise MappingError.like(exc) from None
    lines = _yaml_lines(data)
    if not isinstance(data, dict):
        raise MappingError.phrase("datasets.map.not_mapping", path=path)
    unknown = set(data) - {"dataset", "columns", "tables", "note", "description"}
    if unknown:
        k = sorted(unknown)[0]
        raise MappingError.phrase("datasets.map.unknown_key", path=path,
                                  line=lines.get((k,), 1), key=repr(k))
    sections = []
    if "columns" in data or "dataset" in data:
        sections.append(_section(path, data, (), lines, defs, top=True))
    tables = data.get("tables") or []
    if not isinstance(tables, list):
        raise MappingError.phrase("datasets.map.tables_list", path=path,
                                  line=lines.get(("tables",), 1))
    for i, tbl in enumerate(tables):
        where = ("tables", str(i))
        if not isinstance(tbl, dict) or "match" not in tbl:
            raise MappingError.phrase("datasets.map.tables_match", path=path,
                                      line=lines.get(where, 1))
        sections.append(_section(path, tbl, where, lines, defs, top=False))
    if not sections:
        raise MappingError.phrase("datasets.map.no_column", path=path)
    return Mapping(path, sections)


def _section(path: str, d: dict[str, Any], where: tuple[str, ...],
             lines: dict[tuple[str, ...], int], defs: Definitions, top: bool) -> TableMapping:
    def line(*keys: str) -> int:
        return lines.get(where + keys, lines.get(where, 1))

    ds_id = d.get("dataset")
    ds = None
    if ds_id is not None:
        ds = defs.get(str(ds_id))
        if ds is None:
            close = difflib.get_close_matches(str(ds_id), list(defs.datasets) +
                                              [x.name for x in defs.datasets.values()], n=3)
            hint = Phrase("datasets.map.did_you_mean", names=", ".join(close)) if close else \
                Phrase("datasets.map.see_list")
            raise MappingError.phrase("datasets.map.unknown_dataset", path=path,
                                      line=line("dataset"), id=repr(ds_id), hint=hint)
    cols = d.get("columns") or {}
    if not isinstance(cols, dict):
        raise MappingError.phrase("datasets.map.columns", path=path, line=line("columns"))
    out: dict[str, str] = {}
    seen_el: dict[str, str] = {}
    col_lines: dict[str, int] = {}
    for col, ref in cols.items():
        ln = line("columns", str(col))
        col_lines[str(col)] = ln
        if ref is None or not isinstance(ref, (str, int, float)):
            raise MappingError.phrase("datasets.map.one_element", path=path, line=ln,
                                      col=repr(col))
        ref = str(ref).strip()
        if ref == IGNORE:
            out[str(col)] = IGNORE
            continue
        if ds is not None:
            el = _resolve_ref(path, ln, ds, str(col), ref)
            if el.id in seen_el:
                raise MappingError.phrase("datasets.map.both_map", path=path, line=ln,
                                          first=repr(seen_el[el.id]), col=repr(col),
                                          label=el.label)
            seen_el[el.id] = str(col)
            out[str(col)] = el.id
        else:
            # no data set named: the reference must at least exist in some data set
            if not any(index_of(x).resolve(ref) for x in defs.datasets.values()):
                raise MappingError.phrase("datasets.map.not_element_any", path=path, line=ln,
                                          ref=repr(ref), col=repr(col))
            out[str(col)] = ref
    return TableMapping(None if top else str(d["match"]), None if ds is None else ds.id, out,
                        col_lines)


def _resolve_ref(path: str, ln: int, ds: DataSet, col: str, ref: str) -> Element:
    idx = index_of(ds)
    hits = idx.resolve(ref)
    if not hits:
        close = idx.suggest(ref)
        hint = Phrase("datasets.map.did_you_mean", names=", ".join(close)) if close else \
            Phrase("datasets.map.see_show", id=ds.id)
        raise MappingError.phrase("datasets.map.not_element", path=path, line=ln, ref=repr(ref),
                                  col=repr(col), id=ds.id, name=ds.name, hint=hint)
    if len(hits) > 1:
        # a mapping file states the binding: a DE id that several elements share is refused
        # rather than guessed (headers of an export bind to the first free occurrence instead)
        ids = ", ".join(f"{e.internal_id or e.id} {e.name}" for e in hits)
        ex = hits[1] if len(hits) > 1 else hits[0]
        code = ex.de or ex.item or ""
        raise MappingError.phrase("datasets.map.ambiguous", path=path, line=ln, ref=repr(ref),
                                  col=repr(col), id=ds.id, ids=ids,
                                  internal=ex.internal_id or ex.id, name=ex.name, code=code)
    return hits[0]


def _load_csv_mapping(path: str, text: str, defs: Definitions) -> Mapping:
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise MappingError.phrase("datasets.map.csv_empty", path=path)
    head = [h.strip().lower() for h in rows[0]]
    if "column" not in head or "element" not in head:
        raise MappingError.phrase("datasets.map.csv_header", path=path)
    ci, ei = head.index("column"), head.index("element")
    di = head.index("dataset") if "dataset" in head else None
    by_ds: dict[str | None, dict[str, Any]] = {}
    lines: dict[tuple[str, ...], int] = {}
    for n, r in enumerate(rows[1:], start=2):
        if not any(x.strip() for x in r):
            continue
        if len(r) <= max(ci, ei, di or 0):
            raise MappingError.phrase("datasets.map.csv_fields", path=path, line=n,
                                      want=len(head), got=len(r))
        dsid = r[di].strip() if di is not None and r[di].strip() else None
        sec = by_ds.setdefault(dsid, {"columns": {}})
        if dsid:
            sec["dataset"] = dsid
        col = r[ci].strip()
        if col in sec["columns"]:
            raise MappingError.phrase("datasets.map.csv_twice", path=path, line=n, col=repr(col))
        sec["columns"][col] = r[ei].strip()
        lines[(dsid or "", "columns", col)] = n
        lines[(dsid or "", "dataset")] = lines.get((dsid or "", "dataset"), n)
    sections = []
    for dsid, sec in by_ds.items():
        key = (dsid or "",)
        sections.append(_section(path, sec, key, lines, defs, top=True))
    return Mapping(path, sections)


# ==================================================================== binding columns
@dataclass(slots=True)
class Binding:
    dataset: DataSet
    bindings: list[tuple[int, str, str]]            # (column index, element id, label)
    unmapped: list[tuple[int, str]] = field(default_factory=list)
    ambiguous: list[tuple[int, str, list[str]]] = field(default_factory=list)
    duplicate: list[tuple[int, str, str, str]] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)  # mapping columns not in the file
    # columns headed by a bare DE id several elements share: bound to the first occurrence no
    # other column took — (column index, label, element id, ids of all the occurrences)
    guessed: list[tuple[int, str, str, list[str]]] = field(default_factory=list)
    how: str = ""


def bind(ds: DataSet, columns: list[str], paths: list[str], section: TableMapping | None,
         skip: set[int] = frozenset()) -> Binding:  # type: ignore[assignment]
    """Columns → elements. Every header that names one element binds first; then each header
    that is a bare DE id shared by several elements (DE02.01.039.00: 患者姓名, 联系人姓名,
    建档者姓名) binds to the first of them, in the standard's order, that no column took."""
    idx = index_of(ds)
    b = Binding(ds, [])
    taken: dict[str, str] = {}
    mapped = dict(section.columns) if section is not None else {}
    by_norm = {norm_label(k): v for k, v in mapped.items()}
    present = set()
    bare: list[tuple[int, str, str]] = []
    for i, label in enumerate(columns):
        if i in skip or not label:
            continue
        ref = None
        for cand in (label, paths[i] if i < len(paths) else label):
            if cand in mapped:
                ref = mapped[cand]
                present.add(cand)
                break
            if norm_label(cand) in by_norm:
                ref = by_norm[norm_label(cand)]
                present.add(next(k for k in mapped if norm_label(k) == norm_label(cand)))
                break
        if ref == IGNORE:
            continue
        hits: list[Element] = []
        shared = None
        for cand in ([ref] if ref is not None else
                     [label, paths[i] if i < len(paths) else label]):
            shared = idx.bare_de(cand)
            if shared:
                break
            hits = idx.resolve(cand)
            if hits:
                break
        if shared:
            bare.append((i, label, shared))
            continue
        if not hits:
            b.unmapped.append((i, label))
            continue
        if len(hits) > 1:
            b.ambiguous.append((i, label, [e.id for e in hits]))
            continue
        el = hits[0]
        if el.id in taken:
            b.duplicate.append((i, label, el.id, taken[el.id]))
            continue
        taken[el.id] = label
        b.bindings.append((i, el.id, label))
    for i, label, de in bare:
        occ = ds.by_de[de]
        free = [e for e in occ if e.id not in taken]
        if not free:
            b.duplicate.append((i, label, occ[0].id, taken[occ[0].id]))
            continue
        taken[free[0].id] = label
        b.bindings.append((i, free[0].id, label))
        b.guessed.append((i, label, free[0].id, [e.id for e in occ]))
    b.bindings.sort()
    b.absent = [c for c in mapped if c not in present]
    return b


# ==================================================================== detecting the data set
@dataclass(frozen=True, slots=True)
class Candidate:
    dataset: DataSet
    columns: int       # columns bound to one of its elements
    share: float       # columns / elements of the data set

    def same_rank(self, other: Candidate) -> bool:
        return self.columns == other.columns and abs(self.share - other.share) < 1e-9


@dataclass(slots=True)
class Detection:
    """The data set a table holds and why: by file name, or by the headers with the figures of
    the choice and the runner-up; `dataset` None with `reason` when it cannot be told."""

    dataset: DataSet | None
    how: str                                  # file name | headers | "" (none)
    reason: str = ""
    best: Candidate | None = None
    runner_up: Candidate | None = None
    by_profile: str | None = None             # the profile preference decided between equals
    candidates: list[Candidate] = field(default_factory=list)

    def describe(self, width: int, lang: str) -> str:
        """What the DS.DATASET_DETECTED finding says."""
        b = self.best
        if b is None:
            return ""
        text = t("datasets.detect.detected", lang, cols=width, n=b.columns, total=len(b.dataset.elements))
        r = self.runner_up
        if r is None:
            return text + t("datasets.detect.no_runner_up", lang)
        text += t("datasets.detect.runner_up", lang, id=r.dataset.id, name=r.dataset.name, n=r.columns,
                   total=len(r.dataset.elements))
        if self.by_profile:
            text += t("datasets.detect.profile", lang, profile=self.by_profile,
                       other=f"{r.dataset.id} {r.dataset.name}")
        return text


def by_file_name(defs: Definitions, name_parts: list[str]) -> DataSet | None:
    """A data-set id (EHR-DE-11-…-T01.xml, WS445.2.1-…) or name in the file or folder name."""
    ids = sorted(defs.datasets, key=len, reverse=True)
    for part in reversed(name_parts):
        for ident in ids:
            if re.search(r"(?<![0-9A-Za-z.])" + re.escape(ident) + r"(?![0-9A-Za-z])", part,
                         re.IGNORECASE):
                return defs.datasets[ident]
    for part in reversed(name_parts):
        stem = norm_label(Path(part).stem)
        best = None
        for ds in defs.datasets.values():
            for alias in (ds.name, ds.raw.get("label", ds.name)):
                a = norm_label(str(alias))
                if len(a) >= 3 and a in stem and (best is None or len(a) > best[0]):
                    best = (len(a), ds)
        if best is not None:
            return best[1]
    return None


def rank(defs: Definitions, columns: list[str], paths: list[str],
         section: TableMapping | None, skip: set[int]) -> list[Candidate]:
    """Every data set some header names, best first: by the columns it explains, then by the
    share of its elements those columns cover (then the definitions' order)."""
    out = []
    for ds in defs.ordered():
        n = len(bind(ds, columns, paths, section, skip).bindings)
        if n:
            out.append(Candidate(ds, n, n / max(1, len(ds.elements))))
    out.sort(key=lambda c: (-c.columns, -c.share))
    return out


def profile_matters(cands: list[Candidate]) -> bool:
    """The top candidates rank equal but belong to different profiles: the profile of the
    other inputs decides."""
    if len(cands) < 2 or not cands[0].same_rank(cands[1]):
        return False
    top = [c for c in cands if c.same_rank(cands[0])]
    return len({c.dataset.profile for c in top}) > 1


def choose(cands: list[Candidate], prefer: str | None = None, lang: str = "zh") -> Detection:
    """The data set of a table from its ranked candidates; a tie that the preferred profile
    does not settle is refused, naming the tied data sets."""
    if not cands:
        return Detection(None, "", t("datasets.detect.none", lang))
    if cands[0].columns < 2:
        return Detection(None, "", t("datasets.detect.few", lang), candidates=cands)
    top = [c for c in cands if c.same_rank(cands[0])]
    by_profile = None
    if len(top) > 1 and prefer:
        mine = [c for c in top if c.dataset.profile == prefer]
        if mine and len(mine) < len(top):
            by_profile = prefer
            rest = [c for c in top if c.dataset.profile != prefer]
            top = mine
            if len(top) == 1:
                return Detection(top[0].dataset, "headers", best=top[0], runner_up=rest[0],
                                 by_profile=by_profile, candidates=cands)
    if len(top) > 1:
        names = ", ".join(t("datasets.detect.tie_item", lang, id=c.dataset.id, name=c.dataset.name,
                             n=c.columns, total=len(c.dataset.elements)) for c in top[:4])
        return Detection(None, "", t("datasets.detect.tie", lang, names=names), candidates=cands)
    best = cands[0]
    return Detection(best.dataset, "headers", best=best,
                     runner_up=cands[1] if len(cands) > 1 else None, candidates=cands)


def detect_table(defs: Definitions, name_parts: list[str], columns: list[str],
                 paths: list[str], section: TableMapping | None, skip: set[int],
                 lang: str = "zh", prefer: str | None = None) -> Detection:
    ds = by_file_name(defs, name_parts)
    if ds is not None:
        return Detection(ds, "file name")
    return choose(rank(defs, columns, paths, section, skip), prefer, lang)


def detect(defs: Definitions, name_parts: list[str], columns: list[str], paths: list[str],
           section: TableMapping | None, skip: set[int], lang: str = "zh",
           prefer: str | None = None) -> tuple[DataSet | None, str]:
    """The data set a table holds: from its file/folder name, else the data set whose elements
    the headers match best. Returns (data set, how) or (None, why not)."""
    d = detect_table(defs, name_parts, columns, paths, section, skip, lang, prefer)
    return (d.dataset, d.how) if d.dataset is not None else (None, d.reason)
