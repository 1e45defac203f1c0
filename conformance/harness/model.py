"""Scenarios as data: suites of cases of steps, loaded from YAML and checked against a JSON Schema
(the step ``checks:`` and ``expect:`` parts come from the check registry, ``checks.py``). Every
problem of a file is reported at once, each as ``file:line: what is wrong``.

```yaml
suite: hospital-services            # id
profile: hospital                   # a profile of standards/profiles/
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
        checks:                       # content assertions beyond the standard ones (checks.py)
          - {xpath_equals: {path: "…", value: "{{ patient_name }}"}}
          - {xpath_count: {path: "…", value: 1}}
          - {document: {path: "…", identical_to: document_bytes}}
        setup: true                   # a preparation step: its failure makes the case error
```
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from ..errors import ConformanceError
from ..profiles import profile_ids
from ..yamlio import YamlError, line_at, load_file
from . import checks as C

KINDS = ("positive", "negative", "workflow")


class ScenarioError(ConformanceError):
    """A scenario file is malformed. ``problems`` are (file, line, message); the message names
    each as ``file:line: …``."""

    def __init__(self, problems: list[tuple[str, int | None, str]] | str) -> None:
        self.problems = [("", None, problems)] if isinstance(problems, str) else problems
        super().__init__(self.render())

    def render(self, lang: str = "zh") -> str:
        rows = [(f"{f}:{line}: " if f and line else f"{f}: " if f else "") + msg
                for f, line, msg in self.problems]
        if len(rows) == 1:
            return rows[0]
        return "\n".join([f"{len(rows)} problems in scenario files:", *("  " + r for r in rows)])


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
    checks: list[dict[str, Any]] = field(default_factory=list)   # as written
    setup: bool = False
    compiled: list[C.Check] | None = field(default=None, repr=False, compare=False)

    def check_objects(self, kind: str) -> list[C.Check]:
        """Every check this step runs in a case of ``kind`` (standard ones first)."""
        if self.compiled is None:
            self.compiled = [C.compile_spec(s) for s in self.checks]
        return C.step_checks(kind, self.expect, self.checks, self.compiled)


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


_STR = {"type": "string"}
_ID = {"type": "string", "minLength": 1}
_ID_OR_NUMBER = {"type": ["string", "integer"], "minLength": 1}
_STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_MUTATION = {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
             "properties": {
                 "remove": _ID,
                 "set": {"type": "object", "required": ["path", "value"],
                         "additionalProperties": False,
                         "properties": {"path": _ID,
                                        "value": {"type": ["string", "number", "boolean"]}}}}}


@cache
def suite_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file (with the registry's check fragments)."""
    step = {"type": "object", "required": ["service"], "additionalProperties": False,
            "properties": {
                "id": _ID_OR_NUMBER, "service": _ID, "message": _ID, "vars": {"type": "object"},
                "mutate": {"type": "array", "items": _MUTATION},
                "expect": C.expect_schema(), "extract": _STR_MAP, "extract_request": _STR_MAP,
                "extract_key": _ID, "checks": C.checks_schema(), "setup": {"type": "boolean"}}}
    case = {"type": "object", "required": ["id", "kind", "steps"], "additionalProperties": False,
            "properties": {"id": _ID_OR_NUMBER, "service": _ID, "kind": {"enum": list(KINDS)},
                           "title": _STR, "vars": {"type": "object"},
                           "steps": {"type": "array", "minItems": 1, "items": step}}}
    return {"type": "object", "required": ["suite", "profile", "cases"],
            "additionalProperties": False,
            "properties": {"suite": _ID_OR_NUMBER, "profile": {"enum": profile_ids()},
                           "version": {"type": ["string", "number"]},
                           "title": {"anyOf": [_STR, {"type": "object",
                                                      "additionalProperties": _STR}]},
                           "generated_by": _STR,
                           "cases": {"type": "array", "items": case}}}


# ---------------------------------------------------------------------------------- lines
def _line(data: Any, path: tuple[Any, ...]) -> int | None:
    """The line of the value at ``path`` (the deepest line the reader knows along the way)."""
    return line_at(data, path) or None


