"""Helpers for the scoring tests: answers that reach exactly a given level, and the run-folder
files (validate.json, results.json, perf.json, datasets.json) the bindings read — typed, written
through the artifact codecs as the commands write them. Built from the definitions themselves,
so a changed definition changes the fixtures, not the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from conformance import __version__
from conformance.model import (
    Band,
    CaseResult,
    CheckResult,
    DatasetsResults,
    DatasetVerdict,
    DocumentRecord,
    Finding,
    PerfResults,
    RunResults,
    Status,
    ToolStamp,
    ValidateResults,
)
from conformance.model.datasets import VERDICT_WORDS
from conformance.model.folder import RunFolder
from conformance.scoring.definition import get_definition
from conformance.scoring.model import Definition, Item

STAMP = ToolStamp(name="conformance", version=__version__, ruleset="wst-cda-2026.11")
TOOL = {"name": STAMP.name, "version": STAMP.version, "ruleset": STAMP.ruleset}


def _idx(d: Definition, level: str | None) -> int:
    return -1 if level is None else d.level_index(level)


def answer_for(item: Item, d: Definition, level: str | None) -> dict[str, Any] | None:
    """The answer that makes `item` reach everything required at or below `level` and nothing
    above it (None = leave unanswered)."""
    cap = _idx(d, level)
    if item.rule == "conformance":
        if item.automated:
            return None
        ok = item.level is None or d.level_index(item.level) <= cap
        return {"answer": "conformant" if ok else "absent"}
    if item.rule == "yes_no":
        return {"answer": bool(item.level is not None and d.level_index(item.level) <= cap)}
    if item.rule == "choice":
        best = None
        for o in item.options:
            if not o.level or d.level_index(o.level) > cap:
                continue
            if best is None or d.level_index(o.level) >= d.level_index(best.level):
                best = o
        if best is None:
            best = next(o for o in item.options if not o.level)
        return {"answer": best.id}
    if item.rule == "checklist":
        tiers = [t for t in set(item.thresholds) | set(item.level_requires) if d.level_index(t) <= cap]
        need = max((item.thresholds.get(t, 0) for t in tiers), default=0)
        required = [o for t in tiers for o in item.level_requires.get(t, {}).get("options", ())]
        fields: dict[str, float] = {}
        for t in tiers:
            for fid, cond in item.level_requires.get(t, {}).get("fields", {}).items():
                fields[fid] = max(fields.get(fid, 0.0), float(cond["min"]))
        chosen = list(dict.fromkeys(required))
        for o in item.options:
            if len(chosen) >= need:
                break
            if o.id not in chosen and o.id not in item.exclusive:
                chosen.append(o.id)
        ans: dict[str, Any] = {"selected": chosen}
        if len(chosen) < need:
            ans["other"] = ["其它系统"]
        if fields:
            ans["values"] = fields
        ov = {o: (True if req.get("confirm") else 1.0) for o, req in item.option_requirements.items()
              if o in chosen}
        if ov:
            ans["option_values"] = ov
        return ans
    if item.rule == "measures":
        tiers = [t for t in item.tiers if d.level_index(t["level"]) <= cap]
        above = [t for t in item.tiers if d.level_index(t["level"]) > cap]
        values = {}
        for f in item.fields:
            if tiers:
                values[f.id] = min(t["max"][f.id] for t in tiers if f.id in t["max"])
            else:
                values[f.id] = max(t["max"][f.id] for t in above if f.id in t["max"]) * 10
        return {"values": values}
    if item.rule == "record":
        return {"value": 3} if item.record == "number" else None
    return None


def answers_for(d: Definition, level: str | None) -> dict[str, Any]:
    out = {}
    for item in d.items:
        a = answer_for(item, d, level)
        if a is not None:
            out[item.code] = a
    return out


def write_questionnaire(path: Path, d: Definition, answers: dict[str, Any], **meta: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"questionnaire": "conformance-self-assessment/1", "assessment": d.id,
            "organization": "测试医院", **meta, "answers": answers}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def level_answers(d: Definition, level_numbers: dict[str, tuple[int, float, float]]) -> dict[str, Any]:
    """EMR / smart-service answers: {code: (level, application, data_quality)}."""
    out = {}
    for item in d.items:
        if item.code in level_numbers:
            f, app, dq = level_numbers[item.code]
            ans: dict[str, Any] = {"level": f, "application": app}
            if item.data_quality != "none":
                ans["data_quality"] = dq
            out[item.code] = ans
    return out


def validate_results(d: Definition, failing: tuple[str, ...] = (),
                     missing: tuple[str, ...] = ()) -> ValidateResults:
    docs = []
    for item in d.items:
        if item.binding is None or item.binding.source != "documents":
            continue
        for key in item.binding.keys:
            if key in missing:
                continue
            for n in (1, 2):
                bad = key in failing and n == 2
                findings = [Finding("x.rule", "error", "schema", "m", "test")] if bad else []
                docs.append(DocumentRecord(path=f"docs/{key}-{n}.xml", document_type=key,
                                           valid=not bad, findings=findings))
    return ValidateResults(tool=STAMP, lang="zh", documents=docs)


def run_results(d: Definition, up_to: str | None = None, failing: tuple[str, ...] = (),
                no_negative: tuple[str, ...] = ()) -> RunResults:
    """Positive and negative cases for every service item required at or below `up_to` (all when
    None); the first binding key is the service code."""
    cap = 10 ** 6 if up_to is None else d.level_index(up_to)
    cases = []
    for item in d.items:
        if item.binding is None or item.binding.source != "services":
            continue
        if item.level is not None and d.level_index(item.level) > cap:
            continue
        svc = item.binding.keys[0]
        kinds = ["positive"] if svc in no_negative else ["positive", "negative"]
        for kind in kinds:
            res = Status.FAIL if svc in failing and kind == "negative" else Status.PASS
            cases.append(CaseResult(id=f"{svc}-{'T01' if kind == 'positive' else 'F01'}",
                                    service=svc, kind=kind, result=res,
                                    checks=[CheckResult(id="ack", result=res)]))
    cases.append(CaseResult(id="WF-identity", kind="workflow", result=Status.PASS))
    return RunResults(tool=STAMP, target={"name": "embedded"}, profile="hospital", cases=cases)


def perf_results() -> PerfResults:
    """Bands as `conformance perf --bands` writes them (an entry without its item is matched by
    its service)."""
    return PerfResults(tool=STAMP, bands=[
        Band(item="3.3.1.1", service="PatientInfoRegister", median_ms=120.0, band="<1s"),
        Band(item="", service="PatientInfoQuery", median_ms=1500.0, band="1-3s"),
        Band(item="3.3.3.2", service="DocumentAccess", median_ms=12000.0, band=">10s")])


def verdict(key: str, *, records: int | None = None, **kw: Any) -> DatasetVerdict:
    """A data-set verdict as `validate-dataset` writes it (records: none for 'none')."""
    n = (0 if key == "none" else 5) if records is None else records
    kw.setdefault("id", kw.get("name", "X"))
    return DatasetVerdict(verdict=VERDICT_WORDS[key], verdict_key=key, records=n, **kw)


def datasets_results(*verdicts: DatasetVerdict) -> DatasetsResults:
    return DatasetsResults(tool=STAMP, datasets=list(verdicts))


def write_run(folder: Path, d: Definition, *, up_to: str | None = None, perf: bool = False,
              **kw: Any) -> Path:
    run = RunFolder.create(folder)
    run.write("validate", validate_results(d, kw.get("failing_docs", ()), kw.get("missing_docs", ())))
    run.write("results", run_results(d, up_to, kw.get("failing_services", ()),
                                     kw.get("no_negative", ())))
    if perf:
        run.write("perf", perf_results())
    return folder


def hospital() -> Definition:
    return get_definition("hospital-2020")


def test_answers_for_top_level_answer_every_questionnaire_item() -> None:
    d = hospital()
    answers = answers_for(d, "五级甲等")
    asked = [i for i in d.items if not i.automated and i.rule != "record"]
    assert all(i.code in answers for i in asked)
