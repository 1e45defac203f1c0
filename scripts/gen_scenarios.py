"""Generate the per-service scenario suites (test_cases/<profile>/services.yaml) and the
document workflow suite from the service catalog and the document catalog.

The suites are data: this script only writes them (run it again after the catalogs change;
tests/test_harness_scenarios.py checks the committed files are current). For every service it
writes a positive case (…-T01: the preparation the service needs, then the service, expecting
AA and checking content) and a negative case (…-F01: the request the platform must refuse with
AE/AR). Hand-written workflows live beside them (workflows.yaml).

    python scripts/gen_scenarios.py
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from conformance.catalog import load_catalog  # noqa: E402
from conformance.hl7v3.services import Service, ServiceCatalog, load_services, to_xpath  # noqa: E402

OUT = ROOT / "test_cases"
DOC_PATH = "string(//hl7:storageCode/hl7:originalText/@value)"


def _abs(path: str) -> str:
    return "/*/" + to_xpath(path)


def _adder(cat: ServiceCatalog, entity: str) -> Service | None:
    return next((s for s in cat.services if s.entity == entity and s.op == "add"), None)


def _putter(cat: ServiceCatalog, entity: str) -> Service | None:
    return next((s for s in cat.services if s.entity == entity and s.op == "put"), None)


def _put_target(svc: Service) -> str | None:
    return next((r.entity for r in svc.references if r.entity and r.entity not in (
        "patient", "resident")), None)


def _prepare(cat: ServiceCatalog, svc: Service, seen: set[str] | None = None) -> list[dict[str, Any]]:
    """Steps that create what the service refers to (patients, orders, schedules …)."""
    seen = seen if seen is not None else set()
    steps: list[dict[str, Any]] = []
    for ref in svc.references:
        ent = ref.entity
        if not ent or ent in seen or ent == svc.entity:
            continue
        add = _adder(cat, ent)
        if add is None:
            continue
        seen.add(ent)
        steps.extend(_prepare(cat, add, seen))
        step: dict[str, Any] = {"id": f"prepare-{ent}", "service": add.action, "setup": True}
        if add.key is not None:
            step["extract_request"] = {f"key_{ent}": f"string({_abs(add.key.paths[0])})"}
        steps.append(step)
    return steps


def _content_checks(svc: Service, key_var: str = "key") -> list[dict[str, Any]]:
    if svc.entity in ("patient", "resident"):
        return [{"xpath_contains": {"path": "//hl7:item/@extension | //hl7:id/@extension",
                                    "value": "{{ patient_key }}"}}]
    return [{"xpath_contains": {"path": "//@extension", "value": f"{{{{ {key_var} }}}}"}}]


def case_id(svc: Service, suffix: str, profile: str) -> str:
    n = svc.test_number or svc.order
    prefix = "EMR-PL" if profile == "hospital" else "EHR-PL"
    return f"{prefix}-{n:02d}-{svc.name}-{suffix}"


def positive(cat: ServiceCatalog, svc: Service) -> dict[str, Any]:
    steps = _prepare(cat, svc)
    main: dict[str, Any] = {"id": "main", "service": svc.action}
    if svc.op in ("update", "query"):
        add = _adder(cat, svc.entity) or _putter(cat, svc.entity)
        if add is not None and add.action != svc.action:
            steps.extend(_prepare(cat, add, {s["id"][8:] for s in steps}))
            prep = {"id": f"prepare-{svc.entity}", "service": add.action, "setup": True}
            if add.op == "put":
                target = _put_target(add)
                prep["vars"] = {"key": f"{{{{ key_{target} }}}}"}
            if add.key is not None:
                prep["extract_request"] = {"key": f"string({_abs(add.key.paths[0])})"}
            steps.append(prep)
            if add.key is not None:
                main["vars"] = {"key": "{{ key }}"}
    elif svc.op == "merge":
        add = _adder(cat, svc.entity)
        steps.append({"id": "prepare-survivor", "service": add.action, "setup": True,
                      "extract_request": {"survivor": f"string({_abs(add.key.paths[0])})"}})
        steps.append({"id": "prepare-merged", "service": add.action, "setup": True,
                      "vars": {"index": "{{ index + 1 }}"},
                      "extract_request": {"merged": f"string({_abs(add.key.paths[0])})"}})
        main["vars"] = {"key": "{{ survivor }}", "merged_key": "{{ merged }}"}
    elif svc.op == "put":
        target = _put_target(svc)
        if target:
            main["vars"] = {"key": f"{{{{ key_{target} }}}}"}
    elif svc.op == "node_verify":
        org = _adder(cat, svc.entity)
        steps.append({"id": "prepare-node", "service": org.action, "setup": True,
                      "extract_request": {"node": f"string({_abs(org.key.paths[0])})"}})
        main["vars"] = {"key": "{{ node }}"}
    elif svc.op == "notifications":
        sub = _adder(cat, "subscription")
        store = next(s for s in cat.services if s.doc_content and s.op == "add")
        steps.extend(_prepare(cat, sub))
        steps.append({"id": "prepare-subscription", "service": sub.action, "setup": True,
                      "vars": {"sender": "SUB{{ uid }}", "doc_filter": "*"}})
        steps.append({"id": "prepare-publication", "service": store.action, "setup": True})
        main["vars"] = {"key": "SUB{{ uid }}", "sender": "SUB{{ uid }}"}
        main["checks"] = [{"xpath_count": {"path": "count(//hl7:controlActProcess/hl7:subject)",
                                           "value": 1}}]
    if svc.doc_content:
        main["extract_request"] = {"sent_document": DOC_PATH}
    if svc.op == "query":
        if svc.entity in ("patient", "resident"):
            steps[-1].setdefault("extract_request", {})["patient_key"] = (
                f"string({_abs(_adder(cat, svc.entity).key.paths[0])})")
            main["checks"] = _content_checks(svc)
        elif svc.entity in ("document", "health_record") or svc.entity.endswith("_result"):
            main["checks"] = [{"document": {"path": DOC_PATH}}]
        elif svc.query is not None and svc.op == "query" and steps:
            main["checks"] = _content_checks(svc)
    steps.append(main)
    return {"id": case_id(svc, "T01", cat.profile), "service": svc.action, "kind": "positive",
            "title": f"{svc.name}（正例）", "steps": steps}


def negative(cat: ServiceCatalog, svc: Service) -> dict[str, Any] | None:
    """A request the platform must refuse: a required element removed, an unknown record or an
    unregistered reference."""
    steps: list[dict[str, Any]] = []
    main: dict[str, Any] = {"id": "main", "service": svc.action}
    if svc.op == "add" and svc.required:
        steps = _prepare(cat, svc)
        main["mutate"] = [{"remove": _abs(svc.required[0].paths[0]).rsplit("/@", 1)[0]}]
        why = f"缺少必需项：{svc.required[0].name.get('zh', '')}"
    elif svc.op == "add" and any(r.required for r in svc.references):
        why = "引用了未注册的记录（未先登记患者等）"
    elif svc.op == "add" and svc.key is not None:
        main["mutate"] = [{"remove": _abs(svc.key.paths[0]).rsplit("/@", 1)[0]}]
        why = "缺少业务标识"
    elif svc.op in ("update", "put"):
        steps = _prepare(cat, svc) if svc.op == "update" else [
            s for s in _prepare(cat, svc) if s["id"] in ("prepare-patient", "prepare-resident")]
        main["vars"] = {"key": "NOT-REGISTERED-{{ uid }}"}
        why = "更新不存在的记录"
    elif svc.op == "merge":
        main["vars"] = {"key": "NOT-REGISTERED-{{ uid }}", "merged_key": "ALSO-UNKNOWN-{{ uid }}"}
        why = "合并不存在的患者"
    elif svc.op == "query" and svc.query is not None:
        main["vars"] = {"key": "NOT-REGISTERED-{{ uid }}"}
        why = "查询不存在的记录"
    elif svc.op == "node_verify":
        main["vars"] = {"key": "NOT-REGISTERED-{{ uid }}", "organization_id": "NOT-REGISTERED-{{ uid }}"}
        why = "未注册节点的校验"
    else:
        return None
    steps.append(main)
    return {"id": case_id(svc, "F01", cat.profile), "service": svc.action, "kind": "negative",
            "title": f"{svc.name}（反例：{why}）", "steps": steps}


def services_suite(profile: str) -> dict[str, Any]:
    cat = load_services(profile)
    cases = []
    for svc in sorted(cat.services, key=lambda s: (s.test_number or s.order, s.order)):
        cases.append(positive(cat, svc))
        neg = negative(cat, svc)
        if neg:
            cases.append(neg)
    title = ({"zh": "医院信息平台交互服务：逐服务正例与反例",
              "en": "Hospital platform services: positive and negative case per service"}
             if profile == "hospital" else
             {"zh": "区域卫生信息平台交互服务（WS/T 790）：逐服务正例与反例（用例编号为本项目约定，暂定）",
              "en": "Regional platform services (WS/T 790): positive and negative case per service "
                    "(case numbering is this project's convention, provisional)"})
    return {"suite": f"{profile}-services", "profile": profile, "version": "2026.11",
            "title": title, "generated_by": "scripts/gen_scenarios.py", "cases": cases}


def documents_suite() -> dict[str, Any]:
    """Register every WS/T 500 document type, access it by id, retrieve it by patient: the
    returned CDA is byte-identical to the registered one and passes the validator."""
    docs = [d for d in load_catalog().templates() if d.family == "wst500"]
    cat = load_services("hospital")
    reg = cat.get("DocumentRegiste")
    key_path = f"string({_abs(reg.key.paths[0])})"
    cases = []
    for d in docs:
        cases.append({
            "id": f"WF-DOC-{d.code}-{d.name}", "service": "DocumentRegiste", "kind": "workflow",
            "title": f"文档 {d.code} {d.name}：注册 → 按流水号调阅 → 按患者检索",
            "vars": {"doc_code": d.code},
            "steps": [
                {"id": "register-patient", "service": "PatientInfoRegister", "setup": True},
                {"id": "register", "service": "DocumentRegiste", "vars": {"doc_code": "{{ doc_code }}"},
                 "extract_request": {"sent_document": DOC_PATH, "doc_key": key_path}},
                {"id": "access", "service": "DocumentAccess",
                 "vars": {"key": "{{ doc_key }}", "doc_code": "{{ doc_code }}"},
                 "checks": [{"document": {"path": DOC_PATH, "identical_to": "sent_document"}}]},
                {"id": "retrieve", "service": "DocumentRetrieve",
                 "vars": {"by": "patient", "doc_code": "{{ doc_code }}"},
                 "checks": [{"document": {"path": DOC_PATH, "identical_to": "sent_document"}}]},
            ]})
    return {"suite": "hospital-documents", "profile": "hospital", "version": "2026.11",
            "title": {"zh": "电子病历共享文档：53 类文档注册、调阅、检索",
                      "en": "EMR shared documents: register, access and retrieve all 53 types"},
            "generated_by": "scripts/gen_scenarios.py", "cases": cases}


def dump(doc: dict[str, Any]) -> str:
    head = ("# Generated by scripts/gen_scenarios.py from standards/services/ and standards/cda/.\n"
            "# Edit the generator (or the catalogs), not this file.\n")
    return head + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=110)


def outputs() -> dict[Path, str]:
    return {OUT / "hospital" / "services.yaml": dump(services_suite("hospital")),
            OUT / "regional" / "services.yaml": dump(services_suite("regional")),
            OUT / "hospital" / "documents.yaml": dump(documents_suite())}


def main() -> None:
    for path, text in outputs().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
