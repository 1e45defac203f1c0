"""A whole run as JUnit XML and SARIF, for CI (built on junit.py and sarif.py).

JUnit: one test case per check — each validated document (classname = document type), each
interaction check (classname = case id, name = check id), each performance threshold, and the
levels of the score (reached: pass; not reached: skipped, with the missing items; below
score.json's min_level: failure).

SARIF: every document finding at its file, line and column; every failed or errored interaction
check at the recorded response it judged (findings of response validation at their line and
column in that file); failed performance thresholds at perf.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from ..findings import DocumentResult, Finding
from .junit import Case, document_case, write_suites
from .model import FILES, Run
from .sarif import SarifReporter, artifact_uri, finding_result
from .strings import tr
from .views import (
    Caps,
    _first,
    _num,
    _result,
    perf_view,
    score_view,
)

_FINDING_FIELDS = set(Finding.__slots__)


def to_finding(d: dict[str, Any]) -> Finding:
    kw = {k: v for k, v in d.items() if k in _FINDING_FIELDS}
    kw.setdefault("rule", "?")
    kw.setdefault("severity", "error")
    kw.setdefault("layer", "parse")
    kw.setdefault("message", "")
    kw.setdefault("source", "")
    if kw["severity"] not in ("error", "warning", "info"):
        kw["severity"] = "warning"
    return Finding(**kw)


def to_document(d: dict[str, Any]) -> DocumentResult:
    return DocumentResult(path=str(d.get("path", "?")), document_type=d.get("document_type"),
                          document_name=d.get("document_name"), layers=d.get("layers") or {},
                          findings=[to_finding(f) for f in d.get("findings") or []])


def _case_message(check: dict[str, Any]) -> str:
    msg = str(_first(check, "message", "reason") or "")
    extra = []
    if check.get("expected") is not None:
        extra.append(f"expected: {check['expected']}")
    if check.get("actual") is not None:
        extra.append(f"actual: {check['actual']}")
    return msg + (f" ({'; '.join(extra)})" if extra else "")


def junit_suites(run: Run, lang: str) -> list[tuple[str, list[Case]]]:
    prov = tr("provisional", lang)
    suites: list[tuple[str, list[Case]]] = []
    if run.validate is not None:
        ruleset = (run.validate.get("tool") or {}).get("ruleset")
        suites.append((f"conformance validate {ruleset or ''}".strip(),
                       [document_case(to_document(d)) for d in run.validate.get("documents")
                        or []]))
    if run.results is not None:
        groups: dict[str, list[Case]] = {}
        for i, c in enumerate(run.results.get("cases") or []):
            cid = str(c.get("id") or f"case-{i + 1}")
            suite = str(c.get("suite") or f"conformance run {run.results.get('profile') or ''}"
                        ).strip()
            cases = groups.setdefault(suite, [])
            checks = [x for x in c.get("checks") or [] if isinstance(x, dict)]
            if not checks:
                result = _result(c.get("result"))
                cases.append(Case(cid, "case", result,
                                  str(_first(c, "reason", "message") or result), kind=cid))
                continue
            for x in checks:
                xid = str(_first(x, "id", "name") or "?")
                name = xid + (f" [{prov}]" if x.get("provisional") else "")
                cases.append(Case(cid, name, _result(x.get("result")), _case_message(x),
                                  kind=xid))
        suites += list(groups.items())
    if run.perf is not None:
        p = perf_view(run.perf)
        cases = []
        for t in p.thresholds:
            name = (t["description"] or t["id"]) + (f" [{prov}]" if t["provisional"] else "")
            msg = (f"{t['metric'] or ''} {t['op']} {t['limit']}: "
                   f"{'-' if t['actual'] is None else t['actual']}")
            cases.append(Case("perf.thresholds", name,
                              t["result"] or "skip", msg if t["result"] != "pass" else "",
                              kind=str(t["metric"] or "threshold")))
        for b in p.bands:
            cases.append(Case("perf.bands", f"{b['item'] or ''} {b['service'] or ''}".strip(),
                              "pass", system_out=f"median {b['median_ms']} ms: {b['band']}"))
        suites.append(("conformance perf", cases))
    if run.score is not None:
        s = score_view(run.score, {}, Caps(), lang)
        mark = f" [{prov}]" if s.provisional or s.level_provisional else ""
        cases = []
        if s.level:
            cases.append(Case("score.levels", f"{s.level}{mark}", "pass",
                              system_out=f"total {s.total} / {s.max_total}"))
        for g in s.gaps:
            items = "\n".join(f"{m['code']} {m['text']} ({m['points']})" for m in g["missing"])
            failed = s.min_level is not None and g["level"] == s.min_level
            cases.append(Case("score.levels", f"{g['level']}{mark}", "fail" if failed else "skip",
                              f"{g['count']} item(s) missing for {g['level']}", kind="level",
                              text=items))
        suites.append(("conformance score", cases))
    return suites


def write_junit(run: Run, out: IO[str], lang: str) -> None:
    write_suites(out, f"conformance report {run.path.name}", junit_suites(run, lang))


def _catalog_rules() -> dict[str, Any]:
    try:
        from ..catalog import load_catalog
        return load_catalog().rules
    except Exception:  # the report must not depend on the standards data being loadable
        return {}


def _response_file(case: dict[str, Any], run_dir: Path) -> str | None:
    for ex in reversed(case.get("exchanges") or []):
        if isinstance(ex, dict):
            rel = _first(ex, "response_file", "response_body_file")
            if rel is None and isinstance(ex.get("response"), dict):
                rel = _first(ex["response"], "body_file", "file", "path")
            if isinstance(rel, str):
                return str(run_dir / rel)
    return None


def write_sarif(run: Run, out: IO[str], lang: str) -> None:
    rules = _catalog_rules()
    check_rules: dict[str, dict[str, Any]] = {}
    results = run.results or {}
    for c in results.get("cases") or []:
        for x in c.get("checks") or []:
            if isinstance(x, dict) and _result(x.get("result")) in ("fail", "error"):
                xid = f"check.{_first(x, 'id', 'name') or '?'}"
                check_rules.setdefault(xid, {
                    "id": xid, "name": xid.replace(".", "_"),
                    "shortDescription": {"text": f"interaction check {xid[6:]}"},
                    "defaultConfiguration": {"level": "error"}})
    perf = perf_view(run.perf) if run.perf is not None else None
    if perf and any(t["result"] == "fail" for t in perf.thresholds):
        check_rules["perf.threshold"] = {
            "id": "perf.threshold", "name": "perf_threshold",
            "shortDescription": {"text": "performance threshold"},
            "defaultConfiguration": {"level": "error"}}
    used = {f.get("rule") for d in (run.validate or {}).get("documents") or []
            for f in d.get("findings") or []}
    for c in results.get("cases") or []:
        for x in c.get("checks") or []:
            if isinstance(x, dict):
                used.update(f.get("rule") for f in x.get("findings") or [] if isinstance(f, dict))
    for rid in sorted(r for r in used if r and r not in rules):  # e.g. message-validation rules
        check_rules.setdefault(rid, {"id": rid, "name": rid.replace(".", "_"),
                                     "shortDescription": {"text": rid}})
    rep = SarifReporter(out, lang, rules={k: v for k, v in rules.items() if k in used},
                        extra_rules=sorted(check_rules.values(), key=lambda r: r["id"]))
    tool = {}
    for art in run.artifacts.values():
        tool = tool or art.tool
    rep.start({"tool": tool})
    for d in (run.validate or {}).get("documents") or []:
        rep.document(to_document(d))
    for i, c in enumerate(results.get("cases") or []):
        cid = str(c.get("id") or f"case-{i + 1}")
        response = _response_file(c, run.path)
        uri = artifact_uri(response) if response else artifact_uri(str(run.path / FILES["results"]))
        for x in c.get("checks") or []:
            if not isinstance(x, dict):
                continue
            result = _result(x.get("result"))
            for f in x.get("findings") or []:
                if isinstance(f, dict) and f.get("rule"):
                    res = finding_result(to_finding(f), uri)
                    res["properties"]["case"] = cid
                    rep.result(res)
            if result not in ("fail", "error"):
                continue
            xid = f"check.{_first(x, 'id', 'name') or '?'}"
            rep.result({"ruleId": xid, "level": "error" if result == "fail" else "warning",
                        "message": {"text": f"{cid}: {_case_message(x)}"},
                        "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}},
                                       "logicalLocations": [{"fullyQualifiedName": cid,
                                                             "kind": "module"}]}],
                        "properties": {"case": cid, "service": c.get("service"),
                                       "result": result,
                                       "provisional": bool(x.get("provisional"))}})
    if perf:
        uri = artifact_uri(str(run.path / FILES["perf"]))
        for t in perf.thresholds:
            if t["result"] == "fail":
                rep.result({"ruleId": "perf.threshold", "level": "error",
                            "message": {"text": f"{t['description'] or t['id']}: {t['metric']} "
                                                f"{t['op']} {t['limit']}, measured {t['actual']}"
                                                + (f" [{tr('provisional', lang)}]"
                                                   if t["provisional"] else "")},
                            "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}}}],
                            "properties": {"provisional": t["provisional"],
                                           "users": t["users"], "limit": _num(t["limit"])}})
    from ..findings import Summary

    summary = Summary()
    for d in (run.validate or {}).get("documents") or []:
        summary.add(to_document(d))
    rep.finish(summary)

