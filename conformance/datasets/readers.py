"""Read data-set exports as tables of text values, streamed: CSV (UTF-8, UTF-8 with BOM, GBK /
GB 18030, UTF-16 with BOM), XLSX (openpyxl, read-only; title rows and merged multi-row headers),
JSON lines, and XML data-set files (records named like EHR-DE-NN-<名称>-T01).

A ``Table`` is a small picklable description (path, encoding, header, byte offsets); its rows
are read on demand, in byte-range partitions for CSV and JSON lines so that several processes
or Dask workers can read one large file in parallel with constant memory each.
"""

from __future__ import annotations

import codecs
import csv
import glob
import io
import json
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from .. import xmlsafe
from ..catalog import HL7_NS
from ..errors import ConformanceError
from ..i18n import Phrase, local
from ..inputs import InputError, Task, _zip_tasks, read_task

TABLE_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".jsonl": "jsonl",
                  ".ndjson": "jsonl", ".json": "json", ".xlsx": "xlsx", ".xlsm": "xlsx",
                  ".xml": "xml"}
SAMPLE_BYTES = 256 * 1024
BLOCK = 8 * 1024 * 1024
MIN_PARTITION_BYTES = 1024 * 1024
JSON_HEADER_SAMPLE = 1000
MAX_HEADER_ROWS = 6
CDA_ROOT = f"{{{HL7_NS}}}ClinicalDocument"
_SEEKABLE_ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "gbk", "gb2312", "ascii", "latin-1")

# The longest header or record read (characters; a record may span lines inside quotes). Lines
# are read in chunks of at most this much, so a file without a newline never sits whole in
# memory: a longer record is a DS.RECORD_TOO_LARGE finding on its line.
MAX_RECORD_CHARS = 16 * 1024 * 1024

csv.field_size_limit(MAX_RECORD_CHARS)


class ReadError(ConformanceError):
    """A problem reading a table: becomes a finding (rule) on the file."""

    def __init__(self, rule: str, detail: str | Phrase, line: int | None = None,
                 actual: str | None = None) -> None:
        super().__init__(local(detail, "en"))
        self.rule, self.detail, self.line, self.actual = rule, detail, line, actual

    def render(self, lang: str = "zh") -> str:
        return str(local(self.detail, lang))

    def __reduce__(self) -> Any:
        return (ReadError, (self.rule, self.detail, self.line, self.actual))


@dataclass(frozen=True, slots=True)
class Source:
    display: str
    path: str
    kind: str                      # csv | json | jsonl | xlsx | xml
    member: str | None = None      # zip member (XML data-set files zipped as <记录>_<姓名>.xml)
    inner: str | None = None       # member of the archive `member` is (a zip inside the zip)
    archive_error: bool = False    # an archive that cannot be opened: reading it says why

    @property
    def name(self) -> str:
        return Path(self.inner or self.member or self.path).name

    def task(self) -> Task:
        return Task(self.display, self.path, self.member,
                    kind="zip" if self.archive_error else "file", inner=self.inner)


def expand_sources(args: list[str]) -> list[Source]:
    """PATH arguments → sources: files, folders (recursive), glob patterns, .zip archives (their
    XML members). Stable order, no duplicates. Raises InputError for an unusable argument."""
    out: list[Source] = []
    seen: set[tuple[str, str | None, str | None]] = set()

    def add(src: Source) -> None:
        key = (os.path.realpath(src.path), src.member, src.inner)
        if key not in seen:
            seen.add(key)
            out.append(src)

    def from_file(p: Path, explicit: bool) -> None:
        suffix = p.suffix.lower()
        if suffix == ".zip":
            for t in _zip_tasks(p):
                add(Source(t.display, t.path, "xml", t.member, t.inner, t.kind == "zip"))
            return
        kind = TABLE_SUFFIXES.get(suffix)
        if kind is None:
            if explicit:
                raise InputError(f"{p}: unsupported file type {suffix or '(none)'} (give .csv, "
                                 ".tsv, .xlsx, .jsonl, .json, .xml or .zip)")
            return
        add(Source(str(p), str(p), kind))

    for arg in args:
        p = Path(arg)
        if p.is_dir():
            found = []
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames.sort()
                found += [Path(dirpath) / f for f in filenames if not f.startswith((".", "~$"))]
            for f in sorted(found):
                from_file(f, explicit=False)
        elif p.exists():
            from_file(p, explicit=True)
        elif any(ch in arg for ch in "*?["):
            matches = sorted(glob.glob(arg, recursive=True))
            if not matches:
                raise InputError(f"{arg}: the pattern matches no file")
            for m in matches:
                mp = Path(m)
                if mp.is_file():
                    from_file(mp, explicit=False)
        else:
            raise InputError(f"{arg}: no such file or directory")
    return out