def _where(data: Any, path: tuple[Any, ...]) -> str:
    """A readable place: ``case EMR-…-T01, step register, checks[0].xpath_equals.path``."""
    parts: list[str] = []
    node, rest = data, ""
    for step in path:
        child = node[step] if isinstance(node, dict | list) and (
            (isinstance(node, dict) and step in node)
            or (isinstance(node, list) and isinstance(step, int) and step < len(node))) else None
        if isinstance(step, int) and rest in ("cases", "steps") and isinstance(child, dict):
            label = child.get("id")
            if rest == "steps" and label is None:
                label = f"{step + 1}-{child.get('service', '?')}"
            what = "case" if rest == "cases" else "step"
            parts.append(f"{what} {label if label is not None else step + 1}")
            rest = ""
        elif isinstance(step, int):
            rest += f"[{step}]"
        else:
            rest = f"{rest}.{step}" if rest else str(step)
        node = child
    if rest:
        parts.append(rest)
    return ", ".join(parts) or "the file"


def _schema_problems(data: Any) -> list[tuple[tuple[Any, ...], str]]:
    out: list[tuple[tuple[Any, ...], str]] = []
    validator = jsonschema.Draft202012Validator(suite_schema())
    for err in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        if err.validator == "anyOf" and err.context:
            # the branch the value was meant for: the one that got deeper, else one whose type
            # it has; else the value has none of the forms
            depth = len(err.absolute_path)
            deeper = [e for e in err.context if len(e.absolute_path) > depth]
            typed = [e for e in err.context if e.validator != "type"]
            errors = [jsonschema.exceptions.best_match(deeper or typed or [err])]
        else:
            errors = [err]
        for e in errors:
            path = tuple(e.absolute_path)
            where = _where(data, path)
            for sub, m in _describe(e):
                out.append(((*path, *sub), f"{where}: {m}"))
    return out


def _describe(err: jsonschema.ValidationError) -> list[tuple[tuple[Any, ...], str]]:
    """What is wrong, each with the path below the error's own that places it best."""
    kind, inst, want = err.validator, err.instance, err.validator_value
    if kind == "required":
        have = set(inst) if isinstance(inst, dict) else set()
        return [((), f"'{k}' is missing") for k in want if k not in have]
    if kind == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        rows = []
        for key in sorted(set(inst) - set(allowed), key=str):
            near = difflib.get_close_matches(str(key), allowed, n=1)
            rows.append(((key,), f"unknown key '{key}'"
                         + (f" (did you mean '{near[0]}'?)" if near else "")
                         + f"; allowed: {', '.join(allowed)}"))
        return rows
    return [((), m) for m in _describe_value(err)]


def _describe_value(err: jsonschema.ValidationError) -> list[str]:
    kind, inst, want = err.validator, err.instance, err.validator_value
    if kind == "enum" and "propertyNames" in err.absolute_schema_path:  # unregistered check
        near = difflib.get_close_matches(str(inst), list(map(str, want)), n=1)
        return [f"unknown check kind '{inst}'" + (f" (did you mean '{near[0]}'?)" if near else "")
                + f"; one of {', '.join(map(str, want))}"]
    if kind in ("minProperties", "maxProperties") and "propertyNames" in err.schema:
        return [f"a check names exactly one kind (found {', '.join(map(str, inst)) or 'none'})"]
    if kind in ("minProperties", "maxProperties"):
        return [f"one of {', '.join(err.schema.get('properties', {}))}, exactly"]
    if kind == "type":
        wants = want if isinstance(want, list) else [want]
        return [f"expected {' or '.join(wants)}, found {inst!r}"]
    if kind == "enum":
        return [f"{inst!r} is not one of {', '.join(map(str, want))}"]
    if kind == "minItems":
        return ["must not be empty"]
    if kind == "minLength":
        return ["must not be empty"]
    if kind == "anyOf":
        return [f"{inst!r} has the wrong form"]
    if kind == "pattern":
        return [f"{inst!r} has the wrong form"]
    if kind == "minimum":
        return [f"must be at least {want}, found {inst!r}"]
    return [err.message]


_SUITE_RE = re.compile(r"^suite:", re.M)


