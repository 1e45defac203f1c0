"""Acceptance tests for the project's own CDA R2 + WS/T 500 schema
(standards/schemas/cda/CDA.xsd).

* The schema must compile with libxml2 (lxml, the runtime engine) and with xmlschema (XSD 1.0).
* Self-contained documents written here (no third-party content) must validate, and
  structural defects (order, cardinality, unknown elements, missing xsi:type) must be rejected
  by both engines.
* When the third-party WS/T 500 sample package is present next to the repository, 52 of its
  53 documents validate and C0040 fails with exactly one element-order error.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from lxml import etree

REPO = Path(__file__).resolve().parents[1]
SCHEMA_DIR = REPO / "standards" / "schemas" / "cda"
CDA_XSD = SCHEMA_DIR / "CDA.xsd"
SAMPLES_DIR = (
    Path(__file__).resolve().parents[1].parent / "shared" / "reference-samples" / "cda-wst500"
)

V3 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS = {"v3": V3}


# --------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lxml_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(CDA_XSD)))


@pytest.fixture(scope="module")
def xmlschema_schema():
    xmlschema = pytest.importorskip("xmlschema")
    return xmlschema.XMLSchema10(str(CDA_XSD))


@pytest.fixture(params=["lxml", "xmlschema"])
def errors_of(request, lxml_schema):
    """Return a function doc -> list of error messages, for each engine."""
    if request.param == "lxml":

        def run(doc: etree._ElementTree) -> list[str]:
            if lxml_schema.validate(doc):
                return []
            return [e.message for e in lxml_schema.error_log]

        return run

    xs = request.getfixturevalue("xmlschema_schema")

    def run(doc: etree._ElementTree) -> list[str]:
        return [str(e.reason) for e in xs.iter_errors(doc)]

    return run


# --------------------------------------------------------------------------------------
# a small conformant document written for these tests
# --------------------------------------------------------------------------------------
MINIMAL_DOC = """\
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <realmCode code="CN"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_MT000040"/>
  <templateId root="2.16.156.10011.2.1.1.24"/>
  <id root="2.16.156.10011.1.1" extension="UNIT-TEST-0001"/>
  <code code="C0004" codeSystem="2.16.156.10011.2.4" codeSystemName="卫生信息共享文档编码体系"/>
  <title>单元测试处方</title>
  <effectiveTime value="20240305091500"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <languageCode code="zh-CN"/>
  <setId root="2.16.156.10011.1.1" extension="UNIT-TEST-SET"/>
  <versionNumber value="1"/>
  <recordTarget typeCode="RCT" contextControlCode="OP">
    <patientRole classCode="PAT">
      <id root="2.16.156.10011.1.11" extension="OP-778899"/>
      <addr use="H">
        <state>测试省</state><city>测试市</city><streetAddressLine>测试路1号</streetAddressLine>
      </addr>
      <telecom value="tel:010-12345678"/>
      <patient classCode="PSN" determinerCode="INSTANCE">
        <id root="2.16.156.10011.1.3" extension="110101199002030045"/>
        <name><family>王</family><given>测试</given></name>
        <administrativeGenderCode code="2" codeSystem="2.16.156.10011.2.3.3.4"/>
        <birthTime value="19900203"/>
      </patient>
    </patientRole>
  </recordTarget>
  <author typeCode="AUT" contextControlCode="OP">
    <time value="20240305091500"/>
    <assignedAuthor classCode="ASSIGNED">
      <id root="2.16.156.10011.1.7" extension="DOC-042"/>
      <assignedPerson classCode="PSN" determinerCode="INSTANCE">
        <name>李测试</name>
      </assignedPerson>
    </assignedAuthor>
  </author>
  <custodian typeCode="CST">
    <assignedCustodian classCode="ASSIGNED">
      <representedCustodianOrganization classCode="ORG" determinerCode="INSTANCE">
        <id root="2.16.156.10011.1.5" extension="ORG-TEST"/>
        <name>单元测试医院</name>
      </representedCustodianOrganization>
    </assignedCustodian>
  </custodian>
  <legalAuthenticator>
    <time value="20240305092000"/>
    <signatureCode code="S"/>
    <assignedEntity>
      <id root="2.16.156.10011.1.4" extension="DOC-043"/>
      <assignedPerson><name>赵审核</name></assignedPerson>
    </assignedEntity>
  </legalAuthenticator>
  <componentOf typeCode="COMP">
    <encompassingEncounter classCode="ENC" moodCode="EVN">
      <effectiveTime><low value="20240305"/><high value="20240306"/></effectiveTime>
      <location typeCode="LOC">
        <healthCareFacility classCode="SDLOC">
          <serviceProviderOrganization classCode="ORG" determinerCode="INSTANCE">
            <asOrganizationPartOf classCode="PART">
              <wholeOrganization classCode="ORG" determinerCode="INSTANCE">
                <id root="2.16.156.10011.1.26" extension="DEPT-9"/>
                <name>测试科</name>
              </wholeOrganization>
            </asOrganizationPartOf>
          </serviceProviderOrganization>
        </healthCareFacility>
      </location>
    </encompassingEncounter>
  </componentOf>
  <component>
    <structuredBody>
      <component>
        <section>
          <code code="8716-3" codeSystem="2.16.840.1.113883.6.1" codeSystemName="LOINC"/>
          <title>生命体征</title>
          <text><paragraph>体温 <content styleCode="Bold">36.8</content> ℃</paragraph><br/></text>
          <entry typeCode="COMP">
            <observation classCode="OBS" moodCode="EVN">
              <code code="DE04.10.186.00" codeSystem="2.16.156.10011.2.2.1"/>
              <effectiveTime value="20240305090000"/>
              <value xsi:type="PQ" value="36.8" unit="℃"/>
              <entryRelationship typeCode="COMP">
                <observation classCode="OBS" moodCode="EVN">
                  <code code="DE05.01.024.00" codeSystem="2.16.156.10011.2.2.1">
                    <qualifier><name displayName="诊断"/></qualifier>
                  </code>
                  <value xsi:type="CD" code="J06.9" codeSystem="2.16.156.10011.2.3.3.11"/>
                </observation>
              </entryRelationship>
            </observation>
          </entry>
          <entry>
            <organizer classCode="BATTERY" moodCode="EVN">
              <statusCode code="completed"/>
              <component>
                <observation classCode="OBS" moodCode="EVN">
                  <code code="DE04.10.118.00" codeSystem="2.16.156.10011.2.2.1"/>
                  <value xsi:type="IVL_PQ">
                    <low value="60" unit="mmHg"/><high value="90" unit="mmHg"/>
                  </value>
                </observation>
              </component>
            </organizer>
          </entry>
          <component>
            <section>
              <code code="10160-0" codeSystem="2.16.840.1.113883.6.1"/>
              <text/>
              <entry>
                <substanceAdministration classCode="SBADM" moodCode="RQO">
                  <text>口服</text>
                  <effectiveTime xsi:type="IVL_TS"><low value="20240305"/></effectiveTime>
                  <effectiveTime xsi:type="PIVL_TS" operator="A">
                    <period value="8" unit="h"/>
                  </effectiveTime>
                  <routeCode code="1" codeSystem="2.16.156.10011.2.3.1.158"/>
                  <doseQuantity value="0.25" unit="g"/>
                  <consumable>
                    <manufacturedProduct>
                      <manufacturedLabeledDrug>
                        <code code="TEST-DRUG" codeSystem="2.16.156.10011.2.3.3.99"/>
                        <name>测试片</name>
                      </manufacturedLabeledDrug>
                    </manufacturedProduct>
                  </consumable>
                  <entryRelationship typeCode="COMP">
                    <observation classCode="OBS" moodCode="EVN">
                      <code code="DE08.50.043.00" codeSystem="2.16.156.10011.2.2.1"/>
                      <value xsi:type="ST">片剂</value>
                    </observation>
                  </entryRelationship>
                </substanceAdministration>
              </entry>
            </section>
          </component>
        </section>
      </component>
    </structuredBody>
  </component>
