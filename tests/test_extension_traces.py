"""Extension traces: what the redesign promised an extender, made and used end to end.

Each trace copies the shipped ``standards/`` to a temporary folder, extends the copy with data
only (plus, for the third, one rule class defined here), and shows the tool's real loaders and
engines use the extension when given that root. Each test first checks that the copy differs
from the shipped folder in exactly the files its docstring lists: nothing else was needed.

The traces found two engine gaps, fixed since: the HL7 V3 message validator read the shipped
service catalogs whatever the validator's ``standards_dir`` (it now reads its catalog's root),
and a rule class outside ``conformance/scoring/rules/`` had no public registration (now
``register`` / ``unregister``, the definition schema keyed on the registry's version).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from lxml import etree

from conformance.catalog import HL7_NS, load_catalog
from conformance.hl7v3.builder import MessageBuilder
from conformance.hl7v3.services import load_services
from conformance.platform.engine import Platform
from conformance.resources import data_root, standards_dir
from conformance.scoring import definition as definition_module
from conformance.scoring.api import resolve_definition, score_folder
from conformance.scoring.questionnaire import QuestionnaireError, load_questionnaire, write_template
from conformance.scoring.rating import BIG, ItemRating
from conformance.scoring.rules import RuleType, register, rule_type, rule_types, unregister
from conformance.synth import Synthesizer
from conformance.validate import Validator, ValidatorOptions

from .test_scoring_support import write_questionnaire

if TYPE_CHECKING:
    from conformance.scoring.engine import Evaluation
    from conformance.scoring.model import Definition, Item
    from conformance.scoring.problems import ItemScope
    from conformance.scoring.questionnaire import Answer, AnswerReader
    from conformance.yamlio import LineDict

REPO = Path(__file__).resolve().parents[1]
H = f"{{{HL7_NS}}}"


@pytest.fixture()
def standards(tmp_path: Path) -> Path:
    """A private copy of the shipped standards/ to extend."""
    root = tmp_path / "standards"
    shutil.copytree(standards_dir(), root)
    return root


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file()}


def touched(root: Path) -> set[str]:
    """The files of the copy that are new or differ from the shipped standards/."""
    shipped = _digests(standards_dir())
    return {name for name, digest in _digests(root).items() if shipped.get(name) != digest}


# ------------------------------------------------------------------- 1. a new document type

NEW_CODE = "C0054"
NEW_NAME = "测试扩展文档"
NEW_TEMPLATE_ID = "2.16.156.10011.2.1.1.999"


def add_document_type(root: Path) -> None:
    """C0054, a fictional WS/T 500 document type: C0001's header and sections under a new
    identity, and its code in the document code system's value set."""
    base = yaml.safe_load((root / "cda" / "wst500" / "C0001.yaml").read_text(encoding="utf-8"))
    base.pop("ws445_group", None)      # a fictional type belongs to no WS 445 data-set part
    base.update(id=NEW_CODE, code=NEW_CODE, name=NEW_NAME, part=54, status="provisional",
                name_en="Extension trace document (fictional)", template_id=NEW_TEMPLATE_ID,
                standard="extension trace (fictional)",
                provenance={"identity": [], "structure": [],
                            "note": "fictional: tests/test_extension_traces.py; structure of C0001"})
    text = ("# FICTIONAL document type written by tests/test_extension_traces.py (not a standard)\n"
            + yaml.safe_dump(base, allow_unicode=True, sort_keys=False))
    (root / "cda" / "wst500" / f"{NEW_CODE}.yaml").write_text(text, encoding="utf-8")
    vs = root / "vocabulary" / "value-sets.yaml"
    old = vs.read_text(encoding="utf-8")
    last = "    C0053: 出院小结\n"
    assert last in old
    vs.write_text(old.replace(last, f"{last}    {NEW_CODE}: {NEW_NAME}\n", 1), encoding="utf-8")


