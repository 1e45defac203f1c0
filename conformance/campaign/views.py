"""The campaign report's formats, all from the one ``CampaignReport``:

- ``html`` — a self-contained dashboard (inline CSS, a few lines of inline JavaScript that sort
  the tables, charts as inline SVG; every figure of an institution links to its own
  report.html);
- ``xlsx`` — a workbook for the centre's staff: one sheet per view, each with a filter;
- ``pdf`` — the dashboard in print mode laid out by WeasyPrint (as the assessment report);
- ``json`` — campaign.json through its codec (shipped schema ``campaign.schema.json``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

import jinja2
from markupsafe import Markup

from ..i18n import t
from ..model.campaign import CampaignReport, InstitutionRow
from ..model.io import campaign_json
from ..output import open_output
from ..report.charts import FONT, PALETTE, fmt_num
from ..resources import templates_dir

FORMATS = ("html", "xlsx", "pdf", "json")
LEVEL_COLOURS = ("#CC79A7", "#D55E00", "#E69F00", "#F0E442", "#56B4E9", "#0072B2", "#009E73",
                 "#00543C")


def _(key: str, lang: str, **kw: Any) -> str:
    return t(f"campaign.ui.{key}", lang, **kw)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def num(value: float | None) -> str:
    return "—" if value is None else fmt_num(value)


def signed(value: float | None) -> str:
    if value is None:
        return ""
    return f"+{fmt_num(value)}" if value > 0 else fmt_num(value) if value < 0 else "±0"


# ------------------------------------------------------------------------------ charts
def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
                  f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
                  f'font-family={quoteattr(FONT)} font-size="12" aria-label={quoteattr(title)}>'
                  f"<title>{escape(title)}</title>" + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 12,
          fill: str = "#222", weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'fill="{fill}" font-weight="{weight}">{escape(text)}</text>')


def totals_chart(rows: list[InstitutionRow], title: str, links: dict[str, str],
                 city: bool = False, width: int = 760) -> Markup | None:
    """Horizontal bars: each institution's score against the maximum, each bar a link to the
    institution's own report."""
    bars = [(r, (r.city.total if city else r.total), (r.city.max if city else r.max))
            for r in rows if (r.city.total if city else r.total) is not None]
    if not bars:
        return None
    label_w, right_w, row_h, top = 190, 120, 24, 26
    x0, x1 = label_w, width - right_w
    height = top + row_h * len(bars) + 10
    out = [_text(0, 16, title, size=13, weight="bold")]
    for i, (r, value, maximum) in enumerate(bars):
        y = top + i * row_h
        top_v = maximum or max((b[1] or 0) for b in bars) or 1.0
        ratio = max(0.0, min(1.0, (value or 0.0) / top_v))
        colour = PALETTE[0] if r.target_met is not False else PALETTE[3]
        bar = (f'<rect x="{x0}" y="{y + 4}" width="{x1 - x0}" height="16" fill="#eef2f6"/>'
               f'<rect x="{x0}" y="{y + 4}" width="{(x1 - x0) * ratio:.1f}" height="16" '
               f'fill="{colour}"><title>{escape(r.name)}: {fmt_num(value or 0)}'
               f'{" / " + fmt_num(maximum) if maximum else ""}</title></rect>')
        label = _text(x0 - 6, y + 16, r.name[:14], anchor="end")
        value_t = _text(x1 + 6, y + 16, f"{fmt_num(value or 0)}"
                        + (f" / {fmt_num(maximum)}" if maximum else "")
                        + (f"  {r.level}" if r.level and not city else ""))
        href = links.get(r.id)
        body = label + bar + value_t
        out.append(f'<a href={quoteattr(href)}>{body}</a>' if href else body)
    return _svg(width, height, title, out)


