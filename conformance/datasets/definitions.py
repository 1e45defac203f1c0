"""Data-set definitions (standards/datasets/) loaded into compiled structures, once per process.

Nothing here knows a data set, data element or value set by name: everything comes from the data
files. Loading errors name the file and what is wrong (CatalogError, like the CDA catalog).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from ..catalog import STATUS_WORDS, Catalog, CatalogError, Rule, load_catalog, load_yaml
from ..resources import standards_dir

STATUS_ORDER = STATUS_WORDS  # strongest first (standards/README.md)


def weakest(*statuses: str | None) -> str:
    """The weakest of several statuses (provisional < observed < strict-xsd < vendor-consensus
    < transcribed < seen); an unknown word counts as provisional."""
    ranked = [s for s in statuses if s]
    last = len(STATUS_ORDER) - 1
    return max(ranked, key=lambda s: STATUS_ORDER.index(s) if s in STATUS_ORDER else last,
               default="seen")


# ------------------------------------------------------------------ representation formats
_FMT_RE = re.compile(r"^(A|N|AN)(\d+)?(\.\.)?(\d+)?(?:,(\d+))?$")


@dataclass(frozen=True, slots=True)
class Format:
    """A WS 363 representation format such as AN..50, N..5,2, N2, D8, DT15, T6, T/F."""

    text: str
    kind: str                 # chars | date | datetime | time | boolean
    cls: str | None = None    # A | N | AN (chars)
    min_len: int | None = None
    max_len: int | None = None
    decimals: int | None = None

    @property
    def fixed(self) -> bool:
        return self.min_len is not None and self.min_len == self.max_len


def parse_format(text: str) -> Format:
    t = text.strip()
    if t == "T/F":
        return Format(t, "boolean")
    if t == "D8":
        return Format(t, "date", min_len=8, max_len=8)
    if t == "DT15":
        return Format(t, "datetime", min_len=15, max_len=15)
    if t == "T6":
        return Format(t, "time", min_len=6, max_len=6)
    m = _FMT_RE.match(t)
    if not m or not (m.group(2) or m.group(4)):
        raise ValueError(f"unknown representation format {text!r} (expected forms like AN..50, "
                         "N..3, N2, AN4..20, N..5,2, D8, DT15, T6, T/F)")
    cls, first, dots, second, dec = m.groups()
    if dots:
        lo = int(first) if first else None
        hi = int(second) if second else None
    else:
        if second:
            raise ValueError(f"cannot read representation format {text!r}")
        lo = hi = int(first)
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"representation format {text!r}: minimum length exceeds maximum")
    return Format(t, "chars", cls, lo, hi, int(dec) if dec else None)


# ------------------------------------------------------------------ definitions
@dataclass(slots=True)
class Element:
    index: int
    id: str
    de: str | None
    item: str | None
    name: str
    data_type: str
    format: Format
    value_set: str | None
    required: bool
    required_status: str
    status: str
    format_basis: str
    check: str | None
    source: str
    cda: dict[str, Any] | None
    aliases: tuple[str, ...] = ()
    internal_id: str | None = None
    occurrence: tuple[int, int] | None = None   # (k, n): the k-th of n elements sharing its DE

    @property
    def format_status(self) -> str:
        # every type and format the project has is background knowledge or derived: provisional
        return "provisional" if self.format_basis != "seen" else "seen"

    @property
    def label(self) -> str:
        code = self.de or self.item
        if code and self.occurrence and self.internal_id:  # 联系人姓名（HDSD00.02.039，DE02.01.039.00）
            code = f"{self.internal_id}，{code}"
        return f"{self.name}（{code}）" if code else self.name

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "internal_id": self.internal_id, "de": self.de,
                             "name": self.name,
                             "data_type": self.data_type, "format": self.format.text,
                             "value_set": self.value_set, "required": self.required,
                             "status": self.status, "format_basis": self.format_basis,
                             "source": self.source}
        if self.item:
            d["item"] = self.item
        if self.check:
            d["check"] = self.check
        if self.occurrence:
            d["occurrence"] = list(self.occurrence)
        if self.aliases:
            d["aliases"] = list(self.aliases)
        if self.cda:
            d["cda"] = self.cda
        return d


@dataclass(slots=True)
class DataSet:
    id: str
    profile: str
    name: str
    status: str
    elements_status: str
    elements: list[Element]
    raw: dict[str, Any]
    path: Path
    aliases: tuple[str, ...] = ()
    by_de: dict[str, list[Element]] = field(default_factory=dict)
    name_prefixes: tuple[str, ...] = ()   # formats.yaml optional_name_prefixes

    @property
    def provisional(self) -> bool:
        return self.status == "provisional" or self.elements_status == "provisional"

    def subject_rank(self, el: Element) -> tuple[int, int]:
        """Among elements sharing a DE id, the patient's first (患者姓名 before 主持人姓名, an
        element named with an optional leading word such as 患者), then the standard's order:
        the one record-level checks (ID number, identity, time order) read."""
        own = any(el.name.startswith(p) for p in self.name_prefixes)
        return (0 if own or not el.occurrence else 1, el.index)

    @property
    def formats_known(self) -> int:
        """Elements whose representation format is WS 363 knowledge (not a default derived
        from a value type or a name)."""
        return sum(1 for e in self.elements if e.format_basis in ("seen", "ws363-background"))

    def summary(self, lang: str = "zh") -> dict[str, Any]:
        r = self.raw
        d = {"id": self.id, "name": self.name, "profile": self.profile,
             "elements": len(self.elements),
             "required": sum(1 for e in self.elements if e.required),
             "coverage_required": len(self.elements), "formats_known": self.formats_known,
             "status": self.status, "elements_status": self.elements_status,
             "provisional": self.provisional, "standard": r.get("standard"),
             "documents": list(r.get("documents") or [])}
        for k in ("assessment_item", "level", "points", "optional_business", "part", "subset",
                  "number", "file_name", "ws445_name", "subset_id"):
            if k in r:
                d[k] = r[k]
        return d


@lru_cache(maxsize=1 << 18)  # headers are matched against every data set
def norm_label(s: str) -> str:
    """Normalise a column header / element name for matching: NFKC (full-width → half-width),
    no spaces or BOM, case-folded."""
    s = unicodedata.normalize("NFKC", s).replace("\ufeff", "")
    return re.sub(r"\s+", "", s).casefold()


_DE_LOOSE = re.compile(r"^DE(\d{2})[._]?(\d{2})[._]?(\d{3})[._]?(\d{2})$", re.IGNORECASE)


@lru_cache(maxsize=1 << 18)  # headers are matched against every data set
def norm_de(s: str) -> str | None:
    """'DE02.01.039.00', 'de02_01_039_00', 'DE020103900' → 'DE02.01.039.00'."""
    m = _DE_LOOSE.match(s.strip())
    return "DE{}.{}.{}.{}".format(*m.groups()) if m else None


_ELEMENT_KEYS = {"id", "internal_id", "de", "item", "name", "data_type", "format", "value_set",
                 "required", "required_status", "status", "format_basis", "check", "source",
                 "aliases", "cda"}
_INTERNAL_ID = re.compile(r"^HDSD\d{2}\.\d{2}\.\d{3}$")


class Definitions:
    """All data sets, their profiles, the data-set rules and the quality parameters."""

    def __init__(self, root: Path, catalog: Catalog) -> None:
        self.root = root
        self.catalog = catalog
        self.datasets: dict[str, DataSet] = {}
        self.aliases: dict[str, str] = {}
        self.rules: dict[str, Rule] = {}
        self._load()

    def _load(self) -> None:
        root = self.root
        if not root.is_dir():
            raise CatalogError(f"{root}: data-set definitions folder not found")
        self.formats = load_yaml(root / "formats.yaml") or {}
        self.profiles = (load_yaml(root / "profiles.yaml") or {}).get("profiles") or {}
        self.quality = load_yaml(root / "quality.yaml") or {}
        self.data_types: dict[str, dict[str, Any]] = self.formats.get("data_types") or {}
        rules = load_yaml(root / "rules.yaml") or {}
        self.ruleset = str(rules.get("ruleset", "unknown"))
        for rid, spec in (rules.get("rules") or {}).items():
            for key in ("layer", "severity", "message"):
                if key not in spec:
                    raise CatalogError(f"{root / 'rules.yaml'}: rule {rid} lacks '{key}'")
            self.rules[rid] = Rule(rid, spec["layer"], spec["severity"], spec.get("source", ""),
                                   spec["message"])
        for folder in ("ws445", "regional"):
            for path in sorted((root / folder).glob("*.yaml")):
                self._load_dataset(path)
        if not self.datasets:
            raise CatalogError(f"{root}: no data-set definitions (ws445/*.yaml, regional/*.yaml)")

    def _load_dataset(self, path: Path) -> None:
        d = load_yaml(path)
        if not isinstance(d, dict):
            raise CatalogError(f"{path}: expected a mapping")
        for key in ("id", "profile", "name", "elements"):
            if key not in d:
                raise CatalogError(f"{path}: missing key '{key}'")
        for key in ("status", "elements_status"):
            if d.get(key) is not None and str(d[key]) not in STATUS_ORDER:
                raise CatalogError(f"{path}: unknown {key} {d[key]!r} "
                                   f"(one of {', '.join(STATUS_ORDER)})")
        if d["profile"] not in self.profiles:
            raise CatalogError(f"{path}: unknown profile {d['profile']!r} "
                               f"(profiles.yaml defines {', '.join(self.profiles)})")
        elements = []
        ids: set[str] = set()
        for i, e in enumerate(d["elements"] or []):
            where = f"{path} element {i + 1}"
            if not isinstance(e, dict):
                raise CatalogError(f"{where}: expected a mapping")
            for key in ("id", "name", "data_type", "format"):
                if key not in e:
                    raise CatalogError(f"{where}: missing key '{key}'")
            unknown = set(e) - _ELEMENT_KEYS
            if unknown:
                raise CatalogError(f"{where}: unknown key(s) {', '.join(map(str, sorted(unknown)))} "
                                   "(a flow mapping needs values with ',' quoted)")
            if e["id"] in ids:
                raise CatalogError(f"{where}: element id {e['id']!r} defined twice")
            ids.add(e["id"])
            if e["data_type"] not in self.data_types:
                raise CatalogError(f"{where}: unknown data type {e['data_type']!r} "
                                   f"(formats.yaml defines {', '.join(self.data_types)})")
            try:
                fmt = parse_format(str(e["format"]))
            except ValueError as exc:
                raise CatalogError(f"{where}: {exc}") from None
            vs = e.get("value_set")
            if vs is not None and str(vs) not in self.catalog.value_sets:
                raise CatalogError(f"{where}: value set {vs} is not in vocabulary/value-sets.yaml")
            status = str(e.get("status", "provisional"))
            if status not in STATUS_ORDER:
                raise CatalogError(f"{where}: unknown status {status!r} "
                                   f"(one of {', '.join(STATUS_ORDER)})")
            iid = e.get("internal_id")
            if iid is not None and not _INTERNAL_ID.match(str(iid)):
                raise CatalogError(f"{where}: internal id {iid!r} is not like HDSD00.02.027")
            aliases = tuple(str(a) for a in e.get("aliases") or ())
            elements.append(Element(
                index=i, id=str(e["id"]), de=e.get("de"), item=e.get("item"), name=str(e["name"]),
                data_type=str(e["data_type"]), format=fmt,
                value_set=None if vs is None else str(vs), required=bool(e.get("required")),
                required_status=str(e.get("required_status", status)), status=status,
                format_basis=str(e.get("format_basis", "default")), check=e.get("check"),
                source=str(e.get("source", "")), cda=e.get("cda"), aliases=aliases,
                internal_id=None if iid is None else str(iid)))
        ds = DataSet(id=str(d["id"]), profile=str(d["profile"]), name=str(d["name"]),
                     status=str(d.get("status", "provisional")),
                     elements_status=str(d.get("elements_status", "provisional")),
                     elements=elements, raw=d, path=path,
                     name_prefixes=tuple(str(p) for p in
                                         self.formats.get("optional_name_prefixes") or ()))
        if ds.id in self.datasets:
            raise CatalogError(f"{path}: data set {ds.id} defined twice")
        for el in elements:
            if el.de:
                ds.by_de.setdefault(el.de, []).append(el)
        for de, same in ds.by_de.items():
            if len(same) > 1:   # 患者姓名 / 联系人姓名 / 建档者姓名 share DE02.01.039.00
                for k, el in enumerate(same, start=1):
                    el.occurrence = (k, len(same))
            else:               # names the vocabulary knows for the data element
                info = self.catalog.data_elements.get(de, {})
                known = [str(info["name"])] if info.get("name") else []
                known += [str(n) for n in info.get("names_seen") or ()]
                el = same[0]
                el.aliases = tuple(dict.fromkeys(list(el.aliases) + known))
        self.datasets[ds.id] = ds
        names = {ds.id, ds.name, str(d.get("label", ds.name))}
        if d.get("assessment_item"):
            names.add(str(d["assessment_item"]))
        if d.get("file_name"):
            names.add(str(d["file_name"]))
        docs = d.get("documents") or []
        if d["profile"] == "hospital" and d.get("part") != 1 and len(docs) == 1:
            names.add(str(docs[0]))  # C0002 → WS445.2.1 (C0001 splits into four subsets)
        ds.aliases = tuple(sorted(names))
        for n in names:
            self.aliases.setdefault(norm_label(n), ds.id)

    # ---------------------------------------------------------------- lookups
    def get(self, ident: str) -> DataSet | None:
        if ident in self.datasets:
            return self.datasets[ident]
        key = self.aliases.get(norm_label(ident))
        return self.datasets.get(key) if key else None

    def ordered(self, profile: str | None = None) -> list[DataSet]:
        def key(ds: DataSet) -> tuple:
            r = ds.raw
            return (list(self.profiles).index(ds.profile), int(r.get("part", r.get("number", 0))),
                    int(r.get("subset", 0)))
        items = [d for d in self.datasets.values() if profile in (None, d.profile)]
        return sorted(items, key=key)

    def by_document(self, code: str) -> DataSet | None:
        """The hospital subset a WS/T 500 document type maps to (C0001 maps to four subsets;
        the caller asks for each of them through `subsets_of_document`)."""
        subs = self.subsets_of_document(code)
        return subs[0] if subs else None

    def subsets_of_document(self, code: str) -> list[DataSet]:
        """The data sets a document type maps to (a variant code such as B0011 is its type)."""
        code = self.catalog.primary_code(code)
        return [d for d in self.ordered() if code in (d.raw.get("documents") or [])]

    def source_text(self, ids: list[str] | tuple[str, ...]) -> str:
        return self.catalog.source_text(ids)


def load_definitions(root: str | None = None) -> Definitions:
    return _load_definitions(str(Path(root) if root else standards_dir() / "datasets"))


@cache
def _load_definitions(root: str) -> Definitions:
    return Definitions(Path(root), load_catalog())
