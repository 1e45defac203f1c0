"""Pass/fail thresholds on the measured steps — from the command line or the assessment
definition (``performance.thresholds``), never built in.

No source known to this project gives WS/T 447 / 448's performance numbers (assessment-notes §3);
the 2020 hospital scheme records 3.3 in bands without pass/fail. So the shipped definitions carry
no thresholds, and any a definition adds are provisional unless its item says ``status: seen``.

Command-line syntax (repeat ``--threshold``)::

    METRIC OP VALUE [@USERS | @RATE/s] [:SERVICE]

    avg<=3s@50          mean latency at 50 users at most 3 s
    p95<=800ms@200      95th percentile at 200 users
    tps>=100@50         throughput at 50 users
    errors<=1%          error rate, in every step
    p99<2s@20/s         open model: the step at 20 arrivals per second
    p95<=1s@50:PatientInfoQuery   one service only

METRIC: avg|mean, p50|median, p90, p95, p99, max (latency), tps, errors|error_rate.
OP: <=, <, >=, >. Latency values take ms or s (bare numbers are ms); error rates take % or a
fraction. Without @ the threshold is judged at every step.

Definition syntax (assessment YAML, top level)::

    performance:
      thresholds:
        - {id: avg-50, metric: mean_ms, op: "<=", limit: 3000, users: 50, status: provisional,
           source: [some-source], description: "50 并发平均响应时间"}
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any

from ..errors import ConformanceError
from ..model.perf import LoadStep
from ..model.perf import Threshold as Judged

METRICS = {"avg": "mean_ms", "mean": "mean_ms", "p50": "p50_ms", "median": "p50_ms",
           "p90": "p90_ms", "p95": "p95_ms", "p99": "p99_ms", "max": "max_ms", "tps": "tps",
           "errors": "error_rate", "error_rate": "error_rate"}
CANONICAL = set(METRICS.values())
OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
_EXPR = re.compile(r"^\s*(?P<metric>[a-z_0-9]+)\s*(?P<op><=|>=|<|>)\s*(?P<value>\d+(?:\.\d+)?)\s*"
                   r"(?P<unit>ms|s|%)?\s*(?:@\s*(?P<at>\d+(?:\.\d+)?)\s*(?P<per>/s)?)?\s*$")
_SERVICE = re.compile(r"^[\w.\-]+$")
_LABEL = {"mean_ms": "avg", "p50_ms": "p50", "p90_ms": "p90", "p95_ms": "p95", "p99_ms": "p99",
          "max_ms": "max", "tps": "tps", "error_rate": "errors"}


class ThresholdError(ConformanceError, ValueError):
    pass


@dataclass(frozen=True)
class Threshold:
    id: str
    metric: str
    op: str
    limit: float
    users: int | None = None
    rate: float | None = None
    service: str | None = None
    description: str = ""
    provisional: bool = False
    source: str = "command line"

    def at(self) -> str:
        if self.users is not None:
            return f"@{self.users}"
        if self.rate is not None:
            return f"@{self.rate:g}/s"
        return ""


def _fmt_limit(metric: str, limit: float) -> str:
    if metric == "error_rate":
        return f"{limit * 100:g}%"
    if metric.endswith("_ms"):
        return f"{limit / 1000:g}s" if limit >= 1000 and limit % 100 == 0 else f"{limit:g}ms"
    return f"{limit:g}"


def parse(expr: str) -> Threshold:
    head, _, service = expr.partition(":")
    service = service.strip() or None
    m = _EXPR.match(head.lower())
    if not m or (service is not None and not _SERVICE.match(service)):
        raise ThresholdError(f"--threshold {expr!r}: cannot read it; write METRIC OP VALUE[@USERS]"
                             "[:SERVICE], e.g. avg<=3s@50, p95<=800ms@200, tps>=100@50, errors<=1%")
    name = m.group("metric")
    if name not in METRICS:
        raise ThresholdError(f"--threshold {expr!r}: unknown metric {name!r}; one of "
                             f"{', '.join(sorted(METRICS))}")
    metric = METRICS[name]
    value, unit = float(m.group("value")), m.group("unit")
    if metric.endswith("_ms"):
        if unit == "%":
            raise ThresholdError(f"--threshold {expr!r}: a latency takes ms or s, not %")
        limit = value * 1000 if unit == "s" else value
    elif metric == "error_rate":
        if unit in ("ms", "s"):
            raise ThresholdError(f"--threshold {expr!r}: an error rate takes % or a fraction")
        limit = value / 100 if unit == "%" else value
        if limit > 1:
            raise ThresholdError(f"--threshold {expr!r}: an error rate above 100%")
    else:
        if unit:
            raise ThresholdError(f"--threshold {expr!r}: tps takes a plain number (requests/s)")
        limit = value
    users = rate = None
    if m.group("at"):
        if m.group("per"):
            rate = float(m.group("at"))
        else:
            at = float(m.group("at"))
            if not at.is_integer():
                raise ThresholdError(f"--threshold {expr!r}: @{m.group('at')} is not a user "
                                     "count (write @20/s for an arrival rate)")
            users = int(at)
    t = Threshold("", metric, m.group("op"), limit, users, rate, service)
    tid = f"{_LABEL[metric]}{t.op}{_fmt_limit(metric, limit)}{t.at()}" + (
        f":{t.service}" if t.service else "")
    return Threshold(tid, metric, t.op, limit, users, rate, t.service, description=expr.strip())


def from_definition(raw: dict[str, Any], where: str) -> list[Threshold]:
    """``performance.thresholds`` of an assessment definition (its raw mapping)."""
    perf = raw.get("performance")
    if perf is None:
        return []
    if not isinstance(perf, dict) or not isinstance(perf.get("thresholds", []), list):
        raise ThresholdError(f"{where}: performance.thresholds must be a list")
    out = []
    for i, item in enumerate(perf.get("thresholds") or []):
        at = f"{where}: performance.thresholds[{i}]"
        if not isinstance(item, dict):
            raise ThresholdError(f"{at} must be a mapping")
        metric = item.get("metric")
        if metric not in CANONICAL:
            raise ThresholdError(f"{at}: metric must be one of {sorted(CANONICAL)}, found {metric!r}")
        op = item.get("op", "<=")
        if op not in OPS:
            raise ThresholdError(f"{at}: op must be one of {list(OPS)}, found {op!r}")
        limit = item.get("limit")
        if not isinstance(limit, int | float) or isinstance(limit, bool):
            raise ThresholdError(f"{at}: limit must be a number, found {limit!r}")
        users = item.get("users")
        if users is not None and (not isinstance(users, int) or users < 1):
            raise ThresholdError(f"{at}: users must be a whole number >= 1")
        status = str(item.get("status", "provisional"))
        source = item.get("source") or where
        if isinstance(source, list):
            source = ", ".join(str(s) for s in source)
        tid = str(item.get("id") or f"{_LABEL[metric]}{op}{_fmt_limit(metric, float(limit))}"
                  + (f"@{users}" if users else ""))
        out.append(Threshold(tid, metric, op, float(limit), users,
                             float(item["rate"]) if item.get("rate") is not None else None,
                             item.get("service"), str(item.get("description") or ""),
                             provisional=status not in ("seen", "transcribed", "vendor-consensus",
                                                        "strict-xsd"),
                             source=str(source)))
    return out


def check_scope(thresholds: list[Threshold], users: list[int] | None,
                rates: list[float] | None) -> None:
    """Refuse, before anything runs, thresholds that name a step that will not be run."""
    for t in thresholds:
        if t.users is not None and t.users not in (users or []):
            raise ThresholdError(f"threshold {t.id}: no step with {t.users} users (--users "
                                 f"{','.join(str(u) for u in users or []) or '-'})")
        if t.rate is not None and t.rate not in (rates or []):
            raise ThresholdError(f"threshold {t.id}: no step at {t.rate:g}/s (--rate "
                                 f"{','.join(f'{r:g}' for r in rates or []) or '-'})")


def judge(thresholds: list[Threshold], steps: list[LoadStep]) -> list[Judged]:
    """Each threshold at each step it names (every step when it names none); a threshold with no
    such step, or no figure, is ``not_measured`` (``passed`` null)."""
    out = []
    for t in thresholds:
        matched = [s for s in steps
                   if (t.users is None or s.users == t.users)
                   and (t.rate is None or s.rate == t.rate)]
        for s in matched or [None]:
            actual = None
            if s is not None:
                src = s if t.service is None else s.services.get(t.service)
                actual = getattr(src, t.metric) if src is not None else None
            passed = None if actual is None else bool(OPS[t.op](actual, t.limit))
            tid = t.id
            if s is not None and t.users is None and t.rate is None and len(matched) > 1:
                tid += f"@{s.users}" if s.users is not None else f"@{s.rate:g}/s"
            out.append(Judged(id=tid, description=t.description, metric=t.metric, op=t.op,
                              limit=t.limit, users=s.users if s else t.users,
                              rate=s.rate if s else t.rate, service=t.service, actual=actual,
                              passed=passed,
                              result="not_measured" if passed is None else (
                                  "pass" if passed else "fail"),
                              provisional=t.provisional, source=t.source))
    return out
