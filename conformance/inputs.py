"""Turn command-line PATH arguments into validation tasks: files, directories (recursive),
glob patterns and .zip archives (members read lazily, bounded; an archive inside an archive is
opened too, one level deep)."""

from __future__ import annotations

import glob
import io
import os
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import ConformanceError
from .xmlsafe import ParseProblem

XML_SUFFIXES = (".xml",)
ZIP_SUFFIXES = (".zip",)
MAX_ZIP_MEMBERS = 200_000


class InputError(ConformanceError):
    """A PATH argument that cannot be used at all (usage / I/O problem: exit code 2)."""


@dataclass(frozen=True, slots=True)
class Task:
    display: str           # what reports show: path, or archive.zip!/member
    path: str              # file system path (the archive for zip members)
    member: str | None = None   # raw zip member name
    # "file": validate as is; "soap": recorded evidence, validate the HL7 V3 message inside the
    # SOAP envelope; "soap-document": validate the CDA document that message carries (if any);
    # "zip": an archive that cannot be opened (reading it reports why)
    kind: str = "file"
    inner: str | None = None    # member of the archive that `member` itself is (nested zip)

    def __reduce__(self) -> tuple:
        # sent to every worker of --jobs: a plain tuple pickles ~5x faster than the dataclass
        return (Task, (self.display, self.path, self.member, self.kind, self.inner))


def is_run_folder(p: Path) -> bool:
    return (p / "results.json").is_file() and (p / "evidence").is_dir()


def _run_tasks(run_dir: Path) -> Iterator[Task]:
    """A run folder: re-validate its recorded exchanges (and the documents they carry) offline."""
    for p in sorted((run_dir / "evidence").rglob("*.xml")):
        if p.stat().st_size == 0:
            continue  # no answer was recorded (timeout, refused): nothing to validate
        yield Task(str(p), str(p), kind="soap")
        yield Task(f"{p}#document", str(p), kind="soap-document")


def _member_display_name(info: zipfile.ZipInfo) -> str:
    # Zip tools on Chinese Windows store GBK names without the UTF-8 flag; Python decodes them
    # as cp437. Recover the real name so reports show 住院病案首页, not mojibake.
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return info.filename


