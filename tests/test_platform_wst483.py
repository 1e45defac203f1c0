"""The regional platform's health-record registration with WS/T 483 document codes (issue 13 §2):
HSD codes are stored and found as they are; a B00NN-coded document is accepted (the validator
only warns), stored under its HSD code and found by either form; a wrong code is refused."""

from __future__ import annotations

import pytest
from lxml import etree

from conformance.catalog import load_catalog
from conformance.hl7v3.builder import MessageBuilder
from conformance.platform.server import EmbeddedPlatform
from conformance.synth import Synthesizer

from .platform_helpers import H, ack_of, ack_text, call, records


def _document(code: str, index: int) -> bytes:
    cat = load_catalog()
    synth = Synthesizer(cat)
    root = synth.document(cat.documents["HSDA00.01"], index, synth.person(index))
    root.find(f"{H}code").set("code", code)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.fixture(scope="module")
def regional():
    with EmbeddedPlatform(profile="regional") as url:
        yield url, MessageBuilder("regional")


def _keys(el: etree._Element) -> set[str]:
    return {i.get("extension") for r in records(el)
            for i in r.iter(f"{H}item") if i.get("root") == "2.16.156.10011.2.5.1.24"}


def test_hsd_coded_record_is_stored_and_found(regional) -> None:
    url, b = regional
    call(url, b, "ResidentInfoRegister", {"index": 21})
    _, el = call(url, b, "HealthRecordStore", {"index": 21, "key": "HSD-21"})
    assert ack_of(el) == "AA", ack_text(el)
    _, el = call(url, b, "HealthRecordAccess", {"index": 21, "by": "patient",
                                                "doc_filter": "HSDA00.01"})
    assert ack_of(el) == "AA" and "HSD-21" in _keys(el)


def test_variant_coded_record_is_accepted_and_found_by_either_code(regional) -> None:
    url, b = regional
    call(url, b, "ResidentInfoRegister", {"index": 22})
    _, el = call(url, b, "DocumentSubscribe", {"index": 22, "key": "SUB-22", "act_code": "B0001",
                                               "sender": "node-22"})
    assert ack_of(el) == "AA", ack_text(el)
    v = {"index": 22, "key": "B-22", "doc_code": "B0001", "document": _document("B0001", 22)}
    _, el = call(url, b, "HealthRecordStore", v)
    assert ack_of(el) == "AA", ack_text(el)
    for code in ("HSDA00.01", "B0001"):
        _, el = call(url, b, "HealthRecordAccess", {"index": 22, "by": "patient",
                                                    "doc_filter": code})
        assert ack_of(el) == "AA" and "B-22" in _keys(el), code
    _, el = call(url, b, "NotificationQuery", {"sender": "node-22"})
    assert ack_of(el) == "AA" and "B-22" in etree.tostring(el, encoding="unicode")


def test_hsd_subscription_is_notified_of_a_variant_coded_record(regional) -> None:
    url, b = regional
    call(url, b, "ResidentInfoRegister", {"index": 24})
    call(url, b, "DocumentSubscribe", {"index": 24, "key": "SUB-24", "act_code": "HSDA00.01",
                                       "sender": "node-24"})
    v = {"index": 24, "key": "B-24", "doc_code": "B0001", "document": _document("B0001", 24)}
    _, el = call(url, b, "HealthRecordStore", v)
    assert ack_of(el) == "AA", ack_text(el)
    _, el = call(url, b, "NotificationQuery", {"sender": "node-24"})
    assert ack_of(el) == "AA" and "B-24" in etree.tostring(el, encoding="unicode")


def test_wrong_document_code_is_refused(regional) -> None:
    url, b = regional
    call(url, b, "ResidentInfoRegister", {"index": 23})
    v = {"index": 23, "key": "BAD-23", "doc_code": "HSDA00.09",
         "document": _document("HSDA00.09", 23)}
    _, el = call(url, b, "HealthRecordStore", v)
    assert ack_of(el) == "AE" and "WST483.HEADER.TEMPLATE_CODE_MISMATCH" in ack_text(el)
