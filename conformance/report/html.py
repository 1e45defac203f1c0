"""The HTML report: one self-contained file (inline CSS and SVG, no script, no external asset)
rendered from templates/report/ with Jinja2. The PDF renders the same template (mode "pdf")."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import IO, Any

import jinja2
from markupsafe import Markup

from .. import __version__
from ..i18n import t
from ..model.folder import RunFolder
from ..resources import templates_dir
from . import charts
from .baseline import Comparison
from .evidence import BodyLoader
from .model import PRODUCERS, artifact, evidence_files, inputs, version_mismatch
from .traffic import context as traffic_context
from .views import (
    HTML_CAPS,
    PDF_CAPS,
    Caps,
    Omitted,
    anchor,
    datasets_view,
    perf_view,
    results_view,
    score_view,
    validate_view,
)

TEMPLATE = "report.html.j2"
TOOL = {"name": "conformance", "version": __version__}
MAX_CHANGES_LISTED = 500


# ====================================================================== filters
def f_num(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return "—"
    if isinstance(value, int | float):
        return "—" if isinstance(value, float) and math.isnan(value) else charts.fmt_num(value)
    return str(value)


def f_ms(value: Any) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "—"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    if value >= 10:
        return f"{value:.0f} ms"
    return f"{value:.1f} ms"


def f_pct(value: Any, maximum: Any) -> str:
    if not isinstance(value, int | float) or not isinstance(maximum, int | float) or not maximum:
        return "—"
    return f"{value / maximum:.0%}"


def f_pct1(value: Any) -> str:
    if not isinstance(value, int | float):
        return "—"
    return f"{value * 100:.2f}%" if value else "0%"


def f_signed(value: Any) -> str:
    if not isinstance(value, int | float):
        return "—"
    return ("+" if value > 0 else "") + charts.fmt_num(value)


def f_pctdelta(value: Any) -> str:
    if not isinstance(value, int | float):
        return "—"
    return f"{value * 100:+.1f}%"


def f_thousands(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "—"


def f_dt(value: Any) -> str:
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        if value.tzinfo is not None:
            text += value.strftime(" %z")
        return text
    return "" if value is None else str(value)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir() / "report")),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters.update(num=f_num, ms=f_ms, pct=f_pct, pct1=f_pct1, signed=f_signed,
                       pctdelta=f_pctdelta,
                       thousands=f_thousands, dt=f_dt,
                       rule_anchor=lambda rule: anchor("rule", rule))
    return env


# ====================================================================== context
def _translator(lang: str) -> Callable[..., str]:
    """The templates' ``_``: the report's phrases (``report.<key>`` in the bundles)."""
    def _(key: str, **kw: Any) -> str:
        return t(f"report.{key}", lang, **kw)
    return _


def _distinct(values: list[Any]) -> str:
    out: list[str] = []
    for v in values:
        if v and str(v) not in out:
            out.append(str(v))
    return ", ".join(out) or "—"


def _charts(s: Any, p: Any, lang: str) -> dict[str, Markup | None]:
    def _(key: str) -> str:
        return t(key, lang)

    out: dict[str, Markup | None] = {"dimensions": None, "latency": None, "tps": None,
                                     "series": None}
    prov = _("report.provisional")
    users = _("report.perf.users")
    if s is not None and s.dimensions:
        bars = [charts.Bar(f"{d['id']} {d['name']}", d["score"], d["max"], d["provisional"])
                for d in s.dimensions]
        out["dimensions"] = charts.bar_chart(bars, _("report.dim.chart"), prov)
    if p is not None and p.steps:
        labels = [st["label"] for st in p.steps]
        series = [charts.Series(name, [st[key] for st in p.steps], dashed=(key == "max_ms"))
                  for name, key in (("p50", "p50_ms"), ("p90", "p90_ms"), ("p95", "p95_ms"),
                                    ("p99", "p99_ms"), ("max", "max_ms"))
                  if any(st[key] is not None for st in p.steps)]
        guides = [charts.Guide(th["limit"], f"{th['metric']} {th['op']} {f_num(th['limit'])}",
                               th["provisional"])
                  for th in p.thresholds if th["limit"] is not None
                  and str(th["metric"] or "").endswith("_ms")]
        out["latency"] = charts.line_chart(charts.LineChart(
            _("report.perf.latency_chart"), labels, users, _("report.perf.ms"), series, guides),
            prov)
        tps_guides = [charts.Guide(th["limit"], f"tps {th['op']} {f_num(th['limit'])}",
                                   th["provisional"])
                      for th in p.thresholds if th["limit"] is not None and th["metric"] == "tps"]
        out["tps"] = charts.line_chart(charts.LineChart(
            _("report.perf.tps_chart"), labels, users, "TPS",
            [charts.Series("TPS", [st["tps"] for st in p.steps])], tps_guides), prov)
    if p is not None and p.series:
        seconds = sorted({sec for pts in p.series.values() for sec, _v in pts})
        index = {sec: i for i, sec in enumerate(seconds)}
        lines = []
        for n, pts in p.series.items():
            values: list[float | None] = [None] * len(seconds)
            for sec, v in pts:
                values[index[sec]] = v
            lines.append(charts.Series(f"{n} {users}", values))
        out["series"] = charts.line_chart(charts.LineChart(
            _("report.perf.series_chart"), [f_num(sec) for sec in seconds],
            _("report.perf.seconds"), "TPS", lines), prov)
    return out


def service_citations(profile: str | None, lang: str) -> list[dict[str, str]]:
    """What the profile's service catalog cites (standards/services/<profile>.yaml `cites`,
    resolved in standards/sources.yaml): the report prints the catalog's data, no literal."""
    from ..catalog import CatalogError
    from ..hl7v3.services import PROFILES, load_services

    if profile not in PROFILES:
        return []
    try:
        return load_services(profile).citations(lang)
    except CatalogError:
        return []


