"""Issue 17 item 13: `serve` offers HTTP Basic, WS-Security UsernameToken and TLS, so the
harness's authentication paths can be tested against it, and warns when it is exposed without
them. Before: no authentication, no TLS, no warning."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from lxml import etree

from conformance.cli import main
from conformance.harness.transport import wsse_header
from conformance.hl7v3.builder import MessageBuilder, soap_envelope, soap_headers
from conformance.platform.auth import WSSE, WSU, Auth, exposure_warnings, is_loopback, tls_context
from conformance.platform.server import EmbeddedPlatform

from .platform_helpers import unwrap_soap

pytestmark = pytest.mark.slow  # real servers, whole suites or PDFs: the full run, not the unit loop

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cr&t<\"pw'>"     # XML-special characters: escaped in the WS-Security header


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return r.exit_code, r.output


def _config(tmp: Path, url: str, auth: str | None, password: str = "${ENV:HIP_PW}",
            soap: str = "1.1", tls: str = "") -> Path:
    cfg = tmp / f"target-{auth}-{soap}.yaml"
    text = f"name: t\nprofile: hospital\nendpoint: {url}\nsoap_version: '{soap}'\n"
    if auth:
        text += f"auth:\n  type: {auth}\n  username: tester\n  password: \"{password}\"\n"
    if tls:
        text += f"tls:\n  ca_bundle: {tls}\n"
    cfg.write_text(text, encoding="utf-8")
    return cfg


def _register(url: str, header: str = "", version: str = "1.1", **kw) -> requests.Response:
    b = MessageBuilder("hospital")
    body = soap_envelope(b.build_request("PatientInfoRegister", {"index": 7}), version,
                         action="PatientInfoRegister", header=header)
    return requests.post(url, data=body, headers=soap_headers(version), timeout=30, **kw)


def _fault(r: requests.Response) -> str:
    kind, el = unwrap_soap(r.content)
    assert kind == "fault", r.text[:300]
    return etree.tostring(el, encoding="unicode")


# ---------------------------------------------------------------------- harness paths
@pytest.mark.parametrize("kind, soap", [("basic", "1.1"), ("wsse", "1.1"), ("wsse", "1.2"),
                                        ("any", "1.1")])
def test_the_harness_auth_paths_pass_against_an_authenticated_platform(
        tmp_path: Path, monkeypatch, kind: str, soap: str) -> None:
    monkeypatch.setenv("HIP_PW", SECRET)
    for client in (["basic", "wsse"] if kind == "any" else [kind]):
        # one platform per run: two runs a second apart may reuse patient ids (issue 17 item 5)
        with EmbeddedPlatform(auth=Auth(kind, "tester", SECRET)) as url:
            out = tmp_path / f"run-{client}"
            code, text = run("run", "--config", str(_config(tmp_path, url, client, soap=soap)),
                             "--services", "PatientInfoRegister,PatientInfoQuery",
                             "--out", str(out), "--no-progress")
            assert code == 0, text
            for p in out.rglob("*"):
                if p.is_file():
                    assert SECRET.encode() not in p.read_bytes(), p


def test_a_wrong_password_or_none_is_a_401_fault(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HIP_PW", "wrong")
    with EmbeddedPlatform(auth=Auth("any", "tester", SECRET)) as url:
        code, text = run("run", "--config", str(_config(tmp_path, url, "basic")),
                         "--services", "PatientInfoRegister", "--out", str(tmp_path / "r"),
                         "--no-progress")
        assert code == 1, text
        res = json.loads((tmp_path / "r" / "results.json").read_text(encoding="utf-8"))
        assert res["cases"][0]["result"] in ("fail", "error")
        assert res["cases"][0]["exchanges"][0]["status"] == 401
        # by hand: none, wrong basic, wrong WS-Security, SOAP 1.2
        r = _register(url)
        assert r.status_code == 401 and "Client" in _fault(r)
        assert {v for k, v in r.headers.items() if k.lower() == "www-authenticate"}
        assert "Basic" in r.headers["WWW-Authenticate"] and "WSSE" in r.headers["WWW-Authenticate"]
        r = _register(url, auth=("tester", "nope"))
        assert r.status_code == 401 and "Client" in _fault(r)
        r = _register(url, header=wsse_header("tester", "nope"))
        assert r.status_code == 401 and "Client" in _fault(r)
        r = _register(url, header=wsse_header("other", SECRET), version="1.2")
        assert r.status_code == 401 and "soap:Sender" in _fault(r)
        # the right ones
        assert _register(url, auth=("tester", SECRET)).status_code == 200
        assert _register(url, header=wsse_header("tester", SECRET)).status_code == 200
        # the WSDL stays open (a WS-Security client cannot authenticate a GET)
        assert requests.get(url + "?wsdl", timeout=10).status_code == 200


def test_basic_only_refuses_ws_security_and_the_other_way_round() -> None:
    with EmbeddedPlatform(auth=Auth("basic", "tester", SECRET)) as url:
        assert _register(url, header=wsse_header("tester", SECRET)).status_code == 401
        assert _register(url, auth=("tester", SECRET)).status_code == 200
    with EmbeddedPlatform(auth=Auth("wsse", "tester", SECRET)) as url:
        r = _register(url, auth=("tester", SECRET))
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("WSSE")
        assert _register(url, header=wsse_header("tester", SECRET)).status_code == 200


def _digest_header(user: str, password: str, created: str) -> str:
    nonce = os.urandom(16)
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest())
    return (f'<wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}"><wsse:UsernameToken>'
            f"<wsse:Username>{user}</wsse:Username>"
            '<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-'
            f'username-token-profile-1.0#PasswordDigest">{digest.decode()}</wsse:Password>'
            f"<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce>"
            f"<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>")


def test_password_digest_is_accepted_when_fresh() -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with EmbeddedPlatform(auth=Auth("wsse", "tester", "pw")) as url:
        assert _register(url, header=_digest_header("tester", "pw", now)).status_code == 200
        assert _register(url, header=_digest_header("tester", "px", now)).status_code == 401
        stale = "2020-01-01T00:00:00Z"
        assert _register(url, header=_digest_header("tester", "pw", stale)).status_code == 401


# ---------------------------------------------------------------------- TLS
def _self_signed(tmp: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (needed to make a test certificate)")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_tls_round_trip_with_a_self_signed_certificate(tmp_path: Path, monkeypatch) -> None:
    cert, key = _self_signed(tmp_path)
    monkeypatch.setenv("HIP_PW", SECRET)
    with EmbeddedPlatform(auth=Auth("basic", "tester", SECRET), tls=tls_context(str(cert), str(key))) as url:
        assert url.startswith("https://")
        r = requests.get(url + "?wsdl", verify=str(cert), timeout=10)
        assert r.status_code == 200 and b'location="https://' in r.content
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(url + "?wsdl", timeout=10)  # not trusted without the certificate
        # plain HTTP on the TLS port is refused, and the server keeps serving
        with pytest.raises(requests.exceptions.RequestException):
            requests.get(url.replace("https", "http") + "?wsdl", timeout=5)
        # a large body crosses many TLS records
        b = MessageBuilder("hospital")
        big = soap_envelope(b.build_request("PatientInfoRegister", {"index": 8}).replace(
            b"</PRPA_IN201311UV02>", b"<!--" + b"x" * 3_000_000 + b"--></PRPA_IN201311UV02>"),
            action="PatientInfoRegister")
        r = requests.post(url, data=big, headers=soap_headers("1.1"), auth=("tester", SECRET),
                          verify=str(cert), timeout=60)
        assert r.status_code == 200
        code, text = run("run", "--config", str(_config(tmp_path, url, "basic", tls=str(cert))),
                         "--services", "PatientInfoRegister,PatientInfoQuery",
                         "--out", str(tmp_path / "r"), "--no-progress")
        assert code == 0, text


def test_tls_handshake_that_never_finishes_is_closed(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    with EmbeddedPlatform(tls=tls_context(str(cert), str(key)), request_timeout=1.0) as url:
        host, port = url.split("//")[1].rstrip("/").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"\x16\x03\x01")  # the start of a ClientHello, then nothing
            s.settimeout(8)
            t0 = time.monotonic()
            assert s.recv(100) == b""
            assert time.monotonic() - t0 < 6
        assert requests.get(url + "?wsdl", verify=str(cert), timeout=10).status_code == 200


# ---------------------------------------------------------------------- CLI
def test_exposure_warnings() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("10.1.2.3")
    assert exposure_warnings("127.0.0.1", None, False) == []
    assert len(exposure_warnings("0.0.0.0", None, False, "en")) == 2
    only_tls = exposure_warnings("0.0.0.0", Auth("basic", "u", "p"), False, "en")
    assert len(only_tls) == 1 and "TLS" in only_tls[0]
    assert exposure_warnings("::", Auth("basic", "u", "p"), True) == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", "--port", str(port),
                             "--db", ":memory:", "--lang", "en", *args], stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT),
                                            "PYTHONUNBUFFERED": "1", **(env or {})})
    return proc, f"127.0.0.1:{port}"


def _wait(url: str, **kw) -> None:
    for _ in range(300):
        try:
            requests.get(url, timeout=1, **kw)
            return
        except requests.exceptions.ConnectionError:
            time.sleep(0.1)


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    return err


def test_cli_serve_with_auth_and_tls_never_logs_the_password(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    proc, addr = _serve("--auth", "basic", "--username", "tester", "--password", "${ENV:SERVE_PW}",
                        "--tls-cert", str(cert), "--tls-key", str(key),
                        env={"SERVE_PW": SECRET})
    try:
        url = f"https://{addr}/"
        _wait(url, verify=str(cert))
        assert _register(url, auth=("tester", SECRET), verify=str(cert)).status_code == 200
        assert _register(url, auth=("tester", "bad"), verify=str(cert)).status_code == 401
    finally:
        err = _stop(proc)
    assert proc.returncode == 0, err
    assert SECRET not in err and "https://" in err and "Warning" not in err
    assert "basic" in err


def test_cli_serve_literal_password_and_exposure_are_warned() -> None:
    proc, addr = _serve("--host", "0.0.0.0", "--username", "tester", "--password", "literal-pw-77")
    try:
        port = addr.split(":")[1]
        _wait(f"http://127.0.0.1:{port}/")
        r = _register(f"http://127.0.0.1:{port}/", auth=("tester", "literal-pw-77"))
        assert r.status_code == 200
    finally:
        err = _stop(proc)
    assert "literal-pw-77" not in err
    assert "process list" in err and "without TLS" in err and "without authentication" not in err


def test_cli_serve_exposed_without_anything_warns_twice() -> None:
    proc, addr = _serve("--host", "0.0.0.0")
    try:
        _wait(f"http://127.0.0.1:{addr.split(':')[1]}/")
    finally:
        err = _stop(proc)
    assert "without authentication" in err and "without TLS" in err


def test_cli_serve_usage_errors(tmp_path: Path) -> None:
    for args, needle in [
        (["--auth", "basic"], "--username"),
        (["--username", "u", "--password", "${ENV:NO_SUCH_VAR_17}"], "NO_SUCH_VAR_17"),
        (["--tls-cert", str(tmp_path / "missing.pem")], "missing.pem"),
        (["--tls-key", str(tmp_path / "k.pem")], "--tls-cert"),
    ]:
        r = subprocess.run([sys.executable, "-m", "conformance.cli", "serve", "--lang", "en", *args],
                           capture_output=True, text=True, timeout=60,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert r.returncode == 2 and needle in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr
