"""quality.json: the data-quality scorecard of one institution's data-set exports
(`conformance quality`, kept in the run folder by a campaign) — the six data-governance
dimensions and the four data-quality coefficients of the EMR application-level rating, each as
numerator / denominator so that a district or a region adds them up, per data set and overall,
and the problem list (问题清单) with counts and examples."""

from __future__ import annotations

from typing import Any

import msgspec

from .common import Record, ToolStamp


class QualityFigure(Record, kw_only=True):
    """One dimension or coefficient: ``value`` = numerator / denominator (null when nothing
    applies, ``why_null`` says why)."""

    id: str
    name: str
    value: float | None = None
    numerator: int | None = None
    denominator: int | None = None
    provisional: bool = False
    why_null: str | None = None


class QualityFigures(Record, kw_only=True):
    records: int = 0
    governance: list[QualityFigure] = []       # 规范性 完整性 准确性 及时性 关联性 实用性
    emr: list[QualityFigure] = []              # 一致性 完整性 整合性 及时性

    def figure(self, fid: str, group: str = "governance") -> QualityFigure | None:
        return next((f for f in getattr(self, group) if f.id == fid), None)


class QualityDataset(QualityFigures, kw_only=True):
    dataset: str
    name: str | None = None


class QualityExample(Record, kw_only=True):
    file: str
    row: int | None = None
    column: int | None = None
    column_name: str | None = None
    value: str | None = None
    message: str = ""


class QualityIssue(Record, kw_only=True):
    rule: str
    dataset: str
    dataset_name: str | None = None
    element: str | None = None
    element_name: str | None = None
    layer: str | None = None
    severity: str = "error"
    count: int = 0
    examples: list[QualityExample] = []


class QualityDefinition(Record, kw_only=True):
    id: str
    name: str
    group: str                                  # governance | emr
    formula: str = ""
    definition: str = ""
    provisional: bool = False


class QualityResults(Record, kw_only=True):
    """quality.json."""

    schema_version: int = 1
    tool: ToolStamp
    lang: str = "zh"
    created: str | None = None
    inputs: list[str] = []
    overall: QualityFigures = msgspec.field(default_factory=QualityFigures)
    datasets: list[QualityDataset] = []
    issues: list[QualityIssue] = []
    definitions: list[QualityDefinition] = []
    input_problems: list[str] = []

    @classmethod
    def from_card(cls, card: dict[str, Any], tool: ToolStamp, inputs: list[str],
                  created: str | None = None) -> QualityResults:
        """The one-institution scorecard ``datasets.quality.run_quality`` returns (no --by: all
        rows are the institution's)."""
        insts = card.get("institutions") or []
        inst = insts[0] if insts else {}

        def figs(block: dict[str, Any] | None) -> dict[str, Any]:
            if not block:
                return {}
            return {"records": int(block.get("records") or 0),
                    "governance": [_figure(f) for f in block["governance_dimensions"].values()],
                    "emr": [_figure(f) for f in block["emr_coefficients"].values()]}

        defs = card.get("definitions") or {}
        return cls(
            tool=tool, lang=str(card.get("lang") or "zh"), created=created, inputs=inputs,
            overall=QualityFigures(**figs(inst.get("overall"))),
            datasets=[QualityDataset(dataset=d["dataset"], name=d.get("name"), **figs(d))
                      for d in inst.get("datasets") or []],
            issues=[QualityIssue(
                rule=i["rule"], dataset=i["dataset"], dataset_name=i.get("dataset_name"),
                element=i.get("element"), element_name=i.get("element_name"),
                layer=i.get("layer"), severity=str(i.get("severity") or "error"),
                count=int(i.get("count") or 0),
                examples=[QualityExample(file=str(e.get("file")), row=e.get("row"),
                                         column=e.get("column"),
                                         column_name=e.get("column_name"),
                                         value=None if e.get("value") is None else str(e["value"]),
                                         message=str(e.get("message") or ""))
                          for e in i.get("examples") or []])
                for i in inst.get("issues") or []],
            definitions=[QualityDefinition(id=d["id"], name=d["name"], group=group,
                                           formula=d.get("formula") or "",
                                           definition=d.get("definition") or "",
                                           provisional=bool(d.get("provisional")))
                         for key, group in (("governance_dimensions", "governance"),
                                            ("emr_coefficients", "emr"))
                         for d in defs.get(key) or []],
            input_problems=[str(p) for p in card.get("input_problems") or []])


def _figure(f: dict[str, Any]) -> QualityFigure:
    return QualityFigure(id=f["id"], name=f["name"], value=f.get("value"),
                         numerator=f.get("numerator"), denominator=f.get("denominator"),
                         provisional=bool(f.get("provisional")), why_null=f.get("why_null"))
