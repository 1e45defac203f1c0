"""Pieces every artifact shares: the base record type and the tool stamp."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

__all__ = ["UNSET", "Record", "ToolStamp", "UnsetType", "drop_unset"]


class Record(msgspec.Struct, kw_only=True):
    """Base of the typed run entities: keyword construction, fields serialised in declaration
    order, unknown fields of a newer writer ignored on load. A field whose default is ``UNSET``
    is left out of the file when unset (the optional parts of an artifact)."""


class ToolStamp(Record, kw_only=True):
    """Which tool wrote an artifact (scoring refuses mixed versions and rulesets)."""

    name: str
    version: str
    ruleset: str | None = None
    assessment: Any = UNSET  # definitions stamped by older writers


def drop_unset(value: Any) -> Any:
    """``UNSET`` → ``None``: for code that reads optional fields without caring whether the
    writer left them out or wrote null."""
    return None if value is UNSET else value
