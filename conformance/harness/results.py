"""results.json (the canonical record of a run) and junit.xml, both written atomically.

results.json:
{
  "tool": {"name", "version", "ruleset"}, "kind": "run",
  "target": {...public target settings, no secrets...}, "profile": "hospital",
  "started", "finished", "complete": true | false (false = interrupted; --resume completes it),
  "inputs": {"suites": [{"id", "version", "path", "sha256"}], "level", "services", "jobs",
             "target_config"},
  "cases": [{"id", "service", "kind", "title", "suite", "level", "result",
             "checks": [{"id", "result", "message", "expected"?, "actual"?}],
             "steps": [{"id", "service", "result", "exchange"}],
             "exchanges": [{"url", "action", "soap_version", "request_headers", "status",
                            "response_headers", "started", "duration_ms", "error",
                            "request_file", "response_file", ...}],
             "duration_ms"}],
  "summary": {"cases", "pass", "fail", "error", "skip", "checks": {"pass", "fail", "error", "skip"}}
}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ..output import open_output

RESULTS = ("pass", "fail", "error", "skip")


def summarize(cases: list[dict[str, Any]]) -> dict[str, Any]:
    s: dict[str, Any] = {"cases": len(cases), **{r: 0 for r in RESULTS},
                         "checks": {r: 0 for r in RESULTS}}
    for c in cases:
        s[c["result"]] += 1
        for chk in c["checks"]:
            s["checks"][chk["result"]] += 1
    return s


def load_cases(run_dir: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for p in sorted((run_dir / "cases").glob("*.json")):
        try:
            rec = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a file being written when the run was killed: the case runs again
        out[rec["id"]] = rec
    return out


def write_results(run_dir: Path, header: dict[str, Any], cases: list[dict[str, Any]]) -> dict[str, Any]:
    doc = dict(header)
    doc["cases"] = cases
    doc["summary"] = summarize(cases)
    with open_output(str(run_dir / "results.json")) as fh:
        json.dump(doc, fh, ensure_ascii=False, indent=1)
    write_junit(run_dir / "junit.xml", doc)
    return doc


def write_junit(path: Path, doc: dict[str, Any]) -> None:
    """One test case per check, grouped in one test suite per scenario suite."""
    suites: dict[str, list[dict[str, Any]]] = {}
    for c in doc["cases"]:
        suites.setdefault(c.get("suite") or "cases", []).append(c)
    with open_output(str(path)) as out:
        total = sum(len(c["checks"]) for c in doc["cases"])
        fails = sum(1 for c in doc["cases"] for k in c["checks"] if k["result"] == "fail")
        errs = sum(1 for c in doc["cases"] for k in c["checks"] if k["result"] == "error")
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write(f'<testsuites name="conformance run" tests="{total}" failures="{fails}" '
                  f'errors="{errs}">\n')
        for name, cases in suites.items():
            checks = [(c, k) for c in cases for k in c["checks"]]
            f = sum(1 for _, k in checks if k["result"] == "fail")
            e = sum(1 for _, k in checks if k["result"] == "error")
            s = sum(1 for _, k in checks if k["result"] == "skip")
            out.write(f"<testsuite name={quoteattr(name)} tests=\"{len(checks)}\" failures=\"{f}\" "
                      f"errors=\"{e}\" skipped=\"{s}\">\n")
            for c, k in checks:
                out.write(f"  <testcase classname={quoteattr(c['id'])} name={quoteattr(k['id'])}>")
                msg = quoteattr(k["message"][:500])
                if k["result"] == "fail":
                    out.write(f"<failure message={msg}>{escape(k['message'])}</failure>")
                elif k["result"] == "error":
                    out.write(f"<error message={msg}>{escape(k['message'])}</error>")
                elif k["result"] == "skip":
                    out.write(f"<skipped message={msg}/>")
                out.write("</testcase>\n")
            out.write("</testsuite>\n")
        out.write("</testsuites>\n")
