"""The service catalogs, the message builder and the HL7 V3 message validator."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from conformance.catalog import CatalogError
from conformance.hl7v3.builder import MessageBuilder, soap_envelope
from conformance.hl7v3.services import ServiceCatalog, load_services

REPO = Path(__file__).resolve().parents[1]


def test_hospital_catalog_has_81_services():
    cat = load_services("hospital")
    assert len(cat.services) == 81
    hl7 = [s for s in cat.services if s.category != "检验检查结果信息交互服务"]
    assert len(hl7) == 69
    assert cat.service("S0001").action == "PatientInfoRegister"
    assert cat.service("DocumentRegister").action == "DocumentRegiste"  # alias of the fixture's spelling
    assert all(s.level_status == "provisional" for s in cat.services)
    discharge = cat.service("DischargeInfoAdd")
    assert {"PRPA_IN400003UV", "PRPA_IN400001UV"} <= discharge.roots


def test_regional_catalog_is_provisional():
    cat = load_services("regional")
    assert len(cat.services) >= 30
    assert all(s.provisional for s in cat.services)
    parts = {s.part for s in cat.services}
    assert {f"WS/T 790.{n}-2021" for n in range(2, 19)} <= parts


@pytest.mark.parametrize("profile", ["hospital", "regional"])
def test_every_service_builds_a_message_its_catalog_understands(profile):
    b = MessageBuilder(profile)
    for svc in b.services.services:
        root = etree.fromstring(b.build_request(svc, {"index": 4}))
        assert etree.QName(root).localname == svc.request_root
        if svc.kind == "write":
            assert svc.key.value(root), svc.action
            assert all(r.value(root) for r in svc.required), svc.action
        else:
            assert any(k.value(root) for k in svc.query.keys) or all(k.optional for k in svc.query.keys)
        assert b.services.candidates(root), svc.action


def _write_catalog(tmp_path: Path, services_yaml: str) -> Path:
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "shapes.yaml").write_text(
        (REPO / "standards" / "services" / "shapes.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "services" / "hospital.yaml").write_text(services_yaml, encoding="utf-8")
    return tmp_path


HEAD = """profile: hospital
wrapper: {message_id_root: a, interaction_id_root: b, device_id_root: c, platform_device_id: d}
services:
"""


def test_loader_errors_name_file_and_line(tmp_path):
    root = _write_catalog(tmp_path, HEAD + """  - action: X
    name: x
    category: c
    kind: write
    op: add
    entity: e
    shape: no-such-shape
    request: {root: R}
    response: {root: S}
""")
    with pytest.raises(CatalogError, match=r"hospital\.yaml:4 \(X\): unknown shape 'no-such-shape'"):
        ServiceCatalog("hospital", root)


def test_loader_reports_missing_vars_and_bad_yaml(tmp_path):
    root = _write_catalog(tmp_path, HEAD + """  - action: X
    name: x
    category: c
    kind: write
    op: add
    entity: e
    shape: person-register
    request: {root: R}
    response: {root: S}
""")
    with pytest.raises(CatalogError, match=r"\{id_root\}"):
        ServiceCatalog("hospital", root)
    (root / "services" / "hospital.yaml").write_text(HEAD + "  - action: [\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"hospital\.yaml:\d+:\d+: YAML syntax error"):
        ServiceCatalog("hospital", root)


def test_soap_envelope_escapes_the_message():
    env = soap_envelope(b"<a>&</a>", "1.2", action="PatientInfoQuery")
    root = etree.fromstring(env)
    assert etree.QName(root).namespace == "http://www.w3.org/2003/05/soap-envelope"
    msg = root.find(".//{urn:conformance:hip-message-server}message")
    assert msg.text == "<a>&</a>"


def test_validator_accepts_built_messages_and_responses(validator):
    b = MessageBuilder("hospital")
    for action in ("PatientInfoRegister", "OrderInfoAdd", "DocumentRetrieve", "ExamStatusInfoUpdate"):
        res = validator.validate_bytes(b.build_request(action), f"{action}.xml")
        assert res.document_type == b.services.service(action).request_root
        assert res.valid, [f.message for f in res.findings]
    ack = b.ack(code="AA", target_id="m1", text="ok", receiver="x")
    res = validator.validate_bytes(ack, "ack.xml")
    assert res.valid and res.document_type == "MCCI_IN000002UV01"


def test_validator_reports_wrapper_payload_and_ack_defects(validator):
    b = MessageBuilder("hospital")
    msg = b.build_request("PatientInfoRegister").decode()
    bad = (msg.replace('extension="PRPA_IN201311UV02"', 'extension="PRPA_IN201311UV02 "')
              .replace('<processingCode code="P"/>', '<processingCode code="X"/>')
              .replace('root="2.16.156.10011.2.5.1.4"', 'root="9.9"'))
    bad = bad.replace(bad[bad.index('<creationTime value="') + 21: bad.index('<creationTime value="') + 35],
                      "20230230120000")
    res = validator.validate_bytes(bad.encode(), "bad.xml")
    rules = {f.rule for f in res.findings}
    assert {"V3.INTERACTION_ID_MISMATCH", "V3.PROCESSING_CODE", "V3.PAYLOAD_REQUIRED",
            "V3.CREATION_TIME"} <= rules
    mismatch = next(f for f in res.findings if f.rule == "V3.INTERACTION_ID_MISMATCH")
    assert mismatch.line and mismatch.xpath
    ack = b.ack(code="AA", target_id="", text="", receiver="x").decode()
    ack = ack.replace('typeCode="AA"', 'typeCode="OK"')
    res = validator.validate_bytes(ack.encode(), "ack.xml")
    assert {"V3.ACK_CODE", "V3.ACK_TARGET", "V3.ACK_TEXT"} <= {f.rule for f in res.findings}


def test_validator_flags_inconsistent_query_response(validator):
    b = MessageBuilder("hospital")
    svc = b.services.service("PatientInfoQuery")
    resp = b.query_response(svc, code="AE", target_id="m", text="x", records=[
        '<patient xmlns="urn:hl7-org:v3"><id><item root="r" extension="e"/></id></patient>'])
    res = validator.validate_bytes(resp, "r.xml")
    assert "V3.ACK_INCONSISTENT" in {f.rule for f in res.findings}


def test_unknown_v3_interaction(validator):
    x = b'<ABCD_IN999999UV01 xmlns="urn:hl7-org:v3"/>'
    res = validator.validate_bytes(x, "x.xml")
    assert [f.rule for f in res.findings] == ["V3.ROOT_UNKNOWN"]
