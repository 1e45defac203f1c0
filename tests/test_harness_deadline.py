"""Issue 17 items 7 and 8: every exchange with a platform is bounded in bytes and in time.

- Namespace discovery (``GET ?wsdl``) streams with a byte cap (was: the whole answer read into
  memory, an endless body took the harness to 4.3 GB), goes to the right URL when the endpoint
  has a query (was ``…?access_token=X?wsdl``) and sends the target's credentials and headers.
- An overall deadline per exchange (was: the read timeout applies per read, so a platform
  dripping a byte every 0.5 s held a step as long as it liked and the step was recorded as
  "empty response"): ``timeout-total``, in the harness's transport and in the perf engine; a
  body whose declared length never arrives is a read timeout (was ``connection``), one cut
  short by the platform a ``reset`` (was ``http``)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from conformance.harness.target import DEFAULT_TOTAL_TIMEOUT, Target, TargetError, load_target
from conformance.harness.transport import Transport, discover_namespace, wsdl_url
from scripts.attack import (
    Hostile,
    drip_body,
    drip_headers,
    endless,
    short_body,
    stalled_body,
    wsdl,
)

pytestmark = pytest.mark.slow    # real servers, deadlines and subprocesses: the full suite runs it

REQ = b'<PRPA_IN201311UV02 xmlns="urn:hl7-org:v3"/>'


def _target(url: str, read: float = 1.0, total: float | None = 2.0) -> Target:
    t = Target(name="t", endpoint=url)
    t.connect_timeout, t.read_timeout, t.total_timeout = 2.0, read, total
    return t


# ------------------------------------------------------------------ item 7: discovery
def test_discovery_of_an_endless_wsdl_reads_a_bounded_prefix() -> None:
    with Hostile(endless(limit=200 * 1024 * 1024)) as srv:
        t0 = time.monotonic()
        ns = discover_namespace(_target(srv.url, read=2.0, total=10.0))
        took = time.monotonic() - t0
    assert ns is None
    assert srv.sent < 32 * 1024 * 1024, f"the harness read {srv.sent / 2**20:.0f} MB of ?wsdl"
    assert took < 5


def test_discovery_is_bounded_in_time_by_the_overall_deadline() -> None:
    with Hostile(drip_body(interval=0.2, seconds=20)) as srv:
        t0 = time.monotonic()
        assert discover_namespace(_target(srv.url, read=1.0, total=1.5)) is None
        assert time.monotonic() - t0 < 3.5


def test_discovery_appends_wsdl_to_the_query_and_sends_the_credentials() -> None:
    assert wsdl_url("http://h/svc") == "http://h/svc?wsdl"
    assert wsdl_url("http://h/svc?") == "http://h/svc?wsdl"
    assert wsdl_url("http://h/svc?access_token=X") == "http://h/svc?access_token=X&wsdl"
    assert wsdl_url("http://h/svc?a=1#frag") == "http://h/svc?a=1&wsdl"
    behave = wsdl("urn:test:found", query="access_token=X&wsdl", header=("X-Hip-Token", "t0k"))
    with Hostile(behave) as srv:
        t = _target(srv.url + "svc?access_token=X")
        t.headers = {"X-Hip-Token": "t0k"}
        assert discover_namespace(t) == "urn:test:found"
        assert srv.requests[-1].target == "/svc?access_token=X&wsdl"


# ------------------------------------------------------------------ item 8: overall deadline
@pytest.mark.parametrize("behave", [drip_body(interval=0.2, seconds=20),
                                    drip_headers(interval=0.2, seconds=20)],
                         ids=["body", "headers"])
def test_a_dripping_platform_is_cut_at_the_overall_deadline(behave) -> None:
    with Hostile(behave) as srv:
        t0 = time.monotonic()
        ex, reply = Transport(_target(srv.url, read=1.0, total=1.5)).send("X", REQ)
        took = time.monotonic() - t0
    assert ex.error == "timeout-total" and reply is None, (ex.error, ex.error_detail)
    assert "1.5" in (ex.error_detail or "")
    assert took < 3.0 and ex.duration_ms < 3000


def test_a_declared_length_that_never_arrives_is_a_read_timeout() -> None:
    with Hostile(stalled_body(declared=1000, sent=10, seconds=10)) as srv:
        ex, _ = Transport(_target(srv.url, read=0.5, total=5.0)).send("X", REQ)
    assert ex.error == "timeout-read", (ex.error, ex.error_detail)


def test_a_body_cut_short_by_the_platform_is_a_reset() -> None:
    with Hostile(short_body(declared=1000, sent=10)) as srv:
        ex, _ = Transport(_target(srv.url)).send("X", REQ)
    assert ex.error == "reset", (ex.error, ex.error_detail)


def test_the_connection_is_usable_again_after_a_deadline() -> None:
    from scripts.attack import head

    calls = []

    def behave(srv, conn, req):
        calls.append(1)
        if len(calls) == 1:
            return drip_body(interval=0.2, seconds=5)(srv, conn, req)
        body = b"<x/>"
        srv.send(conn, head(length=len(body)) + body)
        return True

    with Hostile(behave) as srv:
        tr = Transport(_target(srv.url, read=1.0, total=1.0))
        assert tr.send("X", REQ)[0].error == "timeout-total"
        ex, reply = tr.send("X", REQ)
    assert ex.error is None and ex.status == 200 and reply.problem


def test_total_timeout_from_the_config_the_command_line_and_the_default(tmp_path: Path) -> None:
    p = tmp_path / "t.yaml"
    p.write_text("endpoint: http://127.0.0.1:9/\ntimeouts: {connect: 2, read: 5, total: 7.5}\n",
                 encoding="utf-8")
    t = load_target(p)
    assert t.deadline == 7.5 and t.public()["timeouts"] == {"connect": 2.0, "read": 5.0,
                                                           "total": 7.5}
    assert Target().deadline == DEFAULT_TOTAL_TIMEOUT == 60.0
    long_reads = Target()
    long_reads.read_timeout = 120.0          # a longer read timeout is never cut by the default
    assert long_reads.deadline == long_reads.connect_timeout + 120.0
    p.write_text("endpoint: http://127.0.0.1:9/\ntimeouts: {total: 0}\n", encoding="utf-8")
    with pytest.raises(TargetError, match="timeouts.total"):
        load_target(p)

    from conformance.harness.target import make_target
    assert make_target("http://127.0.0.1:9/", total_timeout=9.0).deadline == 9.0


def test_the_perf_engine_has_the_same_overall_deadline() -> None:
    from conformance.perf.classify import classify
    from conformance.perf.engine import AioClient
    from conformance.perf.workload import Request

    async def one(url: str) -> tuple[str | None, float]:
        client = AioClient(_target(url, read=1.0, total=1.5))
        await client.start()
        try:
            t0 = time.monotonic()
            _, _, kind, _ = await client.send(Request(service="X", step="s", url=url, body=REQ,
                                                      headers={"Content-Type": "text/xml"},
                                                      expect=("AA",)))
            return kind, time.monotonic() - t0
        finally:
            await client.close()

    with Hostile(drip_body(interval=0.2, seconds=20)) as srv:
        kind, took = asyncio.run(one(srv.url))
    assert kind == "timeout-total" and took < 3.0, (kind, took)
    assert classify(None, b"", "timeout-total").kind == "timeout"
