"""perf.json (the canonical result of `conformance perf`) and the console summary.

perf.json — schema ``conformance-perf/1`` (``PERF_JSON_SCHEMA`` below is the contract; the
report and scoring commands read it):

```
{
  "schema": "conformance-perf/1", "kind": "perf",
  "tool": {"name", "version", "ruleset"},
  "target": {… the target without secrets (harness Target.public()) …},
  "profile": "hospital", "started", "finished",
  "engine": "builtin" | "locust", "model": "closed" | "open" | null,
  "duration_s", "ramp_s", "users": [..], "rates": [..],
  "mix": {"id", "path", "sha256", "think_time", "transactions": [..]},
  "assessment": {"id", "path", "sha256"},
  "platform": {… embedded platform: faults, seeded patients …} | null,
  "provisional": bool,            # something in this file rests on provisional data
  "bands": [{"item", "service", "services", "median_ms", "mean_ms", "q1_ms", "q3_ms",
             "spread_ms" (IQR), "stdev_ms", "min_ms", "max_ms", "samples", "failures",
             "errors", "band" (label, zh), "band_id", "band_en", "provisional", "note"?,
             "base_records"?}],
  "steps": [{"users", "rate", "model", "requests", "ok", "tps", "tps_ok", "mean_ms",
             "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p99_9_ms", "max_ms", "min_ms",
             "stdev_ms", "errors": {timeout, connection, http, soap_fault, ack_error, invalid},
             "errors_detail": {…}, "error_rate", "unfinished", "unfinished_oldest_ms",
             "service_time"? (open model), "services": {action: {same figures}},
             "generator": {cpu_avg_pct, cpu_max_pct, loop_lag_p99_ms, machine_cpu_pct, reasons…},
             "generator_saturated": bool, "machine_saturated": bool,
             "series": [{"t", "requests", "tps", "errors", "p50_ms", "p95_ms", "max_ms",
                         "cpu_pct", "loop_lag_ms", "users"}]}],
  "thresholds": [{"id", "description", "metric", "op", "limit", "users", "rate", "service",
                  "actual", "passed", "result", "provisional", "source"}],
  "notes": [..]
}
```
Latencies are milliseconds; ``tps`` counts SOAP exchanges per second over the steady state
(after the ramp); ``error_rate`` is a fraction.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import click

from ..output import open_output
from .classify import ERROR_KINDS
from .messages import m

SCHEMA_ID = "conformance-perf/1"
_NUM = {"type": ["number", "null"]}
_STATS = {"requests": {"type": "integer"}, "tps": _NUM, "mean_ms": _NUM, "p50_ms": _NUM,
          "p90_ms": _NUM, "p95_ms": _NUM, "p99_ms": _NUM, "max_ms": _NUM,
          "errors": {"type": "object", "additionalProperties": {"type": "integer"}},
          "error_rate": _NUM}
PERF_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["schema", "kind", "tool", "target", "profile", "bands", "steps", "thresholds"],
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "kind": {"const": "perf"},
        "tool": {"type": "object", "required": ["name", "version", "ruleset"]},
        "target": {"type": "object"},
        "profile": {"enum": ["hospital", "regional"]},
        "provisional": {"type": "boolean"},
        "bands": {"type": "array", "items": {
            "type": "object",
            "required": ["item", "service", "median_ms", "band", "samples", "provisional"],
            "properties": {"item": {"type": "string"}, "service": {"type": "string"},
                           "median_ms": _NUM, "spread_ms": _NUM,
                           "band": {"type": ["string", "null"]},
                           "samples": {"type": "integer"}, "provisional": {"type": "boolean"}}}},
        "steps": {"type": "array", "items": {
            "type": "object",
            "required": ["users", "rate", "model", "tps", "p50_ms", "p90_ms", "p95_ms", "p99_ms",
                         "max_ms", "errors", "generator_saturated", "services", "series"],
            "properties": {
                **_STATS,
                "users": {"type": ["integer", "null"]}, "rate": _NUM,
                "model": {"enum": ["closed", "open"]},
                "errors": {"type": "object", "required": list(ERROR_KINDS),
                           "additionalProperties": {"type": "integer"}},
                "generator_saturated": {"type": "boolean"},
                "services": {"type": "object", "additionalProperties": {
                    "type": "object", "required": ["requests", "p50_ms", "p95_ms", "errors"],
                    "properties": _STATS}},
                "series": {"type": "array", "items": {
                    "type": "object", "required": ["t", "requests", "tps", "errors"],
                    "properties": {"t": {"type": "integer"}, "tps": {"type": "number"}}}}}}},
        "thresholds": {"type": "array", "items": {
            "type": "object",
            "required": ["id", "metric", "op", "limit", "actual", "passed", "provisional", "source"],
            "properties": {"passed": {"type": ["boolean", "null"]},
                           "provisional": {"type": "boolean"}}}},
    },
}


def write_perf(run_dir: Path, doc: dict[str, Any]) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "perf.json"
    with open_output(str(path)) as fh:
        json.dump(doc, fh, ensure_ascii=False, indent=1)
    return path


def previous(run_dir: Path, doc: dict[str, Any]) -> dict[str, Any] | None:
    """An earlier perf.json in the same folder, from the same tool version and target — its
    bands (or steps) are kept when this run measures only the other part."""
    path = run_dir / "perf.json"
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(old, dict) or old.get("schema") != SCHEMA_ID:
        return None
    if (old.get("tool") or {}).get("version") != doc["tool"]["version"]:
        return None
    same = ((old.get("target") or {}).get("endpoint") == doc["target"].get("endpoint")
            or ((old.get("target") or {}).get("embedded") and doc["target"].get("embedded")))
    if not same or old.get("profile") != doc.get("profile"):
        return None
    return old


# ---------------------------------------------------------------------- console
def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _pad(text: str, width: int) -> str:
    """Left-justify to a display width (CJK characters take two columns)."""
    while _width(text) > width:
        text = text[:-1]
    return text + " " * (width - _width(text))


def _f(v: Any, nd: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def echo_steps(steps: list[dict[str, Any]], lang: str, err: bool = False) -> None:
    if not steps:
        return
    open_model = any(s.get("model") == "open" for s in steps)
    head = m("rate_head" if open_model else "table_head", lang)
    click.echo(f"{head:>9} {'TPS':>9} {'p50':>8} {'p90':>8} {'p95':>8} {'p99':>8} {'max':>9} "
               f"{m('errors_head', lang):>8}  {m('gen_head', lang)}", err=err)
    for s in steps:
        who = f"{s['rate']:g}/s" if s.get("model") == "open" else str(s.get("users"))
        rate = s.get("error_rate")
        gen = m("gen_sat", lang) if s.get("generator_saturated") else m("gen_ok", lang)
        click.echo(f"{who:>9} {_f(s.get('tps')):>9} {_f(s.get('p50_ms')):>8} {_f(s.get('p90_ms')):>8} "
                   f"{_f(s.get('p95_ms')):>8} {_f(s.get('p99_ms')):>8} {_f(s.get('max_ms')):>9} "
                   f"{(f'{rate * 100:.2f}%' if rate is not None else '-'):>8}  {gen}", err=err)
    for s in steps:
        who = f"{s['rate']:g}/s" if s.get("model") == "open" else str(s.get("users"))
        services = s.get("services") or {}
        if len(services) > 1:
            click.echo(m("per_service", lang, users=who), err=err)
            for name, v in services.items():
                errs = sum((v.get("errors") or {}).values())
                click.echo(f"    {name:<34} n={v.get('requests'):<7} tps={_f(v.get('tps')):<8} "
                           f"p50={_f(v.get('p50_ms'))} p95={_f(v.get('p95_ms'))} "
                           f"p99={_f(v.get('p99_ms'))} errors={errs}", err=err)
        kinds = {k: v for k, v in (s.get("errors") or {}).items() if v}
        if kinds:
            detail = s.get("errors_detail") or {}
            text = ", ".join(f"{k}={v}" for k, v in kinds.items())
            if detail:
                text += " (" + ", ".join(f"{k}={v}" for k, v in detail.items()) + ")"
            click.echo(m("err_kinds", lang, kinds=text), err=err)
        if s.get("unfinished"):
            click.echo(m("unfinished", lang, n=s["unfinished"], ms=_f(s.get("unfinished_oldest_ms"), 0)),
                       err=err)
        if s.get("generator_saturated"):
            click.echo(m("saturated", lang, reasons="; ".join(s["generator"].get("reasons") or [])),
                       err=err)
        if s.get("machine_saturated"):
            click.echo(m("machine_saturated", lang, pct=s["generator"].get("machine_cpu_pct") or 0),
                       err=err)


def echo_bands(bands: list[dict[str, Any]], lang: str, provisional: str) -> None:
    if not bands:
        return
    click.echo(m("bands_head", lang))
    click.echo(m("bands_cols", lang))
    for b in bands:
        name = b["service"] if lang == "zh" else (b.get("name_en") or b["service"])
        label = (b.get("band") if lang == "zh" else b.get("band_en")) or "-"
        if b.get("provisional"):
            label += f"（{provisional}）" if lang == "zh" else f" ({provisional})"
        med = f"{b['median_ms']:.1f} ms" if b.get("median_ms") is not None else "-"
        iqr = f"{b['spread_ms']:.1f} ms" if b.get("spread_ms") is not None else "-"
        click.echo(f"{b['item']:<9} {_pad(name, 33)} {med:>10}  {iqr:>10}  {b['samples']:>4}  "
                   f"{b['failures']:>4}  {label}")
        base = b.get("base_records")
        if base:
            if base.get("count") is None:
                click.echo(m("band_base", lang, n=m("band_base_unknown", lang), note=""))
            else:
                note = ""
                if base.get("origin") == "declared":
                    note += m("band_base_declared", lang)
                if base.get("required") and base["count"] < base["required"]:
                    note += m("band_base_low", lang, need=base["required"])
                click.echo(m("band_base", lang, n=base["count"], note=note))
        if len(b.get("services") or []) > 1:
            click.echo(m("band_flow", lang, steps=" → ".join(b["services"])))
        for ex in b.get("error_examples") or []:
            click.echo(f"    ! {ex}")


def echo_thresholds(results: list[dict[str, Any]], lang: str, provisional: str) -> None:
    if not results:
        return
    click.echo(m("thresholds", lang))
    for r in results:
        mark = {"pass": "✔", "fail": "✘"}.get(r["result"], "?")
        word = {"pass": m("th_pass", lang), "fail": m("th_fail", lang)}.get(r["result"],
                                                                            m("th_na", lang))
        prov = f" [{provisional}]" if r.get("provisional") else ""
        actual = "-" if r.get("actual") is None else (
            f"{r['actual'] * 100:.2f}%" if r["metric"] == "error_rate" else _f(r["actual"], 2))
        src = r.get("source") or ""
        if src == "command line":
            src = m("th_src_cli", lang)
        click.echo(f"  {mark} {r['id']:<28} {word:<6} actual={actual}{prov}  ({src})")
