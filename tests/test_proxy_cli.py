"""`conformance proxy` as users run it: the CI gate (-- COMMAND) and its exit codes, Ctrl-C /
SIGTERM mid-traffic, `conformance run` through the proxy against the embedded platform, and the
readers of run folders (validate, report, baseline) on captured traffic."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from conformance.cli import main
from conformance.hl7v3.builder import MessageBuilder, soap_envelope, soap_headers
from conformance.model.folder import RunFolder
from conformance.platform.server import EmbeddedPlatform
from conformance.proxy import ProxyOptions, ProxyThread

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}

SEND = """
import os, sys, requests
from conformance.hl7v3.builder import MessageBuilder, soap_envelope, soap_headers
b = MessageBuilder("hospital")
action, sent_as, code = sys.argv[1], sys.argv[2], int(sys.argv[3])
env = soap_envelope(b.build_request(action, {"index": 8800}), action=sent_as)
r = requests.post(os.environ["CONFORMANCE_PROXY_URL"], data=env, headers=soap_headers())
print("answer", r.status_code)
sys.exit(code)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def platform() -> Iterator[str]:
    with EmbeddedPlatform() as url:
        yield url


def proxy(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "conformance.cli", "proxy", *args],
                          capture_output=True, text=True, env=ENV, timeout=timeout)


@pytest.mark.parametrize("action, sent_as, code, fail_on, expected", [
    ("PatientInfoRegister", "PatientInfoRegister", 0, "error", 0),   # clean traffic
    ("PatientInfoQuery", "PatientInfoRegister", 0, "error", 1),      # findings (wrong action)
    ("PatientInfoRegister", "PatientInfoRegister", 3, "error", 1),   # the command failed
    ("PatientInfoQuery", "PatientInfoRegister", 0, "never", 0),      # findings, not gated
])
def test_ci_gate_exit_codes(tmp_path: Path, platform: str, action: str, sent_as: str,
                            code: int, fail_on: str, expected: int) -> None:
    out = tmp_path / "gate"
    r = proxy(["--upstream", platform, "--listen", "127.0.0.1:0", "--out", str(out),
               "--fail-on", fail_on, "--lang", "en", "--", sys.executable, "-c", SEND, action,
               sent_as, str(code)])
    assert r.returncode == expected, r.stderr
    assert "answer 200" in r.stdout                       # the command reached the platform
    res = RunFolder(out).results
    assert res.kind == "proxy" and res.traffic.soap == 1
    assert res.traffic.command_exit == code
    assert RunFolder(out).verify(["results.json"]).problems == []
    if expected == 1 and code == 0:
        assert "PROXY.ACTION_ROOT" in r.stderr             # streamed as found


@pytest.mark.parametrize("args, message", [
    (["--upstream", "ftp://x/"], "--upstream"),
    (["--upstream", "http://127.0.0.1:9/", "--tls-cert", "cert.pem"], "--tls-key"),
    (["--upstream", "http://127.0.0.1:9/", "--listen", "nowhere"], "--listen"),
    (["--upstream", "http://127.0.0.1:9/", "--profile", "nosuch"], "nosuch"),
    (["--upstream", "http://127.0.0.1:9/", "--listen", "127.0.0.1:0", "--",
      "/nonexistent/command-xyz"], "command-xyz"),
])
def test_usage_problems_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    r = proxy([*args[:2], "--out", str(tmp_path / "u"), *args[2:]], timeout=60)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr


