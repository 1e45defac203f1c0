"""conformance proxy, the parts without a network: redaction, options, frames, exchange checks."""

from __future__ import annotations

import base64

import pytest

from conformance.catalog import load_catalog
from conformance.hl7v3.builder import MessageBuilder, soap_envelope
from conformance.hl7v3.services import load_services
from conformance.model import Status
from conformance.proxy.checks import ExchangeChecker, open_soap, soap_action
from conformance.proxy.options import ProxyOptions, ProxyUsage, env_url, parse_listen
from conformance.proxy.redact import Redactor
from conformance.proxy.wire import Captured, Reader, Started, Stop, frame
from conformance.scoring.definition import get_definition

SECRET = "Pa55&w<rd-9f3"


def _wsse(password: str) -> bytes:
    esc = password.replace("&", "&amp;").replace("<", "&lt;")
    return (f'<wsse:Security xmlns:wsse="urn:x"><wsse:UsernameToken><wsse:Username>his'
            f'</wsse:Username><wsse:Password Type="PasswordText">{esc}</wsse:Password>'
            "</wsse:UsernameToken></wsse:Security>").encode()


def _leaks(data: bytes, secret: str = SECRET) -> list[str]:
    raw = secret.encode()
    once = raw.replace(b"&", b"&amp;").replace(b"<", b"&lt;")
    twice = once.replace(b"&", b"&amp;")
    forms = {"raw": raw, "escaped": once, "double-escaped": twice}
    found = [k for k, f in forms.items() if f in data]
    for shift in range(3):  # base64 at each alignment
        core = base64.b64encode(b"\0" * shift + raw)[4 if shift else 0:-4]
        if core in data:
            found.append(f"base64@{shift}")
    return found


def test_wsse_password_is_redacted_raw_escaped_and_base64() -> None:
    r = Redactor()
    raw = b"<Envelope><Header>" + _wsse(SECRET) + b"</Header><Body/></Envelope>"
    out = r.body(raw)
    assert not _leaks(out) and b"<wsse:Password Type=\"PasswordText\">***</wsse:Password>" in out
    # carried as text inside HIPMessageServer/message: escaped once, and twice
    esc = raw.replace(b"&", b"&amp;").replace(b"<", b"&lt;").replace(b">", b"&gt;")
    for body in (b"<message>" + esc + b"</message>",
                 b"<message>" + esc.replace(b"&", b"&amp;") + b"</message>"):
        out = Redactor().body(body)
        assert not _leaks(out), _leaks(out)
        assert b"Password" in out
    # base64-encoded (wrapped at 76 like MIME) inside a message
    b64 = base64.encodebytes(b"<doc>" + _wsse(SECRET) + b"</doc>")
    out = Redactor().body(b"<value>" + b64 + b"</value>")
    assert not _leaks(base64.b64decode(b"".join(out[7:-8].split())))
    assert not _leaks(out)


def test_a_learned_password_is_redacted_wherever_else_it_appears() -> None:
    r = Redactor()
    r.body(_wsse(SECRET))
    echoed = (f"<text>login {SECRET} failed</text><t>{SECRET.replace('&', '&amp;')}</t>"
              ).encode() + base64.b64encode(f"user:{SECRET}".encode())
    out = r.body(echoed)
    assert not _leaks(out), _leaks(out)


def test_headers_and_urls_lose_their_secrets() -> None:
    r = Redactor()
    token = base64.b64encode(f"his:{SECRET}".encode()).decode()
    h = r.headers([("Authorization", f"Basic {token}"), ("Cookie", "sid=42"),
                   ("X-Api-Key", "k-123456"), ("X-Session-Token", "abc123"),
                   ("Content-Type", "text/xml")])
    assert h["Authorization"] == h["Cookie"] == h["X-Api-Key"] == h["X-Session-Token"] == "***"
    assert h["Content-Type"] == "text/xml"
    assert not _leaks(r.body(f"<x>{SECRET}</x>".encode()))   # learned from Basic auth
    url = r.url("https://his:pw@platform.example/svc?token=abc&x=1")
    assert "pw" not in url and "abc" not in url and "x=1" in url


def test_short_values_are_redacted_only_inside_their_element() -> None:
    r = Redactor()
    out = r.body(_wsse("ab") + b"<id>ab12</id>")
    assert b"<id>ab12</id>" in out and b">ab<" not in out


def test_options_refuse_what_cannot_work() -> None:
    with pytest.raises(ProxyUsage) as e:
        ProxyOptions(upstream="ftp://x", tls_cert="/nonexistent.pem").check()
    text = str(e.value)
    assert "--upstream" in text and "--tls-cert and --tls-key" in text
    assert parse_listen("0.0.0.0:9") == ("0.0.0.0", 9)
    assert parse_listen("8088") == ("127.0.0.1", 8088)
    assert parse_listen("[::1]:80") == ("::1", 80)
    with pytest.raises(ProxyUsage):
        parse_listen("host:port")
    o = ProxyOptions(upstream="http://p.example:8080/services/HIPMessageServer")
    assert env_url(o, "0.0.0.0", 8088) == "http://127.0.0.1:8088/services/HIPMessageServer"


