"""Load mixes as data (test_cases/perf/<profile>-mix.yaml): which transactions virtual users run,
with what weights and think time — built from the interoperability scenarios in test_cases/.

```yaml
mix: hospital-default
profile: hospital
version: "2026.11"
title: {zh: …, en: …}
think_time: 1s-3s            # closed model: pause after each transaction (uniform; 0 = none)
pool: 50                     # open model: prepared data contexts requests rotate over
transactions:
  - id: patient-query
    weight: 40               # relative; need not add up to 100
    scenario: EMR-PL-04-个人信息查询服务-T01   # a case of test_cases/<profile>/: its setup steps run once
                                              # per virtual user, its other steps are measured
  - id: my-flow
    weight: 5
    steps:                   # or inline steps, in the scenario step syntax
      - {id: prepare, service: PatientInfoRegister, setup: true, extract_key: patient}
      - {id: main, service: PatientInfoQuery, vars: {key: "{{ patient }}"}}
```

Measured steps get a fresh message id on every send and, when their service adds a record
(op add), a fresh business key too (also replaced in the later steps of the same transaction), so
repeated transactions do not collide. What a measured step needs must be known when the virtual
user is prepared: setup steps may extract from responses (``extract``), measured steps only from
their own requests (``extract_request``, ``extract_key``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConformanceError
from ..harness.model import Step, load_suites
from ..resources import test_cases_dir
from ..yamlio import read_yaml, strip_lines
from .units import UnitError, parse_think

_STEP_KEYS = {"id", "service", "message", "vars", "expect", "extract", "extract_request",
              "extract_key", "checks", "setup"}
_TX_KEYS = {"id", "weight", "scenario", "steps", "vars", "title"}
_TOP_KEYS = {"mix", "profile", "version", "title", "think_time", "pool", "transactions", "note"}


class MixError(ConformanceError):
    """A mix file is malformed (the message names file, line and what to fix)."""


@dataclass
class Transaction:
    id: str
    weight: float
    steps: list[Step]
    vars: dict[str, Any] = field(default_factory=dict)
    scenario: str | None = None
    title: str = ""

    @property
    def setup(self) -> list[Step]:
        return [s for s in self.steps if s.setup]

    @property
    def measured(self) -> list[Step]:
        return [s for s in self.steps if not s.setup]

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "weight": self.weight, "scenario": self.scenario,
                "services": [s.service for s in self.measured],
                "setup": [s.service for s in self.setup]}


@dataclass
class Mix:
    id: str
    profile: str
    version: str
    title: dict[str, str]
    transactions: list[Transaction]
    think_min: float = 0.0
    think_max: float = 0.0
    pool: int = 50
    path: str = ""
    sha256: str = ""

    @property
    def services(self) -> list[str]:
        out: list[str] = []
        for t in self.transactions:
            for s in t.measured:
                if s.service not in out:
                    out.append(s.service)
        return out

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "path": self.path, "sha256": self.sha256,
                "think_time": [self.think_min, self.think_max],
                "transactions": [t.summary() for t in self.transactions]}


def _cases(folder: str, profile: str) -> dict[str, Any]:
    """The scenario cases of a profile by id (cached while the suite files are unchanged)."""
    stamp = tuple((str(p), p.stat().st_mtime_ns) for p in sorted(Path(folder).rglob("*.yaml")))
    key = (folder, profile)
    hit = _CASES.get(key)
    if hit is None or hit[0] != stamp:
        hit = (stamp, {c.id: c for s in load_suites(folder, profile) for c in s.cases})
        _CASES[key] = hit
    return hit[1]


_CASES: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = {}


def default_mix_path(profile: str) -> Path:
    """The profile's load mix, as its manifest names it (standards/profiles/)."""
    from ..profiles import get_profile

    mix = get_profile(profile).perf_mix
    return mix if mix is not None else test_cases_dir() / "perf" / f"{profile}-mix.yaml"


