"""manifest.json — the SHA-256 of every file of a sealed run folder."""

from __future__ import annotations

from ..manifest import Manifest
from .base import Codec

SCHEMA_VERSION = 1

CODEC: Codec[Manifest] = Codec(
    name="manifest", filename="manifest.json", type=Manifest, schema_version=SCHEMA_VERSION,
    title="conformance manifest.json",
    description="The checksum list of a run folder: every file (path relative to the folder, "
                "SHA-256, size) and the tool that sealed it. A file whose checksum differs is "
                "refused as tampered.",
    producer="conformance manifest RUN_DIR", indent=2)

load, loads, dump, dumps = CODEC.load, CODEC.loads, CODEC.dump, CODEC.dumps
