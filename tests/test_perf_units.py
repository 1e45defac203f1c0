"""conformance perf: the pure parts — thresholds, units, classification, histograms, arrivals,
mix loading, bands (no network, milliseconds each)."""

from __future__ import annotations

import itertools
import random

import pytest

from conformance.harness.transport import envelope
from conformance.hl7v3.builder import MessageBuilder
from conformance.model.perf import LoadStep, Stats
from conformance.perf import thresholds as TH
from conformance.perf.bands import PlanError, band_of, load_plan
from conformance.perf.classify import ERROR_KINDS, classify
from conformance.perf.engine import _arrivals
from conformance.perf.mix import MixError, load_mix
from conformance.perf.recorder import Recorder
from conformance.perf.units import UnitError, parse_counts, parse_duration, parse_think
from conformance.scoring.definition import get_definition


# ---------------------------------------------------------------------- units
def test_durations_and_think_times() -> None:
    assert parse_duration("60s") == 60 and parse_duration("2m") == 120
    assert parse_duration("500ms") == 0.5 and parse_duration("1.5") == 1.5
    assert parse_think("0") == (0, 0) and parse_think("1s-3s") == (1, 3)
    assert parse_counts("1,50,200", "--users") == [1, 50, 200]
    for bad in ("abc", "-1s", "3x"):
        with pytest.raises(UnitError):
            parse_duration(bad)
    with pytest.raises(UnitError, match="upper bound"):
        parse_think("3s-1s")
    with pytest.raises(UnitError):
        parse_counts("1,0", "--users")


@pytest.mark.parametrize("where", [
    "conformance.perf.runner:PerfUsage", "conformance.perf.mix:MixError",
    "conformance.perf.thresholds:ThresholdError", "conformance.perf.bands:PlanError",
    "conformance.perf.units:UnitError", "conformance.perf.workload:SetupError",
    "conformance.perf.engine:PrepareError", "conformance.perf.distributed:LocustError",
    "conformance.perf.embedded:PlatformProcessError", "conformance.platform.seed:SeedError"])
def test_problems_a_user_can_cause_are_conformance_errors(where: str) -> None:
    """One exception root: a command maps ConformanceError to exit code 2 and its message."""
    import importlib

    from conformance.errors import ConformanceError

    module, name = where.split(":")
    assert issubclass(getattr(importlib.import_module(module), name), ConformanceError)


# ---------------------------------------------------------------------- thresholds
def test_threshold_expressions() -> None:
    t = TH.parse("avg<=3s@50")
    assert (t.metric, t.op, t.limit, t.users, t.id) == ("mean_ms", "<=", 3000, 50, "avg<=3s@50")
    t = TH.parse("errors<=1%")
    assert (t.metric, t.limit, t.users) == ("error_rate", 0.01, None)
    t = TH.parse("p99<2s@20/s")
    assert (t.rate, t.users, t.limit) == (20.0, None, 2000)
    t = TH.parse("p95<=1s@50:PatientInfoQuery")
    assert t.service == "PatientInfoQuery" and t.provisional is False and t.source == "command line"
    for bad, why in (("p42<=1s", "unknown metric"), ("avg<=5%", "ms or s"), ("tps>=3s", "plain"),
                     ("errors<=150%", "above 100"), ("avg<=1s@2.5", "user count"), ("nonsense", "cannot")):
        with pytest.raises(TH.ThresholdError, match=why):
            TH.parse(bad)


def _step(users: int, **kw: object) -> LoadStep:
    base: dict = {"users": users, "rate": None, "mean_ms": 100.0, "p95_ms": 300.0, "tps": 50.0,
                  "error_rate": 0.0, "services": {"PatientInfoQuery": Stats(p95_ms=900.0)}}
    base.update(kw)
    return LoadStep(**base)


def test_threshold_judgement() -> None:
    steps = [_step(1), _step(50, mean_ms=3500.0, error_rate=0.02)]
    res = TH.judge([TH.parse("avg<=3s@50"), TH.parse("errors<=1%"),
                    TH.parse("p95<=1s@1:PatientInfoQuery")], steps)
    by_id = {r.id: r for r in res}
    assert by_id["avg<=3s@50"].passed is False and by_id["avg<=3s@50"].actual == 3500.0
    assert by_id["avg<=3s@50"].result == "fail" and by_id["avg<=3s@50"].users == 50
    assert by_id["errors<=1%@1"].passed is True and by_id["errors<=1%@50"].passed is False
    assert by_id["p95<=1s@1:PatientInfoQuery"].passed is True
    # a service the step did not run, a step that did not run: not measured, not passed
    (gone,) = TH.judge([TH.parse("p95<=1s@1:PatientInfoRegister")], steps)
    assert (gone.actual, gone.passed, gone.result) == (None, None, "not_measured")
    (none,) = TH.judge([TH.parse("avg<=3s@200")], steps)
    assert (none.users, none.passed, none.result) == (200, None, "not_measured")
    with pytest.raises(TH.ThresholdError, match="no step with 200 users"):
        TH.check_scope([TH.parse("avg<=3s@200")], [1, 50], None)


