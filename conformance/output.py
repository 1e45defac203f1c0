"""Write outputs atomically: a report is either complete or not there (never half-written)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def open_output(path: str | None, binary: bool = False) -> Iterator[IO]:
    """Yield a file to write; it replaces ``path`` only when the block completes. ``binary``
    gives a bytes file (PDF). ``None`` or ``-``: standard output."""
    if path is None or path == "-":
        stream = sys.stdout.buffer if binary else sys.stdout
        yield stream
        stream.flush()
        return
    target = Path(path)
    if target.exists() and not target.is_file():
        # a device, FIFO or the like (-o /dev/null, -o /dev/stdout): write through; renaming a
        # temporary file over it would replace the device
        if target.is_dir():
            raise OSError(f"{target} is a folder")
        with open(target, "wb" if binary else "w",
                  **({} if binary else {"encoding": "utf-8", "newline": "\n"})) as fh:
            yield fh
        return
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OSError(f"folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    try:
        # mkstemp creates the file 0600; give it the permissions a plain open() would (reports
        # are meant to be read by others, e.g. served by a web server)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        fh = (os.fdopen(fd, "wb") if binary
              else os.fdopen(fd, "w", encoding="utf-8", newline="\n"))
        with fh:
            yield fh
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_CONTROL.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})
# bidirectional overrides and isolates reorder what a terminal shows (the "Trojan source" trick)
_CONTROL.update({c: f"\\u{c:04x}" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))})


def printable(text: object) -> str:
    """Text safe to print on one line of a console or a log: control characters (newlines,
    ANSI escape sequences, bidi overrides) shown as escapes, so a file name or a value taken
    from a document can neither forge a line nor drive the terminal."""
    s = str(text)
    return s.translate(_CONTROL) if not s.isprintable() else s
