"""The one YAML reader: standards data, scenarios, target configurations, perf mixes, data-set
mappings, assessment definitions, questionnaires, profiles, campaigns.

- Safe loading; the text is UTF-8 (a byte-order mark is accepted); files are size-bounded.
- Every mapping is a ``LineDict`` and every list a ``LineList`` that know the 1-based line of
  themselves, of each key and of each item, so later checks can say ``file:line``.
- A key given twice in one mapping is an error naming both lines (YAML would silently keep the
  last one).
- Anchors and aliases are allowed, but their expansion is bounded: a document whose aliases
  would expand to more than ``MAX_EXPANDED_NODES`` nodes (an "alias bomb": a few hundred bytes
  of anchors standing for billions of nodes) or that nests deeper than ``MAX_DEPTH`` is refused
  with the line of the first alias, before anything walks it.
- Dates stay strings (``date: 2024-05-01`` is text in a questionnaire, not a datetime).

Errors are ``YamlError`` (a ``ConformanceError``) naming ``file:line:column`` and what is
wrong, in the user's language (``render(lang)``; the parser's own words stay as PyYAML says
them); ``read_yaml``/``parse_yaml`` raise the caller's error type instead."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from .errors import ConformanceError
from .i18n import Phrase, t

try:  # the C parser is ~10x faster; the constructor (where lines are recorded) is Python either way
    _Base: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Base = yaml.SafeLoader

MAX_BYTES = 20 * 1024 * 1024
MAX_EXPANDED_NODES = 1_000_000
MAX_DEPTH = 200


class YamlError(ConformanceError):
    """The file cannot be read or is not acceptable YAML; the message names file:line:column."""


class _Refused(yaml.constructor.ConstructorError):
    """A document this reader refuses (a duplicate key, an alias bomb …): the phrase says why."""

    def __init__(self, mark: yaml.Mark, key: str, /, **values: Any) -> None:
        super().__init__(None, None, t(key, "en", **values), mark)
        self.phrase = Phrase(key, **values)


class LineDict(dict):
    """A dict that knows the 1-based line of its own start and of each key."""

    line: int = 0
    key_lines: dict[Any, int]

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.key_lines = {}

    def line_of(self, key: Any = None) -> int:
        if key is not None and key in self.key_lines:
            return self.key_lines[key]
        return self.line


class LineList(list):
    """A list that knows the 1-based line of its start and of each item."""

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
    check_aliases = True     # False when the text has no anchor (no alias can refer to one)

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        if self.check_aliases:
            _check_expansion(node)
        return self.construct_document(node)


def _check_expansion(root: yaml.Node) -> None:
    """Count the nodes the document stands for with every alias expanded (linear in the
    distinct nodes: sizes are memoised per node) and its depth; refuse a bomb, naming where
    the first alias is used."""
    size: dict[int, int] = {}
    alias_at: list[yaml.Mark] = []
    seen: set[int] = set()

    def children(node: yaml.Node) -> list[yaml.Node]:
        if isinstance(node, yaml.MappingNode):
            return [n for pair in node.value for n in pair]
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        return []

    seen.add(id(root))
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]    # (node, next child to visit)
    while stack:
        node, i = stack[-1]
        kids = children(node)
        if i < len(kids):
            stack[-1] = (node, i + 1)
            child = kids[i]
            if id(child) in seen:
                if not alias_at and id(child) in size:
                    alias_at.append(node.start_mark)
                continue
            seen.add(id(child))
            if len(stack) >= MAX_DEPTH:
                raise _Refused(child.start_mark, "yaml.too_deep_at", max=MAX_DEPTH)
            stack.append((child, 0))
            continue
        stack.pop()
        size[id(node)] = 1 + sum(size.get(id(c), 1) for c in kids)
    total = size[id(root)]
    if total > MAX_EXPANDED_NODES:
        mark = alias_at[0] if alias_at else root.start_mark
        raise _Refused(mark, "yaml.alias_bomb", total=f"{total:,}", max=f"{MAX_EXPANDED_NODES:,}")


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise _Refused(key_node.start_mark, "yaml.plain_keys")
        if key in out:
            raise _Refused(key_node.start_mark, "yaml.duplicate_key", key=repr(key),
                           first=out.key_lines[key])
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: Any, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


# writing the data back (``standards show``) treats them as the plain dicts and lists they are
for _dumper in {yaml.SafeDumper, getattr(yaml, "CSafeDumper", yaml.SafeDumper)}:
    _dumper.add_representer(LineDict, yaml.representer.SafeRepresenter.represent_dict)
    _dumper.add_representer(LineList, yaml.representer.SafeRepresenter.represent_list)


def _construct_str(loader: Any, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_str)


def load_text(text: str, name: str | Path) -> Any:
    """Parse YAML text (``name`` is the file named in errors)."""
    loader = _Loader(text)
    loader.check_aliases = "&" in text
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else str(name)
        problem = getattr(exc, "phrase", None) or exc.problem or exc.context \
            or Phrase("yaml.syntax_error")
        kind = "yaml.refused" if isinstance(exc, yaml.constructor.ConstructorError) \
            else "yaml.syntax"
        raise YamlError.phrase(kind, where=where, problem=problem) from None
    except yaml.YAMLError as exc:
        raise YamlError.phrase("yaml.error", where=name, problem=str(exc)) from None
    except RecursionError:
        raise YamlError.phrase("yaml.error", where=name,
                               problem=Phrase("yaml.too_deep")) from None
    finally:
        loader.dispose()


def read_bytes(path: str | Path, max_bytes: int = MAX_BYTES) -> bytes:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise YamlError.phrase("yaml.too_large", path=p, size=size, max=max_bytes)
        if not p.is_file():
            raise YamlError.phrase("yaml.not_a_file", path=p)
        return p.read_bytes()
    except FileNotFoundError:
        raise YamlError.phrase("yaml.not_found", path=p) from None
    except IsADirectoryError:
        raise YamlError.phrase("yaml.is_folder", path=p) from None
    except OSError as exc:
        raise YamlError.phrase("yaml.cannot_read", path=p, msg=exc.strerror or exc) from None


def decode(raw: bytes, where: str | Path) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YamlError.phrase("yaml.not_utf8", where=where, byte=exc.start,
                               reason=exc.reason) from None


def load_file(path: str | Path, max_bytes: int = MAX_BYTES) -> tuple[Any, bytes]:
    """Parse a YAML file; returns (data, raw bytes) — the bytes feed the SHA-256 that outputs
    record."""
    raw = read_bytes(path, max_bytes)
    return load_text(decode(raw, path), str(path)), raw


# ---------------------------------------------------------------------- the older interface
def add_line_keys(value: Any) -> Any:
    """Every mapping also carries its line as the key ``__line__`` (``strip_lines`` removes
    them) — for loaders that check plain dicts."""
    if isinstance(value, LineDict):
        for v in value.values():
            add_line_keys(v)
        value["__line__"] = value.line
    elif isinstance(value, list):
        for v in value:
            add_line_keys(v)
    return value


def strip_lines(value: Any) -> Any:
    """The same data without the ``__line__`` keys."""
    if isinstance(value, dict):
        return {k: strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [strip_lines(v) for v in value]
    return value


def parse_yaml(text: str, where: str | Path, error: type[Exception], *,
               lines: bool = False) -> Any:
    """``load_text`` raising the caller's error type; ``lines`` adds ``__line__`` keys."""
    try:
        data = load_text(text, where)
    except YamlError as exc:
        raise _as(error, exc) from None
    return add_line_keys(data) if lines else data