@dataclass(frozen=True, slots=True)
class Partition:
    index: int
    start: int          # byte offset of the first record
    end: int            # byte offset after the last record
    first_line: int     # line number of the first record


@dataclass(slots=True)
class Table:
    source: Source
    kind: str
    columns: list[str]
    column_paths: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    data_start: int = 0
    first_line: int = 2
    size: int = 0
    sheet: str | None = None
    header_rows: int = 1
    title_rows: int = 0
    info: str | Phrase = ""          # how it was read (a phrase: datasets.read.*)
    records: list[tuple[int, list[str]]] | None = field(default=None, repr=False)
    cda: bool = False

    @property
    def display(self) -> str:
        return f"{self.source.display}#{self.sheet}" if self.sheet else self.source.display

    @property
    def partitionable(self) -> bool:
        return self.kind in ("csv", "jsonl") and (self.encoding or "utf-8") in _SEEKABLE_ENCODINGS

    # ---------------------------------------------------------------- partitions
    def partitions(self, n: int) -> list[Partition]:
        """Byte ranges aligned to record starts (a newline outside a quoted field), with the line
        number each starts on. One partition when the file is small or cannot be split."""
        whole = [Partition(0, self.data_start, self.size, self.first_line)]
        if self.records is not None or not self.partitionable or n <= 1:
            return whole
        span = self.size - self.data_start
        if span < MIN_PARTITION_BYTES * 2:
            return whole
        n = min(n, max(1, span // MIN_PARTITION_BYTES))
        targets = [self.data_start + span * k // n for k in range(1, n)]
        quote = b'"' if self.kind == "csv" else None
        bounds: list[tuple[int, int]] = []  # (byte offset, lines before it since data_start)
        with open(self.source.path, "rb") as fh:
            fh.seek(self.data_start)
            pos, lines, quotes = self.data_start, 0, 0
            ti = 0
            while ti < len(targets):
                block = fh.read(BLOCK)
                if not block:
                    break
                j = max(0, targets[ti] - pos)
                while ti < len(targets) and j < len(block):
                    i = block.find(b"\n", j)
                    if i < 0:
                        break
                    if quote is not None and (quotes + block.count(quote, 0, i)) & 1:
                        j = i + 1  # inside a quoted field: try the next newline
                        continue
                    bounds.append((pos + i + 1, lines + block.count(b"\n", 0, i) + 1))
                    ti += 1
                    j = max(i + 1, targets[ti] - pos) if ti < len(targets) else len(block)
                if quote is not None:
                    quotes += block.count(quote)
                lines += block.count(b"\n")
                pos += len(block)
        parts = []
        start, line = self.data_start, self.first_line
        for off, nl in bounds:
            if off >= self.size or off <= start:
                continue
            parts.append(Partition(len(parts), start, off, line))
            start, line = off, self.first_line + nl
        parts.append(Partition(len(parts), start, self.size, line))
        return parts

    # ---------------------------------------------------------------- rows
    def rows(self, part: Partition | None = None) -> Iterator[tuple[int, list[str]]]:
        """(line, values) per record. Raises ReadError for a problem that stops the reading."""
        if self.records is not None:
            yield from self.records
            return
        if self.kind == "xlsx":
            yield from _xlsx_rows(self)
            return
        part = part or self.partitions(1)[0]
        if self.kind == "csv":
            yield from _csv_rows(self, part)
        elif self.kind == "jsonl":
            yield from _jsonl_rows(self, part)
        else:  # pragma: no cover - guarded by open_tables
            raise ReadError("DS.FILE_FORMAT", f"cannot stream {self.kind}")


# ==================================================================== opening
def open_tables(src: Source, *, encoding: str | None = None, delimiter: str | None = None,
                sheet: str | None = None, header_rows: int | None = None,
                max_bytes: int = 200 * 1024 * 1024) -> list[Table]:
    """Open one source: one table, or one per non-empty sheet of a workbook. Raises ReadError."""
    try:
        if src.kind == "csv":
            return [_open_csv(src, encoding, delimiter)]
        if src.kind in ("jsonl", "json"):
            return [_open_json(src, encoding, max_bytes)]
        if src.kind == "xlsx":
            return _open_xlsx(src, sheet, header_rows)
        if src.kind == "xml":
            return [_open_xml(src, max_bytes)]
    except ReadError:
        raise
    except OSError as exc:
        raise ReadError("DS.IO_ERROR", f"{type(exc).__name__}: {exc}") from None
    raise ReadError("DS.FILE_FORMAT", f"unsupported kind {src.kind}")


def _detect_encoding(head: bytes) -> tuple[str, int]:
    """(encoding, BOM length). BOM first; then strict UTF-8 on the sample; else GB 18030 (a
    superset of GBK, what Chinese Excel and Windows tools write)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", 3
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", 2
    sample = head
    for cut in range(4):  # the sample may end inside a multi-byte character
        try:
            (sample[: len(sample) - cut] if cut else sample).decode("utf-8")
            return "utf-8", 0
        except UnicodeDecodeError as exc:
            if exc.start < len(sample) - 4:
                break
    try:
        head.decode("gb18030")
        return "gb18030", 0
    except UnicodeDecodeError:
        return "gb18030", 0  # best guess; a decoding finding will name the row


def _canonical_encoding(enc: str) -> str:
    try:
        return codecs.lookup(enc).name
    except LookupError:
        raise ReadError("DS.FILE_FORMAT", Phrase("datasets.read.unknown_encoding",
                                                 encoding=repr(enc))) from None


def _open_csv(src: Source, encoding: str | None, delimiter: str | None) -> Table:
    size = os.path.getsize(src.path)
    with open(src.path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    if not head.strip():
        return Table(src, "csv", [], [], encoding="utf-8", size=size, info=Phrase("datasets.read.empty_file"))
    if encoding:
        enc = _canonical_encoding(encoding)
        bom = 3 if enc == "utf-8" and head.startswith(codecs.BOM_UTF8) else 0
        if bom:
            enc = "utf-8-sig"
    else:
        enc, bom = _detect_encoding(head)
    sample = head[bom:].decode(enc if enc != "utf-8-sig" else "utf-8", errors="ignore")
    first = sample.split("\n", 1)[0]
    if delimiter is None:
        counts = {d: first.count(d) for d in (",", "\t", ";", "|")}
        delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    # header: the first record (read as text so a quoted header cell may hold a newline)
    with open(src.path, encoding=enc, newline="") as tf:
        reader = csv.reader(_BoundedLines(tf), delimiter=delimiter)
        try:
            header = next(reader, [])
        except (UnicodeDecodeError, csv.Error) as exc:
            hint = Phrase("datasets.read.encoding_hint") \
                if isinstance(exc, UnicodeDecodeError) else ""
            raise ReadError("DS.FILE_FORMAT", Phrase("datasets.read.header", error=str(exc),
                                                     hint=hint), 1) from None
        header_lines = reader.line_num
    header = [h.strip().lstrip("\ufeff") for h in header]
    data_start = 0
    if enc in _SEEKABLE_ENCODINGS:
        data_start = _offset_after_lines(src.path, bom, header_lines, quote=b'"')
    names = {"utf-8-sig": "UTF-8 (BOM)", "utf-8": "UTF-8", "gb18030": "GB 18030/GBK",
             "utf-16": "UTF-16"}
    info = Phrase("datasets.read.csv", encoding=names.get(enc, enc), delimiter=repr(delimiter))
    return Table(src, "csv", header, list(header), encoding=enc, delimiter=delimiter,
                 data_start=data_start, first_line=header_lines + 1, size=size, info=info)


def _offset_after_lines(path: str, start: int, nlines: int, quote: bytes | None) -> int:
    """Byte offset after the first `nlines` record lines (newlines outside quotes)."""
    with open(path, "rb") as fh:
        fh.seek(start)
        pos, quotes, seen = start, 0, 0
        while True:
            block = fh.read(1 << 20)
            if not block:
                return pos
            j = 0
            while True:
                i = block.find(b"\n", j)
                if i < 0:
                    break
                if quote is None or not (quotes + block.count(quote, 0, i)) & 1:
                    seen += 1
                    if seen >= nlines:
                        return pos + i + 1
                j = i + 1
            if quote is not None:
                quotes += block.count(quote)
            pos += len(block)


def _too_large(line: int) -> ReadError:
    return ReadError("DS.RECORD_TOO_LARGE", f"{MAX_RECORD_CHARS:,}", line, actual=str(line))


class _BoundedLines:
    """The lines of a text stream, each read with a size bound; the characters read since the
    last ``start()`` (one record, perhaps several lines) may not exceed MAX_RECORD_CHARS."""

    def __init__(self, text: Any, line: int = 1) -> None:
        self.readline = text.readline
        self.limit = MAX_RECORD_CHARS
        self.used = 0
        self.line = line        # the line the current record starts on (for the finding)

    def start(self, line: int) -> None:
        self.used, self.line = 0, line

    def __iter__(self) -> Iterator[str]:
        readline, limit = self.readline, self.limit
        while True:
            chunk = readline(limit + 1 - self.used)
            if not chunk:
                return
            self.used += len(chunk)
            if self.used > limit:
                raise _too_large(self.line)
            yield chunk


class _RangeRaw(io.RawIOBase):
    """A read-only window [start, end) of a file."""

    def __init__(self, path: str, start: int, end: int) -> None:
        self.fh = open(path, "rb")  # noqa: SIM115 - closed in close()
        self.fh.seek(start)
        self.left = end - start

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self.left <= 0:
            return 0
        n = min(len(b), self.left)
        data = self.fh.read(n)
        b[: len(data)] = data
        self.left -= len(data)
        return len(data)

    def close(self) -> None:
        self.fh.close()
        super().close()


def _text_window(table: Table, part: Partition) -> io.TextIOWrapper:
    enc = table.encoding or "utf-8"
    if enc == "utf-8-sig" and part.start > 0:
        enc = "utf-8"
    return io.TextIOWrapper(io.BufferedReader(_RangeRaw(table.source.path, part.start, part.end),
                                              buffer_size=1 << 20),
                            encoding=enc, newline="")


def _csv_rows(table: Table, part: Partition) -> Iterator[tuple[int, list[str]]]:
    if table.partitionable:
        text = _text_window(table, part)
        skip = 0
    else:  # e.g. UTF-16: read from the start, skip the header record
        text = open(table.source.path, encoding=table.encoding, newline="")  # noqa: SIM115
        skip = 1
    base = part.first_line if table.partitionable else 1
    with text:
        lines = _BoundedLines(text, base)
        reader = csv.reader(lines, delimiter=table.delimiter or ",")
        prev = 0
        try:
            for row in reader:
                line = base + prev
                prev = reader.line_num
                lines.start(base + prev)
                if skip:
                    skip -= 1
                    continue
                if row:
                    yield line, row
        except UnicodeDecodeError:
            line = _locate_decode_error(table, part) or base + prev
            raise ReadError("DS.ENCODING", table.encoding or "utf-8", line,
                            actual=str(line)) from None
        except csv.Error as exc:
            raise ReadError("DS.FILE_FORMAT", f"CSV: {exc}", base + prev) from None


def _locate_decode_error(table: Table, part: Partition) -> int | None:
    """The line on which decoding first fails (text readers decode ahead of the parser, so
    their position is not the place): a slow binary rescan, run once when it happens."""
    if not table.partitionable:
        return None
    enc = table.encoding or "utf-8"
    enc = "utf-8" if enc == "utf-8-sig" else enc
    line = part.first_line
    with open(table.source.path, "rb") as fh:
        fh.seek(part.start)
        left = part.end - part.start
        while left > 0:
            raw = fh.readline(min(left, 1 << 24))
            if not raw:
                return None
            left -= len(raw)
            try:
                raw.decode(enc)
            except UnicodeDecodeError:
                return line
            line += 1
    return None


def _flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "T" if v else "F"
    if isinstance(v, datetime):
        return f"{v:%Y%m%d}" if v.time() == time(0) else f"{v:%Y%m%dT%H%M%S}"
    if isinstance(v, date):
        return f"{v:%Y%m%d}"
    if isinstance(v, time):
        return f"{v:%H%M%S}"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _open_json(src: Source, encoding: str | None, max_bytes: int) -> Table:
    size = os.path.getsize(src.path)
    enc = _canonical_encoding(encoding) if encoding else None
    with open(src.path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    if enc is None:
        enc, _ = _detect_encoding(head)
    text_head = head.decode(enc, errors="ignore").lstrip("\ufeff").lstrip()
    if src.kind == "json" and text_head.startswith("["):
        if size > max_bytes:
            raise ReadError("DS.FILE_FORMAT", Phrase("datasets.read.json_too_large", size=size,
                                                     max=max_bytes))
        try:
            with open(src.path, encoding=enc) as fh:
                data = json.load(fh)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ReadError("DS.FILE_FORMAT", f"JSON: {exc}") from None
        if not isinstance(data, list):
            raise ReadError("DS.FILE_FORMAT", Phrase("datasets.read.json_not_array"))
        recs = [_flatten(o) for o in data if isinstance(o, dict)]
        cols = list(dict.fromkeys(k for r in recs for k in r))
        records = [(i + 1, [_cell(r.get(c)) for c in cols]) for i, r in enumerate(recs)]
        return Table(src, "jsonl", cols, list(cols), encoding=enc, size=size, records=records,
                     info=Phrase("datasets.read.json_array", encoding=enc))
    cols: dict[str, None] = {}
    n = 0
    with open(src.path, encoding=enc, errors="replace") as fh:
        lines = _BoundedLines(fh)
        for line in lines:
            lines.start(lines.line + 1)
            line = line.strip().lstrip("\ufeff")
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                cols.update(dict.fromkeys(_flatten(obj)))
            n += 1
            if n >= JSON_HEADER_SAMPLE:
                break
    columns = list(cols)
    bom = 3 if head.startswith(codecs.BOM_UTF8) else 0
    return Table(src, "jsonl", columns, list(columns), encoding=enc, data_start=bom,
                 first_line=1, size=size,
                 info=Phrase("datasets.read.json_lines", encoding=enc, n=JSON_HEADER_SAMPLE))


def _jsonl_rows(table: Table, part: Partition) -> Iterator[tuple[int, list[str]]]:
    index = {c: i for i, c in enumerate(table.columns)}
    width = len(table.columns)
    line = part.first_line - 1
    with _text_window(table, part) as text:
        lines = _BoundedLines(text, part.first_line)
        try:
            for raw in lines:
                line += 1
                lines.start(line + 1)
                raw = raw.strip()
                if not raw:
                    continue
                try:
                    obj = json.loads(raw)
                except json.JSONDecodeError as exc:
                    yield line, _BadRecord(f"JSON: {exc.msg} (column {exc.colno})")
                    continue
                if not isinstance(obj, dict):
                    yield line, _BadRecord("JSON: the line is not an object")
                    continue
                row = [""] * width
                for k, v in (_flatten(obj) if any(isinstance(x, dict) for x in obj.values())
                             else obj).items():
                    i = index.get(k)
                    if i is not None:
                        row[i] = _cell(v)
                yield line, row
        except UnicodeDecodeError:
            bad = _locate_decode_error(table, part) or line + 1
            raise ReadError("DS.ENCODING", table.encoding or "utf-8", bad,
                            actual=str(bad)) from None


class _BadRecord(list):
    """A record that could not be read (the engine reports `reason` at its line)."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


# ---------------------------------------------------------------- XLSX
_CELL_RE = re.compile(r"^([A-Z]+)(\d+)$")


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _merged_ranges(archive: zipfile.ZipFile, sheet_path: str) -> list[tuple[int, int, int, int]]:
    """(min_row, min_col, max_row, max_col) of every merged range, read from the sheet XML with
    a hardened streaming parser (openpyxl's read-only mode does not load them)."""
    from lxml import etree

    out = []
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    with archive.open(sheet_path.lstrip("/")) as fh:
        for _, el in etree.iterparse(fh, events=("end",), tag=(ns + "mergeCell", ns + "row"),
                                     resolve_entities=False, no_network=True, load_dtd=False,
                                     huge_tree=False):
            if el.tag == ns + "mergeCell":
                ref = el.get("ref") or ""
                a, _, b = ref.partition(":")
                ma, mb = _CELL_RE.match(a), _CELL_RE.match(b or a)
                if ma and mb:
                    out.append((int(ma.group(2)), _col_index(ma.group(1)),
                                int(mb.group(2)), _col_index(mb.group(1))))
            el.clear()
            while el.getprevious() is not None:
                del el.getparent()[0]
    return out


def _open_xlsx(src: Source, sheet: str | None, header_rows: int | None) -> list[Table]:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - a declared dependency
        raise ReadError("DS.FILE_FORMAT", "openpyxl is not installed") from None
    try:
        wb = openpyxl.load_workbook(src.path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ReadError("DS.FILE_FORMAT", Phrase("datasets.read.xlsx_unreadable",
                                                 error=f"{type(exc).__name__}: {exc}")) from None
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise ReadError("DS.FILE_FORMAT", Phrase("datasets.read.no_sheet", sheet=repr(sheet),
                                                     sheets=", ".join(wb.sheetnames)))
        tables = []
        for ws in wb.worksheets:
            if sheet is not None and ws.title != sheet:
                continue
            t = _xlsx_table(src, wb, ws, header_rows)
            if t is not None:
                tables.append(t)
        if not tables:
            return [Table(src, "xlsx", [], [], info=Phrase("datasets.read.empty_workbook"))]
        if len(tables) == 1 and len(wb.worksheets) == 1:
            tables[0].sheet = None  # one sheet: report the file name alone
        return tables
    finally:
        wb.close()


def _xlsx_table(src: Source, wb: Any, ws: Any, header_rows: int | None) -> Table | None:
    head = [list(r) for r in ws.iter_rows(min_row=1, max_row=MAX_HEADER_ROWS * 3,
                                          values_only=True)]
    if not any(any(v not in (None, "") for v in r) for r in head):
        return None
    merged = _merged_ranges(wb._archive, ws._worksheet_path)
    width = max((len(r) for r in head), default=0)
    for r in head:
        r.extend([None] * (width - len(r)))

    def filled(r: int) -> list[int]:  # 1-based columns with a value in 1-based row r
        if r - 1 >= len(head):
            return []
        return [i + 1 for i, v in enumerate(head[r - 1]) if v not in (None, "")]

    # leading title rows: one value (often merged across the table) above the real header
    r0 = 1
    while r0 < len(head) and len(filled(r0)) == 1 and len(filled(r0 + 1)) > 1:
        r0 += 1
    title_rows = r0 - 1
    if header_rows is None:
        hr = 1
        grow = True
        while grow and hr < MAX_HEADER_ROWS:
            grow = False
            last = r0 + hr - 1
            for (a, c1, b, c2) in merged:
                if r0 <= a <= last and b > last:      # a header cell spanning further down
                    hr = b - r0 + 1
                    grow = True
                elif a == last and c2 > c1 and any(c1 <= c <= c2 for c in filled(last + 1)):
                    # a group label over several columns: the labels below belong to the header
                    hr += 1
                    grow = True
                    break
    else:
        hr = max(1, header_rows)

    def value_at(r: int, c: int) -> Any:
        for (a, c1, b, c2) in merged:
            if a <= r <= b and c1 <= c <= c2:
                r, c = a, c1
                break
        if r - 1 < len(head) and c - 1 < len(head[r - 1]):
            return head[r - 1][c - 1]
        return None

    labels, paths = [], []
    for c in range(1, width + 1):
        chain: list[str] = []
        for r in range(r0, r0 + hr):
            v = value_at(r, c)
            s = _cell(v).strip() if v is not None else ""
            if s and (not chain or chain[-1] != s):
                chain.append(s)
        labels.append(chain[-1] if chain else "")
        paths.append("/".join(chain))
    while labels and not labels[-1]:
        labels.pop()
        paths.pop()
    data_row = r0 + hr
    info = Phrase("datasets.read.xlsx_titled" if title_rows else "datasets.read.xlsx",
                  sheet=repr(ws.title), first=r0, last=data_row - 1, title=title_rows)
    t = Table(src, "xlsx", labels, paths, sheet=ws.title, header_rows=hr,
              title_rows=title_rows, first_line=data_row, info=info)
    return t


def _xlsx_rows(table: Table) -> Iterator[tuple[int, list[str]]]:
    import openpyxl

    wb = openpyxl.load_workbook(table.source.path, read_only=True, data_only=True)
    try:
        ws = wb[table.sheet] if table.sheet else wb.worksheets[0]
        width = len(table.columns)
        for i, row in enumerate(ws.iter_rows(min_row=table.first_line, values_only=True)):
            vals = [_cell(v).strip() for v in row[:width]]
            if not any(vals):
                continue
            if len(vals) < width:
                vals.extend([""] * (width - len(vals)))
            yield table.first_line + i, vals
    finally:
        wb.close()


# ---------------------------------------------------------------- XML data-set files
# leaf elements with one of these tags carry their field name in @code (<slot code="DE…">)
_GENERIC_TAGS = {"field", "item", "slot", "data", "element", "de", "value", "col", "column"}


def _open_xml(src: Source, max_bytes: int) -> Table:
    try:
        data = read_task(src.task(), max_bytes)
    except xmlsafe.ParseProblem as p:
        raise ReadError("DS.IO_ERROR" if p.rule == "PARSE.IO_ERROR" else "DS.FILE_FORMAT",
                        p.detail, p.line) from None
    try:
        root = xmlsafe.parse_bytes(data, max_bytes=max_bytes)
    except xmlsafe.ParseProblem as p:
        raise ReadError("DS.FILE_FORMAT", f"XML: {p.detail}", p.line) from None
    if root.tag == CDA_ROOT:
        t = Table(src, "xml", [], [], info=Phrase("datasets.read.cda"), cda=True)
        t.records = []
        return t
    leaves = [el for el in root.iter() if isinstance(el.tag, str) and len(el) == 0
              and el is not root]
    fields: list[tuple[Any, str, str]] = []  # (parent, name, value)
    for el in leaves:
        tag = xmlsafe.local_name(el)
        text = (el.text or "").strip()
        named = el.get("de") or el.get("name") or el.get("key")
        if named:
            name, value = named, text or (el.get("value") or el.get("code") or "").strip()
        elif tag.lower() in _GENERIC_TAGS and el.get("code") and (text or el.get("value")):
            name, value = el.get("code", ""), text or (el.get("value") or "").strip()
        else:  # the tag names the field (a DE code or an element name)
            name, value = tag, text or (el.get("value") or el.get("code") or "").strip()
        fields.append((el.getparent(), name, value))
    parents: dict[Any, list[tuple[str, str, int]]] = {}
    for parent, name, value in fields:
        parents.setdefault(parent, []).append((name, value, parent.sourceline or 1))
    tag_count: dict[str, int] = {}
    for p in parents:
        tag_count[p.tag] = tag_count.get(p.tag, 0) + 1
    repeated = {p for p in parents if tag_count[p.tag] > 1}
    columns: dict[str, None] = {}
    for _, name, _ in fields:
        columns[name] = None
    cols = list(columns)
    index = {c: i for i, c in enumerate(cols)}
    common = [(n, v) for p, items in parents.items() if p not in repeated for n, v, _ in items]
    records: list[tuple[int, list[str]]] = []

    def make(items: list[tuple[str, str]], line: int) -> None:
        row = [""] * len(cols)
        for n, v in items:
            i = index[n]
            if not row[i]:
                row[i] = v
        records.append((line, row))

    if repeated:
        for p in parents:
            if p in repeated:
                make(common + [(n, v) for n, v, _ in parents[p]], p.sourceline or 1)
    elif fields:
        make([(n, v) for _, n, v in fields], root.sourceline or 1)
    t = Table(src, "xml", cols, list(cols), size=len(data), first_line=1,
              info=Phrase("datasets.read.xml", n=len(records)))
    t.records = records
    return t
