"""The result vocabulary of every check, step, case, service and data set, and its one roll-up."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Status(StrEnum):
    """What a check, step or case concluded.

    - ``pass``        the platform did what the standard asks;
    - ``fail``        the platform is wrong;
    - ``error``       the answer could not be judged (timeout, refused, not XML …);
    - ``skip``        not applicable here, with the reason;
    - ``interrupted`` the run stopped before it finished (never a result: ``--resume`` runs it
      again).
    """

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"
    INTERRUPTED = "interrupted"

    @property
    def failing(self) -> bool:
        return self in (Status.FAIL, Status.ERROR)


# an unfinished part makes the whole unfinished; then a failure wins over an error, an error
# over a pass, and only parts that all skipped make a skip
_RANK = {Status.SKIP: 0, Status.PASS: 1, Status.ERROR: 2, Status.FAIL: 3, Status.INTERRUPTED: 4}
RESULTS: tuple[Status, ...] = (Status.PASS, Status.FAIL, Status.ERROR, Status.SKIP)


def roll_up(parts: Iterable[Status | str]) -> Status:
    """The status of a whole from its parts: ``interrupted`` if any part is, else ``fail`` if
    any failed, else ``error`` if any could not be judged, else ``pass`` if any passed, else
    ``skip`` (also for no parts at all)."""
    worst = Status.SKIP
    for part in parts:
        status = Status(part)
        if _RANK[status] > _RANK[worst]:
            worst = status
    return worst


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
