"""User-interface phrases (not standards knowledge): one bundle per language
(``conformance/i18n/zh.yaml``, ``en.yaml``), one lookup, zh-CN by default and English with
``--lang en``. Keys are ``<area>.<name>``; every bundle has the same keys with the same
placeholders (a test checks it, and that every key the code uses exists). Rule messages of the
validators live with the rules in ``standards/rules/``."""

from __future__ import annotations

from functools import cache
from pathlib import Path

LANGS: tuple[str, ...] = ("zh", "en")
DEFAULT_LANG = "zh"
_DIR = Path(__file__).resolve().parent


@cache
def bundle(lang: str) -> dict[str, str]:
    from ..yamlio import load_file

    data, _ = load_file(_DIR / f"{lang}.yaml")
    return {str(k): str(v) for k, v in (data or {}).items()}


def t(key: str, lang: str = DEFAULT_LANG, /, **kw: object) -> str:
    """The phrase ``key`` in ``lang`` (the zh bundle when the language lacks it), filled in."""
    text = bundle(lang if lang in LANGS else DEFAULT_LANG).get(key)
    if text is None:
        text = bundle(DEFAULT_LANG)[key]
    return text.format(**kw) if kw else text