def test_thresholds_from_a_definition_are_provisional_unless_seen() -> None:
    raw = {"performance": {"thresholds": [
        {"id": "avg-50", "metric": "mean_ms", "op": "<=", "limit": 3000, "users": 50,
         "status": "provisional", "source": ["ws-t-448"]},
        {"metric": "tps", "op": ">=", "limit": 10, "status": "seen"}]}}
    a, b = TH.from_definition(raw, "x.yaml")
    assert a.provisional and a.source == "ws-t-448" and a.id == "avg-50"
    assert not b.provisional and b.id == "tps>=10"
    with pytest.raises(TH.ThresholdError, match=r"x.yaml: performance.thresholds\[0\]: metric"):
        TH.from_definition({"performance": {"thresholds": [{"metric": "speed", "limit": 1}]}}, "x.yaml")
    # the shipped definitions build no number in (WS/T 447/448 figures are unknown)
    for ident in ("hospital-2020", "regional-2020"):
        assert TH.from_definition(get_definition(ident).raw, ident) == []


# ---------------------------------------------------------------------- classification
def _answer(code: str) -> bytes:
    b = MessageBuilder("hospital")
    return envelope(b.ack(code=code, target_id="x", text="t"), "PatientInfoRegister")


def test_classification_kinds() -> None:
    assert set(ERROR_KINDS) == {"timeout", "connection", "http", "soap_fault", "ack_error", "invalid"}
    assert classify(200, _answer("AA"), None).ok
    v = classify(200, _answer("AE"), None)
    assert (v.kind, v.detail) == ("ack_error", "AE")
    assert classify(200, _answer("AE"), None, ("AE", "AR")).ok
    assert classify(None, b"", "timeout-read").kind == "timeout"
    assert classify(None, b"", "refused").kind == "connection"
    fault = (b'<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
             b"<soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>x</faultstring>"
             b"</soap:Fault></soap:Body></soap:Envelope>")
    assert classify(500, fault, None).kind == "soap_fault"
    v = classify(502, b"<html>bad gateway</html>", None)
    assert (v.kind, v.detail) == ("http", "http-502")
    assert classify(200, b"not xml at all", None).detail == "not-xml"
    assert classify(200, b"<x/>", None).detail == "not-soap"


# ---------------------------------------------------------------------- histograms
def test_recorder_percentiles_are_exact_to_a_tenth_of_a_percent() -> None:
    rec = Recorder(1000.0, steady_from=1.0)
    rec.record("A", 1000.5, 5.0, None)                 # in the ramp: series only
    for i in range(1, 1001):
        rec.record("A" if i % 2 else "B", 1002.0 + i / 1000, i / 1000, "timeout" if i > 990 else None,
                   "timeout-read" if i > 990 else None)
    s = rec.summary(10.0)
    assert s["requests"] == 1000 and s["tps"] == 100.0
    assert abs(s["p50_ms"] - 500) <= 0.5 and abs(s["p99_ms"] - 990) <= 1 and abs(s["max_ms"] - 1000) <= 1
    assert s["errors"]["timeout"] == 10 and s["error_rate"] == 0.01
    assert s["errors_detail"] == {"timeout-read": 10}
    assert set(s["services"]) == {"A", "B"} and s["services"]["A"]["requests"] == 500
    series = rec.series(1000.0, 1004.0)
    assert [p["requests"] for p in series] == [1, 0, 999, 1]


def test_recorders_merge_across_processes() -> None:
    a, b = Recorder(100.0), Recorder(100.2)
    for i in range(100):
        a.record("A", 101.0, 0.010, None)
        b.record("A", 101.5, 0.030, "ack_error" if i < 5 else None, "AE" if i < 5 else None)
    a.sample(101.5, cpu_pct=40.0, users=3)
    b.sample(101.5, cpu_pct=70.0, users=4)
    merged = Recorder(100.0)
    merged.merge(a.drain())
    merged.merge(b.export())
    s = merged.summary(1.0)
    assert s["requests"] == 200 and s["errors"]["ack_error"] == 5
    assert abs(s["p50_ms"] - 10) < 0.1 and abs(s["p90_ms"] - 30) < 0.1
    point = merged.series(100.0, 102.0)[1]
    assert point["requests"] == 200 and point["cpu_pct"] == 70.0 and point["users"] == 7
    assert a.summary(1.0)["requests"] == 0   # drained


