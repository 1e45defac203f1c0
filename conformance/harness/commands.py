"""`conformance run`: replay the standard scenarios against a platform (the embedded reference
platform when no target is given) and write the run folder."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ..i18n import t
from . import results as R
from .model import ScenarioError
from .target import Target, TargetError, check, load_target

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
_UI = {
    "run.header": {"zh": "互联互通交互测试：{target}（{profile}），{n} 个用例",
                   "en": "Interoperability run: {target} ({profile}), {n} cases"},
    "run.summary": {
        "zh": "用例 {cases} 个：通过 {pass} 个，不通过 {fail} 个，无法判定 {error} 个，跳过 {skip} 个。",
        "en": "{cases} cases: {pass} passed, {fail} failed, {error} errors, {skip} skipped."},
    "run.folder": {"zh": "运行目录：{path}", "en": "Run folder: {path}"},
    "run.interrupted": {
        "zh": "已中断：已完成的用例已保存，用 conformance run --resume {path} 继续。",
        "en": "Interrupted: finished cases are saved; continue with conformance run --resume {path}."},
    "run.failed_cases": {"zh": "未通过的用例：", "en": "Cases that did not pass:"},
    "run.no_cases": {"zh": "没有符合条件的用例（检查 --services / --level）。",
                     "en": "No case matches (check --services / --level)."},
    "run.progress": {"zh": "执行用例", "en": "Running cases"},
    "run.compare": {"zh": "与基线 {baseline} 比较：新增失败 {new} 项，已修复 {fixed} 项，仍失败 {still} 项。",
                    "en": "Against baseline {baseline}: {new} new failures, {fixed} fixed, "
                          "{still} still failing."},
    "run.need_baseline": {"zh": "--fail-on regression 需要 --baseline。",
                          "en": "--fail-on regression needs --baseline."},
}


def ui(key: str, lang: str, **kw: Any) -> str:
    entry = _UI[key]
    return (entry.get(lang) or entry["zh"]).format(**kw)


def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def default_run_dir(target_name: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in target_name)[:60]
    return Path("runs") / f"{stamp}-{safe}"


def register(main: click.Group) -> None:
    main.add_command(run_command)


@click.command("run")
@click.option("--target", "target_url", default=None,
              help="Platform SOAP endpoint URL (default: the embedded reference platform).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Target configuration YAML (endpoints, SOAP version, auth, TLS, timeouts…).")
@click.option("--profile", type=click.Choice(["hospital", "regional"]), default=None,
              help="Platform kind (default: from --config, else hospital).")
@click.option("--level", default=None, help="Only the services this level requires, e.g. 四级甲等.")
@click.option("--services", default=None,
              help="Comma-separated service action codes (or S-codes) to run.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Run folder (default runs/<timestamp>-<target>/).")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="Complete an interrupted run folder.")
@click.option("--soap-version", type=click.Choice(["1.1", "1.2"]), default=None)
@click.option("--timeout", type=float, default=None, help="Read timeout in seconds.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--progress/--no-progress", default=None)
@click.option("--baseline", type=click.Path(file_okay=False, exists=True), default=None,
              metavar="PREVIOUS_RUN", help="Compare with an earlier run folder.")
@click.option("--fail-on", type=click.Choice(["failure", "regression"]), default="failure",
              show_default=True, help="Exit 1 on any failing case, or (with --baseline) only on "
                                      "new failures.")
def run_command(target_url: str | None, config_path: str | None, profile: str | None,
                level: str | None, services: str | None, jobs: int, out_dir: str | None,
                resume_dir: str | None, soap_version: str | None, timeout: float | None,
                lang: str, progress: bool | None, baseline: str | None, fail_on: str) -> None:
    """回放标准交互场景并记录证据。Replay the standard scenarios against a platform."""
    from .session import RunSession, SessionError

    previous: dict[str, Any] | None = None
    if resume_dir:
        try:
            previous = json.loads((Path(resume_dir) / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise click.UsageError(f"{resume_dir}: not a resumable run folder ({exc})") from None
        opts = previous["options"]
        target_url = target_url or opts.get("target_url")
        config_path = config_path or opts.get("config_path")
        profile = profile or opts.get("profile")
        level = level or opts.get("level")
        services = services or opts.get("services")
        soap_version = soap_version or opts.get("soap_version")
    try:
        target = _make_target(target_url, config_path, profile, soap_version, timeout)
    except TargetError as exc:
        click.echo(t("err.input", lang, msg=exc), err=True)
        sys.exit(EXIT_USAGE)
    run_dir = Path(resume_dir) if resume_dir else Path(out_dir) if out_dir else default_run_dir(
        target.name)
    options = {"target_url": target_url, "config_path": config_path, "profile": target.profile,
               "level": level, "services": services, "soap_version": soap_version, "jobs": jobs}
    try:
        session = RunSession(target, run_dir, options=options, lang=lang, jobs=jobs,
                             level=level, services=services.split(",") if services else None,
                             config_sha256=_sha256(config_path) if config_path else None)
    except (SessionError, ScenarioError, TargetError) as exc:
        click.echo(t("err.input", lang, msg=exc), err=True)
        sys.exit(EXIT_USAGE)
    if not session.cases:
        click.echo(ui("run.no_cases", lang), err=True)
        sys.exit(EXIT_USAGE)
    show = sys.stderr.isatty() if progress is None else progress
    click.echo(ui("run.header", lang, target=target.name, profile=target.profile,
                  n=len(session.cases)), err=True)
    interrupted = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        interrupted.set()
        session.stop()

    old = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    try:
        with _progress(show, len(session.cases), lang) as bar:
            doc = session.execute(on_case=bar)
    except SessionError as exc:
        click.echo(t("err.input", lang, msg=exc), err=True)
        sys.exit(EXIT_USAGE)
    finally:
        signal.signal(signal.SIGINT, old)
        signal.signal(signal.SIGTERM, old_term)
    s = doc["summary"]
    click.echo(ui("run.summary", lang, **s))
    bad = [c for c in doc["cases"] if c["result"] in ("fail", "error")]
    if bad:
        click.echo(ui("run.failed_cases", lang))
        for c in bad[:50]:
            first = next((k for k in c["checks"] if k["result"] == c["result"]), None)
            detail = f"{first['id']} {first['message']}" if first else ""
            click.echo(f"  [{c['result']}] {c['id']}: {detail}")
        if len(bad) > 50:
            click.echo(f"  … (+{len(bad) - 50})")
    click.echo(ui("run.folder", lang, path=run_dir))
    if interrupted.is_set() or not doc.get("complete"):
        click.echo(ui("run.interrupted", lang, path=run_dir), err=True)
        sys.exit(130)
    if baseline:
        new_failures = _compare(baseline, run_dir, lang)
        if fail_on == "regression":
            sys.exit(EXIT_FAIL if new_failures else EXIT_OK)
    elif fail_on == "regression":
        click.echo(ui("run.need_baseline", lang), err=True)
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_OK if s["fail"] == 0 and s["error"] == 0 else EXIT_FAIL)


def _compare(baseline: str, run_dir: Path, lang: str) -> int:
    """Print what got better and what regressed against an earlier run; return new failures."""
    from ..report.baseline import compare_runs
    from ..report.model import RunError

    try:
        cmp = compare_runs(baseline, run_dir)
    except RunError as exc:
        click.echo(t("err.input", lang, msg=exc), err=True)
        sys.exit(EXIT_USAGE)
    click.echo(ui("run.compare", lang, baseline=baseline, new=cmp.new_failures,
                  fixed=len(cmp.improvements), still=cmp.still_failing))
    for c in cmp.regressions[:30]:
        click.echo(f"  ✘ {c.label}: {c.before or '-'} → {c.after or '-'}")
    for c in cmp.improvements[:30]:
        click.echo(f"  ✔ {c.label}: {c.before or '-'} → {c.after or '-'}")
    return cmp.new_failures


@contextlib.contextmanager
def _progress(show: bool, total: int, lang: str):
    if not show:
        yield lambda rec: None
        return
    counts = {"pass": 0, "fail": 0, "error": 0, "skip": 0}
    with click.progressbar(length=total, label=ui("run.progress", lang), file=sys.stderr,
                           show_pos=True, item_show_func=lambda _: (
                               f"✔{counts['pass']} ✘{counts['fail']} !{counts['error']}")) as bar:
        def tick(rec: dict[str, Any]) -> None:
            counts[rec["result"]] += 1
            bar.update(1, rec)
        yield tick


def _make_target(url: str | None, config: str | None, profile: str | None,
                 soap_version: str | None, timeout: float | None) -> Target:
    target = load_target(config) if config else Target()
    if url:
        target.endpoint = url
        target.embedded = False
        if not config:
            target.name = url.split("//", 1)[-1].split("/", 1)[0]
    elif not config:
        target.embedded = True
        target.name = "embedded"
    if profile:
        target.profile = profile
    if soap_version:
        target.soap_version = soap_version
    if timeout:
        target.read_timeout = timeout
    check(target, config or "--target")
    return target


__all__ = ["register", "run_command", "R", "os"]
