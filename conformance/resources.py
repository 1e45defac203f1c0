"""Locate the data folders (standards/, templates/, test_cases/).

In an installed wheel they live in ``conformance/_data/``; in a source checkout (or an editable
install) they are the repository-root folders. ``CONFORMANCE_DATA_DIR`` overrides both.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


@cache
def data_root() -> Path:
    override = os.environ.get("CONFORMANCE_DATA_DIR")
    if override:
        return Path(override)
    bundled = _PKG / "_data"
    if (bundled / "standards").is_dir():
        return bundled
    return _PKG.parent


def standards_dir() -> Path:
    return data_root() / "standards"


def templates_dir() -> Path:
    return data_root() / "templates"


def test_cases_dir() -> Path:
    return data_root() / "test_cases"
