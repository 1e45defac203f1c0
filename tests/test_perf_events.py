"""conformance perf on the typed model: the engine yields typed events and prints nothing, the
writers are handlers (perf.json after every step, console tables, progress), `measure` runs it
in process with a RunFolder, an earlier perf.json of the folder keeps the part a run does not
measure, and the outcome maps to the exit code."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.harness.target import Target
from conformance.model.common import ToolStamp
from conformance.model.events import (
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
from conformance.model.folder import RunFolder
from conformance.model.io import perf_json
from conformance.model.io.schemas import shipped
from conformance.model.perf import Band, LoadStep, LocustInfo, PerfResults, Threshold
from conformance.perf import results as R
from conformance.perf.commands import exit_code
from conformance.perf.report import ConsoleTables, PerfJsonWriter
from conformance.perf.runner import DEADLINE_NOTE, PerfOptions, PerfOutcome, PerfRun, measure

pytestmark = pytest.mark.slow  # real servers, whole suites or PDFs: the full run, not the unit loop

MIX = """mix: quick
profile: hospital
think_time: 0
transactions:
  - {id: query, scenario: EMR-PL-04-个人信息查询服务-T01}
"""
PLAN = """plan: one
profile: hospital
assessment: hospital-2020
items:
  - item: 3.3.1.1
    name: {zh: 个人信息注册, en: patient registration}
    steps: [{service: PatientInfoRegister}]
