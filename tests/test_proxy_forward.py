"""conformance proxy on the wire: transparency, upstreams that misbehave (down, slow, resetting,
sending garbage, never ending), a request that is not XML, validation overload, secrets, caps.
Every server here listens on 127.0.0.1 and stops by itself; loops are bounded."""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from conformance.hl7v3.builder import MessageBuilder, soap_envelope, soap_headers
from conformance.model import Status
from conformance.model.folder import RunFolder
from conformance.platform.server import EmbeddedPlatform
from conformance.proxy import ProxyOptions, ProxyThread

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def capture(tmp_path: Path, upstream: str, **kw) -> Iterator[tuple[str, ProxyThread]]:
    opts = ProxyOptions(upstream=upstream, listen_port=0, **kw)
    th = ProxyThread(opts, RunFolder(tmp_path / "px"))
    url = th.start()
    try:
        yield url, th
    finally:
        if th.outcome is None:
            th.stop()


@pytest.fixture(scope="module")
def platform() -> Iterator[str]:
    with EmbeddedPlatform() as url:
        yield url


@pytest.fixture(scope="module")
def builder() -> MessageBuilder:
    return MessageBuilder("hospital")


# ---------------------------------------------------------------------------- upstreams
class _Fixed(BaseHTTPRequestHandler):
    """Answers every POST with fixed bytes and headers; remembers what it received."""

    body = (b'<?xml version="1.0"?>\n<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/'
            b'soap/envelope/"><soap:Body><x>  odd   spacing\t</x></soap:Body></soap:Envelope>')
    seen: list[tuple[dict[str, str], bytes, str]] = []

    def do_POST(self) -> None:  # noqa: N802
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n)
        type(self).seen.append((dict(self.headers), data, self.path))
        self.send_response(200, "Fine Thanks")
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("X-Platform-Trace", "t-1")
        self.send_header("Set-Cookie", "sid=abc123secret; Path=/")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *a: object) -> None:
        pass


@contextlib.contextmanager
def http_upstream() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Fixed)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/services/HIPMessageServer"
    finally:
        srv.shutdown()
        srv.server_close()


