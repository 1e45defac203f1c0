"""The WS 445-2014 element lists (standards/datasets/ws445/*.yaml): imported from a
transcription of the standard's tables, merged with what the project knows about each element.

A maintenance tool, not used at run time::

    python -m conformance.datasets.ws445 import PATH/ws445-elements.tsv   # (re)write the lists
    python -m conformance.datasets.ws445 check PATH/ws445-elements.tsv    # compare, write nothing

The transcription is a tab-separated table, one row per element of a subset (columns ``part``,
``part_title``, ``subset``, ``subset_id``, ``internal_id``, ``de_id``, ``name``; ``#`` lines are
comments). It is read, never copied: the project keeps its own files. What the table gives —
which elements a subset has (internal id ``HDSD00.pp.nnn``, data-element id, name) — is stored as
it is, with the corrections of ``profiles.yaml ws445_transcription`` (OCR-style typos). What it
lacks comes from the project's knowledge, element by element:

* data type and representation format: ``vocabulary/data-element-formats.yaml`` (WS 363
  background knowledge), else the element of the WS/T 500 template that carries the same data
  element (``derive.py``), else the CDA value type of the vocabulary, else the representation
  class word that ends the element name (``formats.yaml defaults.by_name``), else the generous
  default — all provisional;
* value set, the per-record "required" flag and where the value sits in a CDA document: from the
  template element that carries the same data element (matched by code and name).

Subsets are matched by part and name (the transcription's subset numbering is not the
project's ``WS445.P.S`` / assessment numbering ``2.1.P.S``). ``conformance.datasets.derive``
re-merges the stored lists without the transcription; the tests check both agree.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..catalog import load_yaml
from ..errors import ConformanceError
from ..resources import standards_dir
from .derive import Deriver, _dump

TSV_COLUMNS = ("part", "part_title", "subset", "subset_id", "internal_id", "de_id", "name")
_INTERNAL = re.compile(r"^HDSD00\.(\d{2})\.(\d{3})$")
_SUBSET_ID = re.compile(r"^HDSD00\.(\d{2})\.(\d{2})$")
_DE = re.compile(r"^DE\d{2}\.\d{2}\.\d{3}\.\d{2}$")
_PART = re.compile(r"^WS\s*445\.(\d{1,2})$")


class TranscriptionError(ConformanceError):
    """The transcription file cannot be used (names the file, line and problem)."""


@dataclass(frozen=True, slots=True)
class Row:
    part: int
    subset: str            # the subset's title in WS 445 (e.g. 患者基本信息子集), corrected
    subset_id: str | None  # HDSD00.pp.ss, None where the transcription has none
    internal_id: str       # HDSD00.pp.nnn
    de: str
    name: str              # corrected
    line: int


# ==================================================================== reading the transcription
class Fixes:
    """The corrections of profiles.yaml ``ws445_transcription`` (names and DE ids)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.names = [(re.compile(str(a)), str(b)) for a, b in spec.get("name_fixes") or []]
        self.des = {str(k): str(v) for k, v in (spec.get("de_fixes") or {}).items()}
        self.full_width_parens = bool(spec.get("full_width_parentheses", True))

    def name(self, text: str) -> str:
        s = unicodedata.normalize("NFC", text).strip()
        for pat, repl in self.names:
            s = pat.sub(repl, s)
        if self.full_width_parens:
            s = s.replace("(", "（").replace(")", "）")
        return re.sub(r"\s+", " ", s)

    def de(self, code: str) -> str:
        return self.des.get(code, code)


def read_transcription(path: str | Path, fixes: Fixes) -> list[Row]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise TranscriptionError(f"{p}: cannot read the transcription "
                                 f"({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise TranscriptionError(f"{p}: not UTF-8 text") from None
    rows: list[Row] = []
    header: list[str] | None = None
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if header is None:
            header = [f.strip() for f in fields]
            missing = [c for c in TSV_COLUMNS if c not in header]
            if missing:
                raise TranscriptionError(f"{p}:{n}: the header row lacks {', '.join(missing)} "
                                         f"(expected the tab-separated columns "
                                         f"{', '.join(TSV_COLUMNS)})")
            continue
        if len(fields) != len(header):
            raise TranscriptionError(f"{p}:{n}: {len(fields)} fields, the header has "
                                     f"{len(header)}")
        r = dict(zip(header, (f.strip() for f in fields), strict=True))
        m = _PART.match(r["part"])
        if not m:
            raise TranscriptionError(f"{p}:{n}: part {r['part']!r} is not like 'WS 445.1'")
        if not _INTERNAL.match(r["internal_id"]):
            raise TranscriptionError(f"{p}:{n}: internal id {r['internal_id']!r} is not like "
                                     "HDSD00.02.027")
        de = fixes.de(r["de_id"])
        if not _DE.match(de):
            raise TranscriptionError(f"{p}:{n}: data-element id {r['de_id']!r} is not like "
                                     "DE02.01.039.00")
        sid = r["subset_id"] if _SUBSET_ID.match(r["subset_id"]) else None
        if not r["name"] or not r["subset"]:
            raise TranscriptionError(f"{p}:{n}: empty subset or element name")
        rows.append(Row(int(m.group(1)), fixes.name(r["subset"]), sid, r["internal_id"], de,
                        fixes.name(r["name"]), n))
    if header is None or not rows:
        raise TranscriptionError(f"{p}: no element rows")
    return rows


def _key(name: str) -> str:
    """A subset name for matching: NFKC, no spaces, without the trailing 子集."""
    s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))
    return s[:-2] if s.endswith("子集") else s


