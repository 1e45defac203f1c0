"""What each layer did with a document, as recorded in ``DocumentResult.layers``.

A status is ``ran``, ``ran (<how>)`` or ``skipped: <why>``: the keyword stays as it is (JSON,
JUnit and SARIF consumers read it, like a rule id), the reason is a text of this table in the
output's language, keyed like the rules' messages so that every reason has a zh and an en form
(tests/test_messages.py renders them all).
"""

from __future__ import annotations

from ..i18n import lookup

LAYER_TEXTS: dict[str, dict[str, str]] = {
    "not_read": {"zh": "文件未读取", "en": "file not read"},
    "not_parsed": {"zh": "文档无法解析", "en": "the document could not be parsed"},
    "not_cda": {"zh": "根元素 {root} 不是 CDA 文档的 ClinicalDocument",
                "en": "root element {root} is not a CDA ClinicalDocument"},
    "schema_unavailable": {"zh": "无法使用 CDA 模式：{detail}",
                           "en": "no CDA schema: {detail}"},
    "header_only": {"zh": "仅检查文档头：未识别文档类型",
                    "en": "header only: document type not recognised"},
    "carried_document": {"zh": "所载 CDA 文档", "en": "the CDA document carried"},
}


def layer_text(lang: str, key: str, **kw: object) -> str:
    return lookup(LAYER_TEXTS, key, lang, **kw)


def skipped(lang: str, key: str, **kw: object) -> str:
    """``skipped: <why>`` in the output's language."""
    return "skipped: " + layer_text(lang, key, **kw)


def ran(lang: str, key: str, **kw: object) -> str:
    """``ran (<how>)`` in the output's language."""
    return f"ran ({layer_text(lang, key, **kw)})"
