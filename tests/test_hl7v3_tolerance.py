"""The HL7 V3 validator where sources disagree (issue 13 §4): the other interaction of
调阅/检索 sent to a named service, the order number under 2.16.156.10011.1.28, ids written in the
other form, a captured message text that declares encoding="GBK" — recognised, with a warning
that names the difference, never "missing". Messages: tests/v3_variants.py (the project's own)."""

from __future__ import annotations

from lxml import etree

from conformance.hl7v3.services import load_services

from .conftest import rules_of
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


def test_the_disagreement_is_catalog_data():
    cat = load_services("hospital")
    access, retrieve = cat.service("DocumentAccess"), cat.service("DocumentRetrieve")
    assert access.disputed("RCMR_IN000031UV01") == "document-access-retrieve"
    assert retrieve.disputed("RCMR_IN000029UV01") == "document-access-retrieve"
    assert access.response_root_for("RCMR_IN000031UV01") == "RCMR_IN000032UV01"
    assert retrieve.response_root_for("RCMR_IN000029UV01") == "RCMR_IN000030UV01"
    assert access.disputed("RCMR_IN000029UV01") is None
    dispute = cat.disputes["document-access-retrieve"]
    assert set(dispute["sources"]) <= set(cat.sources) and {"zh", "en"} <= set(dispute["summary"])
    # without an action, each interaction still goes to the service whose own root it is
    for root, action in (("RCMR_IN000029UV01", "DocumentAccess"),
                         ("RCMR_IN000031UV01", "DocumentRetrieve")):
        assert cat.candidates(etree.Element(f"{H}{root}"))[0].action == action


def test_validator_names_the_conflict_when_the_action_is_known(validator, validator_en):
    data = captured(req("DocumentAccess", index=3), "DocumentRetrieve")
    res = validator.validate_bytes(data, "captured.xml")
    (f,) = [f for f in res.findings if f.rule == "V3.INTERACTION_DISPUTED"]
    assert f.severity == "warning" and res.valid
    assert "DocumentRetrieve" in f.message and "RCMR_IN000029UV01" in f.message
    assert "调阅" in f.message
    line = data.decode().splitlines()[f.line - 1]
    assert "RCMR_IN000029UV01" in line
    en = validator_en.validate_bytes(data, "captured.xml")
    assert "sources disagree" in next(x for x in en.findings if x.rule == f.rule).message
    # the same message sent as its own service, or bare: nothing to say
    own = validator.validate_bytes(captured(req("DocumentAccess", index=3), "DocumentAccess"), "x")
    bare = validator.validate_bytes(req("DocumentAccess", index=3).encode(), "x")
    assert "V3.INTERACTION_DISPUTED" not in rules_of(own) | rules_of(bare)


def test_validator_accepts_the_alternative_order_root_with_a_warning(validator):
    data = req("OrderInfoAdd", index=3, key="ORD-A").replace(ORDER, ORDER_ALT).encode()
    res = validator.validate_bytes(data, "order.xml")
    assert "V3.PAYLOAD_REQUIRED" not in rules_of(res) and res.valid
    (f,) = [f for f in res.findings if f.rule == "V3.ID_ROOT_ALTERNATIVE"]
    assert f.severity == "warning" and f.actual == "2.16.156.10011.1.28"
    assert f.expected == "2.16.156.10011.2.5.1.31"
    assert f.xpath.endswith("substanceAdministrationRequest[1]/id[1]/item[1]/@root")
    line = data.decode().splitlines()[f.line - 1]
    assert line[f.column - 1:].startswith(ORDER_ALT)
    query = req("OrderInfoQuery", index=3, key="ORD-A").replace(ORDER, ORDER_ALT).encode()
    assert "V3.ID_ROOT_ALTERNATIVE" in rules_of(validator.validate_bytes(query, "q.xml"))
    # an unknown root is still missing
    bad = req("OrderInfoAdd", index=3).replace(ORDER, 'root="1.2.3"').encode()
    assert "V3.PAYLOAD_REQUIRED" in rules_of(validator.validate_bytes(bad, "bad.xml"), "error")


def test_ids_in_the_other_form_are_recognised_by_the_validator(validator):
    data = ii_sender(dset_message_id(req("PatientInfoRegister", index=4))).encode()
    res = validator.validate_bytes(data, "m.xml")
    assert not rules_of(res) & {"V3.MESSAGE_ID", "V3.DEVICE_ID"} and res.valid
    forms = [f for f in res.findings if f.rule == "V3.ID_FORM"]
    assert [f.xpath for f in forms] == ["/PRPA_IN201311UV02/id[1]",
                                        "/PRPA_IN201311UV02/sender[1]/device[1]/id[1]"]
    assert all(f.severity == "warning" for f in forms)
    assert "<id><item" in forms[0].actual and "<id><item" in forms[1].expected
    # an acknowledgement echoing the request id inside an item
    ack = B.ack(code="AA", target_id="M1", text="ok", receiver="c").decode()
    ack = ack.replace('<id root="2.16.156.10011.2.5.1.1" extension="M1"/>',
                      '<id><item root="2.16.156.10011.2.5.1.1" extension="M1"/></id>')
    res = validator.validate_bytes(ack.encode(), "ack.xml")
    assert "V3.ACK_TARGET" not in rules_of(res) and "V3.ID_FORM" in rules_of(res, "warning")


def test_harness_reads_the_request_id_in_either_form():
    from conformance.harness.checks import StepContext

    for message in (req("PatientInfoRegister", index=6, message_id="M6"),
                    dset_message_id(req("PatientInfoRegister", index=6, message_id="M6"))):
        ctx = StepContext(exchange=None, reply=None, request=etree.fromstring(message.encode()),
                          kind="positive", expect={}, variables={}, validate_message=None,
                          validate_document=None)
        assert ctx.request_id() == "M6"


def test_validate_a_captured_envelope_whose_message_declares_gbk(validator):
    message = req("PatientInfoRegister", index=14).replace('extension="conformance-client"',
                                                          'extension=""')
    data = captured(message.replace("><", ">\n<"), "PatientInfoRegister", GBK_DECL)
    res = validator.validate_bytes(data, "captured.xml")
    assert res.document_type == "PRPA_IN201311UV02"
    assert "V3.SOAP_NO_MESSAGE" not in rules_of(res)
    f = next(f for f in res.findings if f.rule == "V3.DEVICE_ID")
    line = data.decode().splitlines()[f.line - 1]
    assert line[f.column - 1:].startswith("&lt;sender")
    clean = captured(req("PatientInfoRegister", index=14), "PatientInfoRegister", GBK_DECL)
    assert validator.validate_bytes(clean, "clean.xml").valid
