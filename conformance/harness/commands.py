"""`conformance run`: replay the standard scenarios against a platform (the embedded reference
platform when no target is given) and write the run folder.

The command only builds the options, picks the console handlers, runs the engine
(``session.run_scenarios``) and maps the outcome to an exit code: 0 every case passed, 1 a case
failed or could not be judged (or, with ``--fail-on regression``, a new failure against the
baseline), 2 bad input, 130 interrupted (``--resume RUN_DIR`` completes the run)."""

from __future__ import annotations

import hashlib
import os
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ..cliopts import lang_option
from ..errors import ConformanceError
from ..i18n import t
from ..model import Status
from ..model.events import CaseFinished, Event, RunFinished, RunStarted
from ..model.folder import RunFolder
from ..profiles import profile_ids
from ..secrets import MARK
from .target import Target, TargetError, make_target

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def default_run_dir(target_name: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in target_name)[:60]
    return Path("runs") / f"{stamp}-{safe}"


def register(main: click.Group) -> None:
    main.add_command(run_command)


# ---------------------------------------------------------------------------------- console
class Console:
    """The run on the terminal: the header and a progress bar on stderr while it runs, the
    summary, the cases that did not pass and the folder on stdout at the end."""

    def __init__(self, lang: str, progress: bool) -> None:
        self.lang, self.progress = lang, progress
        self.counts = {s: 0 for s in Status}
        self._bar: Any = None

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            click.echo(t("run.header", self.lang, target=event.target, profile=event.profile,
                          n=event.cases), err=True)
            if self.progress:
                self._bar = click.progressbar(
                    length=event.cases, label=t("run.progress", self.lang), file=sys.stderr,
                    show_pos=True, item_show_func=lambda _: (
                        f"✔{self.counts[Status.PASS]} ✘{self.counts[Status.FAIL]} "
                        f"!{self.counts[Status.ERROR]}"))
                self._bar.__enter__()
        elif isinstance(event, CaseFinished):
            self.counts[event.case.result] += 1
            if self._bar is not None:
                self._bar.update(1, event.case.id)
        elif isinstance(event, RunFinished):
            self.close()
            self.summary(event)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None

    def summary(self, event: RunFinished) -> None:
        lang, s = self.lang, event.results.summary
        click.echo(t("run.summary", lang, **s.as_dict()))
        if s.count(Status.INTERRUPTED):
            click.echo(t("run.summary_interrupted", lang, **s.as_dict()))
        bad = [c for c in event.results.cases if c.failing]
        if bad:
            click.echo(t("run.failed_cases", lang))
            for c in bad[:50]:
                first = next((k for k in c.checks if k.result is c.result), None)
                detail = f"{first.id} {first.message}" if first else ""
                click.echo(f"  [{c.result.value}] {c.id}: {detail}")
            if len(bad) > 50:
                click.echo(f"  … (+{len(bad) - 50})")


# ---------------------------------------------------------------------------------- command
@click.command("run")
@click.option("--target", "target_url", default=None,
              help="Platform SOAP endpoint URL (default: the embedded reference platform).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Target configuration YAML (endpoints, SOAP version, auth, TLS, timeouts…).")
@click.option("--profile", type=click.Choice(profile_ids()), default=None,
              help="Platform kind (default: from --config, else the default profile).")
@click.option("--level", default=None, help="Only the services this level requires, e.g. 四级甲等.")
@click.option("--services", default=None,
              help="Comma-separated service action codes (or S-codes) to run.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--seed", type=click.IntRange(0), default=None,
              help="Make the synthetic ids (patients, records, messages) reproducible. Without "
                   "it every run draws its own, so runs never collide on a persistent platform.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Run folder (default runs/<timestamp>-<target>/).")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="Complete an interrupted run folder.")
@click.option("--soap-version", type=click.Choice(["1.1", "1.2"]), default=None)
@click.option("--timeout", type=float, default=None, help="Read timeout in seconds.")
@click.option("--total-timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS",
              help="Overall deadline of one exchange and its whole answer (default: timeouts.total "
                   "of --config, else 60 s or connect + read timeout when longer); beyond it the "
                   "step is an error (timeout-total).")
@lang_option()
@click.option("--progress/--no-progress", default=None)
@click.option("--baseline", type=click.Path(file_okay=False, exists=True), default=None,
              metavar="PREVIOUS_RUN", help="Compare with an earlier run folder.")
@click.option("--fail-on", type=click.Choice(["failure", "regression"]), default="failure",
              show_default=True, help="Exit 1 on any failing case, or (with --baseline) only on "
                                      "new failures.")
@click.option("--faults", default="", metavar="SPEC",
              help="Embedded platform only: inject seeded defects, as `serve --faults` takes "
                   "them (e.g. seed=1,http500=0.1) — trials, training, campaigns.")