def example_as_new_type() -> bytes:
    """The shipped C0001 example document, recoded as C0054."""
    (path,) = (data_root() / "test_cases" / "documents" / "wst500").glob("EMR-SD-01-*.xml")
    data = path.read_bytes()
    for old, new in ((b'code="C0001"', f'code="{NEW_CODE}"'.encode()),
                     (b'<templateId root="2.16.156.10011.2.1.1.21"/>',
                      f'<templateId root="{NEW_TEMPLATE_ID}"/>'.encode()),
                     ("<title>病历概要</title>".encode(), f"<title>{NEW_NAME}</title>".encode())):
        assert data.count(old) == 1, old
        data = data.replace(old, new)
    return data


@pytest.mark.slow
def test_trace_new_document_type(standards: Path) -> None:
    """Files touched: standards/cda/wst500/C0054.yaml (new),
    standards/vocabulary/value-sets.yaml (the code C0054 in the document code system; the
    validator does not need it, `standards show 2.16.156.10011.2.4` lists it)."""
    add_document_type(standards)
    assert touched(standards) == {"cda/wst500/C0054.yaml", "vocabulary/value-sets.yaml"}

    # the catalog knows it (what `conformance standards show C0054` prints)
    cat = load_catalog(str(standards))
    doc = cat.document_for(NEW_CODE)
    assert doc is not None and doc.name == NEW_NAME and doc.template_id == NEW_TEMPLATE_ID
    assert cat.by_template[NEW_TEMPLATE_ID] is doc and doc.raw["code"] == NEW_CODE
    assert doc in cat.templates() and len(doc.sections) == len(cat.documents["C0001"].sections)
    assert cat.value_sets["2.16.156.10011.2.4"].codes[NEW_CODE] == NEW_NAME

    # a shipped example recoded as C0054: recognised and valid under the extended standards
    data = example_as_new_type()
    result = Validator(ValidatorOptions(standards_dir=str(standards))).validate_bytes(data, "c0054.xml")
    assert (result.document_type, result.document_name) == (NEW_CODE, NEW_NAME)
    assert result.errors == 0, [(f.rule, f.message) for f in result.findings]
    assert result.layers["template"] == "ran"
    # ... and unknown to the shipped standards
    shipped = Validator(ValidatorOptions()).validate_bytes(data, "c0054.xml")
    assert shipped.document_type is None and not shipped.valid
    assert "CDA.DOCUMENT_TYPE_UNKNOWN" in {f.rule for f in shipped.findings}
    assert load_catalog().document_for(NEW_CODE) is None

    # the example generator (`conformance examples`) writes one from the new template
    synth = Synthesizer(cat)
    made = synth.document_bytes(doc, 1, synth.person(1))
    root = etree.fromstring(made)
    assert root.find(f"{H}code").get("code") == NEW_CODE
    again = Validator(ValidatorOptions(standards_dir=str(standards))).validate_bytes(made, "gen.xml")
    assert again.document_type == NEW_CODE and again.errors == 0


