"""What each layer did with a document, as recorded in ``DocumentResult.layers``.

A status is ``ran``, ``ran (<how>)`` or ``skipped: <why>``: the keyword stays as it is (JSON,
JUnit and SARIF consumers read it, like a rule id), the reason is the UI phrase
``validate.layer.<key>`` in the output's language (conformance/i18n/).
"""

from __future__ import annotations

from ..i18n import t


def layer_text(lang: str, key: str, **kw: object) -> str:
    return t(f"validate.layer.{key}", lang, **kw)


def skipped(lang: str, key: str, **kw: object) -> str:
    """``skipped: <why>`` in the output's language."""
    return "skipped: " + layer_text(lang, key, **kw)


def ran(lang: str, key: str, **kw: object) -> str:
    """``ran (<how>)`` in the output's language."""
    return f"ran ({layer_text(lang, key, **kw)})"