def run_command(target_url: str | None, config_path: str | None, profile: str | None,
                level: str | None, services: str | None, jobs: int, seed: int | None,
                out_dir: str | None, resume_dir: str | None, soap_version: str | None,
                timeout: float | None, total_timeout: float | None, lang: str,
                progress: bool | None, baseline: str | None, fail_on: str, faults: str) -> None:
    """回放标准交互场景并记录证据。Replay the standard scenarios against a platform."""
    from .session import HTTP_ENV, NoCases, RunOptions, resume_options, run_scenarios

    try:
        if resume_dir:
            opts = resume_options(RunFolder(resume_dir))
            if not target_url and MARK in str(opts.get("target_url") or ""):
                click.echo(t("run.resume_url", lang, url=opts["target_url"]), err=True)
                sys.exit(EXIT_USAGE)
            target_url = target_url or opts.get("target_url")
            config_path = config_path or opts.get("config_path")
            profile = profile or opts.get("profile")
            level = level or opts.get("level")
            services = services or opts.get("services")
            soap_version = soap_version or opts.get("soap_version")
            seed = seed if seed is not None else opts.get("seed")
            faults = faults or opts.get("faults") or ""
            timeout = timeout or opts.get("timeout")
            total_timeout = total_timeout or opts.get("total_timeout")
        target = make_target(target_url, config_path, profile, soap_version=soap_version,
                             timeout=timeout, total_timeout=total_timeout)
        if faults:
            _check_faults(target, faults)
    except ConformanceError as exc:
        click.echo(t("err.input", lang, msg=exc.render(lang)), err=True)
        sys.exit(EXIT_USAGE)
    folder = RunFolder(resume_dir or out_dir
                       or default_run_dir(target.redactor().redact_text(target.name)))
    options = RunOptions(
        lang=lang, jobs=jobs, level=level, seed=seed,
        services=services.split(",") if services else None,
        http=os.environ.get(HTTP_ENV, "") not in ("", "0"), faults=faults,
        config_sha256=_sha256(config_path) if config_path else None,
        recorded={"target_url": target.redactor().redact_url(target_url) if target_url else None,
                  "config_path": config_path, "profile": target.profile,
                  "level": level, "services": services, "soap_version": soap_version,
                  "jobs": jobs, "seed": seed, "timeout": timeout,
                  "total_timeout": total_timeout, **({"faults": faults} if faults else {})})
    console = Console(lang, sys.stderr.isatty() if progress is None else progress)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    old = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    try:
        outcome = run_scenarios(folder, target, options, [console], stop=stop)
    except NoCases:
        click.echo(t("run.no_cases", lang), err=True)
        sys.exit(EXIT_USAGE)
    except ConformanceError as exc:
        click.echo(t("err.input", lang, msg=exc.render(lang)), err=True)
        sys.exit(EXIT_USAGE)
    finally:
        console.close()
        signal.signal(signal.SIGINT, old)
        signal.signal(signal.SIGTERM, old_term)
    click.echo(t("run.folder", lang, path=folder.path))
    if outcome.interrupted:
        click.echo(t("run.interrupted", lang, path=folder.path), err=True)
        sys.exit(EXIT_INTERRUPTED)
    if baseline:
        new_failures = _compare(baseline, folder.path, lang)
        if fail_on == "regression":
            sys.exit(EXIT_FAIL if new_failures else EXIT_OK)
    elif fail_on == "regression":
        click.echo(t("run.need_baseline", lang), err=True)
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_FAIL if outcome.failing else EXIT_OK)


def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _compare(baseline: str, run_dir: Path, lang: str) -> int:
    """Print what got better and what regressed against an earlier run; return new failures."""
    from ..report.baseline import compare_runs
    from ..report.model import RunError

    try:
        cmp = compare_runs(baseline, run_dir)
    except RunError as exc:
        click.echo(t("err.input", lang, msg=exc), err=True)
        sys.exit(EXIT_USAGE)
    click.echo(t("run.compare", lang, baseline=baseline, new=cmp.new_failures,
                  fixed=len(cmp.improvements), still=cmp.still_failing))
    for c in cmp.regressions[:30]:
        click.echo(f"  ✘ {c.label}: {c.before or '-'} → {c.after or '-'}")
    for c in cmp.improvements[:30]:
        click.echo(f"  ✔ {c.label}: {c.before or '-'} → {c.after or '-'}")
    return cmp.new_failures


def _check_faults(target: Target, spec: str) -> None:
    from ..platform.faults import FaultInjector

    if not target.embedded:
        raise TargetError("--faults: only the embedded platform can inject faults (no --target "
                          "or --config)")
    FaultInjector(spec)   # a FaultSpecError (a ConformanceError) says what is wrong


__all__ = ["Console", "TargetError", "register", "run_command"]
