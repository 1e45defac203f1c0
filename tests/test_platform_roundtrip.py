"""Round trips for every service of both profiles against the embedded platform, plus zeep."""

from __future__ import annotations

import pytest
import requests

from conformance.hl7v3.builder import MessageBuilder
from conformance.platform.server import EmbeddedPlatform

from .platform_helpers import H, ack_of, ack_text, call, records

CHANGE = {"person-register": ("marital_code", "20", 'code="20"'),
          "organization-register": ("name", "更新后机构", "更新后机构"),
          "provider-register": ("name", "李更新", "李更新"),
          "terminology-register": ("version", "2", 'code="2"'),
          "document-register": ("version", "2", 'value="2"')}


@pytest.fixture(scope="module", params=["hospital", "regional"])
def platform(request):
    emb = EmbeddedPlatform(profile=request.param)
    url = emb.start()
    yield request.param, url, emb
    emb.stop()


def _service_for(cat, entity, op):
    return next((s for s in cat.services if s.entity == entity and s.op == op), None)


def _queries_for(cat, entity):
    return [s for s in cat.services if s.kind == "query" and s.op == "query" and
            entity in str(s.vars.get("doc_entities") or s.entity).split(",")]


@pytest.mark.slow
def test_every_service_round_trips(platform):
    profile, url, emb = platform
    b = MessageBuilder(profile)
    cat = b.services
    exercised: set[str] = set()
    person = _service_for(cat, "patient" if profile == "hospital" else "resident", "add")
    for n, entity in enumerate(sorted({s.entity for s in cat.services if s.kind == "write"}), start=10):
        key = f"K{n:04d}"
        v = {"index": n, "key": key}
        assert ack_of(call(url, b, person.action, {"index": n})[1]) in ("AA", "AE")
        exercised.add(person.action)
        writes = [s for s in cat.services if s.entity == entity and s.kind == "write"]
        first = next(s for s in writes if s.op in ("add", "put"))
        for ref in first.references:
            target = _service_for(cat, ref.entity, "add")
            if ref.required and target is not None and ref.entity != person.entity:
                status, el = call(url, b, target.action, v)
                assert ack_of(el) == "AA", (target.action, ack_text(el))
                exercised.add(target.action)
        if entity == person.entity:
            v = {"index": n + 500}
            key = f"P{n + 500:08d}"
        status, el = call(url, b, first.action, v)
        assert status == 200 and ack_of(el) == "AA", (first.action, ack_text(el))
        exercised.add(first.action)
        if first.op == "add":  # a second add of the same key is refused, nothing changes
            assert ack_of(call(url, b, first.action, v)[1]) == "AE"
        for extra in [s for s in writes if s.op == "add" and s is not first]:
            _, el = call(url, b, extra.action, {**v, "key": key + "b"})
            assert ack_of(el) == "AA", (extra.action, ack_text(el))
            exercised.add(extra.action)
        queries = _queries_for(cat, entity)
        for q in queries:
            _, el = call(url, b, q.action, {**v, "key": key})
            assert ack_of(el) == "AA" and records(el), (q.action, ack_text(el))
            assert el.tag == f"{H}{q.response_root}"
            exercised.add(q.action)
        for upd in [s for s in writes if s.op in ("update", "put") and s is not first]:
            var, value, needle = CHANGE.get(upd.shape, ("status_code", "X9", 'code="X9"'))
            _, el = call(url, b, upd.action, {**v, var: value})
            assert ack_of(el) == "AA", (upd.action, ack_text(el))
            exercised.add(upd.action)
            for q in queries:
                _, el = call(url, b, q.action, {**v, "key": key})
                text = "".join(__import__("lxml.etree").etree.tostring(r, encoding="unicode")
                               for r in records(el))
                assert needle in text, (upd.action, q.action)
    # merges, and the platform services answered from the platform's own state
    merge = _service_for(cat, person.entity, "merge")
    query = next(s for s in cat.services if s.entity == person.entity and s.op == "query")
    call(url, b, person.action, {"index": 900})
    call(url, b, person.action, {"index": 901})
    _, el = call(url, b, merge.action, {"key": "P00000900", "merged_key": "P00000901"})
    assert ack_of(el) == "AA", ack_text(el)
    _, el = call(url, b, query.action, {"key": "P00000901"})
    ids = [i.get("extension") for i in records(el)[0].iter(f"{H}item")]
    assert "P00000900" in ids  # the query follows the survivor
    exercised |= {merge.action, query.action}
    for s in cat.services:
        if s.op in ("time", "node_verify", "audit", "notifications"):
            exercised.add(s.action)
    missing = {s.action for s in cat.services} - exercised
    assert not missing, missing


