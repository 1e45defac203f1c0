"""Interprets scenarios: renders each step's request, sends it, judges the answer with the
check objects, extracts variables for later steps and records every exchange as evidence.

Progress goes out as events (``listener(event, payload)``) that the console and the result
writers subscribe to. Cases are independent (each gets its own synthetic patients and ids), so
``jobs > 1`` runs them on threads; a finished case is written to ``cases/<id>.json`` at once,
so an interrupted run is consistent and ``--resume`` completes it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from jinja2 import Environment, StrictUndefined
from lxml import etree

from .. import xmlsafe
from ..output import open_output
from . import checks as C
from .model import Case, Step
from .transport import Transport

Listener = Callable[[str, dict[str, Any]], None]


class MessageFactory(Protocol):
    """Builds request messages and knows the services (implemented over the service catalog)."""

    def build(self, template: str, variables: dict[str, Any]) -> bytes: ...
    def response_roots(self, action: str) -> list[str]: ...
    def s_code(self, action: str) -> str | None: ...
    def request_key(self, action: str, request: etree._Element) -> str | None: ...


@dataclass
class Validators:
    message: Callable[[bytes, str], list[tuple[str, str]]]
    document: Callable[[bytes, str], list[tuple[str, str]]]


_ENV = Environment(undefined=StrictUndefined, autoescape=False)


def render_value(value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, str) and "{{" in value:
        out = _ENV.from_string(value).render(**variables)
        return out
    if isinstance(value, dict):
        return {k: render_value(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, variables) for v in value]
    return value


def apply_mutations(message: bytes, mutations: list[dict[str, Any]]) -> bytes:
    """Break a request on purpose (negative cases): remove nodes, set attributes or text."""
    if not mutations:
        return message
    root = xmlsafe.parse_bytes(message)
    for m in mutations:
        if "remove" in m:
            for node in root.xpath(m["remove"], namespaces=C.NS):
                if isinstance(node, etree._Element) and node.getparent() is not None:
                    node.getparent().remove(node)
                elif hasattr(node, "getparent") and node.attrname:  # attribute result
                    del node.getparent().attrib[node.attrname]
        elif "set" in m:
            spec = m["set"]
            for node in root.xpath(spec["path"], namespaces=C.NS):
                if isinstance(node, etree._Element):
                    node.text = str(spec["value"])
                elif getattr(node, "attrname", None):
                    node.getparent().set(node.attrname, str(spec["value"]))
        else:
            raise ValueError(f"unknown mutation {m!r}: use remove or set")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


class Runner:
    def __init__(self, transport: Transport, factory: MessageFactory, validators: Validators,
                 run_dir: Path, *, lang: str = "zh", jobs: int = 1,
                 listener: Listener | None = None, base_vars: dict[str, Any] | None = None) -> None:
        self.transport, self.factory, self.validators = transport, factory, validators
        self.run_dir, self.lang, self.jobs = run_dir, lang, max(1, jobs)
        self.listener = listener or (lambda e, p: None)
        self.base_vars = base_vars or {}
        self._stop = threading.Event()
        (run_dir / "cases").mkdir(parents=True, exist_ok=True)
        (run_dir / "evidence").mkdir(parents=True, exist_ok=True)

    def stop(self) -> None:
        self._stop.set()

    # ------------------------------------------------------------------ a whole run
    def run(self, cases: Iterable[tuple[int, Case]]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        todo = list(cases)
        if self.jobs == 1:
            for index, case in todo:
                if self._stop.is_set():
                    break
                results.append(self.run_case(case, index))
            return results
        with ThreadPoolExecutor(self.jobs, thread_name_prefix="case") as pool:
            pending = set()
            it = iter(todo)
            while True:
                while len(pending) < self.jobs * 2 and not self._stop.is_set():
                    try:
                        index, case = next(it)
                    except StopIteration:
                        break
                    pending.add(pool.submit(self.run_case, case, index))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                results.extend(f.result() for f in done)
        return results

    # ------------------------------------------------------------------ one case
    def case_vars(self, case: Case, index: int) -> dict[str, Any]:
        now = datetime.now(UTC) + timedelta(hours=8)  # China Standard Time, as platforms log
        v: dict[str, Any] = dict(self.base_vars)
        base = int(self.base_vars.get("index_base", 0))
        v.update({"case_id": case.id, "case_index": index, "run_id": self.run_dir.name,
                  "index": base + index * 10,
                  "now": now.strftime("%Y%m%d%H%M%S"), "today": now.strftime("%Y%m%d"),
                  "uid": uuid.uuid4().hex[:12]})
        v.update(render_value(case.vars, v))
        return v

    def run_case(self, case: Case, index: int) -> dict[str, Any]:
        self.listener("case_started", {"case": case.id, "service": case.service})
        t0 = time.perf_counter()
        variables = self.case_vars(case, index)
        steps_out: list[dict[str, Any]] = []
        case_dir = self.run_dir / "evidence" / _safe(case.id)
        case_dir.mkdir(parents=True, exist_ok=True)
        aborted = False
        for n, step in enumerate(case.steps, start=1):
            if aborted or self._stop.is_set():
                steps_out.append({"id": step.id, "service": step.service, "result": "skip",
                                  "checks": [{"id": "step", "result": "skip", "message": (
                                      "前置步骤未通过" if self.lang == "zh" else
                                      "a preparation step did not pass")}], "exchange": None})
                continue
            out = self.run_step(case, step, n, variables, case_dir)
            steps_out.append(out)
            if step.setup and out["result"] != "pass":
                aborted = True
        results = [s["result"] for s in steps_out]
        result = C.roll_up(results)
        if any(s.get("setup_failed") for s in steps_out) and result == "fail":
            result = "error"  # the case could not be judged: its preparation failed
        checks = [{"id": f"{s['id']}/{c['id']}", "result": c["result"], "message": c["message"],
                   **({"expected": c["expected"]} if "expected" in c else {}),
                   **({"actual": c["actual"]} if "actual" in c else {})}
                  for s in steps_out for c in s["checks"]]
        record = {"id": case.id, "service": case.service, "kind": case.kind, "title": case.title,
                  "suite": case.suite, "level": case.level, "result": result, "checks": checks,
                  "steps": [{k: v for k, v in s.items() if k not in ("checks", "setup_failed")}
                            for s in steps_out],
                  "exchanges": [s["exchange"] for s in steps_out if s.get("exchange")],
                  "duration_ms": round((time.perf_counter() - t0) * 1000, 3)}
        with open_output(str(self.run_dir / "cases" / f"{_safe(case.id)}.json")) as fh:
            json.dump(record, fh, ensure_ascii=False, indent=1)
        self.listener("case_finished", record)
        return record

    def run_step(self, case: Case, step: Step, n: int, variables: dict[str, Any],
                 case_dir: Path) -> dict[str, Any]:
        kind = "negative" if case.kind == "negative" and not step.setup else "positive"
        variables["msg_id"] = uuid.uuid4().hex
        try:
            step_vars = dict(variables)
            step_vars.update(render_value(step.vars, variables))
            message = self.factory.build(step.message, step_vars)
            message = apply_mutations(message, render_value(step.mutate, step_vars))
        except Exception as exc:  # a scenario defect: say so, never crash the run
            return {"id": step.id, "service": step.service, "result": "error", "exchange": None,
                    "setup_failed": step.setup,
                    "checks": [{"id": "build", "result": "error",
                                "message": f"cannot build the request: {type(exc).__name__}: {exc}"}]}
        request_root = xmlsafe.parse_bytes(message)
        for var, path in step.extract_request.items():
            variables[var] = xpath_value(request_root, path)
        if step.extract_key:
            variables[step.extract_key] = self.factory.request_key(step.service, request_root)
        exchange, reply = self.transport.send(step.service, message,
                                              s_code=self.factory.s_code(step.service))
        stem = f"{n:02d}-{_safe(step.id)}"
        (case_dir / f"{stem}.request.xml").write_bytes(exchange.request_body)
        (case_dir / f"{stem}.response.xml").write_bytes(exchange.response_body)
        ex_meta = exchange.meta()
        ex_meta.update({"step": step.id, "case": case.id,
                        "request_file": f"evidence/{_safe(case.id)}/{stem}.request.xml",
                        "response_file": f"evidence/{_safe(case.id)}/{stem}.response.xml"})
        expect = dict(step.expect)
        expect.setdefault("ack", ["AE", "AR"] if kind == "negative" else ["AA"])
        ctx = C.StepContext(exchange=exchange, reply=reply, request=request_root, kind=kind,
                            expect=expect, variables=variables,
                            validate_message=self.validators.message,
                            validate_document=self.validators.document, lang=self.lang)
        check_objs: list[C.Check] = [C.Transport(), C.NoFault() if kind == "positive" else None,
                                     C.ResponseRoot(self.factory.response_roots(step.service)),
                                     C.InteractionId(), C.AckCode(list(expect["ack"])),
                                     C.TargetMessageId(), C.ResponseValid()]
        for spec in step.checks:
            (name, args), = spec.items()
            if name == "document":
                check_objs.append(C.DocumentCheck(args["path"], args.get("identical_to")))
            else:
                check_objs.append(C.XPathCheck(name.split("_", 1)[1], args["path"], args["value"]))
        results = [c.run(ctx) for c in check_objs if c is not None]
        if reply is not None and reply.message is not None:
            for var, path in step.extract.items():
                found = xpath_value(reply.message, path)
                if found not in (None, ""):
                    variables[var] = found
        for key, value in ctx.notes.items():
            variables[f"{step.id}_{key}"] = value
        step_result = C.roll_up([r.result for r in results])
        self.listener("step_finished", {"case": case.id, "step": step.id, "result": step_result})
        return {"id": step.id, "service": step.service, "result": step_result,
                "checks": [r.to_dict() for r in results], "exchange": ex_meta,
                "setup_failed": step.setup and step_result != "pass"}


def xpath_value(root: etree._Element, path: str) -> str | None:
    """First value an XPath yields (string, number or node text): what steps extract."""
    try:
        found = root.xpath(path, namespaces=C.NS)
    except etree.XPathError:
        return None
    if isinstance(found, list):
        if not found:
            return None
        first = found[0]
        return str(first) if isinstance(first, str) else "".join(first.itertext())
    return None if found is None else (str(int(found)) if isinstance(found, float)
                                       and found.is_integer() else str(found))


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_.（）" else "_" for ch in name)[:120]
