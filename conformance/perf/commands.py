"""CLI: `conformance perf`, `conformance perf-worker`, `conformance seed`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..cliopts import lang_option
from ..i18n import t
from ..profiles import default_profile, profile_ids
from .units import UnitError, parse_counts, parse_duration, parse_think

EXIT_USAGE = 2


def _dur(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is None:
        return None
    try:
        return parse_duration(value, f"--{param.name}")
    except UnitError as exc:
        raise click.BadParameter(str(exc)) from None


def _think(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is None:
        return None
    try:
        return parse_think(value)
    except UnitError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("perf")
@click.option("--target", "target_url", default=None,
              help="Platform SOAP endpoint URL (default: the embedded reference platform).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Target configuration YAML (as for `conformance run`).")
@click.option("--profile", type=click.Choice(profile_ids()), default=None,
              help="Platform kind (default: from --config, else hospital).")
@click.option("--bands", is_flag=True,
              help="Measure the 3.3 items (single service, sequential, repeated) and record the band "
                   "of each median.")
@click.option("--users", default=None, metavar="N[,N…]",
              help="Closed model: concurrent virtual users per step, e.g. 1,50,200.")
@click.option("--rate", "rates", default=None, metavar="R[,R…]",
              help="Open model: transactions arriving per second, e.g. 10,50 (latency counted from the "
                   "intended send time).")
@click.option("--duration", default="60s", show_default=True, callback=_dur,
              help="Measured time of each step (after the ramp); a hard deadline.")
@click.option("--ramp", default="0s", show_default=True, callback=_dur,
              help="Ramp-up before each step's measurement (users start evenly / the rate rises).")
@click.option("--think", default=None, callback=_think, metavar="T|T1-T2",
              help="Think time between a user's transactions, e.g. 0, 2s or 1s-3s (default: the mix's).")
@click.option("--mix", "mix_path", type=click.Path(dir_okay=False), default=None,
              help="Load mix YAML (default test_cases/perf/<profile>-mix.yaml).")
@click.option("--threshold", "thresholds", multiple=True, metavar="EXPR",
              help='Pass/fail rule, repeatable: "avg<=3s@50", "p95<=800ms@200", "tps>=100@50", '
                   '"errors<=1%". A failed one makes the exit code 1.')
@click.option("--assessment", default=None, metavar="ID|FILE",
              help="Assessment definition for the bands and any performance thresholds "
                   "(default: the profile's, e.g. hospital-2020).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Run folder for perf.json (default runs/<timestamp>-<target>/).")
@click.option("--yes", is_flag=True, help="Confirm a load test against a platform other than the "
                                           "embedded one (required with --target/--config).")
@click.option("--engine", type=click.Choice(["builtin", "locust"]), default="builtin", show_default=True,
              help="builtin: asyncio generator in this process; locust: Locust master + workers "
                   "(processes; other machines with perf-worker).")
@click.option("--workers", type=click.IntRange(0, 256), default=2, show_default=True,
              help="--engine locust: local worker processes.")
@click.option("--remote-workers", type=click.IntRange(0, 1024), default=0, show_default=True,
              help="--engine locust: also wait for this many workers started elsewhere with "
                   "`conformance perf-worker`.")
@click.option("--master-bind", default="127.0.0.1", show_default=True,
              help="--engine locust: address the master listens on (0.0.0.0 for remote workers).")
@click.option("--master-port", type=click.IntRange(1, 65535), default=None,
              help="--engine locust: master port (default: a free one; 5557 is Locust's).")
@click.option("--faults", default="", metavar="SPEC",
              help="Embedded platform only: injected defects, e.g. seed=7,slow=0.1:2s,http500=0.01.")
@click.option("--seed-patients", type=click.IntRange(0), default=None,
              help="Embedded platform only: synthetic patients to load first (default with --bands: "
                   "the 500,000 of 3.3.1.2; else 0).")
@click.option("--db", default=":memory:", show_default=True,
              help="Embedded platform only: SQLite file (keep a seeded base between runs).")
@click.option("--bands-plan", type=click.Path(dir_okay=False), default=None,
              help="--bands: your own measurement plan (default test_cases/perf/<profile>-bands.yaml).")
@click.option("--repeat", type=click.IntRange(1, 100000), default=20, show_default=True,
              help="--bands: measured runs per item.")
@click.option("--warmup", type=click.IntRange(0, 1000), default=1, show_default=True,
              help="--bands: unmeasured runs per item first.")
@click.option("--base-records", type=click.IntRange(0), default=None,
              help="--bands, external platform: the number of patient records it holds (declared; "
                   "not verified by the tool).")
@click.option("--query-keys", default=None, metavar="FILE|seeded",
              help="--bands, external platform: file of patient ids (one a line) to query for 3.3.1.2, "
                   "or 'seeded' for a reference platform seeded with `conformance seed`.")
@click.option("--arrivals", type=click.Choice(["constant", "poisson"]), default="constant",
              show_default=True, help="Open model: even gaps or exponential (Poisson) ones.")
@click.option("--max-inflight", type=click.IntRange(1), default=10000, show_default=True,
              help="Open model: requests in flight at most; more wait (and the wait is measured).")
@click.option("--timeout", type=float, default=None, help="Read timeout per request, seconds.")
@click.option("--total-timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS",
              help="Overall deadline of one request and its whole answer (default: timeouts.total "
                   "of --config, else 60 s or connect + read timeout when longer); beyond it the "
                   "request is a timeout (timeout-total).")
@click.option("--setup-timeout", default="300s", show_default=True, callback=_dur,
              help="Limit for preparing the virtual users' data (not measured).")
@click.option("--quick", is_flag=True,
              help="A short measurement (e.g. inside `conformance assess`): --bands --repeat 5 and a "
                   "20,000-patient base; load steps of 10 s — unless given explicitly.")
@lang_option()
@click.pass_context
def perf_command(ctx: click.Context, **kw: Any) -> None:
    """测量平台性能：3.3 时间段、并发、吞吐。Measure platform performance.

    \b
    conformance perf --bands                         3.3 bands on the embedded platform
    conformance perf --users 1,50,200 --duration 60s --ramp 10s
    conformance perf --rate 20,50 --duration 30s     open model (no coordinated omission)
    conformance perf --target URL --yes --users 50 --threshold "avg<=3s@50"
    conformance perf --engine locust --workers 4 --users 500

    Exit codes: 0 measured (thresholds passed), 1 a threshold failed, 2 usage problem, refused
    (no --yes), target unreachable or the hard deadline hit.
    """
    from ..errors import ConformanceError
    from ..model.folder import RunFolder
    from .report import ConsoleProgress, ConsoleTables
    from .runner import QUICK, PerfOptions, PerfRun

    lang = kw["lang"]
    if kw["quick"]:
        def default(name: str) -> bool:
            return ctx.get_parameter_source(name) != click.core.ParameterSource.COMMANDLINE

        for name, value in QUICK.items():     # the same as PerfOptions.quick()
            if default(name) and (name != "seed_patients" or kw[name] is None):
                kw[name] = value
    try:
        counts = parse_counts(kw["users"], "--users") if kw["users"] else None
        if counts and any(not u.is_integer() for u in counts):
            raise UnitError("--users: whole numbers of users, e.g. 1,50,200")
        users = [int(u) for u in counts] if counts else None
        rates = parse_counts(kw["rates"], "--rate") if kw["rates"] else None
    except UnitError as exc:
        raise click.UsageError(str(exc)) from None
    o = PerfOptions(target_url=kw["target_url"], config_path=kw["config_path"], profile=kw["profile"],
                    users=users, rates=rates, duration=kw["duration"], ramp=kw["ramp"],
                    think=kw["think"], mix_path=kw["mix_path"], out_dir=kw["out_dir"],
                    thresholds=list(kw["thresholds"]), assessment=kw["assessment"], yes=kw["yes"],
                    faults=kw["faults"], seed_patients=kw["seed_patients"], db=kw["db"],
                    engine=kw["engine"], workers=kw["workers"], remote_workers=kw["remote_workers"],
                    master_bind=kw["master_bind"], master_port=kw["master_port"], bands=kw["bands"],
                    bands_plan=kw["bands_plan"],
                    repeat=kw["repeat"], warmup=kw["warmup"], base_records=kw["base_records"],
                    query_keys=kw["query_keys"], arrivals=kw["arrivals"],
                    max_inflight=kw["max_inflight"], timeout=kw["timeout"],
                    total_timeout=kw["total_timeout"],
                    setup_timeout=kw["setup_timeout"], lang=lang)
    if o.duration <= 0:
        raise click.UsageError("--duration must be greater than 0")
    if o.faults:
        from ..platform.faults import FaultInjector, FaultSpecError

        try:
            FaultInjector(o.faults)
        except FaultSpecError as exc:
            raise click.BadParameter(str(exc), param_hint="--faults") from None
    run = PerfRun(o, folder=RunFolder(o.out_dir) if o.out_dir else None)
    try:
        outcome = run.run([ConsoleProgress(lang), ConsoleTables(lang)])
    except ConformanceError as exc:
        click.echo(t("err.input", lang, msg=exc.render(lang)), err=True)
        sys.exit(EXIT_USAGE)
    except OSError as exc:
        click.echo(t("err.output", lang, path=_where(run), msg=exc), err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        click.echo(t("perf.interrupted", lang, path=_where(run) / "perf.json"), err=True)
        sys.exit(130)
    sys.exit(exit_code(outcome))


def exit_code(outcome: Any) -> int:
    """0 measured (every threshold this run judged passed), 1 a threshold failed or could not
    be judged, 2 refused (no --yes) or the target unreachable."""
    if outcome.refused or outcome.unreachable is not None:
        return EXIT_USAGE
    return 0 if outcome.thresholds_passed else 1


def _where(run: Any) -> Path:
    return run.folder.path if run.folder is not None else Path(".")


@click.command("perf-worker")
@click.option("--master", "master_host", required=True, help="Host of the Locust master "
                                                             "(`conformance perf --engine locust`).")
@click.option("--master-port", type=click.IntRange(1, 65535), default=5557, show_default=True)
@click.option("--target", "target_url", default=None, help="Platform SOAP endpoint URL.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Target configuration YAML (secrets from this machine's environment).")
@click.option("--profile", type=click.Choice(profile_ids()), default=None)
@click.option("--mix", "mix_path", type=click.Path(dir_okay=False), default=None,
              help="The same mix file as the master's (default: the shipped one).")
@click.option("--processes", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Worker processes on this machine (one per core).")
@lang_option()
def perf_worker_command(master_host: str, master_port: int, target_url: str | None,
                        config_path: str | None, profile: str | None, mix_path: str | None,
                        processes: int, lang: str) -> None:
    """在另一台机器上运行 Locust 压测节点。Run Locust workers for a distributed perf run.

    Start the master first (`conformance perf --engine locust --remote-workers N --master-bind
    0.0.0.0 --master-port 5557 --target URL --yes …`), then this on each load machine. The workers
    take the run parameters from the master and the target and mix from THIS machine's files;
    they stop when the master finishes.
    """
    import subprocess
    import tempfile

    from ..errors import ConformanceError
    from ..harness.target import TargetError
    from .distributed import available, plan_env, worker_command, write_plan
    from .mix import load_mix
    from .runner import PerfOptions, make_target, namespace_of

    if not available():
        click.echo(t("perf.locust_missing", lang), err=True)
        sys.exit(EXIT_USAGE)
    if not target_url and not config_path:
        raise click.UsageError("give --target URL or --config FILE: the platform the workers load")
    o = PerfOptions(target_url=target_url, config_path=config_path, profile=profile, lang=lang)
    try:
        target = make_target(o)
        mix = load_mix(mix_path, target.profile)
        namespace = namespace_of(target)
    except (ConformanceError, TargetError) as exc:
        click.echo(t("err.input", lang, msg=exc.render(lang)), err=True)
        sys.exit(EXIT_USAGE)
    with tempfile.TemporaryDirectory(prefix="conformance-worker-") as tmp:
        plan = {"profile": target.profile, "namespace": namespace, "mix": mix.path,
                "mix_sha256": mix.sha256,
                "config": str(Path(config_path).resolve()) if config_path else None,
                "url": target_url, "name": target.name, "soap_version": target.soap_version,
                "read_timeout": target.read_timeout, "total_timeout": target.total_timeout}
        plan_path = write_plan(Path(tmp) / "plan.json", plan)
        procs = [subprocess.Popen(worker_command(plan_path, master_host, master_port),
                                  env=plan_env(plan)) for _ in range(processes)]
        try:
            codes = [p.wait() for p in procs]
        except KeyboardInterrupt:
            for p in procs:
                p.terminate()
            codes = [p.wait() for p in procs]
    sys.exit(0 if all(c == 0 for c in codes) else 1)


@click.command("seed")
@click.option("--db", required=True, help="SQLite file of the reference platform (as `serve --db`).")
@click.option("--patients", type=click.IntRange(1), required=True,
              help="How many synthetic patients the base must hold (e.g. 500000).")
@click.option("--profile", type=click.Choice(profile_ids()), default=None,
              show_default=True)
@lang_option()
def seed_command(db: str, patients: int, profile: str, lang: str) -> None:
    """向参考平台数据库批量写入合成患者。Bulk-load synthetic patients into a platform database.

    Idempotent: patients already there are kept. Then `conformance serve --db FILE` serves them
    (or use `conformance serve --seed-patients N`).
    """
    from ..catalog import CatalogError
    from ..hl7v3.services import load_services
    from ..platform.seed import SeedError, seed_patients
    from ..platform.store import Store, StoreError

    try:
        store = Store(db)
    except StoreError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_USAGE)
    try:
        with click.progressbar(length=patients, label=t("perf.seeding", lang, n=patients),
                               file=sys.stderr) as bar:
            last = [0]

            def progress(done: int, n: int) -> None:
                bar.update(done - last[0])
                last[0] = done

            res = seed_patients(store, load_services(profile or default_profile().id), patients,
                                progress=progress)
    except (SeedError, CatalogError) as exc:
        click.echo(t("err.input", lang, msg=exc.render(lang)), err=True)
        sys.exit(EXIT_USAGE)
    finally:
        store.close()
    click.echo(t("perf.seed_done", lang, db=db, **res.to_dict()))


def register(main: click.Group) -> None:
    main.add_command(perf_command)
    main.add_command(perf_worker_command)
    main.add_command(seed_command)