def distribution_chart(report: CampaignReport, title: str, lang: str,
                       width: int = 760) -> Markup | None:
    """Stacked bars: institutions per level in each district (and kind)."""
    rows = report.distribution
    if not rows:
        return None
    levels: list[str] = []
    for kind_levels in report.levels.values():
        levels += [lv for lv in kind_levels if lv not in levels]
    order = levels + [""]
    label_w, row_h, top = 190, 26, 26
    legend_h = 22
    x0, x1 = label_w, width - 30
    most = max(r.institutions for r in rows) or 1
    height = top + row_h * len(rows) + legend_h + 16
    out = [_text(0, 16, title, size=13, weight="bold")]
    colour = {lv: LEVEL_COLOURS[i % len(LEVEL_COLOURS)] for i, lv in enumerate(levels)}
    colour[""] = "#BBBBBB"
    for i, r in enumerate(rows):
        y = top + i * row_h
        kind = t(f"campaign.kind.{r.kind}", lang)
        out.append(_text(x0 - 6, y + 17, f"{r.district} · {kind}"[:18], anchor="end"))
        x = float(x0)
        for lv in order:
            n = r.counts.get(lv, 0)
            if not n:
                continue
            w = (x1 - x0) * n / most
            name = lv or _("no_level", lang)
            out.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="18" '
                       f'fill="{colour[lv]}" stroke="#fff"><title>{escape(r.district)} · '
                       f'{escape(name)}: {n}</title></rect>')
            if w > 14:
                out.append(_text(x + w / 2, y + 17, str(n), anchor="middle", fill="#fff",
                                 weight="bold"))
            x += w
    y = top + row_h * len(rows) + 14
    x = float(x0)
    for lv in order:
        if not any(r.counts.get(lv) for r in rows):
            continue
        name = lv or _("no_level", lang)
        out.append(f'<rect x="{x:.1f}" y="{y - 10}" width="12" height="12" fill="{colour[lv]}"/>')
        out.append(_text(x + 16, y, name, size=11))
        x += 30 + 12 * len(name)
    return _svg(width, height, title, out)


# ------------------------------------------------------------------------------ html
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir() / "campaign")),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=pct, num=num, signed=signed)
    return env


def links_from(report: CampaignReport, campaign_dir: Path, out_dir: Path) -> dict[str, str]:
    """Each institution's report.html, relative to where the dashboard is written."""
    links = {}
    for r in report.institutions:
        if r.report:
            target = (campaign_dir / r.report).resolve()
            links[r.id] = Path(os.path.relpath(target, out_dir.resolve())).as_posix()
    return links


def context(report: CampaignReport, campaign_dir: Path, out_dir: Path, lang: str,
            mode: str = "html") -> dict[str, Any]:
    links = links_from(report, campaign_dir, out_dir)
    kinds = [k for k in ("hospital", "district") if any(r.kind == k for r in report.institutions)]
    by_kind = {k: sorted([r for r in report.institutions if r.kind == k],
                         key=lambda r: (r.rank is None, r.rank or 0, r.id)) for k in kinds}
    charts = {}
    for k in kinds:
        assessed = [r for r in by_kind[k] if r.status == "assessed"]
        charts[f"total.{k}"] = totals_chart(assessed, _("chart.total", lang,
                                                        kind=t(f"campaign.kind.{k}", lang)),
                                            links)
        if any(r.city.total is not None for r in assessed):
            charts[f"city.{k}"] = totals_chart(assessed, _("chart.city", lang,
                                                           kind=t(f"campaign.kind.{k}", lang)),
                                               links, city=True)
    charts["distribution"] = distribution_chart(report, _("chart.distribution", lang), lang)
    counts: dict[str, int] = {}
    for r in report.institutions:
        counts[r.status] = counts.get(r.status, 0) + 1
    follow_counts: dict[str, int] = {}
    for f in report.follow_up:
        follow_counts[f.status] = follow_counts.get(f.status, 0) + 1
    fonts_warning = None
    if mode == "pdf":
        from ..report.pdf import font_warning

        key = font_warning()
        fonts_warning = t(f"campaign.ui.{key.replace('.', '_')}", lang) if key else None

    def ui(key: str, **kw: Any) -> str:
        return _(key, lang, **kw)

    return {"r": report, "lang": lang, "mode": mode, "_": ui, "links": links, "kinds": kinds,
            "by_kind": by_kind, "charts": charts, "counts": counts,
            "follow_counts": follow_counts, "fonts_warning": fonts_warning,
            "kind_name": lambda k: t(f"campaign.kind.{k}", lang),
            "status_name": lambda s: t(f"campaign.status.{s}", lang),
            "problem_kind": lambda k: t(f"campaign.problem_kind.{k}", lang),
            "gov": [d for d in report.quality_definitions if d["group"] == "governance"],
            "emr": [d for d in report.quality_definitions if d["group"] == "emr"],
            "figure": lambda figs, fid: next((f for f in figs if f.id == fid), None)}