def assign_subsets(rows: list[Row], subsets: list[dict[str, Any]], where: str
                   ) -> dict[str, list[Row]]:
    """Rows per project subset ('1.1' …), matched by part and name: the same name or label,
    else the same without a trailing 记录, else the one subset of the part whose name starts
    with the other. Every subset must find exactly one table and every table one subset."""
    tables: dict[tuple[int, str], list[Row]] = {}
    for r in rows:
        tables.setdefault((r.part, r.subset), []).append(r)
    out: dict[str, list[Row]] = {}
    used: set[tuple[int, str]] = set()
    for s in subsets:
        n = str(s["n"])
        part = int(n.split(".")[0])
        names = {_key(str(s["name"])), _key(str(s.get("label", s["name"])))}
        mine = [k for k in tables if k[0] == part and k not in used]
        tests = (lambda t, ns: t in ns,
                 lambda t, ns: t.removesuffix("记录") in ns or
                 any(t == x.removesuffix("记录") for x in ns),
                 lambda t, ns: any(x.startswith(t) or t.startswith(x) for x in ns))
        hits: list[tuple[int, str]] = []
        for test in tests:
            hits = [k for k in mine if test(_key(k[1]), names)]
            if hits:
                break
        if len(hits) != 1:
            found = ", ".join(k[1] for k in hits) or "none"
            raise TranscriptionError(f"{where}: WS 445.{part} subset {s['name']} ({n}) matches "
                                     f"{len(hits)} tables of the transcription ({found})")
        used.add(hits[0])
        out[n] = tables[hits[0]]
    left = [f"WS 445.{k[0]} {k[1]}" for k in tables if k not in used]
    if left:
        raise TranscriptionError(f"{where}: tables with no subset in profiles.yaml: "
                                 f"{', '.join(left)}")
    return out


# ==================================================================== the stored lists
@dataclass(slots=True)
class SubsetList:
    """What the project keeps of the transcription for one subset."""

    ws445_name: str
    subset_id: str | None
    elements: list[tuple[str, str, str]]      # (internal id, DE id, name), in table order


def lists_from_rows(assigned: dict[str, list[Row]]) -> dict[str, SubsetList]:
    out = {}
    for n, rows in assigned.items():
        seen: set[tuple[str, str, str]] = set()
        els = []
        for r in rows:
            t = (r.internal_id, r.de, r.name)
            if t not in seen:        # an exact repeat of a row says nothing more
                seen.add(t)
                els.append(t)
        ids = {r.subset_id for r in rows if r.subset_id}
        out[n] = SubsetList(rows[0].subset, ids.pop() if len(ids) == 1 else None, els)
    return out


def stored_lists(folder: Path | None = None) -> dict[str, SubsetList]:
    """The lists in the committed ws445/*.yaml files."""
    folder = folder or standards_dir() / "datasets" / "ws445"
    out = {}
    for path in sorted(folder.glob("WS445.*.yaml")):
        d = load_yaml(path) or {}
        els = d.get("elements") or []
        if not d.get("ws445_name") or any("internal_id" not in e for e in els):
            raise SystemExit(f"{path} has no transcribed element list: run `python -m "
                             "conformance.datasets.ws445 import PATH/ws445-elements.tsv` first")
        out[f"{d['part']}.{d['subset']}"] = SubsetList(
            str(d["ws445_name"]), d.get("subset_id"),
            [(str(e["internal_id"]), str(e["de"]), str(e["name"])) for e in els])
    return out


# ==================================================================== merging
def _norm(s: str) -> str:
    return re.sub(r"[\s\-－—_·/、]+", "", unicodedata.normalize("NFKC", s)).casefold()