def _zip_tasks(path: Path) -> Iterator[Task]:
    """The XML members of an archive, and those of the archives it holds (one level). An
    archive that cannot be opened is one entry whose reading reports why: the batch goes on,
    and every input appears in the output."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        yield Task(str(path), str(path), kind="zip")
        return
    for info, name, is_zip in _members(infos, str(path)):
        if is_zip:
            yield from _nested_zip_tasks(path, info, name)
        else:
            yield Task(f"{path}!/{name}", str(path), info.filename)


def _nested_zip_tasks(path: Path, info: zipfile.ZipInfo, name: str) -> Iterator[Task]:
    display = f"{path}!/{name}"
    try:
        infos = _open_nested(str(path), info.filename, MAX_NESTED_ZIP_BYTES).infolist()
    except (ParseProblem, zipfile.BadZipFile, OSError, RuntimeError, ValueError,
            NotImplementedError):
        yield Task(display, str(path), info.filename, kind="zip")
        return
    for inner, iname, is_zip in _members(infos, display):
        # a third level is not opened: it is one entry that says so
        yield Task(f"{display}!/{iname}", str(path), info.filename,
                   kind="zip" if is_zip else "file", inner=inner.filename)


def _members(infos: list[zipfile.ZipInfo], display: str
             ) -> Iterator[tuple[zipfile.ZipInfo, str, bool]]:
    """(member, display name, is an archive) for the XML and zip members, in name order."""
    if len(infos) > MAX_ZIP_MEMBERS:
        raise InputError(f"{display}: more than {MAX_ZIP_MEMBERS} members")
    for info in sorted(infos, key=lambda i: i.filename):
        if info.is_dir():
            continue
        name = _member_display_name(info)
        low = name.lower()
        if low.endswith(XML_SUFFIXES) or low.endswith(ZIP_SUFFIXES):
            yield info, name, low.endswith(ZIP_SUFFIXES)


def _dir_tasks(path: Path) -> Iterator[Task]:
    found = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        for fn in filenames:
            low = fn.lower()
            if low.endswith(XML_SUFFIXES) or low.endswith(ZIP_SUFFIXES):
                found.append(Path(dirpath) / fn)
    for p in sorted(found):
        if p.name.lower().endswith(ZIP_SUFFIXES):
            yield from _zip_tasks(p)
        else:
            yield Task(str(p), str(p))


def expand(args: list[str]) -> list[Task]:
    """Expand PATH arguments into tasks, in a stable order, without duplicates."""
    tasks: list[Task] = []
    seen: set[tuple[str, str | None, str | None, str]] = set()
    for arg in args:
        p = Path(arg)
        if p.exists():
            if p.is_dir() and is_run_folder(p):
                new = list(_run_tasks(p))
            elif p.is_dir():
                new = list(_dir_tasks(p))
            elif p.name.lower().endswith(ZIP_SUFFIXES):
                new = list(_zip_tasks(p))
            else:
                new = [Task(str(p), str(p))]
        elif any(ch in arg for ch in "*?["):
            matches = sorted(glob.glob(arg, recursive=True))
            if not matches:
                raise InputError(f"{arg}: the pattern matches no file")
            new = []
            for m in matches:
                new.extend(expand([m]))
        else:
            raise InputError(f"{arg}: no such file or directory")
        for t in new:
            key = (os.path.realpath(t.path), t.member, t.inner, t.kind)
            if key not in seen:
                seen.add(key)
                tasks.append(t)
    return tasks


_OPEN_ZIPS: dict[str, zipfile.ZipFile] = {}
MAX_NESTED_ZIP_BYTES = 512 * 1024 * 1024  # an archive inside an archive is read into memory


def _remember(key: str, zf: zipfile.ZipFile) -> zipfile.ZipFile:
    """Keep a few archives open across tasks (members of one archive come in a row)."""
    if len(_OPEN_ZIPS) > 16:
        for z in _OPEN_ZIPS.values():
            z.close()
        _OPEN_ZIPS.clear()
    _OPEN_ZIPS[key] = zf
    return zf


def _open_zip(path: str) -> zipfile.ZipFile:
    zf = _OPEN_ZIPS.get(path)
    return zf if zf is not None else _remember(path, zipfile.ZipFile(path))


def _read_member(zf: zipfile.ZipFile, member: str, max_bytes: int) -> bytes:
    info = zf.getinfo(member)
    if info.file_size > max_bytes:
        raise ParseProblem("PARSE.TOO_LARGE", f"{info.file_size} bytes", 1, 1,
                           actual=str(info.file_size))
    if info.flag_bits & 0x1:
        raise ParseProblem("PARSE.IO_ERROR", "encrypted (password-protected) zip member: "
                           "extract it and validate the files", None, None)
    with zf.open(info) as fh:
        data = fh.read(max_bytes + 1)  # bounded even if the header lies (zip bomb)
    if len(data) > max_bytes:
        raise ParseProblem("PARSE.TOO_LARGE", "member expands beyond the limit", 1, 1,
                           actual=f">{max_bytes}")
    return data


def _open_nested(path: str, member: str, max_bytes: int) -> zipfile.ZipFile:
    key = f"{path}!/{member}"
    zf = _OPEN_ZIPS.get(key)
    if zf is None:
        data = _read_member(_open_zip(path), member, max_bytes)
        zf = _remember(key, zipfile.ZipFile(io.BytesIO(data)))
    return zf


def read_task(task: Task, max_bytes: int) -> bytes:
    """Read one task's bytes, bounded. Raises ParseProblem (IO_ERROR / TOO_LARGE)."""
    try:
        if task.kind == "zip":
            return _unreadable_archive(task)
        if task.member is None:
            st = os.stat(task.path)
            if not stat.S_ISREG(st.st_mode):
                # a FIFO would block the batch forever, a device never end: never opened
                raise ParseProblem("PARSE.IO_ERROR", "not a regular file (a FIFO, socket or "
                                   "device): skipped", None, None)
            size = st.st_size
            if size > max_bytes:
                raise ParseProblem("PARSE.TOO_LARGE", f"{size} bytes", 1, 1, actual=str(size))
            with open(task.path, "rb") as fh:
                # read(n) allocates n bytes up front: ask for what the file holds, not the limit
                data = fh.read(size + 1)
                if len(data) > size:  # it grew since the stat: read on, still bounded
                    data += fh.read(max_bytes + 1 - len(data))
            if len(data) > max_bytes:
                raise ParseProblem("PARSE.TOO_LARGE", f"{len(data)} bytes", 1, 1,
                                   actual=str(len(data)))
            return data
        if task.inner is not None:
            return _read_member(_open_nested(task.path, task.member, MAX_NESTED_ZIP_BYTES),
                                task.inner, max_bytes)
        return _read_member(_open_zip(task.path), task.member, max_bytes)
    except ParseProblem:
        raise
    except (OSError, KeyError, zipfile.BadZipFile, RuntimeError, NotImplementedError,
            ValueError, EOFError) as exc:
        raise ParseProblem("PARSE.IO_ERROR", _io_detail(exc), None, None) from None


def _io_detail(exc: BaseException) -> str:
    """What went wrong reading, without Python's exception class names."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or "unreadable"


def _unreadable_archive(task: Task) -> bytes:
    """An archive expand() could not open (or would not: a third level of nesting)."""
    if task.inner is not None:
        raise ParseProblem("PARSE.IO_ERROR", "an archive inside an archive inside an archive "
                           "is not opened: extract the outer ones and validate again", None, None)
    try:
        if task.member is not None:
            _open_nested(task.path, task.member, MAX_NESTED_ZIP_BYTES)
        else:
            _open_zip(task.path)
    except ParseProblem as p:
        raise ParseProblem("PARSE.IO_ERROR", f"not a readable zip archive ({p.detail})",
                           None, None) from None
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, NotImplementedError) as exc:
        raise ParseProblem("PARSE.IO_ERROR", f"not a readable zip archive ({exc})",
                           None, None) from None
    raise ParseProblem("PARSE.IO_ERROR", "the archive could not be listed when the batch "
                       "started; validate it again", None, None)
