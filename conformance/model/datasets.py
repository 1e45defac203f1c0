"""datasets.json: the `validate-dataset` result — the tables and documents checked (the
validate.json shape) plus one verdict per data set, as the assessment's automated data-set test
gives it (完全覆盖且符合 / 部分符合 / 无此数据)."""

from __future__ import annotations

from typing import Any

import msgspec

from .common import UNSET, Record, ToolStamp, UnsetType
from .findings import DocumentRecord, Summary

# the verdict of the assessment's data-set test, by ``verdict_key``
VERDICT_WORDS = {"full": "完全覆盖且符合", "partial": "部分符合", "none": "无此数据"}


class ElementRef(Record, kw_only=True):
    id: str
    name: str | None = None
    internal_id: str | None | UnsetType = UNSET
    de: str | None | UnsetType = UNSET            # the WS 363 data element
    located: bool | UnsetType = UNSET             # the project knows where it sits in a CDA


class ElementCoverage(Record, kw_only=True):
    total: int = 0
    present: int = 0
    covered: int = 0
    missing: list[ElementRef] = []


class Ratio(Record, kw_only=True):
    """A figure of the automated test: ``numerator / denominator`` (``value`` null when the
    denominator is 0)."""

    numerator: int = 0
    denominator: int = 0
    value: float | None = None
    provisional: bool | UnsetType = UNSET         # rests on provisional formats


class DatasetVerdict(Record, kw_only=True):
    id: str
    name: str | None = None
    profile: str | None = None
    verdict: str                     # 完全覆盖且符合 | 部分符合 | 无此数据
    verdict_en: str | None = None
    verdict_key: str = "none"        # full | partial | none
    elements_status: str | UnsetType = UNSET   # status word of the element list (transcribed …)
    element_list: str | UnsetType = UNSET      # where the data set's element list comes from
    provisional: bool = False
    inputs: int = 0
    records: int = 0
    documents: int = 0
    elements: ElementCoverage = msgspec.field(default_factory=ElementCoverage)
    defects: dict[str, int] = {}
    errors: int = 0
    warnings: int = 0
    element_coverage: Ratio | UnsetType = UNSET      # data elements present / required
    format_conformance: Ratio | UnsetType = UNSET    # values matching the format / checked
    assessment_item: str | UnsetType = UNSET
    level: str | UnsetType = UNSET
    points: float | UnsetType = UNSET
    optional_business: bool | UnsetType = UNSET
    extra: dict[str, Any] | UnsetType = UNSET

    @property
    def touched(self) -> bool:
        """The inputs held data for this set (an untouched "无此数据" says nothing about the
        institution: the questionnaire answers for it)."""
        return bool(self.records or self.documents)


class DatasetsResults(Record, kw_only=True):
    """datasets.json."""

    schema_version: int = 1
    tool: ToolStamp
    lang: str | UnsetType = UNSET
    documents: list[DocumentRecord] = []
    datasets: list[DatasetVerdict] = []
    summary: Summary = msgspec.field(default_factory=Summary)
