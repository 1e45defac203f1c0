"""The JSON Schemas of the artifacts, shipped in the package (``conformance/model/schemas/``)
for users' CI to validate run folders with. ``python -m conformance.model.io.schemas`` writes
them from the typed model; a test keeps the shipped files current."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from . import CODECS

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


def render(name: str) -> str:
    return json.dumps(CODECS[name].json_schema(), ensure_ascii=False, indent=2) + "\n"


def shipped(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))


def write_all(folder: Path = SCHEMA_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name in CODECS:
        path = folder / f"{name}.schema.json"
        path.write_text(render(name), encoding="utf-8")
        out.append(path)
    return out


if __name__ == "__main__":  # pragma: no cover
    for p in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR):
        print(p)
