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
from conformance.harness.runner import IdPlan, apply_mutations
from conformance.harness.target import Target, TargetError, load_target
from conformance.harness.transport import Transport
from conformance.hl7v3.soap import unwrap

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


@pytest.mark.slow
def test_ok_exchange_unwraps_operation_result() -> None:
    with responder("ok") as url:
        ex, reply = Transport(_target(url)).send("PatientInfoRegister", REQ)
    assert ex.status == 200 and ex.error is None and reply.message is not None
    assert C.ack_code(reply.message) == "AA"
    headers, body = _Handler.seen[0]
    assert headers["Content-Type"].startswith("text/xml") and b"<h:action>PatientInfoRegister" in body


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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
    assert "s3cr3t-pw" not in str(ex.record()) and "s3cr3t-pw" not in str(t.public())


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


def _ctx(reply_xml: bytes | None, kind: str = "positive", ack=("AA",),
         roots=("MCCI_IN000002UV01",)) -> C.StepContext:
    from conformance.harness.transport import Exchange
    from conformance.hl7v3.soap import SoapReply

    ex = Exchange(url="u", action="a", soap_version="1.1", request_headers={}, request_body=b"",
                  status=200)
    reply = SoapReply(message=xmlsafe.parse_bytes(reply_xml), message_bytes=reply_xml) if reply_xml else None
    return C.StepContext(exchange=ex, reply=reply, request=xmlsafe.parse_bytes(REQ), kind=kind,
                         expect={"ack": list(ack)}, variables={"name": "张三"},
                         validate_message=lambda d, n: [], validate_document=lambda d, n: [],
                         response_roots=list(roots))


def test_checks_pass_and_fail() -> None:
    ok = _ctx(ACK)
    assert C.AckCode(["AA"]).evaluate(ok).result == "pass"
    assert C.AckCode(["AE", "AR"]).evaluate(ok).result == "fail"
    assert C.TargetMessageId().evaluate(ok).result == "pass"
    assert C.InteractionId().evaluate(ok).result == "pass"
    assert C.ResponseRoot().evaluate(ok).result == "pass"
    assert C.ResponseRoot().evaluate(_ctx(ACK, roots=["PRPA_IN201306UV02"])).result == "fail"
    wrong_echo = _ctx(ACK.replace(b'extension="m1"', b'extension="zz"'))
    assert C.TargetMessageId().evaluate(wrong_echo).result == "fail"
    bad_iid = _ctx(ACK.replace(b'extension="MCCI_IN000002UV01"', b'extension="MCCI_IN000002UV01 "'))
    assert C.InteractionId().evaluate(bad_iid).result == "fail"
    detail = "string(//hl7:acknowledgementDetail/hl7:text/@value)"
    assert C.XPathEquals(detail, "ok").evaluate(ok).result == "pass"
    assert C.XPathCount("//hl7:acknowledgement", 2).evaluate(ok).result == "fail"
    assert C.XPathEquals("//hl7:text/@value", "{{ name }}").evaluate(ok).result == "fail"
    assert C.XPathContains("//hl7:text/@value", "o").evaluate(ok).result == "pass"
    assert C.AckCode(["AA"]).evaluate(_ctx(None)).result == "skip"
    # values lxml hands back (str subclasses) are recorded as plain text
    got = C.XPathEquals("//hl7:text/@value", "ok").evaluate(ok)
    assert type(got.actual) is str and got.expected == "ok"


def test_check_kinds_are_a_registry_found_by_name() -> None:
    assert [k.name for k in C.scenario_kinds()] == ["xpath_equals", "xpath_contains",
                                                    "xpath_count", "document"]
    standard = [k.name for k in C.REGISTRY.values() if k.standard]
    assert standard == ["transport", "soap-fault", "response-root", "interaction-id", "ack-code",
                        "target-message-id", "response-valid"]
    compiled = C.compile_spec({"xpath_count": {"path": "//hl7:id", "value": 1}})
    assert isinstance(compiled, C.XPathCount) and compiled.id == "xpath-count"
    assert C.compile_spec({"document": {"path": "//x"}}).id == "cda"
    with pytest.raises(C.CheckSpecError, match="unknown check kind 'transport'"):
        C.compile_spec({"transport": {}})
    with pytest.raises(C.CheckSpecError, match="invalid XPath"):
        C.compile_spec({"xpath_equals": {"path": "//a[", "value": "x"}})
    # a negative step has no soap-fault check and expects AE or AR by default
    ids = [c.id for c in C.step_checks("negative", {}, [{"xpath_equals": {"path": "//a", "value": 1}}])]
    assert "soap-fault" not in ids and ids[-1] == "xpath-equals"
    ack = next(c for c in C.step_checks("negative", {}, []) if c.id == "ack-code")
    assert ack.expected == ["AE", "AR"]


