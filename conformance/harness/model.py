"""Scenarios as data: suites of cases of steps, loaded from YAML with precise errors.

```yaml
suite: hospital-services            # id
profile: hospital                   # hospital | regional
version: "2026.11"
title: {zh: …, en: …}
cases:
  - id: EMR-PL-01-个人信息注册服务-T01
    service: PatientInfoRegister     # the service the case is about (scoring keys on it)
    kind: positive                   # positive | negative | workflow
    title: …
    vars: {patient: 1}               # case variables (rendered with Jinja2)
    steps:
      - id: register                 # unique in the case
        service: PatientInfoRegister # action sent
        message: PatientInfoRegister # request template (default: the service)
        vars: {…}                    # step variables (override case variables)
        mutate: [{remove: "//hl7:patientPerson/hl7:name"}]   # negative cases: break the request
        expect: {ack: [AA]}          # ack codes accepted; negative cases default to [AE, AR]
        extract: {doc_id: "string(//hl7:…/@extension)"}      # XPath on the response → variable
        extract_request: {sent_doc: "string(//hl7:…/@value)"} # XPath on the request sent
        extract_key: order_key       # the business key of the record this request carries
        checks:                       # content assertions beyond the standard ones
          - {xpath_equals: {path: "…", value: "{{ patient_name }}"}}
          - {xpath_count: {path: "…", value: 1}}
          - {document: {path: "…", identical_to: document_bytes}}
        setup: true                   # a preparation step: its failure makes the case error
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..yamlio import read_yaml, strip_lines

KINDS = ("positive", "negative", "workflow")


class ScenarioError(Exception):
    """A scenario file is malformed (message names file, line and what is wrong)."""


@dataclass
class Step:
    id: str
    service: str
    message: str
    vars: dict[str, Any] = field(default_factory=dict)
    mutate: list[dict[str, Any]] = field(default_factory=list)
    expect: dict[str, Any] = field(default_factory=dict)
    extract: dict[str, str] = field(default_factory=dict)
    extract_request: dict[str, str] = field(default_factory=dict)
    extract_key: str | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)
    setup: bool = False


@dataclass
class Case:
    id: str
    service: str
    kind: str
    title: str
    steps: list[Step]
    vars: dict[str, Any] = field(default_factory=dict)
    suite: str = ""
    level: str | None = None


@dataclass
class Suite:
    id: str
    profile: str
    version: str
    title: dict[str, str]
    cases: list[Case]
    path: str = ""


_CHECK_KINDS = ("xpath_equals", "xpath_contains", "xpath_count", "document")
_ID_RE = re.compile(r"^[\w\-.（）()]+$")


def load_suite(path: str | Path) -> Suite:
    p = Path(path)
    data = read_yaml(p, ScenarioError, lines=True)
    if not isinstance(data, dict):
        raise ScenarioError(f"{p}: expected a mapping with suite, profile and cases")

    def need(d: dict[str, Any], key: str, where: str) -> Any:
        if key not in d:
            raise ScenarioError(f"{p}:{d.get('__line__', '?')}: {where} lacks '{key}'")
        return d[key]

    suite_id = str(need(data, "suite", "the suite"))
    profile = str(need(data, "profile", "the suite"))
    cases: list[Case] = []
    seen: set[str] = set()
    for c in need(data, "cases", "the suite") or []:
        line = c.get("__line__", "?")
        cid = str(need(c, "id", "a case"))
        if cid in seen:
            raise ScenarioError(f"{p}:{line}: case id {cid!r} appears twice")
        seen.add(cid)
        kind = str(need(c, "kind", f"case {cid}"))
        if kind not in KINDS:
            raise ScenarioError(f"{p}:{line}: case {cid}: kind must be one of {KINDS}, not {kind!r}")
        steps = []
        step_ids: set[str] = set()
        for i, s in enumerate(need(c, "steps", f"case {cid}") or [], start=1):
            sline = s.get("__line__", "?")
            service = str(need(s, "service", f"step {i} of case {cid}"))
            sid = str(s.get("id") or f"{i}-{service}")
            if sid in step_ids:
                raise ScenarioError(f"{p}:{sline}: step id {sid!r} appears twice in case {cid}")
            step_ids.add(sid)
            for chk in s.get("checks") or []:
                keys = [k for k in chk if k != "__line__"]
                if len(keys) != 1 or keys[0] not in _CHECK_KINDS:
                    raise ScenarioError(
                        f"{p}:{chk.get('__line__', sline)}: a check must be one of {_CHECK_KINDS}")
            expect = strip_lines(s.get("expect") or {})
            if "ack" in expect and isinstance(expect["ack"], str):
                expect["ack"] = [expect["ack"]]
            steps.append(Step(id=sid, service=service, message=str(s.get("message") or service),
                              vars=strip_lines(s.get("vars") or {}),
                              mutate=strip_lines(s.get("mutate") or []),
                              expect=expect, extract=strip_lines(s.get("extract") or {}),
                              extract_request=strip_lines(s.get("extract_request") or {}),
                              extract_key=s.get("extract_key"),
                              checks=strip_lines(s.get("checks") or []), setup=bool(s.get("setup"))))
        if not steps:
            raise ScenarioError(f"{p}:{line}: case {cid} has no steps")
        cases.append(Case(id=cid, service=str(c.get("service") or steps[-1].service), kind=kind,
                          title=str(c.get("title") or cid), steps=steps,
                          vars=strip_lines(c.get("vars") or {}), suite=suite_id))
    return Suite(id=suite_id, profile=profile, version=str(data.get("version", "")),
                 title=strip_lines(data.get("title") or {"zh": suite_id, "en": suite_id}), cases=cases,
                 path=str(p))


def load_suites(folder: str | Path, profile: str) -> list[Suite]:
    suites = []
    for p in sorted(Path(folder).rglob("*.yaml")):
        head = p.read_text(encoding="utf-8")[:2000]
        if not re.search(r"^suite:", head, re.M):
            continue
        s = load_suite(p)
        if s.profile == profile:
            suites.append(s)
    return suites
