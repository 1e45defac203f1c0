"""Read YAML files (standards data, scenarios, target and mix configurations) the one way:
safe loading, UTF-8, and errors that name ``file:line:column`` and what is wrong. With
``lines=True`` every mapping remembers its line as the key ``__line__`` so later checks can name
the line too (``strip_lines`` removes those keys)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

try:  # the C loader is ~10x faster; fall back to pure Python where libyaml is absent
    _Fast: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Fast = yaml.SafeLoader


class LineLoader(yaml.SafeLoader):
    """SafeLoader that records the 1-based line of every mapping as ``__line__``."""


def _construct_mapping(loader: LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def strip_lines(value: Any) -> Any:
    """The same data without the ``__line__`` keys."""
    if isinstance(value, dict):
        return {k: strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [strip_lines(v) for v in value]
    return value


def parse_yaml(text: str, where: str | Path, error: type[Exception], *,
               lines: bool = False) -> Any:
    try:
        return yaml.load(text, Loader=LineLoader if lines else _Fast)  # noqa: S506 - safe loaders
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark else str(where)
        raise error(f"{at}: YAML syntax error: {exc.problem}") from None


def read_yaml(path: str | Path, error: type[Exception], *, lines: bool = False) -> Any:
    """Load a YAML file; any problem raises ``error`` with a message naming the place."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise error(f"{p}: file not found") from None
    except OSError as exc:
        raise error(f"{p}: cannot read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{p}: not UTF-8 ({exc.reason})") from None
    return parse_yaml(text, p, error, lines=lines)