# ---------------------------------------------------------------------- open model arrivals
def test_arrivals_follow_the_rate_and_the_ramp() -> None:
    even = list(itertools.islice(_arrivals(10, 0, "constant", random.Random(1)), 21))
    assert even[0] == 0 and abs(even[20] - 2.0) < 1e-9
    ramped = [t for t in itertools.takewhile(lambda t: t < 4.0, _arrivals(10, 2, "constant",
                                                                           random.Random(1)))]
    assert 9 <= sum(1 for t in ramped if t < 2.0) <= 11          # ∫ 0→10/s over 2 s = 10
    assert 19 <= sum(1 for t in ramped if t >= 2.0) <= 21        # then 10/s
    poisson = list(itertools.takewhile(lambda t: t < 100.0, _arrivals(10, 0, "poisson",
                                                                       random.Random(3))))
    assert 900 <= len(poisson) <= 1100


# ---------------------------------------------------------------------- mixes and plans
def test_shipped_mixes_resolve_their_scenarios() -> None:
    for profile in ("hospital", "regional"):
        mix = load_mix(None, profile)
        assert mix.transactions and all(t.measured for t in mix.transactions)
        assert mix.think_max >= mix.think_min
    mix = load_mix(None, "hospital")
    query = next(t for t in mix.transactions if t.id == "patient-query")
    assert [s.service for s in query.setup] == ["PatientInfoRegister"]
    assert [s.service for s in query.measured] == ["PatientInfoQuery"]


@pytest.mark.parametrize("text, why", [
    ("mix: x\nprofile: hospital\ntransactions: []\n", "non-empty"),
    ("mix: x\nprofile: regional\ntransactions: [{scenario: a}]\n", "for profile 'regional'"),
    ("mix: x\nprofile: hospital\ntransactions:\n  - {id: a, scenario: NOPE}\n", ":4: a: no scenario case"),
    ("mix: x\nprofile: hospital\ntransactions:\n  - {id: a, scenario: EMR-PL-01-个人信息注册服务-F01}\n",
     "negative case"),
    ("mix: x\nprofile: hospital\nthink_time: soon\ntransactions: [{steps: [{service: A}]}]\n",
     "think time"),
    ("mix: x\nprofile: hospital\ntransactions:\n  - steps: [{service: A, setup: true}]\n", "no measured"),
    ("mix: x\nprofile: hospital\ntransactions:\n  - steps: [{service: A, extract: {k: '//x'}}]\n",
     "extracts from the response"),
    ("mix: x\nprofile: hospital\nspeed: 3\ntransactions: []\n", "unknown setting"),
    ("mix: [\n", "YAML syntax error"),
])
def test_bad_mixes_say_where_and_what(tmp_path, text: str, why: str) -> None:
    p = tmp_path / "m.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(MixError, match=why) as exc:
        load_mix(p, "hospital")
    assert str(p) in str(exc.value)


@pytest.mark.parametrize("text, zh", [
    ("mix: x\nprofile: hospital\ntransactions: []\n", ":1: transactions 应为非空列表"),
    ("mix: x\nprofile: hospital\nthink_time: soon\ntransactions: [{steps: [{service: A}]}]\n",
     ":1: 思考时间: 无法读取 'soon'（请写成 60s、2m 或 500ms 这样的形式）"),
    ("mix: x\nprofile: hospital\ntransactions:\n  - steps: [{service: A, setup: true}]\n",
     ":4: t1: 没有计量的步骤（每个步骤都是 setup: true）"),
    ("mix: [\n", ": YAML 语法错误："),
])
def test_bad_mixes_say_it_in_chinese(tmp_path, text: str, zh: str) -> None:
    p = tmp_path / "m.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(MixError) as exc:
        load_mix(p, "hospital")
    assert exc.value.render("zh").startswith(str(p)) and zh in exc.value.render("zh")


def test_a_bad_band_plan_says_it_in_chinese(tmp_path) -> None:
    p = tmp_path / "b.yaml"
    p.write_text("plan: x\nprofile: regional\nitems: []\n", encoding="utf-8")
    with pytest.raises(PlanError) as exc:
        load_plan(p, "hospital")
    assert exc.value.render("zh") == f"{p}: 该计划用于测评类型 'regional'，不是 'hospital'"
    assert str(exc.value) == f"{p}: the plan is for profile 'regional', not 'hospital'"


def test_band_plan_and_bands_come_from_the_data() -> None:
    plan = load_plan(None, "hospital")
    assert [i.item for i in plan.items] == ["3.3.1.1", "3.3.1.2", "3.3.2.1", "3.3.3.1", "3.3.3.2"]
    flow = plan.items[2]
    assert flow.provisional and [s.service for s in flow.measured] == [
        "OutPatientInfoAdd", "OrderInfoAdd", "OrderFillerStatusInfoUpdate", "DocumentRegiste"]
    assert plan.items[1].base_records == 500_000
    bands = get_definition("hospital-2020").bands
    labels = [band_of(ms, bands).label for ms in (3, 999, 1000, 1001, 2999, 4000, 7000, 20000)]
    assert labels == ["1秒以内", "1秒以内", "1秒以内", "1-3秒", "1-3秒", "3-5秒", "5-10秒", "10秒以上"]
    assert band_of(None, bands) is None
