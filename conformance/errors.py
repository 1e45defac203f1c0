"""The one exception root. Every problem a user can cause (bad input, an unreadable file, a
refused option) is a ``ConformanceError``: a command maps it to exit code 2 and prints its
message, never a traceback. Internal signals (a dropped connection inside the platform, a
rejected message on its way to an acknowledgement) stay plain exceptions."""

from __future__ import annotations

from typing import Any, TypeVar

from .i18n import LANGS, Phrase, t

E = TypeVar("E", bound="ConformanceError")


class ConformanceError(Exception):
    """A problem the user can fix; the message says what, where and how.

    Raised as ``SomeError.phrase("area.name", **values)`` its message is a UI phrase: ``render(lang)``
    gives it in the user's language (values may be a ``Phrase`` or a {zh, en} text), ``str()`` in
    English (logs, wrapped messages)."""

    exit_code = 2
    key: str | None = None
    values: dict[str, Any] = {}

    @classmethod
    def phrase(cls: type[E], key: str, /, **values: Any) -> E:
        """This error with the phrase ``key`` filled with ``values`` as its message."""
        err = cls(t(key, "en", **values))
        err.key, err.values, err._by_phrase = key, values, True
        return err

    @classmethod
    def like(cls: type[E], other: ConformanceError) -> E:
        """This error type with ``other``'s message (its phrase when it has one)."""
        return cls(str(other)) if other.key is None else cls.phrase(other.key, **other.values)

    def render(self, lang: str = "zh") -> str:
        """The message in the user's language (subclasses with localised problems override)."""
        if self.key is None:
            return str(self)
        return t(self.key, lang, **self.values)

    def as_phrase(self) -> Phrase | str:
        """The message as a value of another phrase (given in that phrase's language)."""
        return Phrase(self.key, **self.values) if self.key is not None else str(self)

    def texts(self) -> dict[str, str]:
        """The message in every language ({zh, en}), for problem lists."""
        return {lang: self.render(lang) for lang in LANGS}

    def __reduce__(self) -> Any:   # a phrased error keeps its phrase across processes
        if not getattr(self, "_by_phrase", False):
            return super().__reduce__()
        return (_phrased, (type(self), self.key, self.values))


def _phrased(cls: type[E], key: str, values: dict[str, Any]) -> E:
    return cls.phrase(key, **values)
