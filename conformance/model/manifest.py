"""manifest.json: the checksum list that seals a run folder."""

from __future__ import annotations

from .common import Record, ToolStamp


class ManifestEntry(Record, kw_only=True):
    path: str            # relative to the folder, forward slashes
    sha256: str
    bytes: int = 0


class Manifest(Record, kw_only=True):
    schema: str = "conformance-manifest/1"
    schema_version: int = 1
    tool: ToolStamp
    created: str | None = None
    updated: str | None = None
    artifacts: list[ManifestEntry] = []

    def entry(self, path: str) -> ManifestEntry | None:
        return next((e for e in self.artifacts if e.path == path), None)