def load_mix(path: str | Path | None = None, profile: str = "hospital",
             scenarios: Path | None = None) -> Mix:
    p = Path(path) if path else default_mix_path(profile)
    data = read_yaml(p, MixError, lines=True)
    if not isinstance(data, dict):
        raise MixError.phrase("perf.mix.not_mapping", where=p)

    def at(d: dict[str, Any]) -> str:
        return f"{p}:{d.get('__line__', '?')}"

    unknown = set(data) - _TOP_KEYS - {"__line__"}
    if unknown:
        raise MixError.phrase("perf.mix.unknown_settings", where=at(data), keys=sorted(unknown),
                              allowed=sorted(_TOP_KEYS))
    for key in ("mix", "profile", "transactions"):
        if key not in data:
            raise MixError.phrase("perf.mix.lacks", where=at(data), key=key)
    mix_profile = str(data["profile"])
    if mix_profile != profile:
        raise MixError.phrase("perf.mix.profile", where=at(data), mix=mix_profile,
                              mix_repr=repr(mix_profile), run=repr(profile))
    try:
        think = parse_think(data.get("think_time", 0))
    except UnitError as exc:
        raise MixError.phrase("perf.mix.at", where=at(data), problem=exc.as_phrase()) from None
    pool = data.get("pool", 50)
    if not isinstance(pool, int) or isinstance(pool, bool) or pool < 1:
        raise MixError.phrase("perf.mix.pool", where=at(data), found=repr(pool))
    txs_raw = data["transactions"]
    if not isinstance(txs_raw, list) or not txs_raw:
        raise MixError.phrase("perf.mix.transactions", where=at(data))
    cases: dict[str, Any] | None = None
    txs: list[Transaction] = []
    seen: set[str] = set()
    for i, t in enumerate(txs_raw, start=1):
        if not isinstance(t, dict):
            raise MixError.phrase("perf.mix.transaction", where=p, i=i)
        bad = set(t) - _TX_KEYS - {"__line__"}
        if bad:
            raise MixError.phrase("perf.mix.unknown_tx_keys", where=at(t), keys=sorted(bad),
                                  allowed=sorted(_TX_KEYS))
        tid = str(t.get("id") or f"t{i}")
        if tid in seen:
            raise MixError.phrase("perf.mix.tx_twice", where=at(t), id=repr(tid))
        seen.add(tid)
        weight = t.get("weight", 1)
        if not isinstance(weight, int | float) or isinstance(weight, bool) or weight < 0:
            raise MixError.phrase("perf.mix.weight", where=at(t), tid=tid, found=repr(weight))
        if ("scenario" in t) == ("steps" in t):
            raise MixError.phrase("perf.mix.either", where=at(t), tid=tid, profile=profile)
        variables = strip_lines(t.get("vars") or {})
        if "scenario" in t:
            if cases is None:
                cases = _cases(str(scenarios or test_cases_dir()), profile)
            case = cases.get(str(t["scenario"]))
            if case is None:
                raise MixError.phrase("perf.mix.no_case", where=at(t), tid=tid,
                                      case=repr(t["scenario"]), profile=profile,
                                      folder=scenarios or test_cases_dir())
            if any(s.mutate for s in case.steps):
                raise MixError.phrase("perf.mix.negative", where=at(t), tid=tid, case=case.id)
            steps = list(case.steps)
            variables = {**case.vars, **variables}
            title = case.title
        else:
            steps = parse_steps(t["steps"], p, tid)
            title = str(t.get("title") or tid)
        measured = [s for s in steps if not s.setup]
        if not measured:
            raise MixError.phrase("perf.mix.no_measured", where=at(t), tid=tid)
        for s in measured:
            if s.extract:
                raise MixError.phrase("perf.mix.extract", where=at(t), tid=tid, step=repr(s.id))
        txs.append(Transaction(tid, float(weight), steps, variables,
                               str(t["scenario"]) if "scenario" in t else None, title))
    if sum(t.weight for t in txs) <= 0:
        raise MixError.phrase("perf.mix.zero_weights", where=at(data))
    title = strip_lines(data.get("title") or {})
    if isinstance(title, str):
        title = {"zh": title, "en": title}
    return Mix(id=str(data["mix"]), profile=mix_profile, version=str(data.get("version", "")),
               title=title or {"zh": str(data["mix"]), "en": str(data["mix"])}, transactions=txs,
               think_min=think[0], think_max=think[1], pool=pool, path=str(p),
               sha256=hashlib.sha256(p.read_bytes()).hexdigest())


def parse_steps(raw: Any, p: Path, tid: str) -> list[Step]:
    if not isinstance(raw, list) or not raw:
        raise MixError.phrase("perf.mix.steps", where=p, tid=tid)
    out: list[Step] = []
    ids: set[str] = set()
    for n, s in enumerate(raw, start=1):
        if not isinstance(s, dict) or "service" not in s:
            raise MixError.phrase("perf.mix.step", where=p, tid=tid, n=n)
        line = s.get("__line__", "?")
        bad = set(s) - _STEP_KEYS - {"__line__"}
        if "mutate" in s:
            raise MixError.phrase("perf.mix.mutate", where=f"{p}:{line}", tid=tid)
        if bad:
            raise MixError.phrase("perf.mix.unknown_step_keys", where=f"{p}:{line}", tid=tid,
                                  keys=sorted(bad), allowed=sorted(_STEP_KEYS))
        sid = str(s.get("id") or f"{n}-{s['service']}")
        if sid in ids:
            raise MixError.phrase("perf.mix.step_twice", where=f"{p}:{line}", tid=tid,
                                  id=repr(sid))
        ids.add(sid)
        expect = strip_lines(s.get("expect") or {})
        if isinstance(expect.get("ack"), str):
            expect["ack"] = [expect["ack"]]
        out.append(Step(id=sid, service=str(s["service"]), message=str(s.get("message") or s["service"]),
                        vars=strip_lines(s.get("vars") or {}), expect=expect,
                        extract=strip_lines(s.get("extract") or {}),
                        extract_request=strip_lines(s.get("extract_request") or {}),
                        extract_key=s.get("extract_key"), checks=strip_lines(s.get("checks") or []),
                        setup=bool(s.get("setup"))))
    return out
