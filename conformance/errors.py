"""The one exception root. Every problem a user can cause (bad input, an unreadable file, a
refused option) is a ``ConformanceError``: a command maps it to exit code 2 and prints its
message, never a traceback. Internal signals (a dropped connection inside the platform, a
rejected message on its way to an acknowledgement) stay plain exceptions."""

from __future__ import annotations


class ConformanceError(Exception):
    """A problem the user can fix; the message says what, where and how."""

    exit_code = 2

    def render(self, lang: str = "zh") -> str:
        """The message in the user's language (subclasses with localised problems override)."""
        return str(self)
