"""Harness pieces that need no platform: target configuration, SOAP transport against local
misbehaving responders, checks, scenario loading, mutations."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conformance import xmlsafe
from conformance.harness import checks as C
from conformance.harness.model import ScenarioError, load_suite
from conformance.harness.runner import apply_mutations
from conformance.harness.target import Target, TargetError, load_target
from conformance.harness.transport import Transport, unwrap

ACK = (b'<MCCI_IN000002UV01 xmlns="urn:hl7-org:v3"><id root="2.16.156.10011.2.5.1.1" extension="r1"/>'
       b'<interactionId root="2.16.156.10011.2.5.1.2" extension="MCCI_IN000002UV01"/>'
       b'<acknowledgement typeCode="AA"><targetMessage><id root="2.16.156.10011.2.5.1.1" extension="m1"/>'
       b'</targetMessage><acknowledgementDetail><text value="ok"/></acknowledgementDetail>'
       b"</acknowledgement></MCCI_IN000002UV01>")
REQ = (b'<PRPA_IN201311UV02 xmlns="urn:hl7-org:v3"><id root="2.16.156.10011.2.5.1.1" extension="m1"/>'
       b"</PRPA_IN201311UV02>")


class _Handler(http.server.BaseHTTPRequestHandler):
    mode = "ok"
    seen: list = []

    def log_message(self, *a):  # quiet
        pass

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).seen.append((dict(self.headers), body))
        mode = type(self).mode
        if mode == "slow":
            time.sleep(1.5)
        if mode == "reset":
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if mode == "http500":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"boom")
            return
        if mode == "notxml":
            payload = b"<html>not soap"
        elif mode == "huge":
            payload = b"<a>" + b"x" * 300_000 + b"</a>"
        elif mode == "fault":
            payload = (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
                       b"<soap:Fault><faultcode>soap:Client</faultcode><faultstring>bad action</faultstring>"
                       b"</soap:Fault></soap:Body></soap:Envelope>")
        else:
            from xml.sax.saxutils import escape

            payload = ('<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
                       '<r:HIPMessageServerResponse xmlns:r="urn:x"><r:HIPMessageServerResult>'
                       + escape(ACK.decode()) + "</r:HIPMessageServerResult></r:HIPMessageServerResponse>"
                       "</soap:Body></soap:Envelope>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@contextmanager
def responder(mode: str) -> Iterator[str]:
    _Handler.mode = mode
    _Handler.seen = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/"
    finally:
        srv.shutdown()
        srv.server_close()


def _target(url: str, **kw) -> Target:
    t = Target(name="t", endpoint=url, **kw)
    return t


def test_ok_exchange_unwraps_operation_result() -> None:
    with responder("ok") as url:
        ex, reply = Transport(_target(url)).send("PatientInfoRegister", REQ)
    assert ex.status == 200 and ex.error is None and reply.message is not None
    assert C.ack_code(reply.message) == "AA"
    headers, body = _Handler.seen[0]
    assert headers["Content-Type"].startswith("text/xml") and b"<h:action>PatientInfoRegister" in body


@pytest.mark.parametrize("mode, kind", [("slow", "timeout-read"), ("reset", "reset")])
def test_transport_failures_become_error_kinds(mode: str, kind: str) -> None:
    with responder(mode) as url:
        t = _target(url)
        t.read_timeout = 0.5
        ex, reply = Transport(t).send("X", REQ)
    assert ex.error == kind and reply is None


def test_refused_and_dns() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    ex, _ = Transport(_target(f"http://127.0.0.1:{port}/")).send("X", REQ)
    assert ex.error == "refused"
    ex, _ = Transport(_target("http://no-such-host.invalid/")).send("X", REQ)
    assert ex.error in ("dns", "connection")


def test_bad_answers_are_problems_not_crashes() -> None:
    with responder("notxml") as url:
        ex, reply = Transport(_target(url)).send("X", REQ)
    assert reply.problem and "not XML" in reply.problem
    with responder("fault") as url:
        ex, reply = Transport(_target(url)).send("X", REQ)
    assert reply.fault == "soap:Client: bad action"
    with responder("huge") as url:
        t = _target(url)
        t.max_response_bytes = 100_000
        ex, reply = Transport(t).send("X", REQ)
    assert ex.error == "too-large" and ex.truncated


def test_soap12_wsse_and_secret_redaction(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HIP_PW", "s3cr3t-pw")
    cfg = tmp_path / "t.yaml"
    cfg.write_text("name: demo\nendpoint: http://127.0.0.1:1/\nsoap_version: '1.2'\n"
                   "auth:\n  type: wsse\n  username: u1\n  password: ${ENV:HIP_PW}\n"
                   "headers:\n  Authorization: Bearer ${ENV:HIP_PW}\n", encoding="utf-8")
    t = load_target(cfg)
    with responder("ok") as url:
        t.endpoint = url
        ex, reply = Transport(t).send("X", REQ)
    headers, body = _Handler.seen[0]
    assert headers["Content-Type"].startswith("application/soap+xml")
    assert b"s3cr3t-pw" in body  # the platform gets the password …
    assert b"s3cr3t-pw" not in ex.request_body  # … the evidence never does
    assert "s3cr3t-pw" not in str(ex.meta()) and "s3cr3t-pw" not in str(t.public())


@pytest.mark.parametrize("text, needle", [
    ("endpoint: ftp://x\n", "http"),
    ("endpoint: http://x\nsoap_version: '2.0'\n", "soap_version"),
    ("endpoint: http://x\nfoo: 1\n", "unknown setting"),
    ("endpoint: http://x\npassword: ${ENV:NOPE_NOT_SET}\n", "unknown setting"),
    ("endpoint: http://x\nauth: {type: basic, password: '${ENV:NOPE_NOT_SET}'}\n", "NOPE_NOT_SET"),
    ("endpoint: [\n", "YAML syntax error"),
])
def test_target_config_errors(tmp_path: Path, text: str, needle: str) -> None:
    p = tmp_path / "t.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(TargetError, match=needle):
        load_target(p)


def test_unwrap_bare_body_and_empty() -> None:
    body = (b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>' + ACK
            + b"</soap:Body></soap:Envelope>")
    assert unwrap(body).message is not None
    assert unwrap(b"").problem == "empty response"


def _ctx(reply_xml: bytes | None, kind: str = "positive", ack=("AA",)) -> C.StepContext:
    from conformance.harness.transport import Exchange, SoapReply

    ex = Exchange(url="u", action="a", soap_version="1.1", request_headers={}, request_body=b"",
                  status=200)
    reply = SoapReply(message=xmlsafe.parse_bytes(reply_xml), message_bytes=reply_xml) if reply_xml else None
    return C.StepContext(exchange=ex, reply=reply, request=xmlsafe.parse_bytes(REQ), kind=kind,
                         expect={"ack": list(ack)}, variables={"name": "张三"},
                         validate_message=lambda d, n: [], validate_document=lambda d, n: [])


def test_checks_pass_and_fail() -> None:
    ok = _ctx(ACK)
    assert C.AckCode(["AA"]).run(ok).result == "pass"
    assert C.AckCode(["AE", "AR"]).run(ok).result == "fail"
    assert C.TargetMessageId().run(ok).result == "pass"
    assert C.InteractionId().run(ok).result == "pass"
    assert C.ResponseRoot(["MCCI_IN000002UV01"]).run(ok).result == "pass"
    assert C.ResponseRoot(["PRPA_IN201306UV02"]).run(ok).result == "fail"
    wrong_echo = _ctx(ACK.replace(b'extension="m1"', b'extension="zz"'))
    assert C.TargetMessageId().run(wrong_echo).result == "fail"
    bad_iid = _ctx(ACK.replace(b'extension="MCCI_IN000002UV01"', b'extension="MCCI_IN000002UV01 "'))
    assert C.InteractionId().run(bad_iid).result == "fail"
    detail = "string(//hl7:acknowledgementDetail/hl7:text/@value)"
    assert C.XPathCheck("equals", detail, "ok").run(ok).result == "pass"
    assert C.XPathCheck("count", "//hl7:acknowledgement", 2).run(ok).result == "fail"
    assert C.XPathCheck("equals", "//hl7:text/@value", "{{ name }}").run(ok).result == "fail"
    assert C.AckCode(["AA"]).run(_ctx(None)).result == "skip"
    assert C.roll_up(["pass", "skip", "error"]) == "error" and C.roll_up(["error", "fail"]) == "fail"
    assert C.roll_up([]) == "skip"


def test_mutations() -> None:
    out = apply_mutations(REQ, [{"remove": "//hl7:id"}])
    assert b"<id" not in out
    out = apply_mutations(REQ, [{"set": {"path": "//hl7:id/@extension", "value": "x"}}])
    assert b'extension="x"' in out


def test_scenario_errors_name_the_line(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text("suite: s\nprofile: hospital\ncases:\n  - id: a\n    kind: positive\n"
                 "    steps:\n      - service: X\n  - id: a\n    kind: positive\n    steps:\n"
                 "      - service: X\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"s\.yaml:8: case id 'a' appears twice"):
        load_suite(p)
    p.write_text("suite: s\nprofile: hospital\ncases:\n  - id: a\n    kind: sideways\n"
                 "    steps: [{service: X}]\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="kind must be one of"):
        load_suite(p)
