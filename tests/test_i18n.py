"""The UI phrase catalog: one bundle per language with the same keys and placeholders, and every
key the code asks for exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from conformance.i18n import LANGS, bundle, t

PKG = Path(__file__).resolve().parent.parent / "conformance"
_USE = re.compile(r"""\bt\(\s*["']([a-z][\w.-]*)["']""")
_IMPORTS_T = re.compile(r"from \.+i18n import [^\n]*\bt\b")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_bundle_has_the_same_keys_and_placeholders() -> None:
    keys = {lang: set(bundle(lang)) for lang in LANGS}
    zh = keys["zh"]
    for lang, have in keys.items():
        assert have == zh, f"{lang}: missing {sorted(zh - have)}, extra {sorted(have - zh)}"
    for key in zh:
        fields = {lang: _fields(bundle(lang)[key]) for lang in LANGS}
        assert len({frozenset(f) for f in fields.values()}) == 1, f"{key}: {fields}"


def test_every_key_the_code_uses_exists() -> None:
    sources = [p.read_text("utf-8") for p in PKG.rglob("*.py")]
    used = {m.group(1) for text in sources if _IMPORTS_T.search(text)
            for m in _USE.finditer(text)}
    assert used, "the scan found no use of t(): the pattern is wrong"
    assert not sorted(used - set(bundle("zh")))


def test_zh_is_chinese_and_lookup_falls_back() -> None:
    assert t("severity.error") == "错误" and t("severity.error", "en") == "error"
    assert t("severity.error", "fr") == "错误"
    with pytest.raises(KeyError):
        t("no.such.key")


def test_a_stage_that_cannot_run_says_why_in_both_languages(tmp_path: Path) -> None:
    from conformance.pipeline import AssessOptions, StageFailed, _documents
    from conformance.profiles import get_profile

    with pytest.raises(StageFailed) as exc:
        _documents(AssessOptions(documents=str(tmp_path / "none")), get_profile(None))
    missing = tmp_path / "none"
    assert exc.value.render("zh") == f"阶段 validate 无法运行（退出码 2）：找不到文档目录：{missing}"
    assert str(exc.value) == f"stage validate failed (exit 2): documents folder not found: {missing}"
