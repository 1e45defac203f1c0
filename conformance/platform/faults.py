"""--faults SPEC: seeded, reproducible defects injected into the platform's answers.

SPEC is comma-separated: seed=N, slow=P:DURATION (e.g. 0.1:2s or 0.1:250ms), wrong-ack=P,
drop=P, bad-schema=P, http500=P, where P is a probability in [0, 1]. For each request the
injector draws one number per kind in a fixed order from a random.Random(seed): the same requests
in the same order meet the same defects.

  http500     answer HTTP 500 with a SOAP Fault; the request is not processed
  drop        the request is processed, then the connection is closed after the first byte of the answer
  slow        the answer is delayed by DURATION
  wrong-ack   the acknowledgement code is inverted (AA ↔ AE; AR stays AR)
  bad-schema  the answer breaks the message schema (creationTime and targetMessage removed)
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass

from ..errors import ConformanceError

KINDS = ("http500", "drop", "slow", "wrong-ack", "bad-schema")


class FaultSpecError(ConformanceError, ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Decision:
    http500: bool = False
    drop: bool = False
    slow: float = 0.0
    wrong_ack: bool = False
    bad_schema: bool = False

    @property
    def any(self) -> bool:
        return self.http500 or self.drop or self.slow > 0 or self.wrong_ack or self.bad_schema

    def names(self) -> list[str]:
        out = [k for k, v in (("http500", self.http500), ("drop", self.drop),
                              ("wrong-ack", self.wrong_ack), ("bad-schema", self.bad_schema)) if v]
        if self.slow:
            out.append(f"slow={self.slow:g}s")
        return out


def _duration(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*", text)
    if not m:
        raise FaultSpecError(f"cannot read duration {text!r} (write e.g. 2s or 250ms)")
    v = float(m.group(1))
    return v / 1000 if m.group(2) == "ms" else v


def _prob(text: str, name: str) -> float:
    try:
        p = float(text)
    except ValueError:
        raise FaultSpecError(f"{name}: {text!r} is not a probability (0 … 1)") from None
    if not 0 <= p <= 1:
        raise FaultSpecError(f"{name}: probability {p} is outside 0 … 1")
    return p


class FaultInjector:
    def __init__(self, spec: str = "") -> None:
        self.spec = spec
        self.seed = 0
        self.p: dict[str, float] = dict.fromkeys(KINDS, 0.0)
        self.slow_seconds = 1.0
        for part in [p.strip() for p in spec.split(",") if p.strip()]:
            if "=" not in part:
                raise FaultSpecError(f"{part!r}: expected name=value (names: seed, {', '.join(KINDS)})")
            name, value = (s.strip() for s in part.split("=", 1))
            if name == "seed":
                if not re.fullmatch(r"-?\d+", value):
                    raise FaultSpecError(f"seed: {value!r} is not an integer")
                self.seed = int(value)
            elif name == "slow":
                prob, _, dur = value.partition(":")
                self.p["slow"] = _prob(prob, name)
                if dur:
                    self.slow_seconds = _duration(dur)
            elif name in KINDS:
                self.p[name] = _prob(value, name)
            else:
                raise FaultSpecError(f"unknown fault {name!r} (known: seed, {', '.join(KINDS)})")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return any(self.p.values())

    def decide(self) -> Decision:
        if not self.active:
            return Decision()
        with self._lock:
            draws = {k: self._rng.random() for k in KINDS}
        hit = {k: draws[k] < self.p[k] for k in KINDS}
        return Decision(http500=hit["http500"], drop=hit["drop"] and not hit["http500"],
                        slow=self.slow_seconds if hit["slow"] else 0.0,
                        wrong_ack=hit["wrong-ack"], bad_schema=hit["bad-schema"])