def read_yaml(path: str | Path, error: type[Exception], *, lines: bool = False) -> Any:
    """``load_file`` raising the caller's error type; ``lines`` adds ``__line__`` keys."""
    try:
        data, _ = load_file(path)
    except YamlError as exc:
        raise _as(error, exc) from None
    return add_line_keys(data) if lines else data


def _as(error: type[Exception], exc: YamlError) -> Exception:
    """``exc`` as the caller's error type (keeping its phrase when that type is a
    ``ConformanceError``)."""
    return error.like(exc) if issubclass(error, ConformanceError) else error(str(exc))


# ------------------------------------------------------------- places of schema problems
def line_at(data: Any, path: Sequence[Any]) -> int:
    """The line of the value at a JSON path (``jsonschema``'s ``absolute_path``): the deepest
    line the reader knows along the way, 0 when it knows none."""
    line = getattr(data, "line", 0)
    node = data
    for step in path:
        in_dict = isinstance(node, LineDict) and step in node
        in_list = isinstance(node, LineList) and isinstance(step, int) and step < len(node)
        if not (in_dict or in_list):
            break
        line = node.line_of(step)
        node = node[step]
    return line


def path_text(data: Any, path: Sequence[Any], id_keys: Sequence[str] = ("id",)) -> str:
    """A JSON path as a reader writes it: ``items[2.1.3].rule``, a list entry named by the
    first of ``id_keys`` it has, else by its index; ``(top)`` for the whole file."""
    out, node = "", data
    for step in path:
        if isinstance(step, int):
            entry = node[step] if isinstance(node, list) and step < len(node) else None
            ident = next((entry[k] for k in id_keys if isinstance(entry, dict) and entry.get(k)
                          is not None), None)
            out += f"[{ident if ident is not None else step}]"
            node = entry
        else:
            out += f".{step}" if out else str(step)
            node = node.get(step) if isinstance(node, dict) else None
    return out or "(top)"

