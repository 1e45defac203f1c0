"""Issue 17 item 9: every value the reference platform logs, stores or echoes is bounded, and a
control character in it cannot forge a log line. Before: a 9.5 MB action gave a 9.5 MB access
log line, audit row and AR text."""

from __future__ import annotations

import logging

import pytest
import requests
from lxml import etree

from conformance.hl7v3.builder import MessageBuilder, soap_envelope, soap_headers
from conformance.platform.safe import MAX_FIELD_CHARS, MAX_TEXT_CHARS, clip
from conformance.platform.server import EmbeddedPlatform

from .platform_helpers import H, ack_of, ack_text, unwrap_soap

BIG = 2 * 1024 * 1024
# what XML text may carry (ESC and the other C0 controls are not XML characters; see the path test)
FORGED = "\n2026-01-01 12:00:00,000 127.0.0.1 \"POST /\" 200 1 action=Forged\u2028\t[31m"


@pytest.fixture(scope="module")
def plat():
    emb = EmbeddedPlatform(profile="hospital", max_body=8 * 1024 * 1024)
    url = emb.start()
    yield url, emb, MessageBuilder("hospital")
    emb.stop()


def _post(url: str, body: bytes) -> requests.Response:
    r = requests.post(url, data=body, headers=soap_headers("1.1"), timeout=60)
    return r


def _audit(emb: EmbeddedPlatform) -> list[tuple]:
    with emb.platform.store.lock:
        return emb.platform.store.conn.execute("SELECT * FROM audit ORDER BY id").fetchall()


def _exchanges(emb: EmbeddedPlatform) -> list[tuple]:
    with emb.platform.store.lock:
        return emb.platform.store.conn.execute("SELECT * FROM exchanges").fetchall()


def _access(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "conformance.platform.access"]


def _bounded_row(row: tuple) -> None:
    for v in row:
        if isinstance(v, str):
            assert len(v) <= MAX_TEXT_CHARS + 64, len(v)
            assert "\n" not in v and "\x1b" not in v


def test_clip_escapes_and_bounds() -> None:
    assert clip("PatientInfoRegister") == "PatientInfoRegister"
    assert clip("a\nb\r\tc\x1b[31m\x7f\u2028") == "a\\nb\\r\\tc\\x1b[31m\\x7f\\u2028"
    long = clip("x" * 10_000, 100)
    assert len(long) < 140 and long.startswith("x" * 100) and "10000" in long
    assert clip(None) == "" and clip(12) == "12"


def test_huge_action_is_bounded_in_log_audit_and_answer(plat, caplog) -> None:
    url, emb, b = plat
    caplog.set_level(logging.INFO, logger="conformance.platform")
    before = len(_audit(emb))
    action = "A" * BIG + FORGED
    r = _post(url, soap_envelope(b.build_request("PatientInfoRegister", {"index": 1}), action=action))
    assert r.status_code == 200
    assert len(r.content) < 20_000, len(r.content)       # was the action echoed whole: 2 MB
    _, el = unwrap_soap(r.content)
    assert ack_of(el) == "AR"
    text = ack_text(el)
    assert len(text) <= 2 * MAX_TEXT_CHARS and "AAAA" in text and "\n" not in text
    lines = _access(caplog)
    assert lines and all(len(line) < 2 * MAX_TEXT_CHARS for line in lines), [len(x) for x in lines]
    assert all("\n" not in line and "\r" not in line and "\x1b" not in line for line in lines)
    assert any("\\n2026-01-01" in line for line in lines) or any("chars" in line for line in lines)
    rows = _audit(emb)[before:]
    assert len(rows) == 1
    _bounded_row(rows[0])
    assert len(rows[0][2]) <= MAX_FIELD_CHARS + 64                    # the action column