class Merger:
    """Turns (internal id, DE id, name) lists into the project's element definitions."""

    def __init__(self, deriver: Deriver | None = None) -> None:
        self.d = deriver or Deriver()
        self.by_name = list((self.d.formats.get("defaults") or {}).get("by_name") or [])
        self.spec = self.d.profiles.get("ws445_transcription") or {}
        self.status = str(self.spec.get("status", "transcribed"))

    # ---------------------------------------------------------------- types and formats
    def _from_name(self, name: str) -> tuple[str, str] | None:
        n = unicodedata.normalize("NFKC", name)
        for rule in self.by_name:
            ends = rule.get("ends")
            ends = [ends] if isinstance(ends, str) else list(ends or [])
            pattern = rule.get("pattern")
            if any(n.endswith(e) for e in ends) or (pattern and re.search(pattern, n)):
                return str(rule["data_type"]), str(rule["format"])
        return None

    def type_format(self, de: str, name: str, value_set: str | None
                    ) -> tuple[str, str, str]:
        """(data type, format, basis) of an element no template element matched."""
        if de in self.d.known:
            k = self.d.known[de]
            return k["data_type"], k["format"], "ws363-background"
        vt = self.d.cat.data_elements.get(de, {}).get("value_type")
        if vt:
            return self.d._type_format(de, name, vt, value_set)
        by_name = self._from_name(name)
        if by_name is not None:
            return by_name[0], by_name[1], "derived-from-name"
        return self.d._type_format(de, name, None, value_set)

    # ---------------------------------------------------------------- template elements
    def match(self, rows: list[tuple[str, str, str]], old: list[dict[str, Any]]
              ) -> dict[int, dict[str, Any]]:
        """Row index → the template-derived element that carries the same data element. In
        rounds of falling certainty — the same HDSD item code; the same code and name; the same
        code and the name with an optional leading word (患者姓名 ← 姓名); the only element with
        that code when the table has the code once; the same code and a name that ends with the
        other's — a row and an element are paired when each is the other's only candidate."""
        prefixes = [str(p) for p in self.d.formats.get("optional_name_prefixes") or []]
        de_count: dict[str, int] = {}
        for _, de, _ in rows:
            de_count[de] = de_count.get(de, 0) + 1

        def prefixed(a: str, b: str) -> bool:
            return any(_norm(a) == _norm(p + b) for p in prefixes)

        rounds = [
            lambda r, o: o.get("item") == r[0],
            lambda r, o: (o["de"] == r[1] or (o["de"] is None and not o.get("item")))
            and _norm(o["name"]) == _norm(r[2]),
            lambda r, o: o["de"] == r[1] and (prefixed(r[2], o["name"]) or
                                              prefixed(o["name"], r[2])),
            lambda r, o: o["de"] == r[1] and de_count[r[1]] == 1,
            lambda r, o: o["de"] == r[1] and (_norm(r[2]).endswith(_norm(o["name"])) or
                                              _norm(o["name"]).endswith(_norm(r[2]))),
        ]
        out: dict[int, dict[str, Any]] = {}
        taken: set[int] = set()
        for test in rounds:
            pairs = [(i, j) for i, r in enumerate(rows) if i not in out
                     for j, o in enumerate(old) if j not in taken and test(r, o)]
            by_row: dict[int, list[int]] = {}
            by_old: dict[int, list[int]] = {}
            for i, j in pairs:
                by_row.setdefault(i, []).append(j)
                by_old.setdefault(j, []).append(i)
            for i, js in by_row.items():
                if len(js) == 1 and len(by_old[js[0]]) == 1:
                    out[i] = old[js[0]]
                    taken.add(js[0])
        return out

    def elements(self, rows: list[tuple[str, str, str]], old: list[dict[str, Any]],
                 table: str) -> list[dict[str, Any]]:
        matched = self.match(rows, old)
        id_count: dict[str, int] = {}
        for iid, _, _ in rows:
            id_count[iid] = id_count.get(iid, 0) + 1
        out = []
        for i, (iid, de, name) in enumerate(rows):
            o = matched.get(i)
            el: dict[str, Any] = {"id": iid if id_count[iid] == 1 else f"{iid}:{name}",
                                  "internal_id": iid, "de": de, "name": name}
            vs = None
            if o is not None:
                vs = o.get("value_set")
            if vs is None:
                vs = self.d.cat.data_elements.get(de, {}).get("value_set")
            if o is not None and o.get("format_basis") not in (None, "default") and \
                    de not in self.d.known:
                dtype, fmt, basis = o["data_type"], o["format"], o["format_basis"]
            else:
                dtype, fmt, basis = self.type_format(de, name, vs)
            el.update({"data_type": dtype, "format": fmt})
            if vs:
                el["value_set"] = str(vs)
            required = bool(o and o.get("required"))
            el["required"] = required
            if required:
                el["required_status"] = o.get("required_status", o.get("status"))  # type: ignore
            el["status"] = self.status
            el["format_basis"] = basis
            if de == self.d.id_element:
                el["check"] = "resident_id"
            elif o is not None and o.get("check"):
                el["check"] = o["check"]
            src = f"WS 445 {table} (transcription)"
            if o is not None:
                src += f"; as {o['name']} in {o['source']}"
            el["source"] = src
            if o is not None and _norm(o["name"]) != _norm(name):
                el["aliases"] = [o["name"]]
            if o is not None and o.get("cda"):
                el["cda"] = o["cda"]
            out.append(el)
        return out

    # ---------------------------------------------------------------- data sets
    def datasets(self, lists: dict[str, SubsetList]) -> list[dict[str, Any]]:
        """The 58 subset definitions: metadata as derive.py gives it, elements from the lists."""
        source = str(self.spec.get("source", "ws445-transcription"))
        out = []
        for item in self.d.ws445():
            n = f"{item['part']}.{item['subset']}"
            lst = lists.get(n)
            if lst is None:
                raise SystemExit(f"no transcribed element list for WS445.{n} {item['name']}")
            old = item["elements"]
            head = {k: v for k, v in item.items() if k not in ("elements", "provenance",
                                                                "elements_status")}
            docs = ", ".join(item["documents"]) or "none"
            d: dict[str, Any] = dict(head)
            d["ws445_name"] = lst.ws445_name
            d["subset_id"] = lst.subset_id
            d["elements_status"] = self.status
            d["provenance"] = {
                "identity": list(item["provenance"]["identity"]),
                "elements": [source],
                "note": (f"element list: the table of {lst.ws445_name} in WS 445.{item['part']}"
                         f"-2014 as a vendor transcription gives it, cross-checked against the "
                         f"(internal id, DE id) pairs quoted in the reference samples; data "
                         f"types, formats, value sets and CDA locations: project knowledge "
                         f"(WS 363 background, WS/T 500 template(s) {docs}), provisional"),
            }
            d["elements"] = self.elements(lst.elements, old, lst.ws445_name)
            out.append(d)
        return out