def test_a_new_check_kind_touches_one_class(tmp_path: Path) -> None:
    """Registering a class is all a new kind needs: the scenario schema accepts it, the loader
    compiles it and the runner evaluates it after the standard checks."""
    from conformance.harness import model as M
    from conformance.model import Status

    @C.register
    class HeaderPresent(C.Check):
        name = "header_present"
        schema = {"type": "object", "required": ["name"], "additionalProperties": False,
                  "properties": {"name": {"type": "string"}}}

        def __init__(self, header: str) -> None:
            self.header = header

        @classmethod
        def compile(cls, args):
            return cls(args["name"])

        def evaluate(self, ctx):
            ok = self.header in ctx.exchange.response_headers
            return C.result(self.id, Status.PASS if ok else Status.FAIL, self.header)

    M.suite_schema.cache_clear()
    try:
        p = tmp_path / "s.yaml"
        p.write_text("suite: s\nprofile: hospital\ncases:\n  - id: a\n    kind: positive\n"
                     "    steps:\n      - service: X\n        checks:\n"
                     "          - {header_present: {name: Server}}\n", encoding="utf-8")
        step = load_suite(p).cases[0].steps[0]
        checks = step.check_objects("positive")
        assert checks[-1].id == "header-present"
        assert checks[-1].evaluate(_ctx(ACK)).result == "fail"
        p.write_text(p.read_text(encoding="utf-8").replace("name: Server", "nam: Server"),
                     encoding="utf-8")
        with pytest.raises(ScenarioError, match=r"s\.yaml:9: .*unknown key 'nam'"):
            load_suite(p)
    finally:
        del C.REGISTRY["header_present"]
        M.suite_schema.cache_clear()


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
    with pytest.raises(ScenarioError, match=r"s\.yaml:5: case a, kind: 'sideways' is not one of"):
        load_suite(p)


def test_every_problem_of_a_scenario_file_is_reported_at_once(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(
        "suite: s\n"                                                   # 1
        "profile: hospitel\n"                                          # 2
        "cases:\n"                                                     # 3
        "  - id: a\n"                                                  # 4
        "    kind: positive\n"                                         # 5
        "    steps:\n"                                                 # 6
        "      - service: X\n"                                         # 7
        "        expct: {ack: AA}\n"                                   # 8
        "        checks:\n"                                            # 9
        "          - {xpath_equal: {path: '//a', value: 1}}\n"         # 10
        "          - {xpath_equals: {path: '//a'}}\n"                  # 11
        "          - {xpath_contains: {path: '//a[', value: 1}}\n"     # 12
        "          - {document: {path: '//a', identical: x}}\n"        # 13
        "      - {service: Y, expect: {ack: [AA, XX]}, mutate: [{delete: x}]}\n",  # 14
        encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        load_suite(p)
    text = str(exc.value)
    f = str(p)
    for line, needle in [
        (2, "profile: 'hospitel' is not one of hospital, regional"),
        (8, "case a, step 1-X: unknown key 'expct' (did you mean 'expect'?)"),
        (10, "unknown check kind 'xpath_equal' (did you mean 'xpath_equals'?)"),
        (11, "checks[1].xpath_equals: 'value' is missing"),
        (12, "checks[2]: invalid XPath '//a['"),
        (13, "checks[3].document: unknown key 'identical' (did you mean 'identical_to'?)"),
        (14, "expect.ack[1]: 'XX' is not one of AA, AE, AR"),
        (14, "mutate[0]: unknown key 'delete'"),
    ]:
        assert f"{f}:{line}: " in text and needle in text, (line, needle, text)
    assert text.startswith("8 problems")


def test_shipped_scenarios_compile_every_check() -> None:
    from conformance.harness.model import load_suites
    from conformance.resources import test_cases_dir

    for profile in ("hospital", "regional"):
        steps = [s for suite in load_suites(test_cases_dir(), profile) for c in suite.cases
                 for s in c.steps]
        assert all(s.compiled is not None and len(s.compiled) == len(s.checks) for s in steps)


def test_id_blocks_are_unique_per_session_and_reproducible_with_a_seed() -> None:
    a, b = IdPlan.draw(), IdPlan.draw()
    assert a.block != b.block  # equal by chance once in 9 million draws
    assert IdPlan.LOW <= a.block < IdPlan.HIGH and a.base == a.block * IdPlan.BLOCK
    seeded = [IdPlan.draw(7, k) for k in range(3)]
    assert [p.block for p in seeded] == [IdPlan.draw(7, k).block for k in range(3)]
    assert len({p.block for p in seeded}) == 3
    # a resumed session never takes a block an earlier one used, seeded or not
    again = IdPlan.draw(7, 1, taken=[seeded[1].block])
    assert again.block != seeded[1].block
    # cases never share indexes; a case's uids and message ids repeat with the seed only
    assert a.index(0) != a.index(1) and a.index(1) - a.index(0) == 10
    assert seeded[0].case_rng("c").random() == IdPlan.draw(7, 0).case_rng("c").random()
    assert seeded[0].case_rng("c").random() != seeded[0].case_rng("d").random()
    assert a.case_rng("c").random() != a.case_rng("c").random()
    with pytest.raises(ValueError):
        a.index(IdPlan.BLOCK)


def test_a_key_given_twice_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    """Plain YAML loading keeps the last of two ``vars:`` silently; the scenario loader refuses."""
    p = tmp_path / "s.yaml"
    p.write_text("suite: s\nprofile: hospital\ncases:\n  - id: a\n    kind: positive\n"
                 "    steps:\n      - service: X\n        vars: {a: 1}\n        vars: {b: 2}\n",
                 encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"s\.yaml:9:\d+: duplicate key 'vars' \(first on line 8\)"):
        load_suite(p)