def test_control_characters_cannot_forge_a_log_line(plat, caplog) -> None:
    url, emb, b = plat
    caplog.set_level(logging.INFO, logger="conformance.platform")
    r = _post(url, soap_envelope(b.build_request("PatientInfoRegister", {"index": 2}),
                                 action="NoSuch" + FORGED))
    assert r.status_code == 200
    (line,) = [x for x in _access(caplog) if "NoSuch" in x]
    assert "NoSuch\\n2026-01-01" in line and "\\u2028\\t[31m" in line and "\n" not in line
    _, el = unwrap_soap(r.content)
    assert "NoSuch\\n2026" in ack_text(el)
    assert "NoSuch\\n2026" in _audit(emb)[-1][2]


def test_huge_message_id_sender_and_interaction_are_bounded(plat, caplog) -> None:
    url, emb, b = plat
    caplog.set_level(logging.INFO, logger="conformance.platform")
    before = len(_audit(emb))
    big_id = "M" * BIG
    msg = b.build_request("PatientInfoRegister", {"index": 3, "message_id": big_id})
    assert big_id.encode() in msg
    r = _post(url, soap_envelope(msg, action="PatientInfoRegister"))
    assert r.status_code == 200 and len(r.content) < 20_000, len(r.content)
    _, el = unwrap_soap(r.content)
    assert ack_of(el) == "AA", ack_text(el)
    echoed = el.find(f"{H}acknowledgement/{H}targetMessage/{H}id").get("extension")
    assert echoed.startswith("MMMM") and len(echoed) <= MAX_FIELD_CHARS + 64
    # a huge interaction name (the root element) and sender id
    tag = "PRPA_IN" + "9" * BIG
    other = (f'<{tag} xmlns="urn:hl7-org:v3"><id root="2.16.156.10011.2.5.1.1" extension="x1"/>'
             f'<sender><device><id><item extension="{"S" * BIG}"/></id></device></sender></{tag}>')
    r = _post(url, soap_envelope(other, action="PatientInfoRegister"))
    assert r.status_code == 200 and len(r.content) < 20_000, len(r.content)
    _, el = unwrap_soap(r.content)
    assert ack_of(el) == "AR" and len(ack_text(el)) <= 2 * MAX_TEXT_CHARS
    for row in _audit(emb)[before:]:
        _bounded_row(row)
    for row in _exchanges(emb):
        _bounded_row(row[:5])
    assert all(len(line) < 2 * MAX_TEXT_CHARS for line in _access(caplog))


def test_huge_values_in_faults_are_bounded(plat) -> None:
    url, _, _ = plat
    root = "R" * BIG
    r = requests.post(url, data=f"<{root}/>".encode(), headers=soap_headers("1.1"), timeout=60)
    assert r.status_code == 400 and len(r.content) < 20_000, len(r.content)
    ns = "urn:" + "n" * BIG
    r = requests.post(url, data=f'<s:Envelope xmlns:s="{ns}"/>'.encode(), headers=soap_headers("1.1"),
                      timeout=60)
    assert r.status_code == 400 and len(r.content) < 20_000, len(r.content)
    body = ('<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
            f'<{root}/></soap:Body></soap:Envelope>')
    r = requests.post(url, data=body.encode(), headers=soap_headers("1.1"), timeout=60)
    assert r.status_code == 400 and len(r.content) < 20_000, len(r.content)
    assert etree.fromstring(r.content) is not None


def test_huge_query_string_and_path_are_bounded_in_the_log(plat, caplog) -> None:
    url, _, _ = plat
    caplog.set_level(logging.INFO, logger="conformance.platform")
    r = requests.get(url + "p%0Aforged%1B[31m" + "x" * 100_000 + "?q=" + "y" * 100_000, timeout=30)
    assert r.status_code == 404
    lines = [x for x in _access(caplog) if "forged" in x]
    assert lines and all(len(x) < 2 * MAX_TEXT_CHARS for x in lines)
    assert all("\n" not in x and "\x1b" not in x for x in lines) and "\\x1b[31m" in lines[0]