</ClinicalDocument>
"""


def minimal_doc() -> etree._ElementTree:
    return etree.ElementTree(etree.fromstring(MINIMAL_DOC.encode("utf-8")))


def first(doc: etree._ElementTree, path: str) -> etree._Element:
    found = doc.getroot().xpath(path, namespaces=NS)
    assert found, f"test set-up: {path} not found"
    return found[0]


def add_after(anchor: etree._Element, xml: str) -> etree._Element:
    el = etree.fromstring(f'<wrap xmlns="{V3}" xmlns:xsi="{XSI}">{xml}</wrap>')[0]
    anchor.addnext(el)
    return el


# --------------------------------------------------------------------------------------
# the schema files themselves
# --------------------------------------------------------------------------------------
SCHEMA_FILES = ["CDA.xsd", "datatypes.xsd", "cda-header.xsd", "cda-body.xsd", "cn-extensions.xsd"]


def test_schema_compiles_with_lxml(lxml_schema):
    assert isinstance(lxml_schema, etree.XMLSchema)


def test_schema_compiles_with_xmlschema(xmlschema_schema):
    assert f"{{{V3}}}ClinicalDocument" in xmlschema_schema.maps.elements


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema_file_provenance_and_local_includes(name):
    path = SCHEMA_DIR / name
    text = path.read_text(encoding="utf-8")
    # first thing in the file is the provenance comment
    assert text.lstrip().startswith("<!--"), f"{name} must start with the provenance comment"
    head = text.split("-->", 1)[0]
    assert "Written by this project" in head
    assert "NOT a copy" in head
    assert "WS/T 500" in head
    tree = etree.parse(str(path))
    xs = "{http://www.w3.org/2001/XMLSchema}"
    assert not tree.getroot().findall(f"{xs}import"), f"{name}: no xs:import allowed"
    for inc in tree.getroot().findall(f"{xs}include"):
        loc = inc.get("schemaLocation")
        assert "/" not in loc and ":" not in loc, f"{name}: include must be a sibling file: {loc}"
        assert (SCHEMA_DIR / loc).is_file()


def test_only_narrative_block_is_open():
    """xs:any / xs:anyAttribute appear only in the narrative block type."""
    xs = "{http://www.w3.org/2001/XMLSchema}"
    owners = set()
    for name in SCHEMA_FILES:
        root = etree.parse(str(SCHEMA_DIR / name)).getroot()
        for wildcard in root.iter(f"{xs}any", f"{xs}anyAttribute"):
            owner = next(a for a in wildcard.iterancestors(f"{xs}complexType"))
            owners.add(owner.get("name"))
    assert owners == {"StrucDoc.Text"}


# --------------------------------------------------------------------------------------
# self-written documents: positive
# --------------------------------------------------------------------------------------
def test_minimal_document_validates(errors_of):
    assert errors_of(minimal_doc()) == []


def test_patient_with_chinese_extensions_validates(errors_of):
    doc = minimal_doc()
    birth = first(doc, "//v3:patient/v3:birthTime")
    add_after(birth, '<maritalStatusCode code="20" codeSystem="2.16.156.10011.2.3.3.5"/>')
    marital = first(doc, "//v3:patient/v3:maritalStatusCode")
    add_after(marital, '<ethnicGroupCode code="01" codeSystem="2.16.156.10011.2.3.3.3"/>')
    ethnic = first(doc, "//v3:patient/v3:ethnicGroupCode")
    add_after(
        ethnic,
        "<birthplace><place><addr><state>甲省</state><city>乙市</city></addr></place></birthplace>",
    )
    bp = first(doc, "//v3:patient/v3:birthplace")
    add_after(
        bp,
        '<occupation><occupationCode code="17" codeSystem="2.16.156.10011.2.3.3.13"/></occupation>',
    )
    add_after(
        bp,
        '<educationLevel><educationLevelCode code="20" codeSystem="2.16.156.10011.2.3.3.6"/>'
        "</educationLevel>",
    )
    add_after(bp, "<nativePlace><place><addr><state>丙省</state></addr></place></nativePlace>")
    add_after(bp, "<household><place><addr><county>丁县</county></addr></place></household>")
    add_after(
        bp,
        '<employerOrganization><name>测试公司</name><telecom value="tel:010-1"/>'
        "</employerOrganization>",
    )
    add_after(bp, '<age value="34" unit="岁"/>')
    add_after(bp, '<nationality code="156" codeSystem="2.16.156.10011.2.3.3.1"/>')
    # patientRole/patientType and a person with a professional title
    role_id = first(doc, "//v3:patientRole/v3:id")
    add_after(
        role_id,
        '<patientType><patienttypeCode code="1" codeSystem="2.16.156.10011.2.3.1.271"/>'
        "</patientType>",
    )
    la_name = first(doc, "//v3:legalAuthenticator//v3:assignedPerson/v3:name")
    add_after(
        la_name,
        '<professionalTechnicalPosition><professionaltechnicalpositionCode code="2" '
        'codeSystem="2.16.156.10011.2.3.1.209"/></professionalTechnicalPosition>',
    )
    assert errors_of(doc) == []


def test_patient_age_and_occupation_only(errors_of):
    doc = minimal_doc()
    birth = first(doc, "//v3:patient/v3:birthTime")
    occ = add_after(
        birth,
        '<occupation><occupationCode code="90" codeSystem="2.16.156.10011.2.3.3.13"/></occupation>',
    )
    occ.addprevious(etree.fromstring(f'<age xmlns="{V3}" value="3" unit="月"/>'))
    assert errors_of(doc) == []


def test_null_flavors_accepted_on_data_types(errors_of):
    doc = minimal_doc()
    set_id = first(doc, "/v3:ClinicalDocument/v3:setId")
    set_id.attrib.clear()
    set_id.set("nullFlavor", "NI")
    value = first(doc, "//v3:section/v3:entry/v3:observation/v3:value")
    for k in list(value.attrib):
        if k != f"{{{XSI}}}type":
            del value.attrib[k]
    value.set("nullFlavor", "UNK")
    assert errors_of(doc) == []


# --------------------------------------------------------------------------------------
# self-written documents: negative
# --------------------------------------------------------------------------------------
def _assert_rejected(errors: list[str], *words: str) -> None:
    assert errors, "document must be rejected"
    joined = " ".join(errors)
    for w in words:
        assert w in joined, f"expected {w!r} in {errors}"


def test_header_out_of_order_title_before_code(errors_of):
    doc = minimal_doc()
    code = first(doc, "/v3:ClinicalDocument/v3:code")
    title = first(doc, "/v3:ClinicalDocument/v3:title")
    code.addprevious(title)  # moves title
    _assert_rejected(errors_of(doc), "title")


def test_missing_required_code(errors_of):
    doc = minimal_doc()
    code = first(doc, "/v3:ClinicalDocument/v3:code")
    code.getparent().remove(code)
    _assert_rejected(errors_of(doc), "code")


def test_unknown_element_in_patient(errors_of):
    doc = minimal_doc()
    add_after(first(doc, "//v3:patient/v3:birthTime"), "<favouriteColour>蓝</favouriteColour>")
    _assert_rejected(errors_of(doc), "favouriteColour")


def test_second_custodian(errors_of):
    doc = minimal_doc()
    custodian = first(doc, "/v3:ClinicalDocument/v3:custodian")
    custodian.addnext(copy.deepcopy(custodian))
    _assert_rejected(errors_of(doc), "custodian")


def test_missing_record_target(errors_of):
    doc = minimal_doc()
    rt = first(doc, "/v3:ClinicalDocument/v3:recordTarget")
    rt.getparent().remove(rt)
    _assert_rejected(errors_of(doc), "author")


def test_chinese_extensions_out_of_order(errors_of):
    doc = minimal_doc()
    birth = first(doc, "//v3:patient/v3:birthTime")
    add_after(birth, '<age value="34" unit="岁"/>')
    add_after(
        birth, '<occupation><occupationCode code="17"/></occupation>'
    )  # occupation before age
    _assert_rejected(errors_of(doc), "age")


def test_unknown_element_in_body_observation(errors_of):
    doc = minimal_doc()
    add_after(first(doc, "//v3:section/v3:entry/v3:observation/v3:value"), "<remark>x</remark>")
    _assert_rejected(errors_of(doc), "remark")


def test_observation_value_needs_xsi_type(errors_of):
    doc = minimal_doc()
    value = first(doc, "//v3:section/v3:entry/v3:observation/v3:value")
    del value.attrib[f"{{{XSI}}}type"]
    assert errors_of(doc), "abstract ANY value without xsi:type must be rejected"


def test_xsi_type_must_derive_from_declared_type(errors_of):
    doc = minimal_doc()
    # the document effectiveTime is declared TS; CD is not derived from TS
    first(doc, "/v3:ClinicalDocument/v3:effectiveTime").set(f"{{{XSI}}}type", "CD")
    assert errors_of(doc)


def test_cs_data_type_has_no_code_system(errors_of):
    doc = minimal_doc()
    first(doc, "/v3:ClinicalDocument/v3:languageCode").set("codeSystem", "2.16.840.1.113883.6.121")
    _assert_rejected(errors_of(doc), "codeSystem")


def test_clinical_statement_order_in_substance_administration(errors_of):
    doc = minimal_doc()
    sbadm = first(doc, "//v3:substanceAdministration")
    consumable = first(doc, "//v3:substanceAdministration/v3:consumable")
    sbadm.insert(0, consumable)  # consumable before text
    assert errors_of(doc)


# --------------------------------------------------------------------------------------
# third-party sample package (read-only, outside the repository)
# --------------------------------------------------------------------------------------
EXPECTED_FAILING = "C0040-住院病程记录疑难病例讨论记录.xml"


def _samples() -> list[Path]:
    if not SAMPLES_DIR.is_dir():
        pytest.skip(
            f"WS/T 500 sample package not found at {SAMPLES_DIR} (it is not part of the repository)"
        )
    files = sorted(SAMPLES_DIR.glob("*.xml"))
    if len(files) != 53:
        pytest.skip(
            f"expected the 53-document WS/T 500 sample package in {SAMPLES_DIR}, "
            f"found {len(files)} files"
        )
    return files


def test_samples_52_of_53_validate(lxml_schema):
    files = _samples()
    failing = {}
    for f in files:
        doc = etree.parse(str(f))
        if not lxml_schema.validate(doc):
            failing[f.name] = [e.message for e in lxml_schema.error_log]
    assert list(failing) == [EXPECTED_FAILING], failing
    assert len(files) - len(failing) == 52


def test_sample_c0040_fails_with_one_order_error(lxml_schema):
    files = _samples()
    path = next(f for f in files if f.name == EXPECTED_FAILING)
    assert not lxml_schema.validate(etree.parse(str(path)))
    errors = list(lxml_schema.error_log)
    assert len(errors) == 1, [e.message for e in errors]
    msg = errors[0].message
    assert "componentOf" in msg and "This element is not expected" in msg
    assert "Expected is ( {urn:hl7-org:v3}component )" in msg


@pytest.mark.slow
def test_samples_xmlschema_agrees(xmlschema_schema):
    files = _samples()
    failing = {}
    for f in files:
        errors = list(xmlschema_schema.iter_errors(str(f)))
        if errors:
            failing[f.name] = [str(e.reason) for e in errors]
    assert list(failing) == [EXPECTED_FAILING], failing
    assert len(failing[EXPECTED_FAILING]) == 1
