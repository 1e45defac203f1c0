"""Load a run folder (validate.json, results.json, perf.json, score.json, evidence/) for reporting.

Every artifact is optional: the report renders what is present and says what is absent. A file
that is present but unreadable (not JSON, wrong shape) is an input error with a precise message
(file, line or JSON path, what to do) — a report built on half a file would mislead.

The contracts are those of the producing commands (see ARCHITECTURE.md "Reports"): the loader is
strict about structure (lists are lists, objects are objects) and tolerant about optional fields,
so that a producer adding a field never breaks the report.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ARTIFACTS: tuple[str, ...] = ("validate", "results", "perf", "score")
FILES: dict[str, str] = {name: f"{name}.json" for name in ARTIFACTS}
EVIDENCE_DIR = "evidence"
# what produces each artifact (shown when it is absent)
PRODUCERS: dict[str, str] = {
    "validate": "conformance validate --format json -o RUN_DIR/validate.json DOCUMENTS",
    "results": "conformance run --out RUN_DIR",
    "perf": "conformance perf --out RUN_DIR",
    "score": "conformance score --results RUN_DIR --out RUN_DIR",
}
# Each artifact: key -> expected JSON type, for the parts the report reads.
_LIST_KEYS: dict[str, tuple[str, ...]] = {
    "validate": ("documents",),
    "results": ("cases",),
    "perf": ("bands", "steps", "thresholds"),
    "score": ("dimensions", "indicators", "gaps"),
}
_RUN_NAME_RE = re.compile(r"^(\d{8})-(\d{6})(?:-(.+))?$")


class RunError(Exception):
    """A run folder or one of its files cannot be used; the message says what, where, how to fix."""


@dataclass(slots=True)
class Artifact:
    name: str
    path: Path
    data: dict[str, Any]
    sha256: str
    size: int

    @property
    def tool(self) -> dict[str, Any]:
        tool = self.data.get("tool")
        return tool if isinstance(tool, dict) else {}


@dataclass(slots=True)
class Run:
    path: Path
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    evidence_files: int = 0

    def get(self, name: str) -> dict[str, Any] | None:
        art = self.artifacts.get(name)
        return art.data if art else None

    @property
    def validate(self) -> dict[str, Any] | None:
        return self.get("validate")

    @property
    def results(self) -> dict[str, Any] | None:
        return self.get("results")

    @property
    def perf(self) -> dict[str, Any] | None:
        return self.get("perf")

    @property
    def score(self) -> dict[str, Any] | None:
        return self.get("score")

    @property
    def absent(self) -> list[str]:
        return [name for name in ARTIFACTS if name not in self.artifacts]

    @property
    def evidence_dir(self) -> Path:
        return self.path / EVIDENCE_DIR

    def version_mismatch(self) -> list[tuple[str, str, str]]:
        """(artifact, version, ruleset) when the artifacts were produced by different tool
        versions (shown as a warning: figures from different tool versions may not agree)."""
        seen = {(a.tool.get("version"), a.tool.get("ruleset")) for a in self.artifacts.values()
                if a.tool.get("version")}
        if len({v for v, _ in seen}) <= 1:
            return []
        return [(a.name, str(a.tool.get("version")), str(a.tool.get("ruleset") or "-"))
                for a in self.artifacts.values()]

    def date(self) -> datetime | None:
        """When the run happened: the earliest start time any artifact records, else the
        timestamp in the run folder's name (runs/<YYYYmmdd-HHMMSS>-<target>/)."""
        stamps: list[datetime] = []
        for art in self.artifacts.values():
            for key in ("started", "started_at", "start", "date", "created", "generated",
                        "generated_at", "finished"):
                value = art.data.get(key)
                if isinstance(value, str) and (dt := parse_time(value)):
                    stamps.append(dt)
                    break
        if stamps:  # compare instants (naive times are taken as local time)
            return min(stamps, key=lambda s: s.timestamp())
        m = _RUN_NAME_RE.match(self.path.name)
        if m:
            try:
                return datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S")
            except ValueError:
                return None
        return None

    def target(self) -> str | None:
        for name in ("results", "perf", "score"):
            data = self.get(name)
            if data:
                target = data.get("target")
                if isinstance(target, dict):
                    name, url = target.get("name"), target.get("endpoint") or target.get("url")
                    target = f"{name} ({url})" if name and url and name != url else name or url
                if isinstance(target, str) and target:
                    return target
        m = _RUN_NAME_RE.match(self.path.name)
        return m.group(3) if m and m.group(3) else None

    def profile(self) -> str | None:
        for name in ("results", "score", "perf"):
            data = self.get(name)
            if data and isinstance(data.get("profile"), str):
                return data["profile"]
        return None


