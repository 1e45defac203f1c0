"""Open a run folder for reporting: the typed artifacts through ``RunFolder`` and the codecs.

Every artifact is optional: the report renders what is present and says what is absent. A file
that is present but unusable (not JSON, a wrong value at some JSON path, written by a newer
version) is refused with the codec's message (file, line/column or JSON path, what to do) — a
report built on half a file would mislead. The report reads nothing else of a run folder except
the evidence bodies its exchanges name (``evidence.py``, inside the folder only).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConformanceError
from ..model import ToolStamp
from ..model.folder import ARTIFACTS, EVIDENCE_DIR, RunFolder, sha256_file
from ..model.io import CODECS, ArtifactError

FILES: dict[str, str] = {name: CODECS[name].filename for name in ARTIFACTS}
# what produces each artifact (shown when it is absent)
PRODUCERS: dict[str, str] = {name: CODECS[name].producer for name in ARTIFACTS}


class ReportError(ConformanceError):
    """A report cannot be made as asked (an unknown format …)."""


class RunError(ReportError):
    """A run folder or one of its files cannot be used; the message says what, where, how to fix."""


@dataclass(frozen=True, slots=True)
class InputFile:
    """An artifact the report was made from (listed with its checksum in the report)."""

    name: str                 # validate | datasets | results | perf | score
    file: str                 # validate.json …
    size: int
    sha256: str
    tool: ToolStamp | None


def open_run(path: str | Path | RunFolder) -> RunFolder:
    """A run folder with every present artifact loaded (typed, cached on the folder).

    Raises ``RunError`` when the folder does not exist, is a file, holds no artifact, or one of
    its artifacts cannot be used."""
    folder = path if isinstance(path, RunFolder) else RunFolder(path)
    where = folder.path
    if not where.exists():
        raise RunError.phrase("report.run.missing", path=where)
    if not where.is_dir():
        raise RunError.phrase("report.run.not_folder", path=where)
    if not folder.present:
        raise RunError.phrase("report.run.empty", path=where, files=", ".join(FILES.values()))
    for name in folder.present:
        artifact(folder, name)
    return folder


def artifact(folder: RunFolder, name: str) -> Any:
    """The typed artifact ``name`` of the folder (None when absent); an unusable file is a
    ``RunError`` carrying the codec's message."""
    try:
        return folder.read(name)
    except ArtifactError as exc:
        raise RunError.like(exc) from exc


def inputs(folder: RunFolder) -> list[InputFile]:
    out = []
    for name in folder.present:
        path = folder.file(name)
        tool = getattr(artifact(folder, name), "tool", None)
        out.append(InputFile(name, FILES[name], path.stat().st_size, sha256_file(path),
                             tool if isinstance(tool, ToolStamp) else None))
    return out


def version_mismatch(folder: RunFolder) -> list[tuple[str, str, str]]:
    """(artifact, version, ruleset) of every artifact when they were written by different tool
    versions (a warning: figures from different tool versions may not agree)."""
    tools = folder.tools()
    if len({t.version for t in tools.values()}) <= 1:
        return []
    return [(name, t.version, t.ruleset or "-") for name, t in tools.items()]


def evidence_files(folder: RunFolder) -> int:
    ev = folder.path / EVIDENCE_DIR
    return sum(1 for p in ev.rglob("*") if p.is_file()) if ev.is_dir() else 0
