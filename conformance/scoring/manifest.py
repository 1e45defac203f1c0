"""manifest.json: the checksum list of a run folder (runs/<stamp>-<target>/).

Contract (documented in README "Run folder"):

    {"schema": "conformance-manifest/1",
     "tool": {"name", "version", "ruleset"},          # the tool that sealed the folder
     "created": "2024-05-01T08:00:00Z", "updated": "...",
     "artifacts": [{"path": "validate.json", "sha256": "<hex>", "bytes": 1234}, ...]}

`path` is relative to the folder, with forward slashes. Any command that writes into a run folder
can seal it with `write_manifest`; `conformance score` verifies it before reading anything and
adds score.json afterwards. A file whose checksum differs from its entry is refused as tampered."""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..output import open_output

MANIFEST = "manifest.json"
SCHEMA = "conformance-manifest/1"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            h.update(chunk)
    return h.hexdigest()


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _entries(folder: Path, paths: list[Path] | None = None) -> list[dict[str, Any]]:
    if paths is None:
        paths = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST
                 and not p.name.startswith(".") and not p.name.endswith(".part")]
    out = []
    for p in paths:
        out.append({"path": p.relative_to(folder).as_posix(), "sha256": sha256_file(p),
                    "bytes": p.stat().st_size})
    return out


def _write(folder: Path, data: dict[str, Any]) -> Path:
    target = folder / MANIFEST
    with open_output(str(target)) as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    return target


def write_manifest(folder: Path, tool: dict[str, Any]) -> Path:
    """Seal a folder: list every file in it (recursively) with its SHA-256."""
    data = {"schema": SCHEMA, "tool": tool, "created": _now(), "updated": _now(),
            "artifacts": _entries(folder)}
    return _write(folder, data)


def update_manifest(folder: Path, files: list[Path], tool: dict[str, Any]) -> Path:
    """Add or refresh the entries of `files` (e.g. score.json) in the folder's manifest. A folder
    without a manifest is sealed as a whole (every file listed), so that the next reader can
    verify what this one read."""
    data: dict[str, Any] | None = None
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if isinstance(loaded, dict) and loaded.get("schema") == SCHEMA:
            data = loaded
    if data is None:
        return write_manifest(folder, tool)
    fresh = {e["path"]: e for e in _entries(folder, files)}
    kept = [e for e in data.get("artifacts", []) if e.get("path") not in fresh]
    data["artifacts"] = sorted(kept + list(fresh.values()), key=lambda e: e["path"])
    data["updated"] = _now()
    return _write(folder, data)


@dataclass
class Verification:
    folder: Path
    present: bool
    problems: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (message key, values)
    checked: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    tool: dict[str, Any] | None = None


def verify_manifest(folder: Path, must_list: list[str]) -> Verification:
    """Check every listed artifact against its checksum; `must_list` files (the inputs about to be
    read) must be listed when a manifest exists."""
    target = folder / MANIFEST
    if not target.exists():
        return Verification(folder, present=False)
    ver = Verification(folder, present=True)
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        ver.problems.append(("r.manifest_bad", {"path": str(target), "msg": str(exc)}))
        return ver
    arts = data.get("artifacts") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(arts, list):
        ver.problems.append(("r.manifest_bad", {"path": str(target),
                                                "msg": f"expected schema {SCHEMA} with an artifacts list"}))
        return ver
    ver.tool = data.get("tool") if isinstance(data.get("tool"), dict) else None
    listed: set[str] = set()
    for entry in arts:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) \
                or not isinstance(entry.get("sha256"), str):
            ver.problems.append(("r.manifest_bad", {"path": str(target),
                                                    "msg": f"bad artifact entry {entry!r}"}))
            continue
        rel = entry["path"]
        listed.add(rel)
        p = (folder / rel).resolve()
        if folder.resolve() not in p.parents:
            ver.problems.append(("r.manifest_bad", {"path": str(target),
                                                    "msg": f"artifact outside the folder: {rel}"}))
            continue
        if not p.is_file():
            ver.problems.append(("r.manifest_missing_file", {"path": str(folder / rel)}))
            continue
        digest = sha256_file(p)
        if digest != entry["sha256"].lower():
            ver.problems.append(("r.tampered", {"path": str(folder / rel)}))
            continue
        ver.checked[rel] = digest
    for rel in must_list:
        if rel not in listed:
            ver.problems.append(("r.unlisted", {"path": str(folder / rel), "folder": str(folder)}))
    return ver
