"""YAML with line numbers: every mapping remembers where it and each of its keys start, so that
an error in an assessment definition or a questionnaire can name ``file:line`` precisely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

try:  # the C parser is ~10x faster; the constructor (where lines are recorded) is Python either way
    _Base: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Base = yaml.SafeLoader

MAX_BYTES = 20 * 1024 * 1024


class YamlProblem(Exception):
    """The file cannot be read or is not valid YAML; the message names file:line:column."""


class LineDict(dict):
    """A dict that knows the 1-based line of its own start and of each key."""

    line: int = 0
    key_lines: dict[str, int]

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.key_lines = {}

    def line_of(self, key: str | None = None) -> int:
        if key is not None and key in self.key_lines:
            return self.key_lines[key]
        return self.line


class LineList(list):
    line: int = 0
    item_lines: list[int]

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.item_lines = []

    def line_of(self, index: int) -> int:
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


class _Loader(_Base):  # type: ignore[misc, valid-type]
    pass


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "mapping keys must be plain values", key_node.start_mark)
        skey = str(key) if not isinstance(key, str) else key
        if skey in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {skey!r} (first on line {out.key_lines[skey]})",
                key_node.start_mark)
        out[skey] = loader.construct_object(value_node, deep=True)
        out.key_lines[skey] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: Any, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


def _construct_str(loader: Any, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
# Dates stay strings (a questionnaire's "date: 2024-05-01" is text, not a datetime object).
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_str)


def load_text(text: str, name: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - safe loader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        problem = exc.problem or exc.context or "syntax error"
        raise YamlProblem(f"{where}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"{name}: YAML error: {exc}") from None


def load_file(path: Path) -> tuple[Any, bytes]:
    """Parse a YAML file; returns (data, raw bytes) — the bytes feed the SHA-256 recorded in
    outputs."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise YamlProblem(f"{path}: file too large ({size} bytes, limit {MAX_BYTES})")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise YamlProblem(f"{path}: file not found") from None
    except IsADirectoryError:
        raise YamlProblem(f"{path}: is a folder, expected a YAML file") from None
    except OSError as exc:
        raise YamlProblem(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YamlProblem(f"{path}: not UTF-8 (byte {exc.start}: {exc.reason}); "
                          "save the file as UTF-8") from None
    return load_text(text, str(path)), raw
