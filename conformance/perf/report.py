"""The writers of `conformance perf`, as handlers of the engine's events (``conformance.model.events``):

* ``PerfJsonWriter`` — perf.json (``conformance.model.perf.PerfResults`` through the codec
  ``conformance.model.io.perf_json``; the JSON Schema ships as
  ``conformance/model/schemas/perf.schema.json``), written atomically after every band and every
  load step, and at the end;
* ``ConsoleTables`` — the bands, load steps and thresholds tables (standard output);
* ``ConsoleProgress`` — what the run is doing and its warnings (standard error).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ..i18n import t
from ..model.events import (
    BandMeasured,
    Event,
    Notice,
    PerfAborted,
    PerfFinished,
    PerfPlatformReady,
    PerfStarted,
    PerfStepFinished,
    PerfStepStarted,
    ThresholdsJudged,
)
from ..model.folder import RunFolder
from ..model.perf import Band, LoadStep, PerfResults, Threshold
from . import results as R


class PerfJsonWriter:
    """perf.json in the run folder: the engine's events folded into ``PerfResults``."""

    def __init__(self, folder: RunFolder | None = None) -> None:
        self.folder = folder
        self.doc: PerfResults | None = None

    def handle(self, event: Event) -> None:
        if isinstance(event, PerfStarted):
            if self.folder is None:
                self.folder = RunFolder(event.run_dir)
            if event.results is not None:
                self.doc = R.copy(event.results)
            return
        if isinstance(event, PerfFinished):
            self.doc = event.results
            self.save()
            return
        if self.doc is None:
            return
        R.fold(self.doc, event)
        if isinstance(event, BandMeasured | PerfStepFinished | PerfAborted):
            self.save()

    def save(self) -> Path | None:
        if self.folder is None or self.doc is None:
            return None
        return self.folder.write("perf", self.doc)


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


class ConsoleTables:
    """The tables on standard output: each band as it is measured; the load steps and the
    thresholds at the end; where perf.json is."""

    def __init__(self, lang: str = "zh") -> None:
        self.lang = lang
        self.provisional = t("provisional", lang)
        self.steps: list[LoadStep] = []
        self.thresholds: list[Threshold] = []
        self.bands = 0
        self.path: Path | None = None

    def handle(self, event: Event) -> None:
        if isinstance(event, PerfStarted):
            self.path = Path(event.run_dir) / "perf.json"
        elif isinstance(event, BandMeasured):
            if not self.bands:
                click.echo(t("perf.bands_head", self.lang))
                click.echo(t("perf.bands_cols", self.lang))
            self.bands += 1
            echo_band(event.band, self.lang, self.provisional)
        elif isinstance(event, PerfStepFinished):
            self.steps.append(event.step)
        elif isinstance(event, ThresholdsJudged):
            self.thresholds = list(event.thresholds)
        elif isinstance(event, PerfFinished):
            echo_steps(self.steps, self.lang)
            echo_thresholds(self.thresholds, self.lang, self.provisional)
            click.echo(t("perf.written", self.lang, path=self.path))


class ConsoleProgress:
    """What the run is doing, on standard error."""

    def __init__(self, lang: str = "zh") -> None:
        self.lang = lang

    def say(self, text: str) -> None:
        click.echo(text, err=True)

    def handle(self, event: Event) -> None:
        if isinstance(event, Notice):
            self.say(t(event.key, self.lang, **event.values))
        elif isinstance(event, PerfPlatformReady):
            if event.platform.get("seed"):
                self.say(t("perf.seeded", self.lang, **event.platform["seed"]))
            self.say(t("perf.platform_ready", self.lang, url=event.url))
        elif isinstance(event, PerfStepStarted):
            ramp, duration = f"{event.ramp_s:g}", f"{event.duration_s:g}"
            if event.rate is not None:
                self.say(t("perf.step_open", self.lang, rate=f"{event.rate:g}", ramp=ramp,
                           duration=duration))
            else:
                self.say(t("perf.step_closed", self.lang, users=event.users, ramp=ramp,
                           duration=duration))