def test_frames_survive_a_byte_stream_cut_anywhere() -> None:
    items = [Started(listen="http://x/", upstream="http://y/"),
             Captured(seq=1, started="t", duration_ms=1.5, method="POST", path="/", url="u",
                      client="c", request_headers=[("A", "b")], request_body=b"\x00<x/>",
                      request_size=6, status=200, response_body=b"ok"),
             Stop(interrupted=True, lost=2)]
    data = b"".join(frame(i) for i in items)
    r = Reader()
    got = []
    for i in range(0, len(data), 7):
        got += r.feed(data[i:i + 7])
    assert got == items


@pytest.fixture(scope="module")
def checker(validator_en) -> ExchangeChecker:
    bands = get_definition("hospital-2020").bands
    return ExchangeChecker(load_catalog(), load_services("hospital"), validator_en, bands, "en")


def _captured(request: bytes, response: bytes, status: int = 200, **kw) -> Captured:
    return Captured(seq=1, started="2026-01-01T00:00:00.000Z", duration_ms=1200.0,
                    method="POST", path="/", url="http://u/", client="c",
                    request_headers=[("Content-Type", "text/xml")], request_body=request,
                    request_size=len(request), status=status, response_body=response,
                    response_size=len(response), **kw)


def _ack(code: str, target: str, root: str = "MCCI_IN000002UV01") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap='
            '"http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
            f'<{root} xmlns="urn:hl7-org:v3"><acknowledgement typeCode="{code}">'
            f'<targetMessage><id extension="{target}"/></targetMessage>'
            '<acknowledgementDetail><text value="missing name"/></acknowledgementDetail>'
            f"</acknowledgement></{root}></soap:Body></soap:Envelope>").encode()


@pytest.mark.parametrize(("lang", "said"), [
    ("zh", "平台没有接受该消息：确认类型 AE：missing name"),
    ("en", "The platform did not accept the message: acknowledgement AE: missing name")])
def test_a_rejection_names_its_detail_after_the_languages_colon(validator, validator_en,
                                                                lang: str, said: str) -> None:
    checker = ExchangeChecker(load_catalog(), load_services("hospital"),
                              validator if lang == "zh" else validator_en,
                              get_definition("hospital-2020").bands, lang)
    req = soap_envelope(MessageBuilder("hospital").build_request(
        "PatientInfoRegister", {"message_id": "m-1"}), action="PatientInfoRegister")
    v = checker.judge(_captured(req, _ack("AE", "m-1")), req, _ack("AE", "m-1"),
                      validate=False, max_body=10 ** 7)
    ack = next(c for c in v.checks if c.id == "ack")
    assert ack.findings[0].message == said


def test_exchange_checks_name_their_rules(checker: ExchangeChecker) -> None:
    b = MessageBuilder("hospital")
    req = soap_envelope(b.build_request("PatientInfoRegister", {"message_id": "m-1"}),
                        action="PatientInfoRegister")
    assert open_soap(req).action == "PatientInfoRegister"
    v = checker.judge(_captured(req, _ack("AE", "m-2", "MCCI_IN000002UV02")), req,
                      _ack("AE", "m-2", "MCCI_IN000002UV02"), validate=True, max_body=10 ** 7)
    by_id = {c.id: c for c in v.checks}
    assert v.service_key == "PatientInfoRegister" and v.ack == "AE"
    assert by_id["target-message"].result is Status.FAIL
    assert by_id["target-message"].findings[0].rule == "PROXY.TARGET_MESSAGE"
    assert by_id["target-message"].expected == "m-1"
    placed = by_id["target-message"].findings[0]             # elements in the Body: a file line
    assert placed.line and placed.xpath.endswith("targetMessage/id/@extension")
    assert by_id["ack"].findings[0].rule == "PROXY.ACK_REJECTED"
    assert by_id["ack"].findings[0].severity == "warning"
    assert by_id["response-root"].findings[0].rule == "PROXY.RESPONSE_ROOT"
    assert by_id["request-valid"].result is Status.PASS
    assert by_id["response-time"].actual == "1to3s"           # 1200 ms: the 1–3 s band
    # the action names one service, the message is another's
    query = soap_envelope(b.build_request("PatientInfoQuery", {}), action="PatientInfoRegister")
    v = checker.judge(_captured(query, b""), query, b"", validate=False, max_body=10 ** 7)
    assert {f.rule for c in v.checks for f in c.findings} >= {"PROXY.ACTION_ROOT"}
    root = next(f for c in v.checks for f in c.findings if f.rule == "PROXY.ACTION_ROOT")
    # the message is text in HIPMessageServer/message: placed through its carrier, no line
    assert root.line is None and "/message/text() → /PRPA_IN201305UV02" in root.xpath
    unknown = soap_envelope(b.build_request("PatientInfoQuery", {}), action="NoSuchService")
    v = checker.judge(_captured(unknown, b""), unknown, b"", validate=False, max_body=10 ** 7)
    assert v.service is None and v.checks[1].findings[0].rule == "PROXY.SERVICE_UNKNOWN"