@pytest.mark.slow
def test_trace_new_document_type_through_the_cli(tmp_path: Path, standards: Path) -> None:
    """The same extension through the command line: CONFORMANCE_DATA_DIR names a data root whose
    standards/ is the extended copy (the CLI has no --standards-dir). Files touched: as above."""
    add_document_type(standards)
    doc = tmp_path / "c0054.xml"
    doc.write_bytes(example_as_new_type())
    env = {**os.environ, "CONFORMANCE_DATA_DIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    code = ("import sys; from conformance.cli import main; "
            "main(sys.argv[1:], prog_name='conformance', standalone_mode=True)")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, encoding="utf-8", timeout=120)

    shown = cli("standards", "show", NEW_CODE, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["template_id"] == NEW_TEMPLATE_ID
    checked = cli("validate", str(doc), "--format", "json", "--no-progress")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert NEW_CODE in checked.stdout and NEW_NAME in checked.stdout


# ---------------------------------------------- 2. a new interaction service, existing shape

NEW_ACTION = "ExtPatientInfoQuery"
NEW_SERVICE_NAME = "测试扩展个人信息查询服务"
SERVICE_ENTRY = f"""\
# FICTIONAL service written by tests/test_extension_traces.py: a second patient query on the
# existing person-query shape and interaction (PRPA_IN201305UV02 → PRPA_IN201306UV02)
- action: {NEW_ACTION}
  name: {NEW_SERVICE_NAME}
  name_en: Extension trace patient query (fictional)
  category: 个人信息注册、查询服务
  level_status: provisional
  kind: query
  op: query
  entity: patient
  shape: person-query
  request: {{root: PRPA_IN201305UV02, interaction_id: PRPA_IN201305UV02}}
  response: {{root: PRPA_IN201306UV02}}
  vars: {{id_root: 2.16.156.10011.2.5.1.4, patient_entity: patient}}
  provenance:
    status: provisional
    note: fictional (extension trace)
"""


def add_service(root: Path, entry: str = SERVICE_ENTRY) -> None:
    path = root / "services" / "hospital.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.rstrip().splitlines()[-1].startswith("    "), "services: is the last key"
    path.write_text(text.rstrip("\n") + "\n" + entry, encoding="utf-8")


@pytest.mark.slow
def test_trace_new_service_on_an_existing_shape(standards: Path) -> None:
    """Files touched: standards/services/hospital.yaml (one service entry appended; the shape
    person-query of services/shapes.yaml and the message template it names are reused)."""
    add_service(standards)
    assert touched(standards) == {"services/hospital.yaml"}

    cat = load_services("hospital", str(standards))
    svc = cat.get(NEW_ACTION)
    assert svc is not None and svc.name == NEW_SERVICE_NAME and svc.shape == "person-query"
    assert svc.kind == "query" and svc.query is not None and svc.provisional
    assert len(cat.services) == len(load_services("hospital").services) + 1
    assert load_services("hospital").get(NEW_ACTION) is None      # the shipped catalog is untouched

    # the message builder builds its request from the reused shape
    builder = MessageBuilder("hospital", cat)
    request = builder.build_request(NEW_ACTION, {"index": 3})
    root = etree.fromstring(request)
    assert etree.QName(root).localname == "PRPA_IN201305UV02"
    assert any(k.value(root) == "P00000003" for k in svc.query.keys)
    assert svc in cat.candidates(root)

    # the validator over the same standards accepts it
    validator = Validator(ValidatorOptions(standards_dir=str(standards)))
    checked = validator.validate_bytes(request, "request.xml")
    assert checked.document_type == "PRPA_IN201305UV02"
    assert checked.errors == 0, [(f.rule, f.message) for f in checked.findings]

    # the platform over the extended catalog answers it AA, as the new service
    platform = Platform(services=cat)
    try:
        register = builder.build_request("PatientInfoRegister", {"index": 3})
        assert platform.handle(register, "PatientInfoRegister").ack == "AA"
        out = platform.handle(request, NEW_ACTION)
        assert out.ack == "AA", out.detail
        assert out.service is not None and out.service.action == NEW_ACTION
        answer = etree.fromstring(out.response)
        assert etree.QName(answer).localname == "PRPA_IN201306UV02"
        assert answer.find(f"{H}acknowledgement/{H}targetMessage/{H}id").get("extension") \
            == root.find(f"{H}id").get("extension")
        assert "P00000003" in out.response.decode("utf-8")
        assert validator.validate_bytes(out.response, "answer.xml").errors == 0
        # the shipped catalog's platform does not know the action
        shipped = Platform("hospital")
        try:
            assert shipped.handle(request, NEW_ACTION).ack == "AR"
        finally:
            shipped.close()
    finally:
        platform.close()


@pytest.mark.slow
def test_validator_sees_a_new_interaction_of_its_standards_root(standards: Path) -> None:
    """Files touched: standards/services/hospital.yaml (the same fictional service, under an
    interaction id no shipped service uses)."""
    add_service(standards, SERVICE_ENTRY.replace("{root: PRPA_IN201305UV02, interaction_id: "
                                                 "PRPA_IN201305UV02}",
                                                 "{root: PRPA_IN201305UV99, interaction_id: "
                                                 "PRPA_IN201305UV99}"))
    cat = load_services("hospital", str(standards))
    request = MessageBuilder("hospital", cat).build_request(NEW_ACTION, {"index": 3})
    assert etree.QName(etree.fromstring(request)).localname == "PRPA_IN201305UV99"
    platform = Platform(services=cat)
    try:
        assert platform.handle(request, NEW_ACTION).service.action == NEW_ACTION
    finally:
        platform.close()
    checked = Validator(ValidatorOptions(standards_dir=str(standards))).validate_bytes(request, "r.xml")
    assert "V3.ROOT_UNKNOWN" not in {f.rule for f in checked.findings}


# ------------------------------------------- 3. a new index system with a new rule type

class ShareRule(RuleType):
    """Rule ``trace_share`` (fictional, this test only): an item earning its points in
    proportion to a reported share — ``done`` of ``total`` — full points from ``full_at`` on;
    met (and meeting its level) from ``full_at`` on."""

    name = "trace_share"
    fields = {"full_at": {"type": "number", "exclusiveMinimum": 0}}
    needs = frozenset({"points", "full_at"})
    accepts = frozenset({"level"})
    answer_keys = frozenset({"done", "total"})
    shorthand = "done"

    def compile(self, scope: ItemScope, item: Item) -> None:
        item.spec = {"full_at": float(scope.raw["full_at"])}

    def top_points(self, item: Item) -> float | None:
        return float(item.points or 0.0)

    def read(self, reader: AnswerReader, item: Item, raw: LineDict, ans: Answer) -> None:
        done = reader.number(item.code, "done", raw.get("done"), raw.line_of("done"))
        total = reader.number(item.code, "total", raw.get("total"), raw.line_of("total"))
        if done is None or total is None:
            return
        if total == 0 or done > total:
            reader.err(raw.line_of("done"), "score.q.bad_value", code=item.code, field="done",
                       got=done, allowed=f"0–{total:g}")
            return
        ans.value, ans.answered = {"done": done, "total": total}, True

    def question(self, item: Item, d: Definition, lang: str) -> list[str]:
        return ["    done:", "    total:"]

    def judge(self, e: Evaluation, item: Item, ans: Answer) -> ItemRating:
        share = ans.value["done"] / ans.value["total"]
        full_at = item.spec["full_at"]
        earned = round(float(item.points or 0.0) * min(1.0, share / full_at), 2)
        met = share >= full_at
        return ItemRating(item, "met" if met else "not_met", earned, BIG if met else -1,
                          answer=dict(ans.value),
                          reasons=[f"{share:.0%} of {full_at:.0%} → {earned:g}"])

    def explain(self, item: Item, d: Definition, lang: str) -> str:
        return f"points × share / {item.spec['full_at']:.0%}"


@pytest.fixture()
def share_rule() -> Iterator[type[ShareRule]]:
    """ShareRule in the rule registry for one test, then gone (the registry is per process):
    ``conformance.scoring.rules.register`` / ``unregister``; the definition schema follows."""
    before = set(rule_types())
    register(ShareRule)
    try:
        yield ShareRule
    finally:
        unregister(ShareRule.name)
        assert set(rule_types()) == before


INDEX_SYSTEM = """\
# FICTIONAL index system written by tests/test_extension_traces.py (not a real city's scheme)
schema: conformance-assessment/1
id: trace-city-2026
name: 测试市基层卫生信息化指数（扩展示例）
name_en: Trace city primary-care informatization index (fictional)
profile: hospital
edition: 2026
status: provisional
sources:
  trace:
    title: extension trace fixture
    kind: fixture
    status: provisional
default_source: [trace]
levels:
  - {id: pass, name: 达标, en: Pass}
level_rule:
  type: all_required
  status: provisional
  description: {zh: 达标：两项门槛指标满足。, en: 'Pass: both gating items are met.'}
dimensions:
  - {id: "1", name: 基层互联, name_en: Primary-care connectivity, max: 30}
  - {id: "2", name: 基础条件, name_en: Infrastructure, max: 10}
items:
  - code: "1.1"
    dimension: "1"
    text: 社区卫生服务中心接入区域平台的比例
    rule: trace_share
    points: 20
    full_at: 0.8
    level: pass
  - code: "1.2"
    dimension: "1"
    text: 家庭医生签约数据上传率
    rule: trace_share
    points: 10
    full_at: 1
  - code: "2.1"
    dimension: "2"
    text: 建有区域数据中心
    rule: yes_no
    points: 10
    level: pass
"""


def test_trace_new_index_system_with_a_new_rule_type(
        standards: Path, tmp_path: Path, share_rule: type[ShareRule]) -> None:
    """Files touched: standards/assessment/trace-city-2026.yaml (new); one class, ShareRule,
    defined in this module and registered for the test."""
    path = standards / "assessment" / "trace-city-2026.yaml"
    path.write_text(INDEX_SYSTEM, encoding="utf-8")
    assert touched(standards) == {"assessment/trace-city-2026.yaml"}
    assert rule_type("trace_share") is rule_types()["trace_share"]

    d = resolve_definition(assessment=path)                    # `conformance score --assessment`
    assert d.id == "trace-city-2026" and [i.rule for i in d.items] == ["trace_share"] * 2 + ["yes_no"]
    assert d.items[0].spec == {"full_at": 0.8}
    template, _, _ = write_template(d, "en")                   # `conformance init`
    assert "done:" in template and "total:" in template

    def scored(name: str, answers: dict[str, Any]) -> dict[str, Any]:
        q = load_questionnaire(write_questionnaire(tmp_path / f"{name}.yaml", d, answers), d)
        outcome = score_folder([], d, q, lang="en", write=False)
        return {"total": outcome.score.total, "level": outcome.rating.level,
                **{i.code: i for i in outcome.score.indicators}}

    # 12 of 20 centres (60 %, full points from 80 %): 20 × 0.6 / 0.8 = 15, not met; 45 of 50
    # uploads (90 %, full from 100 %): 9
    low = scored("low", {"1.1": {"done": 12, "total": 20}, "1.2": {"done": 45, "total": 50},
                         "2.1": "yes"})
    assert (low["1.1"].rule, low["1.1"].points, low["1.1"].status) == ("trace_share", 15, "not_met")
    assert low["1.1"].reasons == ["60% of 80% → 15"]
    assert (low["1.2"].points, low["2.1"].points) == (9, 10)
    assert low["total"] == 34 and low["level"] is None          # 1.1 gates the level
    high = scored("high", {"1.1": {"done": 18, "total": 20}, "1.2": {"done": 45, "total": 50},
                           "2.1": "yes"})
    assert (high["1.1"].points, high["1.1"].status) == (20, "met")
    assert high["total"] == 39 and high["level"].id == "pass"
    # a wrong answer is refused at its line by the rule's own reader
    with pytest.raises(QuestionnaireError, match=r"bad\.yaml:\d+: item 1\.1: done = 30"):
        scored("bad", {"1.1": {"done": 30, "total": 20}})


def test_the_shipped_registry_does_not_know_the_trace_rule() -> None:
    """The fixture leaves nothing behind (also true when run after the trace)."""
    assert "trace_share" not in rule_types()
    enum = definition_module.definition_schema()["properties"]["items"]["items"]["properties"]
    assert "trace_share" not in enum["rule"]["enum"]
