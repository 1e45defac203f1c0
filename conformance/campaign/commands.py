"""`conformance campaign init|run|collect|report`: a region's assessment campaign. The CLI only
builds options, runs the engine (``runner``, ``report``, ``views``) and maps the outcome to an
exit code: 0 done, 1 some institution not assessed / a submitted folder refused, 2 usage or
input problem, 130 interrupted (run again to resume)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from ..cliopts import format_option, lang_option
from ..errors import ConformanceError
from ..i18n import t
from ..model.campaign import InstitutionState
from ..resources import templates_dir


def register(main: click.Group) -> None:
    main.add_command(campaign)


def _fail(exc: ConformanceError, lang: str) -> None:
    click.echo(exc.render(lang), err=True)
    sys.exit(exc.exit_code)


@click.group("campaign")
def campaign() -> None:
    """区域测评：多机构评估、排行榜、问题清单与任务清单、回头看。A region's assessment campaign."""


@campaign.command("init")
@click.argument("campaign_dir", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing campaign.yaml.")
@lang_option()
def init_cmd(campaign_dir: str, force: bool, lang: str) -> None:
    """写出待填写的 campaign.yaml。Write campaign.yaml to fill in."""
    folder = Path(campaign_dir)
    target = folder / "campaign.yaml"
    if target.exists() and not force:
        click.echo(t("campaign.init.exists", lang, path=target), err=True)
        sys.exit(2)
    text = (templates_dir() / "campaign" / "campaign.yaml").read_text("utf-8")
    today = date.today()
    text = text.replace("{year}", str(today.year)).replace("{today}", today.isoformat())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        click.echo(t("err.output", lang, path=target, msg=exc.strerror or exc), err=True)
        sys.exit(2)
    click.echo(t("campaign.init.written", lang, path=target))


@campaign.command("run")
@click.argument("campaign_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=None,
              help="Institutions assessed at the same time (default: settings.jobs).")
@click.option("--only", default=None, metavar="ID,...", help="Only these institutions.")
@click.option("--yes", is_flag=True,
              help="Allow the load measurement against real (non-embedded) targets.")
@lang_option()
def run_cmd(campaign_dir: str, jobs: int | None, only: str | None, yes: bool, lang: str) -> None:
    """评估每个机构到 CAMPAIGN_DIR/runs/<id>/（可中断续跑）。Assess every institution."""
    from .config import load
    from .runner import run_campaign

    try:
        camp = load(campaign_dir, lang)
        ids = [s.strip() for s in only.split(",") if s.strip()] if only else None
        total = len(ids) if ids else len(camp.institutions)
        done = [0]

        def on_event(event: str, ident: str, st: InstitutionState | None) -> None:
            inst = camp.get(ident)
            name = inst.name if inst else ident
            if event == "skip":
                done[0] += 1
                click.echo(t("campaign.run.skip", lang, i=done[0], n=total, id=ident, name=name),
                           err=True)
            elif event == "done" and st is not None:
                done[0] += 1
                detail = st.reason or ""
                if st.status == "assessed":
                    from ..model.folder import RunFolder

                    try:
                        score = RunFolder(camp.run_dir(ident)).score
                        detail = f"{score.level or '—'} {score.total or 0:g}" if score else ""
                    except ConformanceError as exc:   # reported by `campaign report`
                        detail = exc.render(lang)[:200]
                click.echo(t("campaign.run.done", lang, i=done[0], n=total, id=ident, name=name,
                             status=t(f"campaign.status.{st.status}", lang), detail=detail,
                             secs=st.seconds or 0), err=True)
                for note in st.notes:
                    click.echo(f"      {note}", err=True)

        outcome = run_campaign(camp, jobs=jobs, only=ids, yes=yes, lang=lang, on_event=on_event)
    except ConformanceError as exc:
        _fail(exc, lang)
    if outcome.interrupted:
        click.echo(t("campaign.run.interrupted", lang, dir=campaign_dir), err=True)
    bad = [i for i, s in outcome.states.items() if s.status != "assessed"]
    click.echo(t("campaign.run.summary", lang, ran=len(outcome.states),
                 skipped=len(outcome.skipped), bad=len(bad)))
    sys.exit(outcome.exit_code)


@campaign.command("collect")
@click.argument("campaign_dir", type=click.Path(file_okay=False, exists=True))
@click.argument("run_dirs", nargs=-1, required=True)
@lang_option()
def collect_cmd(campaign_dir: str, run_dirs: tuple[str, ...], lang: str) -> None:
    """导入机构自评提交的运行目录（校验 manifest）。Import submitted run folders.

    RUN_DIRS: folders named after the institution id (or ending in -<id>), or ID=PATH.
    """
    from .config import load
    from .runner import collect

    try:
        camp = load(campaign_dir, lang)
        subs = collect(camp, run_dirs, lang)
    except ConformanceError as exc:
        _fail(exc, lang)
    for s in subs:
        if s.accepted:
            click.echo(t("campaign.collect.accepted", lang, path=s.path, id=s.institution))
        else:
            click.echo(t("campaign.collect.refused", lang, path=s.path,
                         id=s.institution or "?"), err=True)
            for reason in s.reasons:
                click.echo(f"    {reason}", err=True)
    sys.exit(0 if all(s.accepted for s in subs) else 1)


@campaign.command("report")
@click.argument("campaign_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--previous", type=click.Path(exists=True), default=None,
              metavar="OTHER_CAMPAIGN_DIR",
              help="The previous campaign: change per institution and the follow-up review.")
@format_option("html", "xlsx", "json", "pdf", default="html")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Default: CAMPAIGN_DIR/campaign.<format>.")
@lang_option()
def report_cmd(campaign_dir: str, previous: str | None, fmt: str, output: str | None,
               lang: str) -> None:
    """排行榜、问题清单、任务清单、回头看、区域数据质量。League table, lists and follow-up.

    campaign.json (the record the next campaign's --previous reads) is always written to
    CAMPAIGN_DIR as well.
    """
    from ..model.io import campaign_json
    from ..report.pdf import PdfUnavailable
    from .config import load
    from .report import build_report, load_previous
    from .views import write, write_text

    folder = Path(campaign_dir)
    try:
        camp = load(folder, lang, check_paths=False)
        prev = load_previous(previous, lang) if previous else None
        report = build_report(camp, previous=prev, previous_path=previous, lang=lang)
        campaign_json.dump(report, folder / campaign_json.CODEC.filename)
        out = Path(output) if output else folder / f"campaign.{fmt}"
        write(report, folder, fmt, out, lang)
    except PdfUnavailable as exc:
        click.echo(t("campaign.report.no_pdf", lang, msg=exc), err=True)
        sys.exit(2)
    except OSError as exc:
        click.echo(t("err.output", lang, path=output or folder, msg=exc.strerror or exc),
                   err=True)
        sys.exit(2)
    except ConformanceError as exc:
        _fail(exc, lang)
    write_text(report, sys.stdout, lang)
    for w in report.warnings:
        click.echo(f"! {w}", err=True)
    click.echo(t("campaign.report.written", lang, path=out))
