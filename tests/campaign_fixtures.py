"""Synthetic campaigns for the tests and benchmarks/bench_campaign.py: run folders made from the
fixture run (tests/fixtures/runs/current) through the codecs — every case passing, every
document valid, every indicator met — and then the failures asked for, sealed like a real
folder. No assessment is run."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

from conformance.model import Finding, Status
from conformance.model.common import ToolStamp
from conformance.model.folder import RunFolder
from conformance.model.quality import (
    QualityDefinition,
    QualityExample,
    QualityFigure,
    QualityFigures,
    QualityIssue,
    QualityResults,
)
from conformance.model.run import CheckResult, RunSummary
from conformance.model.score import Gap, GapItem

BASE = Path(__file__).resolve().parent / "fixtures" / "runs" / "current"
TOOL = ToolStamp(name="conformance", version="0.1.0", ruleset="test")
GOV = [("conformity", "规范性"), ("completeness", "完整性"), ("accuracy", "准确性"),
       ("timeliness", "及时性"), ("linkage", "关联性"), ("usefulness", "实用性")]
EMR = [("consistency", "一致性"), ("completeness", "完整性"), ("integration", "整合性"),
       ("timeliness", "及时性")]
_BASE_CACHE: dict[str, Any] = {}


def _base() -> dict[str, Any]:
    if not _BASE_CACHE:
        f = RunFolder(BASE)
        _BASE_CACHE.update(validate=f.validate, results=f.results, score=f.score)
    return _BASE_CACHE


def quality(ratio: float, records: int = 1000) -> QualityResults:
    """A quality.json whose figures are about ``ratio`` (0 … 1)."""
    def figs(pairs: list[tuple[str, str]], shift: float) -> list[QualityFigure]:
        out = []
        for i, (fid, name) in enumerate(pairs):
            value = max(0.0, min(1.0, ratio - shift * i))
            num = round(value * records)
            out.append(QualityFigure(id=fid, name=name, value=round(num / records, 4),
                                     numerator=num, denominator=records))
        return out

    overall = QualityFigures(records=records, governance=figs(GOV, 0.02), emr=figs(EMR, 0.03))
    issues = [] if ratio >= 0.99 else [QualityIssue(
        rule="DS.FORMAT", dataset="WS445.1.1", dataset_name="个人基本信息", element="DE02.01.039.00",
        element_name="患者姓名", count=int((1 - ratio) * records),
        examples=[QualityExample(file="exports/patients.csv", row=7, column=3, value="",
                                 message="必填数据元为空")])]
    defs = [QualityDefinition(id=f, name=n, group="governance", formula=f"{n} = a / b")
            for f, n in GOV] + [QualityDefinition(id=f, name=n, group="emr",
                                                  formula=f"{n} = a / b") for f, n in EMR]
    return QualityResults(tool=TOOL, overall=overall, issues=issues, definitions=defs,
                          inputs=["exports/"])


def synth_run(dest: Path, *, level: str | None = "四级甲等", total: float = 80.0,
              fail_services: tuple[str, ...] = (), not_met: tuple[str, ...] = (),
              invalid_types: tuple[str, ...] = (), quality_ratio: float | None = 0.95,
              target_level: str = "四级甲等", documents: int | None = None,
              seed: int = 0) -> RunFolder:
    """A sealed run folder at ``dest``."""
    b = _base()
    rng = random.Random(seed)
    folder = RunFolder.create(dest)
    # documents: all valid except the types asked for
    val = copy.deepcopy(b["validate"])
    docs = val.documents
    if documents is not None:
        docs = [copy.deepcopy(docs[i % len(docs)]) for i in range(documents)]
        for i, d in enumerate(docs):
            d.path = f"docs/{i:06d}-{d.path.rsplit('/', 1)[-1]}"
    for d in docs:
        bad = d.document_type in invalid_types
        d.valid = not bad
        d.findings = [Finding("WST500.HEADER.REALM_CODE", "error", "template",
                              "realmCode 应为 CN", "WS/T 500", line=3)] if bad else []
    val.documents = docs
    val.summary.documents = len(docs)
    val.summary.invalid = sum(not d.valid for d in docs)
    val.summary.valid = len(docs) - val.summary.invalid
    val.summary.errors = val.summary.invalid
    val.summary.warnings = val.summary.infos = 0
    folder.write("validate", val)
    # cases: all pass except the services asked for
    res = copy.deepcopy(b["results"])
    for c in res.cases:
        failing = c.service in fail_services
        c.result = Status.FAIL if failing else Status.PASS
        c.checks = [CheckResult(id="s1/ack", result=Status.FAIL, message="应答码为 AE")] \
            if failing else [CheckResult(id="s1/ack", result=Status.PASS)]
    res.summary = RunSummary.of(res.cases)
    folder.write("results", res)
    # score
    sc = copy.deepcopy(b["score"])
    sc.level = level
    sc.level_index = sc.levels.index(level) if level in sc.levels else None
    sc.total = round(total, 2)
    scale = total / (sc.max or 100.0)
    for dim in sc.dimensions:
        dim.score = round(dim.max * min(1.0, scale * rng.uniform(0.95, 1.05)), 1)
    missing = []
    for it in sc.indicators:
        if it.code in not_met:
            it.status, it.met, it.points = "not_met", False, 0.0
            it.reasons = ["未达到要求"]
            missing.append(GapItem(code=it.code, text=it.text, points=it.max_points,
                                   status="not_met", required_level=target_level))
        elif it.status in ("not_met", "unanswered", "not_assessed"):
            it.status, it.met, it.points = "met", True, it.max_points
    sc.gaps = [Gap(level=target_level, missing=missing)] if missing else []
    folder.write("score", sc)
    if quality_ratio is not None:
        folder.write("quality", quality(quality_ratio))
    (folder.path / "report.html").write_text(f"<html><body>{dest.name}</body></html>", "utf-8")
    folder.seal(TOOL)
    return folder


def write_campaign(folder: Path, institutions: list[dict[str, Any]], *,
                   extra: str = "") -> Path:
    """campaign.yaml with the given institutions (dicts of id, name, kind, district, …) and a
    state.json saying they were assessed (their run folders are made by ``synth_run``)."""
    import yaml

    from conformance.model.campaign import CampaignState, InstitutionState
    from conformance.model.io.campaign_json import STATE_CODEC

    folder.mkdir(parents=True, exist_ok=True)
    doc = {"schema": "conformance-campaign/1", "name": "测试市测评", "region": "测试市",
           "period": "2026", "target_levels": {"hospital": "四级甲等"},
           "deadlines": {"issued": "2026-06-01",
                         "days": {"indicator": 120, "service": 60, "document": 60,
                                  "dataset": 90, "quality": 90}, "blocking_days": 30},
           "institutions": [{k: v for k, v in i.items() if not k.startswith("_")}
                            for i in institutions]}
    path = folder / "campaign.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False) + extra, "utf-8")
    state = CampaignState(tool=TOOL, institutions={
        i["id"]: InstitutionState(status=i.get("_status", "assessed"), reason=i.get("_reason"))
        for i in institutions if i.get("_status") != "missing"})
    STATE_CODEC.dump(state, folder / "state.json")
    return path