def test_a_busy_port_is_a_usage_problem(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        r = proxy(["--upstream", "http://127.0.0.1:9/", "--listen", f"127.0.0.1:{port}",
                   "--out", str(tmp_path / "b"), "--lang", "en"], timeout=60)
    assert r.returncode == 2 and "cannot listen" in r.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stopping_mid_traffic_leaves_a_consistent_folder(tmp_path: Path, platform: str,
                                                         sig: int) -> None:
    out = tmp_path / "stop"
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    p = subprocess.Popen([sys.executable, "-m", "conformance.cli", "proxy", "--upstream",
                          platform, "--listen", f"127.0.0.1:{port}", "--out", str(out),
                          "--no-live", "--findings", "none"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, text=True)
    b = MessageBuilder("hospital")
    bodies = [soap_envelope(b.build_request("PatientInfoQuery", {"index": i}),
                            action="PatientInfoQuery") for i in range(20)]
    answered = [0]
    stop = threading.Event()

    def traffic() -> None:
        s = requests.Session()
        for i in range(2000):
            if stop.is_set():
                return
            try:
                r = s.post(url, data=bodies[i % 20], headers=soap_headers(), timeout=5)
                answered[0] += r.status_code == 200
            except requests.RequestException:
                time.sleep(0.05)

    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(url, timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        threads = [threading.Thread(target=traffic) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(2.0)
        p.send_signal(sig)
        _, err = p.communicate(timeout=60)
    finally:
        stop.set()
        if p.poll() is None:
            p.kill()
    for t in threads:
        t.join(10)
    assert p.returncode in (0, 1), err
    folder = RunFolder(out)
    res = folder.results                                   # complete and loadable
    assert res.complete and res.kind == "proxy"
    assert folder.verify(["results.json"]).problems == []  # sealed over every file
    t = res.traffic
    assert answered[0] > 0 and t.exchanges >= answered[0] + 1   # + the GET that waited
    assert t.validated + t.unvalidated == t.soap
    for step in (s for c in res.cases for s in c.steps):
        for rel in (step.exchange.request_file, step.exchange.response_file):
            assert rel is None or (out / rel).is_file()


def _run(args: list[str]) -> dict:
    r = CliRunner().invoke(main, ["run", "--no-progress", "--lang", "en", *args])
    assert r.exit_code in (0, 1), r.output
    return r


def test_run_through_the_proxy_is_the_same_run(tmp_path: Path) -> None:
    services = "PatientInfoRegister,PatientInfoQuery,OrganizationInfoRegister"
    with EmbeddedPlatform() as platform:         # each run against a fresh platform
        _run(["--target", platform, "--services", services, "--out", str(tmp_path / "direct")])
    with EmbeddedPlatform() as platform, ProxyThread(
            ProxyOptions(upstream=platform, listen_port=0), RunFolder(tmp_path / "px")) as url:
        _run(["--target", url, "--services", services, "--out", str(tmp_path / "via")])
    direct = json.loads((tmp_path / "direct" / "results.json").read_text("utf-8"))
    via = json.loads((tmp_path / "via" / "results.json").read_text("utf-8"))
    assert {c["id"]: c["result"] for c in via["cases"]} == \
        {c["id"]: c["result"] for c in direct["cases"]}
    assert len(via["cases"]) >= 4
    captured = RunFolder(tmp_path / "px").results
    exchanges = [e for c in via["cases"] for e in c["exchanges"]]
    assert captured.traffic.soap == len(exchanges)         # every exchange recorded
    # what the run received is byte for byte what the platform sent, exchange by exchange
    px = tmp_path / "px"
    sent = {(px / s.exchange.request_file).read_bytes(): (px / s.exchange.response_file)
            .read_bytes() for c in captured.cases for s in c.steps
            if s.exchange.request_file and s.exchange.response_file}
    for e in exchanges:
        request = (tmp_path / "via" / e["request_file"]).read_bytes()
        response = (tmp_path / "via" / e["response_file"]).read_bytes()
        assert sent[request] == response


def test_validate_report_and_baseline_read_proxy_runs(tmp_path: Path, platform: str) -> None:
    b = MessageBuilder("hospital")
    good = soap_envelope(b.build_request("PatientInfoRegister", {"index": 8900}),
                         action="PatientInfoRegister")
    bad = soap_envelope(b.build_request("PatientInfoQuery", {"index": 8900}),
                        action="PatientInfoRegister")
    for name, bodies in (("before", [good]), ("after", [good, bad])):
        with ProxyThread(ProxyOptions(upstream=platform, listen_port=0, lang="en"),
                         RunFolder(tmp_path / name)) as url:
            for body in bodies:
                requests.post(url, data=body, headers=soap_headers())
    runner = CliRunner()
    # the recorded messages, re-validated offline (the wrong action is the exchange's finding,
    # in results.json: each message on its own is valid)
    r = runner.invoke(main, ["validate", str(tmp_path / "after"), "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["summary"]["documents"] == 4 and doc["summary"]["errors"] == 0
    r = runner.invoke(main, ["report", str(tmp_path / "after"), "--format",
                             "html,json,junit,sarif", "--lang", "en"])
    assert r.exit_code == 1, r.output
    html = (tmp_path / "after" / "report.html").read_text("utf-8")
    assert "PatientInfoRegister" in html and "target-message" in html
    for name in ("report.json", "report-junit.xml", "report.sarif"):
        assert (tmp_path / "after" / name).stat().st_size > 0
    r = runner.invoke(main, ["report", str(tmp_path / "before"), "--format", "json",
                             "--baseline", str(tmp_path / "before"), "--fail-on", "regression"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["report", str(tmp_path / "after"), "--format", "json",
                             "--baseline", str(tmp_path / "before"), "--fail-on", "regression",
                             "--lang", "en"])
    assert r.exit_code == 1, r.output
    cmp = json.loads((tmp_path / "after" / "report.json").read_text("utf-8"))
    keys = json.dumps(cmp, ensure_ascii=False)
    assert "results:PatientInfoRegister:service" in keys