def parse_time(value: str) -> datetime | None:
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _describe(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number",
            bool: "true/false", type(None): "null"}.get(type(value), type(value).__name__)


def _check_shape(name: str, data: Any, file: Path) -> None:
    if not isinstance(data, dict):
        raise RunError(f"{file}: the top level should be a JSON object, found {_describe(data)} "
                       f"— is this really the {name}.json a conformance command wrote?")
    for key in _LIST_KEYS[name]:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            raise RunError(f"{file}: \"{key}\" should be a list, found {_describe(value)}.")
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise RunError(f"{file}: {key}[{i}] should be an object, found {_describe(item)}.")
    if name == "validate":
        for i, doc in enumerate(data.get("documents") or []):
            if not isinstance(doc.get("findings", []), list):
                raise RunError(f"{file}: documents[{i}].findings should be a list.")
            for j, f in enumerate(doc.get("findings") or []):
                if not isinstance(f, dict) or not isinstance(f.get("rule"), str):
                    raise RunError(f"{file}: documents[{i}].findings[{j}] should be an object "
                                   "with a \"rule\".")
    if name == "results":
        for i, case in enumerate(data.get("cases") or []):
            for key in ("checks", "exchanges"):
                value = case.get(key)
                if value is not None and not isinstance(value, list):
                    raise RunError(f"{file}: cases[{i}].{key} should be a list, found "
                                   f"{_describe(value)}.")
            for j, check in enumerate(case.get("checks") or []):
                if not isinstance(check, dict):
                    raise RunError(f"{file}: cases[{i}].checks[{j}] should be an object.")
    if name == "score":
        for i, gap in enumerate(data.get("gaps") or []):
            missing = gap.get("missing")
            if missing is not None and not isinstance(missing, list):
                raise RunError(f"{file}: gaps[{i}].missing should be a list.")


def read_json(file: Path, name: str) -> tuple[dict[str, Any], str, int]:
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise RunError(f"cannot read {file}: {exc.strerror or exc}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RunError(f"{file}: not UTF-8 (byte {exc.start}); conformance writes UTF-8 JSON — "
                       "regenerate the file.") from None
    except json.JSONDecodeError as exc:
        hint = (" (the file is empty)" if not raw.strip() else
                " — the file is incomplete or edited by hand; regenerate it")
        raise RunError(f"{file}: line {exc.lineno}, column {exc.colno}: not valid JSON: "
                       f"{exc.msg}{hint}.") from None
    _check_shape(name, data, file)
    return data, hashlib.sha256(raw).hexdigest(), len(raw)


def load_run(path: str | Path) -> Run:
    """Load every artifact present in a run folder. Raises RunError with a clear message."""
    folder = Path(path)
    if not folder.exists():
        raise RunError(f"run folder {folder} does not exist.")
    if not folder.is_dir():
        raise RunError(f"{folder} is not a folder: give the run folder "
                       "(runs/<YYYYmmdd-HHMMSS>-<target>/ or the --out DIR of a run).")
    run = Run(path=folder)
    for name in ARTIFACTS:
        file = folder / FILES[name]
        if file.is_file():
            data, digest, size = read_json(file, name)
            run.artifacts[name] = Artifact(name, file, data, digest, size)
    ev = run.evidence_dir
    if ev.is_dir():
        run.evidence_files = sum(1 for p in ev.rglob("*") if p.is_file())
    if not run.artifacts:
        raise RunError(f"{folder} holds none of {', '.join(FILES.values())}: nothing to report. "
                       "Give a run folder written by conformance run/perf/score/assess, or put "
                       "the JSON output of `conformance validate --format json` there as "
                       "validate.json.")
    return run
