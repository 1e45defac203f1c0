"""Issue 17 item 12 (platform part): memory of `conformance serve` under 32 concurrent 9 MB
bodies. Before: a peak of 1.2-1.7 GB, and the process kept 1.2-1.5 GB afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

from conformance.hl7v3.builder import MessageBuilder, soap_envelope, soap_headers

pytestmark = pytest.mark.slow  # real servers, whole suites or PDFs: the full run, not the unit loop

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served():
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", "--port", str(port),
                             "--db", ":memory:", "--lang", "en"], stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            try:
                requests.get(url, timeout=1)
                break
            except requests.exceptions.ConnectionError:
                time.sleep(0.1)
        yield url, psutil.Process(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _bodies() -> dict[str, bytes]:
    b = MessageBuilder("hospital")
    msg = b.build_request("PatientInfoRegister", {"index": 1}).decode()
    pad = "<!--" + "x" * (9 * MB - 2000) + "-->"
    return {
        # a message of 9 MB (a comment inside it), carried as escaped text
        "message": soap_envelope(msg.replace("</PRPA_IN201311UV02>", pad + "</PRPA_IN201311UV02>"),
                                 action="PatientInfoRegister"),
        # a 9 MB action
        "action": soap_envelope(msg, action="PatientInfoRegister" + "A" * (9 * MB - 3000)),
    }


@pytest.mark.parametrize("kind", ["message", "action"])
def test_32_concurrent_9mb_bodies_are_bounded_and_given_back(served, kind: str) -> None:
    url, proc = served
    body = _bodies()[kind]
    assert 9 * MB <= len(body) < 10 * MB
    base = proc.memory_info().rss
    peak = base
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, proc.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    codes: list[int] = []

    def send() -> None:
        r = requests.post(url, data=body, headers=soap_headers("1.1"), timeout=300)
        codes.append(r.status_code)

    senders = [threading.Thread(target=send) for _ in range(32)]
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    # small requests are answered as before
    assert requests.get(url + "?wsdl", timeout=30).status_code == 200
    time.sleep(2)
    retained = proc.memory_info().rss
    done.set()
    sampler.join()
    assert codes == [200] * 32
    grew, kept = (peak - base) / MB, (retained - base) / MB
    assert grew < 400, f"peak grew by {grew:.0f} MB"
    assert kept < 120, f"kept {kept:.0f} MB after the burst"