def test_a_request_that_is_not_xml_is_the_requests_finding(checker: ExchangeChecker) -> None:
    v = checker.judge(_captured(b"hello", b"", status=415), b"hello", b"", validate=True,
                      max_body=10 ** 7)
    by_id = {c.id: c for c in v.checks}
    assert by_id["request-valid"].result is Status.FAIL
    assert by_id["request-valid"].findings[0].rule.startswith("PARSE.")
    assert by_id["transport"].findings[0].rule == "PROXY.HTTP_STATUS"


def test_soap_action_from_headers() -> None:
    assert soap_action({"SOAPAction": '"urn:x/PatientInfoQuery"'}) == "PatientInfoQuery"
    assert soap_action({"Content-Type": 'application/soap+xml; action="urn:x/HIP0001"'}) \
        == "HIP0001"
    assert soap_action({}) is None


def test_every_exchange_rule_is_produced(checker: ExchangeChecker) -> None:
    """Each rule of standards/rules/proxy.yaml, from a crafted exchange."""
    b = MessageBuilder("hospital")
    found: set[str] = set()

    def rules(x: Captured, validate: bool = False) -> None:
        v = checker.judge(x, x.request_body, x.response_body, validate=validate,
                          max_body=10 ** 7)
        found.update(f.rule for c in v.checks for f in c.findings)

    req = soap_envelope(b.build_request("PatientInfoRegister", {"message_id": "m-1"}),
                        action="PatientInfoRegister")
    rules(_captured(req, _ack("AE", "m-2", "MCCI_IN000002UV02")))
    query = soap_envelope(b.build_request("PatientInfoQuery", {}), action="PatientInfoRegister")
    rules(_captured(query, b""))
    rules(_captured(soap_envelope(b.build_request("PatientInfoQuery", {}), action="Nope"), b""))
    rules(_captured(b"hello", b"", status=415))
    for status, error, by_proxy in ((502, "refused", True), (504, "timeout-read", True),
                                    (200, "incomplete", False)):
        rules(_captured(req, b"", status=status, error=error, error_detail="-",
                        answered_by_proxy=by_proxy))
    defined = {r for r in load_catalog().rules if r.startswith("PROXY.")}
    assert len(defined) == 10 and found >= defined, sorted(defined - found)


def test_console_handlers_stream_findings_and_summarize(monkeypatch) -> None:
    import io

    from conformance.model import CheckResult, Exchange, Finding, RunResults, ToolStamp
    from conformance.model.events import ExchangeChecked, ProxyFinished, ProxyStarted
    from conformance.model.traffic import Latency, ServiceTraffic, Traffic
    from conformance.proxy.handlers import Console, FindingsStream, LiveSummary

    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    console = Console(tty=False)
    live, stream = LiveSummary(console, "en"), FindingsStream(console, "en", per_rule=2)
    live.handle(ProxyStarted(run_dir="runs/x", listen="http://p/", upstream="http://u/",
                             profile="hospital"))
    f = Finding(rule="PROXY.TARGET_MESSAGE", severity="error", layer="exchange",
                message="does not echo", source="s")
    info = Finding(rule="V3.X", severity="info", layer="template", message="fyi", source="s")
    for i in range(4):
        stream.handle(ExchangeChecked(
            id=f"{i:06d}", service="PatientInfoRegister", result=Status.FAIL,
            checks=(CheckResult(id="target-message", result=Status.FAIL, findings=[f, info]),),
            exchange=Exchange(url="u")))
    tr = Traffic(listen="http://p/", upstream="http://u/", exchanges=4, soap=4, unvalidated=1,
                 findings={"error": 4}, acks={"AA": 4},
                 services=[ServiceTraffic(service="PatientInfoRegister", name_en="Patient reg",
                                          exchanges=4, acks={"AA": 4}, findings={"error": 4},
                                          latency=Latency(count=4, p50_ms=3.0))])
    live.handle(ProxyFinished(results=RunResults(tool=ToolStamp(name="c", version="0"),
                                                 kind="proxy", traffic=tr)))
    out = err.getvalue()
    assert "Proxy running: http://p/ → http://u/" in out
    assert out.count("PROXY.TARGET_MESSAGE: does not echo") == 2      # then muted
    assert "more PROXY.TARGET_MESSAGE in PatientInfoRegister" in out
    assert "V3.X" not in out                                          # below --findings
    assert "4 exchanges · AA 4 · 4 errors" in out and "1 unvalidated" in out
    assert "Exchanges not validated: 1" in out and "Run folder: runs/x" in out
