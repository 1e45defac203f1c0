"""Problems of a definition file, each at its ``file:line``, collected so that every problem of
a file is reported at once; and the helpers a rule type compiles an item with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..i18n import LANGS, Phrase
from ..yamlio import LineDict, LineList
from .model import FieldSpec, Item, Level, Option

# the words a problem's ``what`` may name (rendered as score.def.what.<word>)
_WHAT = {"level": "level", "source": "source", "dimension": "dimension", "sub-index": "sub_index",
         "item": "item", "item code": "item_code", "option": "option", "field": "field"}

Problem = tuple[str, int, dict[str, str]]   # (file, line, {zh, en})

__all__ = ["Phrase", "Problem", "Problems", "ItemScope", "each_lang", "same_text", "where"]


def each_lang(msg_key: str, /, **kw: Any) -> dict[str, str]:
    """The phrase ``msg_key`` in every language ({zh, en}); values that are a ``Phrase`` or a
    {zh, en} text are rendered in the same language, ``what`` may be one of the _WHAT words."""
    what = kw.get("what")
    if isinstance(what, str) and what in _WHAT:
        kw = {**kw, "what": Phrase(f"score.def.what.{_WHAT[what]}")}
    phrase = Phrase(msg_key, **kw)
    return {lang: phrase.render(lang) for lang in LANGS}


def same_text(text: str) -> dict[str, str]:
    """A text that is the same in every language (a message that is already final)."""
    return dict.fromkeys(LANGS, text)


def where(file: str, line: int) -> str:
    """'file:line: ' — or nothing when the message already says where (YAML errors)."""
    if not file:
        return ""
    return f"{file}:{line}: " if line else f"{file}: "


@dataclass
class Problems:
    """The problems found in one file so far."""

    file: str
    data: Any
    problems: list[Problem] = field(default_factory=list)

    def add(self, line: int, msg_key: str, **kw: Any) -> None:
        self.problems.append((self.file, line, each_lang(msg_key, **kw)))

    def add_text(self, line: int, text: dict[str, str]) -> None:
        self.problems.append((self.file, line, text))


@dataclass
class ItemScope:
    """One item being compiled: its raw mapping (with lines), where it is, and the definition's
    levels and bands — what a rule type's ``compile`` needs."""

    problems: Problems
    raw: LineDict
    path: str                       # items[<code>], for messages
    line: int
    levels: dict[str, Level]
    bands: list[Any]
    option_ids: set[str] = field(default_factory=set)

    def add(self, line: int, msg_key: str, **kw: Any) -> None:
        self.problems.add(line, msg_key, **kw)

    def line_of(self, key: str) -> int:
        return self.raw.line_of(key)

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)

    def check_level(self, value: Any, line: int, path: str) -> str | None:
        """A level id (None when ``value`` is None or not a level: reported)."""
        if value is None:
            return None
        sval = str(value)
        if sval not in self.levels:
            self.add(line, "score.def.ref", path=path, what="level", key=sval,
                     known=", ".join(self.levels))
            return None
        return sval

    def level_map(self, key: str, cast: Any) -> dict[str, Any]:
        """``{level: value}`` of the field ``key`` with every level checked."""
        out: dict[str, Any] = {}
        table = self.raw.get(key) or {}
        for lk, v in table.items():
            lid = self.check_level(lk, table.line_of(lk) if isinstance(table, LineDict)
                                   else self.line_of(key), f"{self.path}.{key}")
            if lid is not None:
                out[lid] = cast(v)
        return out

    def options(self) -> list[Option]:
        """The item's ``options`` (a plain string is an option whose id is its label)."""
        options: list[Option] = []
        listed = self.raw.get("options", [])
        for k, o in enumerate(listed):
            oline = listed.line_of(k) if isinstance(listed, LineList) else self.line
            opt = Option(o, o) if isinstance(o, str) else Option(
                o["id"], o["label"], o.get("label_en", ""),
                self.check_level(o.get("level"), oline, f"{self.path}.options[{o['id']}].level"),
                float(o.get("points", 0.0)))
            if opt.id in self.option_ids:
                self.add(oline, "score.def.dup", what=Phrase("score.def.what.option_of",
                                                             code=self.raw["code"]), key=opt.id,
                         first=oline)
                continue
            self.option_ids.add(opt.id)
            options.append(opt)
        return options

    def option_refs(self, values: Any, where: str, line: int) -> tuple[str, ...]:
        """Option ids referred to elsewhere in the item, each checked."""
        out = []
        for v in values or ():
            if v not in self.option_ids:
                self.add(line, "score.def.ref", path=where, what="option", key=v,
                         known=", ".join(sorted(self.option_ids))[:300])
            else:
                out.append(v)
        return tuple(out)

    def field_specs(self, key: str, default_type: str) -> list[FieldSpec]:
        return [FieldSpec(f["id"], f["label"], f.get("type", default_type), f.get("unit", ""))
                for f in self.raw.get(key, [])]

    def field_refs(self, ids: Any, item: Item, where: str, line: int) -> None:
        known = {f.id for f in item.fields}
        for fid in ids:
            if fid not in known:
                self.add(line, "score.def.ref", path=where, what="field", key=fid,
                         known=", ".join(sorted(known)) or "-")