def build_context(folder: RunFolder, lang: str = "zh", mode: str = "html",
                  report_dir: Path | None = None, comparison: Comparison | None = None,
                  font_warning: str | None = None, caps: Caps | None = None,
                  generated: datetime | None = None) -> dict[str, Any]:
    """Everything the template needs. ``folder``: an opened run (``model.open_run``);
    ``report_dir``: where the report file goes (links to evidence files are relative to it).
    ``font_warning``: a report phrase key (PDF only)."""
    _ = _translator(lang)
    caps = caps or (PDF_CAPS if mode == "pdf" else HTML_CAPS)
    omitted = Omitted()
    loader = BodyLoader(folder.path, report_dir or folder.path, cap=caps.body_cap,
                        budget=caps.body_budget, preview=caps.body_preview)
    validate, results = artifact(folder, "validate"), artifact(folder, "results")
    perf, score, datasets = (artifact(folder, "perf"), artifact(folder, "score"),
                             artifact(folder, "datasets"))
    v = validate_view(validate, caps, omitted) if validate is not None else None
    r = results_view(results, loader, caps, omitted) if results is not None else None
    p = perf_view(perf, lang) if perf is not None else None
    indicators = {i.code: anchor("ind", i.code) for i in score.indicators} if score else {}
    d = datasets_view(datasets, caps, lang, indicators) if datasets is not None else None
    anchors: dict[str, str] = {}
    if r is not None:
        anchors.update({c.id: "#" + c.anchor for c in r.listed})
        anchors.update({str(sv["service"]): "#" + sv["anchor"] for sv in r.services
                        if sv["service"]})
    if v is not None:
        anchors.update({str(t["type"]): "#" + t["anchor"] for t in v.by_type if t["type"]})
    if d is not None:
        anchors.update({ds.id: "#" + ds.anchor for ds in d.datasets})
    s = score_view(score, anchors, caps, lang) if score is not None else None
    omitted.bodies_linked = loader.linked
    any_prov = bool(
        (s and (s.provisional or s.level_provisional
                or any(x["provisional"] for x in s.dimensions)
                or any(i["provisional"] for i in s.indicators)))
        or (p and p.provisional)
        or (v and any(rr["provisional"] for rr in v.by_rule))
        or (r and any(c.provisional for c in r.cases))
        or (d and d.provisional))
    sections = ["summary", *(["comparison"] if comparison is not None else []),
                "dimensions", "indicators", "gaps", "services",
                *(["traffic"] if results is not None and results.kind == "proxy" else []),
                "documents", "findings", "datasets", "performance", "about"]
    toc = [(sec, t("report.traffic.title" if sec == "traffic" else f"report.sec.{sec}", lang))
           for sec in sections]
    files = inputs(folder)
    assessment = None
    if s is not None:
        a = s.assessment
        name = (a["name_en"] if lang == "en" else None) or a["name"] or a["id"]
        version = a["edition"]
        assessment = str(name) + (f" {version}" if version and str(version) not in str(name)
                                  else "")
        if a["status"] == "provisional":
            assessment += f" [{t('report.provisional', lang)}]"
    date = folder.date()
    run_info = {
        "name": folder.path.name or str(folder.path), "path": str(folder.path),
        "target": folder.target(), "profile": folder.profile(),
        "date": f_dt(date) if date else None,
        "tool_versions": _distinct([f"{f.tool.name} {f.tool.version}" for f in files
                                    if f.tool]),
        "rulesets": _distinct([f.tool.ruleset for f in files if f.tool]),
        "assessment": assessment, "scenarios": r.scenarios if r else None,
        "absent": folder.absent, "mismatch": version_mismatch(folder),
        "incomplete": bool(results is not None and not results.complete),
        "evidence_files": evidence_files(folder),
        "inputs": [{"file": f.file, "size": f.size, "sha256": f.sha256,
                    "tool": " ".join(x for x in (f.tool.name, f.tool.version, f.tool.ruleset)
                                     if x) if f.tool else "—"}
                   for f in files],
    }
    perf_failed = sum(1 for t in p.thresholds if t["result"] != "pass") if p else 0
    return {
        "mode": mode, "lang": lang, "_": _, "tool": TOOL, "run": run_info,
        "generated": f_dt((generated or datetime.now().astimezone()).replace(microsecond=0)),
        "v": v, "r": r, "p": p, "s": s, "d": d, "cmp": comparison,
        "cmp_name": comparison.baseline.name if comparison else None,
        "cap_changes": MAX_CHANGES_LISTED, "charts": _charts(s, p, lang), "caps": caps,
        "omitted": omitted, "toc": toc, "any_provisional": any_prov, "perf_failed": perf_failed,
        "producers": PRODUCERS, "fonts": {"warning": font_warning} if font_warning else None,
        "service_cites": service_citations(folder.profile(), lang) if r is not None else [],
        **traffic_context(folder, lang),
    }


def render_html(ctx: dict[str, Any], out: IO[str]) -> None:
    """Stream the rendered report into ``out`` (a 10,000-finding report is never one string)."""
    template = environment().get_template(TEMPLATE)
    for chunk in template.generate(ctx):
        out.write(chunk)


def render_html_string(ctx: dict[str, Any]) -> str:
    return environment().get_template(TEMPLATE).render(ctx)