_HEAD = """# {id} {name} — data-set definition, GENERATED by `python -m conformance.datasets.ws445 import`
# (element list from the WS 445 transcription) and `python -m conformance.datasets.derive`
# (re-merge without it). Edit profiles.yaml, formats.yaml or the vocabulary, then re-run derive.
# elements: id (unique in the set: the internal id, `internal id:name` when the table repeats
# it), internal_id (HDSD00.pp.nnn), de (WS 363 data-element id), name, data_type, format,
# value_set, required (a value in every record), status (of the element's membership),
# format_basis, source, aliases (other names the project knows), cda (where the value sits in a
# CDA document of the mapped type).
"""


def dump(item: dict[str, Any]) -> str:
    return _dump(item, _HEAD)


def write(items: list[dict[str, Any]], folder: Path | None = None) -> list[Path]:
    folder = folder or standards_dir() / "datasets" / "ws445"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for item in items:
        path = folder / f"{item['id']}.yaml"
        path.write_text(dump(item), encoding="utf-8")
        written.append(path)
    return written


def from_transcription(path: str | Path, merger: Merger | None = None
                       ) -> dict[str, SubsetList]:
    merger = merger or Merger()
    fixes = Fixes(merger.spec)
    rows = read_transcription(path, fixes)
    return lists_from_rows(assign_subsets(rows, merger.d.profiles["ws445_subsets"], str(path)))


def compare(a: dict[str, SubsetList], b: dict[str, SubsetList]) -> list[str]:
    """Differences between two sets of lists (for `check` and the tests)."""
    out = []
    for n in sorted(set(a) | set(b), key=lambda x: tuple(int(p) for p in x.split("."))):
        x, y = a.get(n), b.get(n)
        if x is None or y is None:
            out.append(f"WS445.{n}: only in {'the first' if y is None else 'the second'}")
            continue
        if (x.ws445_name, x.subset_id) != (y.ws445_name, y.subset_id):
            out.append(f"WS445.{n}: {x.ws445_name} {x.subset_id} ≠ {y.ws445_name} {y.subset_id}")
        if x.elements != y.elements:
            gone = [e for e in x.elements if e not in y.elements]
            new = [e for e in y.elements if e not in x.elements]
            out.append(f"WS445.{n} {x.ws445_name}: {len(x.elements)} ≠ {len(y.elements)} "
                       f"elements; only in the first: {gone[:3]}; only in the second: {new[:3]}"
                       + ("" if gone or new else " (order differs)"))
    return out


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - maintenance entry point
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] not in ("import", "check"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    merger = Merger()
    try:
        lists = from_transcription(args[1], merger)
    except TranscriptionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args[0] == "check":
        diff = compare(stored_lists(), lists)
        for line in diff:
            print(line)
        print("in sync" if not diff else f"{len(diff)} subsets differ")
        return 1 if diff else 0
    written = write(merger.datasets(lists))
    total = sum(len(x.elements) for x in lists.values())
    print(f"{len(written)} subsets, {total} elements written under {written[0].parent}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
