"""The reference platform where sources disagree (issue 13 §4): either interaction of
调阅/检索 for either action, the order number under either root wherever it is read, ids in
either form, an identical message re-sent after a timeout, a message text that declares
encoding="GBK". Accepted, each difference a warning in the answer (acknowledgementDetail
typeCode="W"), the audit trail and the log. Messages: tests/v3_variants.py (the project's own)."""

from __future__ import annotations

import logging
import re
import sqlite3
import threading

import pytest
import requests
from lxml import etree

from conformance.hl7v3.builder import soap_envelope, soap_headers
from conformance.platform.engine import Platform
from conformance.platform.server import EmbeddedPlatform

from .platform_helpers import unwrap_soap
from .v3_variants import (
    GBK_DECL,
    ORDER,
    ORDER_ALT,
    B,
    H,
    captured,
    dset_message_id,
    ii_sender,
    req,
)


def send(p: Platform, message: str, action: str | None = None):
    """The message as bytes, as a client sends it (not as text: see the GBK tests)."""
    return p.handle(message.encode("utf-8"), action)


def details(response: bytes) -> list[tuple[str | None, str]]:
    """(typeCode, text) of every acknowledgementDetail of an answer."""
    root = etree.fromstring(response)
    return [(d.get("typeCode"), d.find(f"{H}text").get("value"))
            for d in root.iter(f"{H}acknowledgementDetail")]


def warnings_of(response: bytes) -> list[str]:
    return [t for code, t in details(response) if code == "W"]


def audit(p: Platform) -> list[dict]:
    with p.store.transaction() as tx:
        return tx.audit_events(sender="conformance-client")


@pytest.fixture()
def platform():
    p = Platform("hospital")
    assert send(p, req("PatientInfoRegister", index=3)).ack == "AA"
    yield p
    p.close()


@pytest.mark.parametrize("sent_as, built_as, answer", [
    ("DocumentAccess", "DocumentRetrieve", "RCMR_IN000032UV01"),
    ("DocumentRetrieve", "DocumentAccess", "RCMR_IN000030UV01"),
])
def test_either_interaction_for_either_action(platform, caplog, sent_as, built_as, answer):
    assert send(platform, req("DocumentRegister", index=3)).ack == "AA"
    message = req(built_as, index=3)
    with caplog.at_level(logging.WARNING, logger="conformance.platform"):
        out = send(platform, message, sent_as)
    assert out.ack == "AA", out.detail
    root = etree.fromstring(out.response)
    assert etree.QName(root).localname == answer
    assert root.find(f"{H}interactionId").get("extension") == answer
    assert len(root.findall(f"{H}controlActProcess/{H}subject")) == 1
    (warning,) = warnings_of(out.response)
    assert sent_as in warning and "RCMR_IN000029UV01" in warning and "RCMR_IN000031UV01" in warning
    assert "调阅" in warning and "检索" in warning
    assert any(warning in r.getMessage() for r in caplog.records)
    assert warning in audit(platform)[0]["detail"]


def test_the_own_interaction_has_no_warning_and_others_are_still_rejected(platform):
    assert send(platform, req("DocumentRegister", index=3)).ack == "AA"
    out = send(platform, req("DocumentAccess", index=3), "DocumentAccess")
    assert out.ack == "AA" and warnings_of(out.response) == []
    assert etree.QName(etree.fromstring(out.response)).localname == "RCMR_IN000030UV01"
    bare = send(platform, req("DocumentRetrieve", index=3))  # no action: by root element
    assert bare.service.action == "DocumentRetrieve" and warnings_of(bare.response) == []
    assert send(platform, req("DocumentRetrieve", index=3), "PatientInfoQuery").ack == "AR"