def load_suite(path: str | Path) -> Suite:
    """Load and check one scenario file; every problem raises at once in one ``ScenarioError``."""
    p = Path(path)
    try:
        data, _ = load_file(p)
    except YamlError as exc:
        raise ScenarioError(str(exc)) from None
    file = str(p)
    problems: list[tuple[str, int | None, str]] = []
    if not isinstance(data, dict):
        raise ScenarioError([(file, None, "expected a mapping with suite, profile and cases")])
    schema_problems = _schema_problems(data)
    problems.extend((file, _line(data, path), msg) for path, msg in schema_problems)
    suite_id = str(data.get("suite", ""))
    cases: list[Case] = []
    seen: dict[str, int | None] = {}
    for ci, c in enumerate(data.get("cases") or []):
        if not isinstance(c, dict) or "id" not in c:
            continue
        cid = str(c["id"])
        cline = _line(data, ("cases", ci))
        if cid in seen:
            problems.append((file, cline, f"case id {cid!r} appears twice"
                             + (f" (first on line {seen[cid]})" if seen[cid] else "")))
        seen.setdefault(cid, cline)
        steps: list[Step] = []
        step_ids: set[str] = set()
        for si, s in enumerate(c.get("steps") or [], start=0):
            if not isinstance(s, dict) or not isinstance(s.get("service"), str):
                continue
            sline = _line(data, ("cases", ci, "steps", si))
            service = s["service"]
            sid = str(s.get("id") or f"{si + 1}-{service}")
            if sid in step_ids:
                problems.append((file, sline, f"step id {sid!r} appears twice in case {cid}"))
            step_ids.add(sid)
            compiled: list[C.Check] = []
            for ki, spec in enumerate(s.get("checks") or []):
                if not isinstance(spec, dict) or len(spec) != 1 or C.kind(next(iter(spec))) is None:
                    continue  # reported by the schema
                kpath = ("cases", ci, "steps", si, "checks", ki)
                if any(q[:len(kpath)] == kpath for q, _ in schema_problems):
                    continue
                try:
                    compiled.append(C.compile_spec(spec))
                except C.CheckSpecError as exc:
                    problems.append((file, _line(data, kpath),
                                     f"{_where(data, kpath)}: {exc}"))
            expect = dict(s.get("expect") or {})
            if isinstance(expect.get("ack"), str):
                expect["ack"] = [expect["ack"]]
            steps.append(Step(id=sid, service=service, message=str(s.get("message") or service),
                              vars=s.get("vars") or {}, mutate=s.get("mutate") or [],
                              expect=expect, extract=s.get("extract") or {},
                              extract_request=s.get("extract_request") or {},
                              extract_key=s.get("extract_key"), checks=s.get("checks") or [],
                              setup=bool(s.get("setup")), compiled=compiled))
        if not steps:
            continue
        cases.append(Case(id=cid, service=str(c.get("service") or steps[-1].service),
                          kind=str(c.get("kind")), title=str(c.get("title") or cid), steps=steps,
                          vars=c.get("vars") or {}, suite=suite_id))
    if problems:
        raise ScenarioError(sorted(problems, key=lambda q: q[1] or 0))
    title = data.get("title") or {"zh": suite_id, "en": suite_id}
    return Suite(id=suite_id, profile=str(data["profile"]), version=str(data.get("version", "")),
                 title=title if isinstance(title, dict) else {"zh": title, "en": title},
                 cases=cases, path=str(p))


def load_suites(folder: str | Path, profile: str) -> list[Suite]:
    """Every scenario file of a folder (files that start with ``suite:``) for a profile."""
    suites = []
    problems: list[tuple[str, int | None, str]] = []
    for p in sorted(Path(folder).rglob("*.yaml")):
        head = p.read_text(encoding="utf-8", errors="replace")[:2000]
        if not _SUITE_RE.search(head):
            continue
        try:
            s = load_suite(p)
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        if s.profile == profile:
            suites.append(s)
    if problems:
        raise ScenarioError(problems)
    return suites


__all__ = ["KINDS", "Case", "ScenarioError", "Step", "Suite", "load_suite", "load_suites",
           "suite_schema"]