def echo_steps(steps: Sequence[LoadStep], lang: str, err: bool = False) -> None:
    if not steps:
        return
    open_model = any(s.model == "open" for s in steps)
    head = t("perf.rate_head" if open_model else "perf.table_head", lang)
    click.echo(f"{head:>9} {'TPS':>9} {'p50':>8} {'p90':>8} {'p95':>8} {'p99':>8} {'max':>9} "
               f"{t('perf.errors_head', lang):>8}  {t('perf.gen_head', lang)}", err=err)
    for s in steps:
        rate = s.error_rate
        gen = t("perf.gen_sat", lang) if s.generator_saturated else t("perf.gen_ok", lang)
        click.echo(f"{s.label:>9} {_f(s.tps):>9} {_f(s.p50_ms):>8} {_f(s.p90_ms):>8} "
                   f"{_f(s.p95_ms):>8} {_f(s.p99_ms):>8} {_f(s.max_ms):>9} "
                   f"{(f'{rate * 100:.2f}%' if rate is not None else '-'):>8}  {gen}", err=err)
    for s in steps:
        if len(s.services) > 1:
            click.echo(t("perf.per_service", lang, users=s.label), err=err)
            for name, v in s.services.items():
                errs = sum(v.errors.values())
                click.echo(f"    {name:<34} n={v.requests:<7} tps={_f(v.tps):<8} "
                           f"p50={_f(v.p50_ms)} p95={_f(v.p95_ms)} "
                           f"p99={_f(v.p99_ms)} errors={errs}", err=err)
        kinds = {k: v for k, v in s.errors.items() if v}
        if kinds:
            text = ", ".join(f"{k}={v}" for k, v in kinds.items())
            if s.errors_detail:
                text += " (" + ", ".join(f"{k}={v}" for k, v in s.errors_detail.items()) + ")"
            click.echo(t("perf.err_kinds", lang, kinds=text), err=err)
        if s.unfinished:
            click.echo(t("perf.unfinished", lang, n=s.unfinished, ms=_f(s.unfinished_oldest_ms, 0)),
                       err=err)
        if s.generator_saturated:
            click.echo(t("perf.saturated", lang, reasons="; ".join(s.generator.get("reasons") or [])),
                       err=err)
        if s.machine_saturated:
            click.echo(t("perf.machine_saturated", lang, pct=s.generator.get("machine_cpu_pct") or 0),
                       err=err)


def echo_band(b: Band, lang: str, provisional: str) -> None:
    name = b.service if lang == "zh" else (b.name_en or b.service)
    label = (b.band if lang == "zh" else b.band_en) or "-"
    if b.provisional:
        label += t("paren", lang, text=provisional)
    med = f"{b.median_ms:.1f} ms" if b.median_ms is not None else "-"
    iqr = f"{b.spread_ms:.1f} ms" if b.spread_ms is not None else "-"
    click.echo(f"{b.item:<9} {_pad(name, 33)} {med:>10}  {iqr:>10}  {b.samples:>4}  "
               f"{b.failures:>4}  {label}")
    base = b.base_records or None
    if base:
        if base.get("count") is None:
            click.echo(t("perf.band_base", lang, n=t("perf.band_base_unknown", lang), note=""))
        else:
            note = ""
            if base.get("origin") == "declared":
                note += t("perf.band_base_declared", lang)
            if base.get("required") and base["count"] < base["required"]:
                note += t("perf.band_base_low", lang, need=base["required"])
            click.echo(t("perf.band_base", lang, n=base["count"], note=note))
    if len(b.services) > 1:
        click.echo(t("perf.band_flow", lang, steps=" → ".join(b.services)))
    for ex in b.error_examples:
        click.echo(f"    ! {ex}")


def echo_thresholds(results: Sequence[Threshold], lang: str, provisional: str) -> None:
    if not results:
        return
    click.echo(t("perf.thresholds", lang))
    for r in results:
        mark = {"pass": "✔", "fail": "✘"}.get(r.result, "?")
        word = t({"pass": "perf.th_pass", "fail": "perf.th_fail"}.get(r.result, "perf.th_na"), lang)
        prov = f" [{provisional}]" if r.provisional else ""
        actual = "-" if r.actual is None else (
            f"{r.actual * 100:.2f}%" if r.metric == "error_rate" else _f(r.actual, 2))
        src = r.source or ""
        if src == "command line":
            src = t("perf.th_src_cli", lang)
        click.echo(f"  {mark} {r.id:<28} {word:<6} actual={actual}{prov}  ({src})")