"""
TOOL = ToolStamp(name="conformance", version="0.1.0", ruleset="r")


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)


def _doc(**kw: object) -> PerfResults:
    base: dict = {"tool": TOOL, "target": {"endpoint": "http://127.0.0.1:1/", "embedded": True},
                  "profile": "hospital"}
    base.update(kw)
    return PerfResults(**base)


def _failed() -> Threshold:
    return Threshold(id="avg<=1ms@1", metric="mean_ms", op="<=", limit=1.0, users=1,
                     actual=5.0, passed=False, result="fail", source="command line")


# ---------------------------------------------------------------------- the earlier perf.json
def test_a_band_only_run_keeps_the_earlier_steps_and_a_load_run_the_bands() -> None:
    old = _doc(bands=[Band(item="3.3.1.1", service="x")], steps=[LoadStep(users=1)],
               thresholds=[_failed()], engine="locust", model="closed", users=[1],
               duration_s=1.0, ramp_s=0.0, think_time_s=[0.0, 0.0], mix={"id": "m"},
               locust=LocustInfo(workers=2))
    bands_run = _doc(target={"endpoint": "http://127.0.0.1:2/", "embedded": True})
    R.keep_earlier(bands_run, old, bands=True, load=False)
    assert bands_run.bands == [] and bands_run.steps == old.steps
    assert bands_run.thresholds == old.thresholds and bands_run.engine == "locust"
    assert bands_run.users == [1] and bands_run.mix == {"id": "m"} and bands_run.locust.workers == 2
    assert bands_run.notes == [R.KEPT_STEPS]
    load_run = _doc(engine="builtin", users=[5])
    R.keep_earlier(load_run, old, bands=False, load=True)
    assert load_run.bands == old.bands and load_run.steps == [] and load_run.users == [5]
    assert load_run.notes == [R.KEPT_BANDS]


@pytest.mark.parametrize("change", [
    {"tool": ToolStamp(name="conformance", version="0.0.9")},
    {"target": {"endpoint": "http://other/", "embedded": False}},
    {"profile": "regional"},
])
def test_another_version_target_or_profile_keeps_nothing(change: dict) -> None:
    old = _doc(bands=[Band(item="3.3.1.1", service="x")], steps=[LoadStep(users=1)], **change)
    doc = _doc()
    R.keep_earlier(doc, old, bands=False, load=False)
    assert doc.bands == [] and doc.steps == [] and doc.notes == []


# ---------------------------------------------------------------------- handlers
def test_the_writer_saves_after_every_band_and_step(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    writer = PerfJsonWriter(folder)
    writer.handle(PerfStarted(target="embedded", profile="hospital", run_dir=str(tmp_path),
                              results=_doc(complete=False)))
    assert not folder.has("perf")               # nothing measured yet: nothing written
    writer.handle(PerfPlatformReady(url="http://127.0.0.1:3/", platform={"embedded": True},
                                    target={"endpoint": "http://127.0.0.1:3/", "embedded": True}))
    writer.handle(BandMeasured(Band(item="3.3.1.1", service="x", median_ms=3.0)))
    doc = perf_json.load(tmp_path)
    assert [b.item for b in doc.bands] == ["3.3.1.1"] and doc.platform == {"embedded": True}
    assert doc.complete is False and doc.target["endpoint"] == "http://127.0.0.1:3/"
    writer.handle(PerfStepFinished(LoadStep(users=2, requests=9)))
    writer.handle(PerfAborted(DEADLINE_NOTE))
    doc = perf_json.load(tmp_path)
    assert [s.requests for s in doc.steps] == [9] and doc.notes == [DEADLINE_NOTE]
    jsonschema.validate(json.loads((tmp_path / "perf.json").read_text("utf-8")), shipped("perf"))


def test_the_hard_deadline_tells_the_handlers_then_ends_the_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer, seen = PerfJsonWriter(RunFolder(tmp_path)), Recorder()
    writer.handle(PerfStarted(target="embedded", profile="hospital", run_dir=str(tmp_path),
                              results=_doc(steps=[LoadStep(users=1)])))
    run = PerfRun(PerfOptions(users=[1]))
    run.handlers = (writer, seen)
    codes: list[int] = []
    monkeypatch.setattr("conformance.perf.runner.os._exit", codes.append)
    run._deadline()
    assert codes == [2]
    assert [type(e) for e in seen.events] == [Notice, PerfAborted]
    assert perf_json.load(tmp_path).notes == [DEADLINE_NOTE]


def test_the_console_tables_print_this_runs_steps_and_thresholds(
        capsys: pytest.CaptureFixture[str]) -> None:
    tables = ConsoleTables("en")
    tables.handle(PerfStarted(target="embedded", profile="hospital", run_dir="runs/x"))
    tables.handle(PerfStepFinished(LoadStep(users=7, requests=3, tps=1.5, error_rate=0.0)))
    tables.handle(ThresholdsJudged([_failed()]))
    tables.handle(PerfFinished(_doc()))
    out = capsys.readouterr().out
    assert "        7       1.5" in out and "✘ avg<=1ms@1" in out and "FAIL" in out
    assert "Results: runs/x/perf.json" in out


@pytest.mark.parametrize(("outcome", "code"), [
    (PerfOutcome(None, None, refused=True), 2),
    (PerfOutcome(_doc(), None, unreachable=("refused",)), 2),
    (PerfOutcome(_doc(), None, judged=(_failed(),)), 1),
    (PerfOutcome(_doc(), None, judged=(Threshold(id="x", metric="tps", op=">=", limit=1),)), 1),
    (PerfOutcome(_doc(thresholds=[_failed()]), None), 0),   # kept from an earlier run
    (PerfOutcome(_doc(), None), 0),
])
def test_the_outcome_maps_to_the_exit_code(outcome: PerfOutcome, code: int) -> None:
    assert exit_code(outcome) == code


# ---------------------------------------------------------------------- in process
def test_measure_in_process_yields_typed_events_and_prints_nothing(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "mix.yaml").write_text(MIX, encoding="utf-8")
    (tmp_path / "plan.yaml").write_text(PLAN, encoding="utf-8")
    folder = RunFolder(tmp_path / "run")
    target = Target(name="embedded", embedded=True)
    seen = Recorder()
    o = PerfOptions(users=[1], duration=1.0, mix_path=str(tmp_path / "mix.yaml"), bands=True,
                    bands_plan=str(tmp_path / "plan.yaml"), seed_patients=0, repeat=2, warmup=0,
                    thresholds=["errors<=50%"], lang="en")
    outcome = measure(folder, target, o, [seen])
    assert capfd.readouterr() == ("", "")            # the engine prints nothing
    kinds = [type(e).__name__ if not isinstance(e, Notice) else e.key for e in seen.events]
    assert kinds == ["PerfStarted", "perf.starting_platform", "PerfPlatformReady", "BandMeasured",
                     "perf.preparing", "PerfStepStarted", "PerfStepFinished", "ThresholdsJudged",
                     "PerfFinished"]
    started = seen.events[5]
    assert isinstance(started, PerfStepStarted) and (started.label, started.users) == ("1", 1)
    assert target.endpoint == "" and outcome.folder is folder and exit_code(outcome) == 0
    assert outcome.results == perf_json.load(folder.path) == folder.perf
    res = outcome.results
    assert [b.item for b in res.bands] == ["3.3.1.1"] and res.bands[0].samples == 2
    assert res.steps[0].requests > 0 and res.platform["embedded"] is True
    assert [t.result for t in outcome.judged] == ["pass"] and res.complete is True
    # the engine alone (no handler) writes nothing: perf.json is the writer's
    other = RunFolder(tmp_path / "alone")
    run = PerfRun(PerfOptions(bands=True, bands_plan=str(tmp_path / "plan.yaml"), seed_patients=0,
                              repeat=1, warmup=0), folder=other)
    events = list(run.execute())
    assert isinstance(events[-1], PerfFinished) and not other.has("perf")


def test_a_band_only_run_keeps_earlier_steps_without_rejudging_them(tmp_path: Path) -> None:
    """A failed threshold of an earlier load run stays in perf.json but does not fail a later
    band-only run of the same folder (it judged no threshold)."""
    from conformance import __version__

    (tmp_path / "plan.yaml").write_text(PLAN, encoding="utf-8")
    run = tmp_path / "run"
    run.mkdir()
    perf_json.dump(_doc(tool=ToolStamp(name="conformance", version=__version__),
                        target={"endpoint": "http://127.0.0.1:9/", "embedded": True},
                        steps=[LoadStep(users=1, requests=4)], thresholds=[_failed()],
                        users=[1], engine="builtin", model="closed"), run / "perf.json")
    r = CliRunner().invoke(main, ["perf", "--bands", "--bands-plan", str(tmp_path / "plan.yaml"),
                                  "--seed-patients", "0", "--repeat", "1", "--warmup", "0",
                                  "--out", str(run), "--lang", "en"], catch_exceptions=False)
    assert r.exit_code == 0, (r.stdout, r.stderr)
    doc = perf_json.load(run)
    assert [b.item for b in doc.bands] == ["3.3.1.1"] and [s.requests for s in doc.steps] == [4]
    assert doc.thresholds == [_failed()] and R.KEPT_STEPS in doc.notes
    assert doc.users == [1] and doc.engine == "builtin" and "Thresholds" not in r.stdout


def test_quick_options_are_the_cli_quick() -> None:
    o = PerfOptions.quick(lang="en")
    assert (o.bands, o.repeat, o.seed_patients, o.duration, o.lang) == (True, 5, 20_000, 10.0, "en")
    assert PerfOptions.quick(repeat=2, seed_patients=0).repeat == 2
