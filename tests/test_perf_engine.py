"""conformance perf: the built-in engine against the embedded platform (in this process, on a
free loopback port) — the measured percentiles follow injected delays, errors are counted by
kind, the open model shows a stall (no coordinated omission), the deadline is hard."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from conformance.harness.target import Target
from conformance.model.perf import LoadStep
from conformance.perf.engine import AioClient, Engine, PrepareError, StepSpec
from conformance.perf.mix import load_mix
from conformance.perf.workload import Workload
from conformance.platform.server import EmbeddedPlatform

pytestmark = pytest.mark.slow  # real servers, whole suites or PDFs: the full run, not the unit loop

NS = "urn:conformance:hip-message-server"
REGISTER_ONLY = """mix: register
profile: hospital
think_time: 0
transactions:
  - id: register
    scenario: EMR-PL-01-个人信息注册服务-T01
"""
QUERY_ONLY = """mix: query
profile: hospital
think_time: 0
transactions:
  - id: query
    scenario: EMR-PL-04-个人信息查询服务-T01
"""


def _mix(tmp_path: Path, text: str):  # noqa: ANN202
    p = tmp_path / "mix.yaml"
    p.write_text(text, encoding="utf-8")
    return load_mix(p, "hospital")


def _run(url: str, mix, specs: list[StepSpec], contexts: int = 1,
         during=None) -> list[LoadStep]:  # noqa: ANN001
    target = Target(name="embedded", endpoint=url, embedded=True, read_timeout=10)
    engine = Engine(Workload(mix, target, NS))

    async def main() -> list[LoadStep]:
        engine.client = AioClient(target)
        await engine.client.start()
        try:
            ctxs = await engine.prepare(contexts)
            out = []
            for spec in specs:
                if during is not None:
                    asyncio.get_running_loop().run_in_executor(None, during)
                out.append(await engine.run_step(spec, ctxs))
            return out
        finally:
            await engine.client.close()

    return asyncio.run(main())


def test_percentiles_follow_the_injected_delay(tmp_path: Path) -> None:
    mix = _mix(tmp_path, REGISTER_ONLY)
    spec = StepSpec(users=1, duration=1.5)
    with EmbeddedPlatform(faults="") as url:
        (base,) = _run(url, mix, [spec])
    with EmbeddedPlatform(faults="seed=11,slow=0.3:200ms") as url:
        (slow,) = _run(url, mix, [spec])
    assert base.requests > 40 and base.p90_ms < 100 and base.error_rate == 0
    # ~30 % of the answers come 200 ms late: the median stays fast, p90 and up carry the delay
    # (one user, sequential: the order of faults is fixed by the seed)
    assert slow.p50_ms < 100, slow
    assert 200 <= slow.p90_ms <= 320 and 200 <= slow.p99_ms <= 350, slow
    assert slow.min_ms < 100 <= 200 <= slow.max_ms
    # throughput of one sequential user is bounded by the delay (~0.3 × 200 ms per request)
    assert slow.tps < base.tps / 2
    assert sum(p.requests for p in slow.series) >= slow.requests
    assert slow.generator_saturated is False


def test_errors_are_counted_by_kind(tmp_path: Path) -> None:
    mix = _mix(tmp_path, REGISTER_ONLY)
    with EmbeddedPlatform(faults="seed=5,http500=0.15,wrong-ack=0.15,drop=0.1") as url:
        (step,) = _run(url, mix, [StepSpec(users=2, duration=2.0)])
    e, d = step.errors, step.errors_detail
    assert e["soap_fault"] > 0 and d.get("fault-500", 0) == e["soap_fault"]     # http500 → SOAP Fault
    assert e["ack_error"] > 0 and d.get("AE", 0) == e["ack_error"]              # AA inverted to AE
    assert e["connection"] > 0 and d.get("reset", 0) == e["connection"]         # dropped connection
    assert e["timeout"] == 0 and e["invalid"] == 0
    n_err = sum(e.values())
    assert 0.2 < n_err / step.requests < 0.55 and step.error_rate == round(n_err / step.requests, 6)
    svc = step.services["PatientInfoRegister"]
    assert svc.errors == e and svc.requests == step.requests


def test_open_model_counts_a_stall_from_the_intended_send_time(tmp_path: Path) -> None:
    mix = _mix(tmp_path, QUERY_ONLY)
    ep = EmbeddedPlatform()
    url = ep.start()

    def stall() -> None:                      # after 0.5 s the platform stops answering for 1 s
        time.sleep(0.5)
        with ep.platform.store.lock:
            time.sleep(1.0)

    try:
        # 4 s: after the stall (0.5–1.5 s) the arrivals it held have time to be answered
        open_, = _run(url, mix, [StepSpec(rate=40, duration=4.0)], during=stall)
        closed, = _run(url, mix, [StepSpec(users=1, duration=2.5)], during=stall)
    finally:
        ep.stop()
    # open model: ~40 arrivals fell into the stall; each waited from its intended time (on a
    # machine too busy to send 160 requests in 4 s the step says its generator saturated)
    assert open_.requests >= 130 or open_.generator_saturated, open_
    assert open_.max_ms >= 800 and open_.p90_ms >= 400, open_
    assert any(p.max_ms and p.max_ms >= 500 for p in open_.series)
    assert open_.service_time["max_ms"] >= 800          # sent on time, answered late
    # closed model, same stall: the one waiting user hides it in one sample (coordinated
    # omission) — the max shows the stall, the percentiles do not
    assert closed.max_ms >= 800 and closed.p90_ms < 100, closed
    assert open_.p90_ms > 4 * closed.p90_ms


def test_the_deadline_is_hard(tmp_path: Path) -> None:
    mix = _mix(tmp_path, REGISTER_ONLY)
    with EmbeddedPlatform(faults="seed=1,slow=1.0:2500ms") as url:
        t0 = time.monotonic()
        (step,) = _run(url, mix, [StepSpec(users=3, duration=1.0)])
        elapsed = time.monotonic() - t0
    assert elapsed < 2.3                      # not the 2.5 s the answers take
    assert step.requests == 0 and step.unfinished == 3
    assert step.unfinished_oldest_ms >= 900


WRITES = """mix: writes
profile: hospital
think_time: 0
transactions:
  - {id: register, weight: 2, scenario: EMR-PL-01-个人信息注册服务-T01}
  - {id: document-register, weight: 2, scenario: EMR-PL-14-电子病历文档注册服务-T01}
  - {id: document-access, weight: 1, scenario: EMR-PL-15-电子病历文档调阅服务-T01}
"""


def test_fresh_keys_keep_repeated_registrations_apart(tmp_path: Path) -> None:
    mix = _mix(tmp_path, WRITES)
    with EmbeddedPlatform() as url:
        a, b = _run(url, mix, [StepSpec(users=2, duration=1.0), StepSpec(users=2, duration=1.0)],
                    contexts=2)
    for step in (a, b):   # the second step reuses the contexts: its keys must be new too
        assert step.requests > 10
        assert step.errors["ack_error"] == 0, step.errors_detail
        assert {"PatientInfoRegister", "DocumentRegiste", "DocumentAccess"} == set(step.services)


def test_prepare_reports_a_refused_setup(tmp_path: Path) -> None:
    mix = _mix(tmp_path, QUERY_ONLY)
    with EmbeddedPlatform(faults="seed=2,wrong-ack=1.0") as url, \
            pytest.raises(PrepareError, match="prepare-patient.*ack_error"):
        _run(url, mix, [], contexts=2)