def test_order_number_under_the_alternative_root_everywhere(platform):
    add = req("OrderInfoAdd", index=3, key="ORD-A").replace(ORDER, ORDER_ALT)
    out = send(platform, add, "OrderInfoAdd")
    assert out.ack == "AA", out.detail
    (warning,) = warnings_of(out.response)
    assert "2.16.156.10011.1.28" in warning and "医嘱号" in warning
    # found by the preferred root, and by the alternative one (with a warning)
    by_preferred = send(platform, req("OrderInfoQuery", index=3, key="ORD-A"), "OrderInfoQuery")
    assert by_preferred.ack == "AA" and warnings_of(by_preferred.response) == []
    query = req("OrderInfoQuery", index=3, key="ORD-A").replace(ORDER, ORDER_ALT)
    by_alt = send(platform, query, "OrderInfoQuery")
    assert by_alt.ack == "AA", by_alt.detail
    assert "2.16.156.10011.1.28" in warnings_of(by_alt.response)[0]
    # an update and an execution status that refer to the order under the alternative root
    upd = req("OrderInfoUpdate", index=3, key="ORD-A", status_code="completed")
    assert send(platform, upd.replace(ORDER, ORDER_ALT), "OrderInfoUpdate").ack == "AA"
    status = req("OrderFillerStatusInfoUpdate", index=3, key="ORD-A").replace(ORDER, ORDER_ALT)
    out = send(platform, status, "OrderFillerStatusInfoUpdate")
    assert out.ack == "AA", out.detail
    with platform.store.transaction() as tx:
        assert tx.get("order", "ORD-A")["version"] == 2
    # another root is still no order number
    other = req("OrderInfoAdd", index=3, key="ORD-B").replace(ORDER, 'root="1.2.3"')
    refused = send(platform, other, "OrderInfoAdd")
    assert refused.ack == "AE" and "医嘱号" in refused.detail


def test_ids_in_the_other_form_are_recognised_by_the_platform(platform):
    message = ii_sender(dset_message_id(req("PatientInfoRegister", index=5)))
    sent_id = re.search(r'<id><item root="2\.16\.156\.10011\.2\.5\.1\.1" extension="([^"]*)"',
                        message).group(1)
    out = send(platform, message, "PatientInfoRegister")
    assert out.ack == "AA", out.detail
    root = etree.fromstring(out.response)
    assert root.find(f"{H}acknowledgement/{H}targetMessage/{H}id").get("extension") == sent_id
    assert root.find(f"{H}receiver/{H}device/{H}id/{H}item").get("extension") == "conformance-client"
    names = " ".join(warnings_of(out.response))
    assert "消息流水号" in names and "发送方设备标识" in names


def test_identical_message_sent_again_gets_the_first_answer(platform):
    message = req("PatientInfoRegister", index=7)
    first = send(platform, message, "PatientInfoRegister")
    again = send(platform, message, "PatientInfoRegister")
    assert first.ack == again.ack == "AA"
    assert again.response == first.response  # the same acknowledgement, byte for byte
    with platform.store.transaction() as tx:
        assert tx.get("patient", "P00000007")["version"] == 1
    assert "重复发送" in audit(platform)[0]["detail"]
    # re-serialised the same (attribute quoting, declaration): still the same message
    same = etree.tostring(etree.fromstring(message.encode()), encoding="unicode")
    assert send(platform, same, "PatientInfoRegister").response == first.response


def test_an_update_retried_is_applied_once(platform):
    message = req("PatientInfoUpdate", index=3, marital_code="20")
    assert send(platform, message, "PatientInfoUpdate").ack == "AA"
    assert send(platform, message, "PatientInfoUpdate").ack == "AA"
    with platform.store.transaction() as tx:
        assert tx.get("patient", "P00000003")["version"] == 2


def test_other_reuses_keep_todays_behaviour(platform):
    message = req("PatientInfoRegister", index=8)
    assert send(platform, message, "PatientInfoRegister").ack == "AA"
    # a different message reusing the message id: processed as usual (the key exists)
    changed = message.replace('<maritalStatusCode code="10"', '<maritalStatusCode code="20"')
    assert changed != message
    out = send(platform, changed, "PatientInfoRegister")
    assert out.ack == "AE" and "已存在" in out.detail
    # a new message id re-adding the same business key: already exists
    out = send(platform, req("PatientInfoRegister", index=8), "PatientInfoRegister")
    assert out.ack == "AE" and "已存在" in out.detail
    # and the first message, sent again, still gets its own first answer
    assert send(platform, message, "PatientInfoRegister").ack == "AA"