def test_regional_platform_services():
    with EmbeddedPlatform(profile="regional") as url:
        b = MessageBuilder("regional")
        _, el = call(url, b, "TimeQuery")
        assert ack_of(el) == "AA" and records(el)[0].find(f".//{H}effectiveTime").get("value")[:4].isdigit()
        _, el = call(url, b, "NodeVerify", {"key": "ORG00077"})
        assert ack_of(el) == "AE"
        call(url, b, "OrganizationInfoRegister", {"key": "ORG00077"})
        _, el = call(url, b, "NodeVerify", {"key": "ORG00077"})
        assert ack_of(el) == "AA"
        # subscribe → publish → notification pulled by the subscriber
        call(url, b, "ResidentInfoRegister", {"index": 5})
        _, el = call(url, b, "DocumentSubscribe", {"index": 5, "key": "SUB1", "act_code": "HSDA00.01",
                                                   "sender": "node-a"})
        assert ack_of(el) == "AA", ack_text(el)
        _, el = call(url, b, "HealthRecordStore", {"index": 5, "key": "HR1"})
        assert ack_of(el) == "AA", ack_text(el)
        _, el = call(url, b, "NotificationQuery", {"sender": "node-a"})
        assert ack_of(el) == "AA"
        assert "HR1" in __import__("lxml.etree").etree.tostring(el, encoding="unicode")
        _, el = call(url, b, "NotificationQuery", {"sender": "node-b"})
        assert ack_of(el) == "AE"
        # audit trail of one message id
        msg_id = "audit-me-1"
        call(url, b, "ResidentInfoQuery", {"index": 5, "message_id": msg_id})
        _, el = call(url, b, "AuditQuery", {"key": msg_id})
        assert ack_of(el) == "AA" and len(records(el)) == 1


def test_document_retrieval_is_byte_identical():
    import base64

    with EmbeddedPlatform(profile="hospital") as url:
        b = MessageBuilder("hospital")
        doc = b.document_bytes("C0032", 3)
        call(url, b, "PatientInfoRegister", {"index": 3})
        v = {"index": 3, "key": "D3", "doc_code": "C0032", "document": doc}
        _, el = call(url, b, "DocumentRegiste", v)
        assert ack_of(el) == "AA", ack_text(el)
        for action, by in (("DocumentRetrieve", "key"), ("DocumentAccess", "patient")):
            _, el = call(url, b, action, {"index": 3, "key": "D3", "by": by})
            value = records(el)[0].find(f".//{H}storageCode/{H}originalText").get("value")
            assert base64.b64decode(value) == doc


@pytest.mark.slow
def test_zeep_client_loads_the_wsdl_and_calls_services():
    zeep = pytest.importorskip("zeep")
    with EmbeddedPlatform(profile="hospital") as url:
        b = MessageBuilder("hospital")
        client = zeep.Client(url + "?wsdl")
        msg = b.build_request("PatientInfoRegister", {"index": 8}).decode()
        result = client.service.HIPMessageServer(action="S0001", message=msg)
        assert 'typeCode="AA"' in result
        result = client.service.HIPMessageServer(
            action="PatientInfoQuery", message=b.build_request("PatientInfoQuery", {"index": 8}).decode())
        assert "PRPA_IN201306UV02" in result and 'typeCode="AA"' in result
        assert requests.get(url + "?wsdl", timeout=10).headers["Content-Type"].startswith("text/xml")


def test_bare_body_and_soap12(platform):
    profile, url, emb = platform
    b = MessageBuilder(profile)
    person = "PatientInfoRegister" if profile == "hospital" else "ResidentInfoRegister"
    status, el = call(url, b, person, {"index": 77}, version="1.2", wrapped=False)
    assert status == 200 and ack_of(el) == "AA", ack_text(el)
