"""User-interface phrases (not standards knowledge): one bundle per language
(``conformance/i18n/zh.yaml``, ``en.yaml``), one lookup, zh-CN by default and English with
``--lang en``. Keys are ``<area>.<name>``; every bundle has the same keys with the same
placeholders (a test checks it, and that every key the code uses exists). Rule messages of the
validators live with the rules in ``standards/rules/``."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

LANGS: tuple[str, ...] = ("zh", "en")
DEFAULT_LANG = "zh"
_DIR = Path(__file__).resolve().parent


@cache
def bundle(lang: str) -> dict[str, str]:
    # the bundles ship with the package and sit at the bottom of the dependency rule (errors and
    # the YAML reader speak through them), so they are read with PyYAML's safe loader directly;
    # tests/test_i18n.py reads them through conformance.yamlio too (duplicate keys, limits)
    text = (_DIR / f"{lang}.yaml").read_text(encoding="utf-8")
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return {str(k): str(v) for k, v in (data or {}).items()}


def t(key: str, lang: str = DEFAULT_LANG, /, **kw: object) -> str:
    """The phrase ``key`` in ``lang`` (the zh bundle when the language lacks it), filled in
    (a value that is a ``Phrase`` or a {zh, en} text is given in the same language)."""
    text = bundle(lang if lang in LANGS else DEFAULT_LANG).get(key)
    if text is None:
        text = bundle(DEFAULT_LANG)[key]
    return text.format(**{k: local(v, lang) for k, v in kw.items()}) if kw else text



class Phrase:
    """A UI phrase used as a value of another (a hint, a word): rendered in each language."""

    __slots__ = ("key", "values")

    def __init__(self, key: str, /, **values: Any) -> None:
        self.key = key
        self.values = values

    def render(self, lang: str) -> str:
        return t(self.key, lang, **self.values)

    def __reduce__(self) -> tuple[Any, ...]:   # pickled with its values (worker processes)
        return (_phrase, (self.key, self.values))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Phrase) and (self.key, self.values) == (other.key, other.values)

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"Phrase({self.key!r}, **{self.values!r})"


def _phrase(key: str, values: dict[str, Any]) -> Phrase:
    return Phrase(key, **values)


class Lines(tuple):
    """Phrases shown one per line (every problem of a file at once)."""

    __slots__ = ()

    def render(self, lang: str) -> str:
        return "\n".join(str(local(p, lang)) for p in self)


def local(value: Any, lang: str) -> Any:
    """A value of a phrase in ``lang``: a ``Phrase`` (or ``Lines``) rendered, a {zh, en} text
    from the data picked, anything else as it is."""
    if isinstance(value, Phrase | Lines):
        return value.render(lang)
    if isinstance(value, dict) and "zh" in value:   # a {zh, en} text from the data
        return value.get(lang) or value["zh"]
    return value