def render_html_string(report: CampaignReport, campaign_dir: Path, out_dir: Path, lang: str,
                       mode: str = "html") -> str:
    env = _environment()
    return env.get_template("dashboard.html.j2").render(
        **context(report, campaign_dir, out_dir, lang, mode))


def write_html(report: CampaignReport, campaign_dir: Path, out: Path, lang: str) -> Path:
    html = render_html_string(report, campaign_dir, out.parent, lang)
    with open_output(str(out)) as fh:
        fh.write(html)
    return out


def write_pdf(report: CampaignReport, campaign_dir: Path, out: Path, lang: str) -> Path:
    from ..report.pdf import check_available, html_to_pdf

    check_available()
    html = render_html_string(report, campaign_dir, out.parent, lang, mode="pdf")
    with open_output(str(out), binary=True) as fh:
        html_to_pdf(html, fh, out.parent)
    return out


def write_json(report: CampaignReport, out: Path) -> Path:
    return campaign_json.dump(report, out)


# ------------------------------------------------------------------------------ xlsx
def write_xlsx(report: CampaignReport, campaign_dir: Path, out: Path, lang: str) -> Path:
    """One sheet per view (league table, levels by district, problems, tasks, follow-up, data
    quality), a header row with a filter, frozen panes, the institution linked to its report."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    links = links_from(report, campaign_dir, out.parent)
    wb = Workbook()
    head_font = Font(bold=True, color="FFFFFF")
    head_fill = PatternFill("solid", fgColor="0072B2")

    def sheet(title: str, header: list[str], rows: list[list[Any]],
              link_col: int | None = None, ids: list[str] | None = None) -> None:
        ws = wb.active if wb.active.title == "Sheet" else wb.create_sheet()
        ws.title = title[:31]
        ws.append(header)
        for cell in ws[1]:
            cell.font, cell.fill = head_font, head_fill
            cell.alignment = Alignment(vertical="center", wrap_text=True)
        for i, row in enumerate(rows):
            ws.append(row)
            if link_col is not None and ids is not None and ids[i] in links:
                c = ws.cell(row=i + 2, column=link_col + 1)
                c.hyperlink = links[ids[i]]
                c.font = Font(color="0563C1", underline="single")
        width = len(header)
        ws.auto_filter.ref = f"A1:{get_column_letter(width)}{max(1, len(rows) + 1)}"
        ws.freeze_panes = "B2"
        for col in range(1, width + 1):
            values = [str(ws.cell(row=r, column=col).value or "") for r in range(1, min(
                len(rows) + 2, 200))]
            ws.column_dimensions[get_column_letter(col)].width = min(60, max(
                8, *(sum(2 if ord(ch) > 0x2E80 else 1 for ch in v) + 2 for v in values)))

    u = lambda key: _(key, lang)  # noqa: E731
    dims: list[str] = []
    for r in report.institutions:
        for d in r.dimensions:
            if d.name and d.name not in dims:
                dims.append(d.name)
    league, ids = [], []
    for r in sorted(report.institutions, key=lambda r: (r.kind, r.rank is None, r.rank or 0)):
        dim = {d.name: d.score for d in r.dimensions}
        ch = r.change
        league.append([r.name, r.id, t(f"campaign.kind.{r.kind}", lang), r.district or "",
                       r.rank, t(f"campaign.status.{r.status}", lang), r.level or "",
                       r.total, r.max, *[dim.get(n) for n in dims], r.city.total,
                       r.target_level or "",
                       "" if r.target_met is None else (u("yes") if r.target_met else u("no")),
                       ch.previous_level if ch else "", ch.level_step if ch else None,
                       ch.score_delta if ch else None,
                       len(ch.new_failures) if ch else None,
                       len(ch.fixed_failures) if ch else None, r.reason or ""])
        ids.append(r.id)
    sheet(u("sheet.league"), [u("institution"), "ID", u("kind"), u("district"), u("rank"),
                              u("status"), u("level"), u("total"), u("max"), *dims,
                              u("city_score"), u("target_level"), u("target_met"),
                              u("previous_level"), u("level_step"), u("score_delta"),
                              u("new_failures"), u("fixed_failures"), u("reason")],
          league, link_col=0, ids=ids)
    levels = sorted({lv for d in report.distribution for lv in d.counts})
    sheet(u("sheet.distribution"), [u("district"), u("kind"), u("institutions"),
                                    *[lv or u("no_level") for lv in levels]],
          [[d.district, t(f"campaign.kind.{d.kind}", lang), d.institutions,
            *[d.counts.get(lv, 0) for lv in levels]] for d in report.distribution])
    probs, pids = [], []
    for r in report.institutions:
        for p in r.problems:
            probs.append([r.name, r.id, t(f"campaign.problem_kind.{p.kind}", lang), p.subject,
                          p.title, p.detail, p.count, u("yes") if p.blocking else "",
                          "\n".join(f"{e.where} {e.message}" for e in p.examples)])
            pids.append(r.id)
    sheet(u("sheet.problems"), [u("institution"), "ID", u("problem_kind"), u("subject"),
                                u("problem"), u("detail"), u("count"), u("blocking"),
                                u("examples")], probs, link_col=0, ids=pids)
    tasks, tids = [], []
    for r in report.institutions:
        for tk in r.tasks:
            tasks.append([r.name, tk.id, t(f"campaign.problem_kind.{tk.kind}", lang), tk.action,
                          tk.owner, tk.deadline, t(f"campaign.task_status.{tk.status}", lang),
                          u("yes") if tk.blocking else ""])
            tids.append(r.id)
    sheet(u("sheet.tasks"), [u("institution"), u("task"), u("problem_kind"), u("action"),
                             u("owner"), u("deadline"), u("status"), u("blocking")],
          tasks, link_col=0, ids=tids)
    if report.follow_up:
        names = {r.id: r.name for r in report.institutions}
        sheet(u("sheet.follow_up"), [u("institution"), u("task"), u("action"), u("owner"),
                                     u("deadline"), u("previous_status"), u("reported_done"),
                                     u("status"), u("overdue")],
              [[names.get(f.institution, f.institution), f.task, f.action, f.owner or "",
                f.deadline or "", t(f"campaign.task_status.{f.previous_status}", lang),
                u("yes") if f.reported_done else "", t(f"campaign.task_status.{f.status}", lang),
                u("yes") if f.overdue else ""] for f in report.follow_up])
    gov = [d for d in report.quality_definitions if d["group"] == "governance"]
    emr = [d for d in report.quality_definitions if d["group"] == "emr"]
    if report.quality:
        rows = []
        for q in report.quality:
            g = {f.id: f.value for f in q.governance}
            e = {f.id: f.value for f in q.emr}
            rows.append([q.name, t(f"campaign.scope.{q.scope}", lang), q.district or "",
                         q.records, *[g.get(d["id"]) for d in gov], *[e.get(d["id"]) for d in emr]])
        sheet(u("sheet.quality"), [u("institution"), u("scope"), u("district"), u("records"),
                                   *[d["name"] for d in gov],
                                   *[d["name"] + t("paren", lang, text=u("emr_coefficient"))
                                     for d in emr]], rows)
        ws = wb[u("sheet.quality")[:31]]
        for col in range(5, 5 + len(gov) + len(emr)):
            for row in range(2, len(rows) + 2):
                ws.cell(row=row, column=col).number_format = "0.0%"
    with open_output(str(out), binary=True) as fh:
        wb.save(fh)
    return out


def write(report: CampaignReport, campaign_dir: Path, fmt: str, out: Path, lang: str) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "html":
        return write_html(report, campaign_dir, out, lang)
    if fmt == "xlsx":
        return write_xlsx(report, campaign_dir, out, lang)
    if fmt == "pdf":
        return write_pdf(report, campaign_dir, out, lang)
    return write_json(report, out)


def write_text(report: CampaignReport, fh: IO[str], lang: str) -> None:
    """The console summary `campaign report` prints."""
    fh.write(f"{report.campaign.name}\n")
    for r in sorted(report.institutions, key=lambda r: (r.kind, r.rank is None, r.rank or 0)):
        rank = f"{r.rank:>3}" if r.rank else "  -"
        city = f"  {_('city_score', lang)} {num(r.city.total)}" if r.city.total is not None else ""
        if r.status == "assessed":
            fh.write(f"{rank}  {r.id:<10} {r.name}  {r.level or '—'}  {num(r.total)}{city}\n")
        else:
            fh.write(f"  -  {r.id:<10} {r.name}  {t(f'campaign.status.{r.status}', lang)}: "
                     f"{r.reason or ''}\n")
