"""A run folder (``runs/<YYYYmmdd-HHMMSS>-<target>/``): where every command of an assessment
writes its artifact and every reader finds it. Reads and writes go through the artifact codecs
(typed, atomic, versioned); sealing and verification through manifest.json.

    folder = RunFolder.create(target_name="embedded")      # or RunFolder(path)
    folder.write("results", run_results)                    # results.json, atomically
    folder.results                                          # RunResults | None (cached)
    folder.seal(tool)                                       # manifest.json over every file
    folder.verify(["results.json"])                         # tampered / unlisted → problems
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..secrets import mask_url
from .common import ToolStamp
from .datasets import DatasetsResults
from .findings import ValidateResults
from .io import CODECS, ArtifactError, manifest_json
from .io.validate_json import StreamWriter
from .manifest import Manifest, ManifestEntry
from .perf import PerfResults
from .run import RunResults
from .score import Score

MANIFEST = "manifest.json"
CASES_DIR = "cases"
EVIDENCE_DIR = "evidence"
# the artifacts a report or a score reads, in pipeline order
ARTIFACTS: tuple[str, ...] = ("validate", "datasets", "results", "perf", "score")
_RUN_NAME_RE = re.compile(r"^(\d{8})-(\d{6})(?:-(.+))?$")


def safe_name(text: str, limit: int = 60) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)[:limit]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            h.update(chunk)
    return h.hexdigest()


def now_utc() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_time(value: str) -> datetime | None:
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


@dataclass
class Verification:
    """The outcome of checking a folder against its manifest: ``problems`` are (UI phrase key,
    values) pairs; ``checked`` maps each verified file to its SHA-256."""

    folder: Path
    present: bool
    problems: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    checked: dict[str, str] = field(default_factory=dict)
    tool: ToolStamp | None = None


class RunFolder:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._cache: dict[str, Any] = {}

    @classmethod
    def create(cls, path: str | Path | None = None, *, target_name: str = "embedded",
               root: str | Path = "runs") -> RunFolder:
        """A new (or the given) folder, created; the default name is the time and the target."""
        p = Path(path) if path else Path(root) / (
            f"{datetime.now():%Y%m%d-%H%M%S}-{safe_name(target_name)}")
        p.mkdir(parents=True, exist_ok=True)
        return cls(p)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    # ------------------------------------------------------------------ places
    def file(self, name: str) -> Path:
        return self.path / CODECS[name].filename

    @property
    def cases_dir(self) -> Path:
        return self.path / CASES_DIR

    @property
    def evidence_dir(self) -> Path:
        return self.path / EVIDENCE_DIR

    def has(self, name: str) -> bool:
        return self.file(name).is_file()

    @property
    def present(self) -> list[str]:
        return [n for n in ARTIFACTS if self.has(n)]

    @property
    def absent(self) -> list[str]:
        return [n for n in ARTIFACTS if not self.has(n)]

    # ------------------------------------------------------------------ artifacts
    def read(self, name: str) -> Any:
        """The typed artifact (cached), or None when the file is absent. A present file that
        cannot be used raises ``ArtifactError`` naming the file and the place."""
        if name not in self._cache:
            path = self.file(name)
            self._cache[name] = CODECS[name].load(path) if path.is_file() else None
        return self._cache[name]

    def write(self, name: str, obj: Any) -> Path:
        self._cache[name] = obj
        self.path.mkdir(parents=True, exist_ok=True)
        return CODECS[name].dump(obj, self.file(name))

    def forget(self, name: str | None = None) -> None:
        """Drop cached artifacts (after another process wrote the file)."""
        if name is None:
            self._cache.clear()
        else:
            self._cache.pop(name, None)

    @contextlib.contextmanager
    def document_stream(self, name: str = "validate") -> Iterator[StreamWriter]:
        """Write validate.json (or datasets.json) one document at a time, atomically."""
        from ..output import open_output

        self.path.mkdir(parents=True, exist_ok=True)
        self._cache.pop(name, None)
        with open_output(str(self.file(name))) as out:
            yield StreamWriter(out)

    @property
    def validate(self) -> ValidateResults | None:
        return self.read("validate")

    @property
    def datasets(self) -> DatasetsResults | None:
        return self.read("datasets")

    @property
    def results(self) -> RunResults | None:
        return self.read("results")

    @property
    def perf(self) -> PerfResults | None:
        return self.read("perf")

    @property
    def score(self) -> Score | None:
        return self.read("score")

    @property
    def manifest(self) -> Manifest | None:
        return self.read("manifest")

    # ------------------------------------------------------------------ what the folder says
    def tools(self) -> dict[str, ToolStamp]:
        out = {}
        for name in self.present:
            tool = getattr(self.read(name), "tool", None)
            if isinstance(tool, ToolStamp):
                out[name] = tool
        return out

    def date(self) -> datetime | None:
        """When the run happened: the earliest start any artifact records, else the time in
        the folder's name."""
        stamps: list[datetime] = []
        for name in self.present:
            art = self.read(name)
            for key in ("started", "created"):
                value = getattr(art, key, None)
                if isinstance(value, str) and (dt := parse_time(value)):
                    stamps.append(dt)
                    break
        if stamps:
            return min(stamps, key=lambda s: s.timestamp())
        m = _RUN_NAME_RE.match(self.path.name)
        if m:
            with contextlib.suppress(ValueError):
                return datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S")
        return None

    def target(self) -> str | None:
        for name in ("results", "perf"):
            art = self.read(name) if self.has(name) else None
            if art is not None and art.target:
                t = art.target
                label, url = t.get("name"), t.get("endpoint") or t.get("url")
                url = mask_url(str(url)) if url else url  # written without credentials; again
                text = f"{label} ({url})" if label and url and label != url else label or url
                if text:
                    return str(text)
        score = self.score if self.has("score") else None
        if score is not None and score.inputs.targets:
            return str(score.inputs.targets[0])
        m = _RUN_NAME_RE.match(self.path.name)
        return m.group(3) if m and m.group(3) else None

    def profile(self) -> str | None:
        for name in ("results", "perf"):
            art = self.read(name) if self.has(name) else None
            if art is not None and art.profile:
                return str(art.profile)
        score = self.score if self.has("score") else None
        return score.assessment.profile if score is not None else None

    # ------------------------------------------------------------------ integrity
    def _entries(self, paths: list[Path] | None = None) -> list[ManifestEntry]:
        if paths is None:
            paths = [p for p in sorted(self.path.rglob("*")) if p.is_file() and p.name != MANIFEST
                     and not p.name.startswith(".") and not p.name.endswith(".part")]
        return [ManifestEntry(path=p.relative_to(self.path).as_posix(), sha256=sha256_file(p),
                              bytes=p.stat().st_size) for p in paths]

    def seal(self, tool: ToolStamp) -> Path:
        """Write manifest.json listing every file of the folder with its SHA-256."""
        stamp = now_utc()
        return self.write("manifest", Manifest(tool=tool, created=stamp, updated=stamp,
                                               artifacts=self._entries()))

    def reseal(self, files: list[Path], tool: ToolStamp) -> Path:
        """Add or refresh the entries of ``files`` (e.g. score.json); a folder without a
        (readable) manifest is sealed as a whole."""
        try:
            current = self.manifest if self.has("manifest") else None
        except ArtifactError:
            current = None
        if current is None:
            return self.seal(tool)
        fresh = {e.path: e for e in self._entries(files)}
        kept = [e for e in current.artifacts if e.path not in fresh]
        current.artifacts = sorted(kept + list(fresh.values()), key=lambda e: e.path)
        current.updated = now_utc()
        return self.write("manifest", current)

    def verify(self, must_list: list[str]) -> Verification:
        """Check every listed file against its checksum; the ``must_list`` files (about to be
        read) must be listed when a manifest exists."""
        target = self.path / MANIFEST
        if not target.exists():
            return Verification(self.path, present=False)
        ver = Verification(self.path, present=True)
        try:
            manifest = manifest_json.load(target)
        except ArtifactError as exc:
            ver.problems.append(("score.results.manifest_bad", {"path": str(target), "msg": exc.problem}))
            return ver
        ver.tool = manifest.tool
        listed: set[str] = set()
        root = self.path.resolve()
        for entry in manifest.artifacts:
            listed.add(entry.path)
            p = (self.path / entry.path).resolve()
            if root not in p.parents:
                ver.problems.append(("score.results.manifest_outside",
                                     {"path": str(target), "entry": entry.path}))
                continue
            if not p.is_file():
                ver.problems.append(("score.results.manifest_missing_file",
                                     {"path": str(self.path / entry.path)}))
                continue
            digest = sha256_file(p)
            if digest != entry.sha256.lower():
                ver.problems.append(("score.results.tampered", {"path": str(self.path / entry.path)}))
                continue
            ver.checked[entry.path] = digest
        for rel in must_list:
            if rel not in listed:
                ver.problems.append(("score.results.unlisted", {"path": str(self.path / rel),
                                                                "folder": str(self.path)}))
        return ver
