"""Which data set a table holds and which column carries which data element.

Headers that are DE codes (DE02.01.039.00, DE02_01_039_00), element names (患者姓名) or both
("患者姓名 DE02.01.039.00") resolve by themselves; other headers need a mapping file:

```yaml
dataset: WS445.1.1            # optional: the data set of the tables this mapping covers
columns:                      # column header → data element (DE code, element id or name)
  XM: DE02.01.039.00
  XB: 性别代码
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

import yaml

from .definitions import DataSet, Definitions, Element, norm_de, norm_label

IGNORE = "-"
_DE_IN_TEXT = re.compile(r"DE\d{2}[._]?\d{2}[._]?\d{3}[._]?\d{2}", re.IGNORECASE)


class MappingError(Exception):
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
@dataclass(slots=True)
class Index:
    ds: DataSet
    by_key: dict[str, list[Element]]

    @classmethod
    def build(cls, ds: DataSet) -> Index:
        by: dict[str, list[Element]] = {}

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
        # names seen for the same data element elsewhere: only when nothing else claims them
        for el in ds.elements:
            for alias in el.aliases:
                k = norm_label(alias)
                if k not in by:
                    by[k] = [el]
        return cls(ds, by)

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
        m = _DE_IN_TEXT.search(ref)
        if m:  # "患者姓名(DE02.01.039.00)" and the like
            de = norm_de(m.group(0))
            cands = self.by_key.get(de or "", [])
            rest = norm_label(_DE_IN_TEXT.sub("", ref).strip("()（）[]【】 "))
            named = [e for e in cands if norm_label(e.name) == rest]
            return named or cands
        return []

    def suggest(self, ref: str) -> list[str]:
        names = [e.name for e in self.ds.elements] + [e.id for e in self.ds.elements]
        return difflib.get_close_matches(ref, names, n=3, cutoff=0.5)


_INDEXES: dict[str, Index] = {}


def index_of(ds: DataSet) -> Index:
    idx = _INDEXES.get(ds.id)
    if idx is None or idx.ds is not ds:
        idx = _INDEXES[ds.id] = Index.build(ds)
    return idx


# ==================================================================== loading mapping files
def _yaml_lines(text: str) -> dict[tuple[str, ...], int]:
    """Line number (1-based) of every mapping key, by its path of keys/indexes."""
    out: dict[tuple[str, ...], int] = {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return out

    def walk(n: Any, path: tuple[str, ...]) -> None:
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = path + (str(k.value),)
                out[key] = k.start_mark.line + 1
                walk(v, key)
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                key = path + (str(i),)
                out[key] = v.start_mark.line + 1
                walk(v, key)

    if node is not None:
        walk(node, ())
    return out


def load_mapping(path: str, defs: Definitions) -> Mapping:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the mapping file ({exc.strerror or exc})") \
            from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise MappingError(f"{path}: the mapping file is neither UTF-8 nor GBK text") \
                from None
    if p.suffix.lower() in (".csv", ".tsv", ".txt"):
        return _load_csv_mapping(path, text, defs)
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        raise MappingError(f"{where}: YAML syntax error: {exc.problem}. Check indentation and "
                           "quote values that contain ':' or '#'.") from None
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: YAML error: {exc}") from None
    lines = _yaml_lines(text)
    if not isinstance(data, dict):
        raise MappingError(f"{path}: a mapping file is a YAML mapping with 'columns' (and "
                           "optionally 'dataset' and 'tables'); see `conformance "
                           "validate-dataset --help`")
    unknown = set(data) - {"dataset", "columns", "tables", "note", "description"}
    if unknown:
        k = sorted(unknown)[0]
        raise MappingError(f"{path}:{lines.get((k,), 1)}: unknown key {k!r}; a mapping file has "
                           "'dataset', 'columns' and 'tables'")
    sections = []
    if "columns" in data or "dataset" in data:
        sections.append(_section(path, data, (), lines, defs, top=True))
    tables = data.get("tables") or []
    if not isinstance(tables, list):
        raise MappingError(f"{path}:{lines.get(('tables',), 1)}: 'tables' must be a list of "
                           "entries with 'match', 'dataset' and 'columns'")
    for i, t in enumerate(tables):
        where = ("tables", str(i))
        if not isinstance(t, dict) or "match" not in t:
            raise MappingError(f"{path}:{lines.get(where, 1)}: each 'tables' entry needs "
                               "'match' (a file-name pattern such as \"mzbl_*.csv\")")
        sections.append(_section(path, t, where, lines, defs, top=False))
    if not sections:
        raise MappingError(f"{path}: the mapping file maps no column (add 'columns:')")
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
            hint = f" Did you mean {', '.join(close)}?" if close else \
                " See `conformance datasets list`."
            raise MappingError(f"{path}:{line('dataset')}: unknown data set {ds_id!r}.{hint}")
    cols = d.get("columns") or {}
    if not isinstance(cols, dict):
        raise MappingError(f"{path}:{line('columns')}: 'columns' must map column headers to data "
                           "elements, e.g.  XM: DE02.01.039.00")
    out: dict[str, str] = {}
    seen_el: dict[str, str] = {}
    col_lines: dict[str, int] = {}
    for col, ref in cols.items():
        ln = line("columns", str(col))
        col_lines[str(col)] = ln
        if ref is None or not isinstance(ref, (str, int, float)):
            raise MappingError(f"{path}:{ln}: column {col!r} must name one data element (a DE "
                               "code, element id or name), or \"-\" to ignore the column")
        ref = str(ref).strip()
        if ref == IGNORE:
            out[str(col)] = IGNORE
            continue
        if ds is not None:
            el = _resolve_ref(path, ln, ds, str(col), ref)
            if el.id in seen_el:
                raise MappingError(f"{path}:{ln}: columns {seen_el[el.id]!r} and {col!r} both map "
                                   f"to {el.label}; a data element has one column — map one of "
                                   "them to \"-\"")
            seen_el[el.id] = str(col)
            out[str(col)] = el.id
        else:
            # no data set named: the reference must at least exist in some data set
            if not any(index_of(x).resolve(ref) for x in defs.datasets.values()):
                raise MappingError(f"{path}:{ln}: {ref!r} (column {col!r}) is not a data element "
                                   "of any data set. Use a DE code such as DE02.01.039.00 or an "
                                   "element name from `conformance datasets show ID`.")
            out[str(col)] = ref
    return TableMapping(None if top else str(d["match"]), None if ds is None else ds.id, out,
                        col_lines)


def _resolve_ref(path: str, ln: int, ds: DataSet, col: str, ref: str) -> Element:
    idx = index_of(ds)
    hits = idx.resolve(ref)
    if not hits:
        close = idx.suggest(ref)
        hint = f" Did you mean {', '.join(close)}?" if close else \
            f" See `conformance datasets show {ds.id}`."
        raise MappingError(f"{path}:{ln}: {ref!r} (column {col!r}) is not a data element of "
                           f"{ds.id} {ds.name}.{hint}")
    if len(hits) > 1:
        ids = ", ".join(e.id for e in hits)
        raise MappingError(f"{path}:{ln}: {ref!r} (column {col!r}) is ambiguous in {ds.id}: it "
                           f"may be {ids}. Write the element id instead.")
    return hits[0]


def _load_csv_mapping(path: str, text: str, defs: Definitions) -> Mapping:
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise MappingError(f"{path}: empty mapping file")
    head = [h.strip().lower() for h in rows[0]]
    if "column" not in head or "element" not in head:
        raise MappingError(f"{path}:1: a CSV mapping file needs a header row with the columns "
                           "'column' and 'element' (and optionally 'dataset')")
    ci, ei = head.index("column"), head.index("element")
    di = head.index("dataset") if "dataset" in head else None
    by_ds: dict[str | None, dict[str, Any]] = {}
    lines: dict[tuple[str, ...], int] = {}
    for n, r in enumerate(rows[1:], start=2):
        if not any(x.strip() for x in r):
            continue
        if len(r) <= max(ci, ei, di or 0):
            raise MappingError(f"{path}:{n}: expected {len(head)} fields, found {len(r)}")
        dsid = r[di].strip() if di is not None and r[di].strip() else None
        sec = by_ds.setdefault(dsid, {"columns": {}})
        if dsid:
            sec["dataset"] = dsid
        col = r[ci].strip()
        if col in sec["columns"]:
            raise MappingError(f"{path}:{n}: column {col!r} is mapped twice")
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
    how: str = ""


def bind(ds: DataSet, columns: list[str], paths: list[str], section: TableMapping | None,
         skip: set[int] = frozenset()) -> Binding:  # type: ignore[assignment]
    idx = index_of(ds)
    b = Binding(ds, [])
    taken: dict[str, str] = {}
    mapped = dict(section.columns) if section is not None else {}
    by_norm = {norm_label(k): v for k, v in mapped.items()}
    present = set()
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
        if ref is not None:
            hits = idx.resolve(ref)
        else:
            for cand in (label, paths[i] if i < len(paths) else label):
                hits = idx.resolve(cand)
                if hits:
                    break
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
    b.absent = [c for c in mapped if c not in present]
    return b


_REASONS = {
    "none": {"zh": "没有任何列对应到数据元", "en": "no column matches a data element of any data set"},
    "few": {"zh": "对应到数据元的列少于两列", "en": "fewer than two columns match data elements"},
    "tie": {"zh": "表头同样程度地匹配多个数据集：{names}",
            "en": "the headers match several data sets equally: {names}"},
}


def detect(defs: Definitions, name_parts: list[str], columns: list[str], paths: list[str],
           section: TableMapping | None, skip: set[int], lang: str = "zh"
           ) -> tuple[DataSet | None, str]:
    """The data set a table holds: from its file/folder name, else the data set whose elements
    the headers match best. Returns (data set, how) or (None, why not)."""
    ids = sorted(defs.datasets, key=len, reverse=True)
    for part in reversed(name_parts):
        for ident in ids:  # a data-set id in the file or folder name (EHR-DE-11-…-T01.xml)
            if re.search(r"(?<![0-9A-Za-z.])" + re.escape(ident) + r"(?![0-9A-Za-z])", part,
                         re.IGNORECASE):
                return defs.datasets[ident], "file name"
    for part in reversed(name_parts):
        stem = norm_label(Path(part).stem)
        best = None
        for ds in defs.datasets.values():
            for alias in (ds.name, ds.raw.get("label", ds.name)):
                a = norm_label(str(alias))
                if len(a) >= 3 and a in stem and (best is None or len(a) > best[0]):
                    best = (len(a), ds)
        if best is not None:
            return best[1], "file name"
    scored = []
    for ds in defs.ordered():
        b = bind(ds, columns, paths, section, skip)
        n = len(b.bindings)
        if n:
            scored.append((n, n / max(1, len(ds.elements)), ds))
    if not scored:
        return None, _REASONS["none"][lang]
    scored.sort(key=lambda x: (-x[0], -x[1]))
    top = scored[0]
    if top[0] < 2:
        return None, _REASONS["few"][lang]
    rivals = [s for s in scored[1:] if s[0] == top[0] and abs(s[1] - top[1]) < 1e-9]
    if rivals:
        names = ", ".join(f"{s[2].id} {s[2].name}" for s in [top] + rivals[:3])
        return None, _REASONS["tie"][lang].format(names=names)
    return top[2], f"headers ({top[0]} columns match)"