def test_a_refused_write_retried_gets_the_same_refusal(platform):
    message = req("OrderInfoAdd", index=99, key="ORD-X")  # patient P00000099 not registered
    first = send(platform, message, "OrderInfoAdd")
    assert first.ack == "AE"
    assert send(platform, req("PatientInfoRegister", index=99)).ack == "AA"
    assert send(platform, message, "OrderInfoAdd").response == first.response


@pytest.mark.slow
def test_concurrent_retries_apply_once_and_survive_a_restart(tmp_path):
    db = str(tmp_path / "p.sqlite")
    message = soap_envelope(req("PatientInfoRegister", index=11), action="PatientInfoRegister")
    update = soap_envelope(req("PatientInfoUpdate", index=11, marital_code="20"),
                           action="PatientInfoUpdate")
    with EmbeddedPlatform(profile="hospital", db=db, threads=16) as url:
        for body in (message, update):
            answers: list[bytes] = []

            def post(body: bytes = body, answers: list[bytes] = answers) -> None:
                r = requests.post(url, data=body, headers=soap_headers(), timeout=60)
                answers.append(r.content)

            threads = [threading.Thread(target=post) for _ in range(16)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            acks = {etree.tostring(unwrap_soap(a)[1]) for a in answers}
            assert len(answers) == 16 and len(acks) == 1  # one answer, given 16 times
            assert 'typeCode="AA"' in acks.pop().decode()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT version FROM records WHERE entity='patient' AND key='P00000011'"
                        ).fetchone() == (2,)
    assert conn.execute("SELECT COUNT(*) FROM history WHERE key='P00000011'").fetchone() == (2,)
    conn.close()
    with EmbeddedPlatform(profile="hospital", db=db) as url:  # the answers are kept
        r = requests.post(url, data=message, headers=soap_headers(), timeout=60)
        assert unwrap_soap(r.content)[1].find(f"{H}acknowledgement").get("typeCode") == "AA"


@pytest.mark.slow
def test_message_text_declaring_gbk_is_parsed_as_text():
    with EmbeddedPlatform(profile="hospital") as url:
        body = captured(req("PatientInfoRegister", index=12), "PatientInfoRegister", GBK_DECL)
        assert b'encoding="GBK"' in body or b"encoding=&quot;GBK&quot;" in body
        r = requests.post(url, data=body, headers=soap_headers(), timeout=60)
        kind, el = unwrap_soap(r.content)
        assert kind == "message"
        assert el.find(f"{H}acknowledgement").get("typeCode") == "AA", r.text[:500]
        # the name (Chinese) came through as sent
        q = requests.post(url, data=captured(req("PatientInfoQuery", index=12), "PatientInfoQuery",
                                             GBK_DECL), headers=soap_headers(), timeout=60)
        assert B.person(12)["name"] in q.content.decode("utf-8")


def test_platform_takes_text_with_a_foreign_declaration(platform):
    text = GBK_DECL + req("PatientInfoRegister", index=13).split("?>", 1)[1].lstrip()
    assert platform.handle(text, "PatientInfoRegister").ack == "AA"


def test_kept_answers_are_bounded(platform, monkeypatch):
    """Answers are kept for a day (pruned every so many writes): a copy re-sent after that
    is an ordinary message again."""
    from conformance.platform import store

    message = req("PatientInfoRegister", index=15)
    assert send(platform, message, "PatientInfoRegister").ack == "AA"
    with platform.store.transaction() as tx:
        assert tx.cur.execute("SELECT COUNT(*) FROM exchanges").fetchone()[0] >= 2
    monkeypatch.setattr(store, "EXCHANGE_PRUNE_EVERY", 1)
    monkeypatch.setattr(store, "EXCHANGE_KEEP_SECONDS", -60)  # everything is older than that
    assert send(platform, req("PatientInfoRegister", index=16), "PatientInfoRegister").ack == "AA"
    with platform.store.transaction() as tx:
        assert tx.cur.execute("SELECT COUNT(*) FROM exchanges").fetchone()[0] == 0
    out = send(platform, message, "PatientInfoRegister")
    assert out.ack == "AE" and "已存在" in out.detail