@contextlib.contextmanager
def raw_upstream(behaviour: str, limit_s: float = 20.0) -> Iterator[str]:
    """A TCP server that misbehaves: slow | reset | garbage | endless."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    lsock.settimeout(0.2)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        end = time.monotonic() + limit_s
        with conn:
            conn.settimeout(2)
            with contextlib.suppress(OSError):
                conn.recv(65536)
                if behaviour == "slow":
                    stop.wait(min(3.0, limit_s))
                elif behaviour == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                elif behaviour == "garbage":
                    conn.sendall(b"\x00\x01this is not HTTP at all\r\n\r\n")
                elif behaviour == "endless":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n")
                    chunk = b"<a>" + b"x" * 4000 + b"</a>"
                    while not stop.is_set() and time.monotonic() < end:
                        conn.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        time.sleep(0.01)

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = lsock.accept()
            except OSError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{lsock.getsockname()[1]}/"
    finally:
        stop.set()
        t.join(2)
        lsock.close()


def _only_exchange(th: ProxyThread):
    res = th.outcome.results
    steps = [s for c in res.cases for s in c.steps]
    assert len(steps) == 1
    return res, steps[0]


# ---------------------------------------------------------------------------- tests
def test_requests_and_answers_pass_unchanged(tmp_path: Path) -> None:
    _Fixed.seen = []
    body = b"<?xml version='1.0'?>\n<Envelope>\r\n  <odd>\xe4\xb8\xad</odd></Envelope>"
    with http_upstream() as up, capture(tmp_path, up) as (url, th):
        r = requests.post(url, data=body, headers={"Content-Type": "text/xml",
                                                   "X-His-Id": "his-7", "SOAPAction": '""'})
        r2 = requests.post(url.replace("/services/HIPMessageServer", "") + "/", data=body,
                           headers={"Content-Type": "text/xml"})
        th.stop()
    assert r.content == _Fixed.body and r2.content == _Fixed.body
    assert r.status_code == 200 and r.reason == "Fine Thanks"
    assert r.headers["X-Platform-Trace"] == "t-1" and "sid=abc123secret" in r.headers["Set-Cookie"]
    headers, data, path = _Fixed.seen[0]
    assert data == body and path == "/services/HIPMessageServer"
    assert headers["X-His-Id"] == "his-7" and headers["SOAPAction"] == '""'
    # the client's own headers, not the proxy's HTTP library's
    assert headers["User-Agent"].startswith("python-requests/")
    assert headers["Accept-Encoding"] == requests.utils.default_headers()["Accept-Encoding"]
    assert _Fixed.seen[1][2] == "/services/HIPMessageServer"       # / goes to the upstream path
    # the session keeps no cookies: the second request did not send the platform's cookie
    assert "Cookie" not in _Fixed.seen[1][0]
    folder = th.outcome.folder
    files = [p for p in folder.path.rglob("*") if p.is_file()]
    assert not any(b"abc123secret" in p.read_bytes() for p in files)


def test_upstream_down_is_a_502_with_a_clear_fault(tmp_path: Path) -> None:
    with capture(tmp_path, f"http://127.0.0.1:{free_port()}/") as (url, th):
        r = requests.post(url, data=b"<x/>", headers={"Content-Type": "text/xml"})
        th.stop()
    assert r.status_code == 502 and r.headers["X-Conformance-Proxy"] == "502 refused"
    assert b"faultstring" in r.content and "拒绝连接" in r.content.decode()
    res, step = _only_exchange(th)
    assert step.exchange.error == "refused"
    rules = {f.rule for c in step.checks for f in c.findings}
    assert "PROXY.UPSTREAM_UNREACHABLE" in rules
    assert res.traffic.errors == {"refused": 1}


@pytest.mark.parametrize("behaviour, status, kind", [
    ("slow", 504, "timeout-read"), ("reset", 502, "reset"), ("garbage", 502, "bad-response")])
def test_upstream_failures_pass_through(tmp_path: Path, behaviour: str, status: int,
                                        kind: str) -> None:
    with raw_upstream(behaviour) as up, capture(tmp_path, up, timeout=0.8, lang="en") as (url, th):
        t0 = time.monotonic()
        r = requests.post(url, data=b"<x/>", headers={"Content-Type": "application/soap+xml"},
                          timeout=10)
        took = time.monotonic() - t0
        th.stop()
    assert r.status_code == status, r.text
    assert r.headers["X-Conformance-Proxy"] == f"{status} {kind}"
    assert b"soap-envelope" in r.content            # a SOAP 1.2 Fault for a SOAP 1.2 request
    if behaviour == "slow":
        assert 0.7 < took < 2.5
    _, step = _only_exchange(th)
    assert step.exchange.error == kind and step.exchange.status == status
    rule = "PROXY.UPSTREAM_TIMEOUT" if status == 504 else "PROXY.UPSTREAM_UNREACHABLE"
    assert rule in {f.rule for c in step.checks for f in c.findings}


def test_a_never_ending_answer_is_cut_at_the_timeout(tmp_path: Path) -> None:
    with raw_upstream("endless") as up, capture(tmp_path, up, timeout=1.5,
                                                max_body=20_000) as (url, th):
        got = 0
        t0 = time.monotonic()
        with contextlib.suppress(requests.RequestException), \
                requests.post(url, data=b"<x/>", headers={"Content-Type": "text/xml"},
                              stream=True, timeout=10) as r:
            assert r.status_code == 200             # the headers were out: streamed
            for chunk in r.iter_content(8192):
                got += len(chunk)
        assert time.monotonic() - t0 < 6
        th.stop()
    assert got > 20_000
    res, step = _only_exchange(th)
    ex = step.exchange
    assert ex.error == "timeout-read" and ex.truncated and ex.response_bytes > 20_000
    assert "PROXY.RESPONSE_INCOMPLETE" in {f.rule for c in step.checks for f in c.findings}
    recorded = (th.outcome.folder.path / ex.response_file).stat().st_size
    assert recorded == 20_000                        # what is kept is capped by --max-body
    assert res.traffic.too_large == 1
    assert {c.id: c.result for c in step.checks}["request-valid"] is Status.SKIP


def test_a_request_that_is_not_xml_is_forwarded_and_judged(tmp_path: Path, platform: str) -> None:
    with capture(tmp_path, platform) as (url, th):
        r = requests.post(url, data="hello, platform", headers={"Content-Type": "text/plain"})
        th.stop()
    assert r.status_code == 415                      # the platform's own answer, passed on
    _, step = _only_exchange(th)
    by_id = {c.id: c for c in step.checks}
    assert by_id["request-valid"].result is Status.FAIL
    assert by_id["request-valid"].findings[0].rule.startswith("PARSE.")
    assert step.exchange.request_file.endswith(".request.bin")


def test_validation_overload_keeps_traffic_going_and_says_how_much(
        tmp_path: Path, platform: str, builder: MessageBuilder) -> None:
    bodies = [soap_envelope(builder.build_request("PatientInfoQuery", {"index": i}),
                            action="PatientInfoQuery") for i in range(16)]
    with capture(tmp_path, platform, backlog=2, validate_delay=0.4) as (url, th):
        t0 = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda b: requests.post(url, data=b, headers=soap_headers(),
                                                          timeout=10).status_code, bodies))
        forwarded_in = time.monotonic() - t0
        th.stop()
    assert codes == [200] * 16
    assert forwarded_in < 16 * 0.4                   # traffic did not wait for validation
    t = th.outcome.results.traffic
    assert t.soap == 16 and t.unvalidated > 0
    assert t.validated + t.unvalidated == 16
    skipped = [s for c in th.outcome.results.cases for s in c.steps
               if {k.id: k.result for k in s.checks}["request-valid"] is Status.SKIP]
    assert len(skipped) == t.unvalidated


def test_secrets_never_reach_the_folder(tmp_path: Path, platform: str,
                                        builder: MessageBuilder) -> None:
    secret = "S3cr&t<pw-77x"
    esc = secret.replace("&", "&amp;").replace("<", "&lt;")
    header = (f'<wsse:Security xmlns:wsse="urn:wsse"><wsse:UsernameToken><wsse:Username>his'
              f"</wsse:Username><wsse:Password>{esc}</wsse:Password></wsse:UsernameToken>"
              "</wsse:Security>")
    msg = builder.build_request("PatientInfoQuery", {"index": 1})
    env = soap_envelope(msg, action="PatientInfoQuery", header=header)
    # the same token inside the carried message (escaped) and base64-encoded beside it
    inner = soap_envelope(msg.replace(b"<interactionId", header.encode() + b"<interactionId", 1),
                          action="PatientInfoQuery")
    b64 = base64.b64encode(header.encode()).decode()
    basic = base64.b64encode(f"his:{secret}".encode()).decode()
    with capture(tmp_path, platform) as (url, th):
        for body in (env, inner, env.replace(b"</soap:Body>", f"<b64>{b64}</b64></soap:Body>"
                                             .encode())):
            requests.post(url + f"?token={secret}", data=body,
                          headers={**soap_headers(), "Authorization": f"Basic {basic}",
                                   "Cookie": f"pw={secret}"})
        th.stop()
    forms = [secret.encode(), esc.encode(), esc.replace("&", "&amp;").encode(),
             base64.b64encode(secret.encode()), basic.encode()]
    files = [p for p in th.outcome.folder.path.rglob("*") if p.is_file()]
    assert len(files) >= 7
    for p in files:
        data = p.read_bytes()
        assert not [f for f in forms if f in data], p
    assert b"***" in (th.outcome.folder.path / "results.json").read_bytes()


def test_rotation_keeps_the_folder_within_its_caps(tmp_path: Path, platform: str,
                                                    builder: MessageBuilder) -> None:
    good = [soap_envelope(builder.build_request("PatientInfoRegister", {"index": 7100 + i}),
                          action="PatientInfoRegister") for i in range(9)]
    bad = soap_envelope(builder.build_request("PatientInfoQuery", {"index": 3}),
                        action="PatientInfoRegister")          # the wrong action: findings
    with capture(tmp_path, platform, keep=4) as (url, th):
        for body in [bad] + good:
            requests.post(url, data=body, headers=soap_headers())
        th.stop()
    res = th.outcome.results
    t = res.traffic
    assert t.soap == 10 and t.recorded == 4 and t.rotated == 6
    kept = [s.id for c in res.cases for s in c.steps]
    assert "000001" in kept and len(kept) == 4       # the failing exchange was kept
    evidence = [p for p in (th.outcome.folder.path / "evidence").rglob("*") if p.is_file()]
    assert len(evidence) == 8
    assert th.outcome.folder.verify(["results.json"]).problems == []


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl; the test skips without it)."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate for the TLS test")
    d = tmp_path_factory.mktemp("tls")
    crt, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    return crt, key


@contextlib.contextmanager
def https_upstream(crt: Path, key: Path) -> Iterator[str]:
    import ssl

    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Fixed)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(crt), str(key))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"https://127.0.0.1:{srv.server_address[1]}/"
    finally:
        srv.shutdown()
        srv.server_close()


def test_tls_on_both_sides(tmp_path: Path, cert: tuple[Path, Path]) -> None:
    crt, key = cert
    with https_upstream(crt, key) as up:
        # listening with TLS, the upstream verified with our CA bundle
        with capture(tmp_path / "a", up, tls_cert=str(crt), tls_key=str(key),
                     ca=str(crt)) as (url, th):
            assert url.startswith("https://")
            r = requests.post(url, data=b"<x/>", headers={"Content-Type": "text/xml"},
                              verify=str(crt))
            th.stop()
        assert r.status_code == 200 and r.content == _Fixed.body
        # an upstream certificate nobody vouches for: the proxy says so (502 tls)
        with capture(tmp_path / "b", up) as (url, th):
            r = requests.post(url, data=b"<x/>", headers={"Content-Type": "text/xml"})
            th.stop()
        assert r.status_code == 502 and r.headers["X-Conformance-Proxy"] == "502 tls"
        with capture(tmp_path / "c", up, insecure=True) as (url, th):
            assert requests.post(url, data=b"<x/>").status_code == 200
            th.stop()


def test_a_never_ending_request_is_cut_and_recorded(tmp_path: Path) -> None:
    """A caller that never finishes its body: forwarded as it comes (streamed beyond
    --max-body), the upstream's answer or the proxy's 504 comes back, the recorded request is
    cut at --max-body."""
    stop_at = time.monotonic() + 5

    def endless() -> Iterator[bytes]:
        yield b"<Envelope>"
        while time.monotonic() < stop_at:
            yield b"<x>" + b"y" * 8000 + b"</x>"
            time.sleep(0.005)

    with raw_upstream("slow") as up, capture(tmp_path, up, timeout=1.5,
                                             max_body=50_000) as (url, th):
        t0 = time.monotonic()
        status = None
        with contextlib.suppress(requests.RequestException):
            status = requests.post(url, data=endless(), headers={"Content-Type": "text/xml"},
                                   timeout=10).status_code
        assert time.monotonic() - t0 < 7.5
        th.stop()
    res, step = _only_exchange(th)
    ex = step.exchange
    assert status in (None, 504) and ex.error in ("timeout-read", "client-gone", "interrupted")
    assert ex.request_bytes > 50_000 and ex.truncated
    assert (th.outcome.folder.path / ex.request_file).stat().st_size == 50_000
    assert res.traffic.too_large == 1
