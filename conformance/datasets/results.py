"""Turn merged check results into the shared findings model (one DocumentResult per table or
document, findings with row and column) and into the per-data-set verdict the assessment asks
for: 完全覆盖且符合 / 部分符合 / 无此数据."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..catalog import basis_suffix, render
from ..i18n import local, t
from ..model.findings import DocumentResult, Finding
from ..validate.status import skipped
from .definitions import DataSet, Definitions
from .engine import Partial
from .runner import TableWork

# rules that are about the input or the report, not about the data's conformance
_NOT_DEFECTS = {"DS.COLUMN_UNMAPPED", "DS.COLUMN_AMBIGUOUS", "DS.COLUMN_DUPLICATE",
                "DS.COLUMN_DE_AMBIGUOUS", "DS.COLUMN_BOUND", "DS.DATASET_DETECTED",
                "DS.MAPPING_COLUMN_ABSENT", "DS.TRUNCATED", "DS.CDA_UNMAPPED"}


class FindingMaker:
    def __init__(self, defs: Definitions, lang: str) -> None:
        self.defs, self.lang = defs, lang

    def make(self, rule_id: str, status: str = "seen", *, name: str | None = None,
             column: str | None = None, expected: str | None = None, actual: str | None = None,
             detail: str | None = None, line: int | None = None, col: int | None = None,
             xpath: str | None = None, extra: dict[str, Any] | None = None) -> Finding:
        rule = self.defs.rules[rule_id]
        severity = rule.severity_for(status)
        provisional = status == "provisional"
        values = {"name": name, "column": column, "expected": expected, "actual": actual,
                  "detail": local(detail, self.lang), **(extra or {})}
        message = render(rule.message.get(self.lang) or rule.message["zh"], values)
        message += basis_suffix(status, provisional, self.lang)
        if xpath is None and (line or column):
            xpath = column or None
        return Finding(rule=rule_id, severity=severity, layer=rule.layer, message=message,
                       source=rule.source, xpath=xpath, line=line, column=col,
                       expected=expected, actual=actual, provisional=provisional)


def _ratio(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


@dataclass
class DatasetVerdict:
    """The verdict on one data set and the two figures of the assessment's automated data-set
    test: element coverage (elements with a value / elements the data set requires — every
    element of its list) and format conformance (values in the element's WS 363
    representation format / values checked)."""

    dataset: DataSet
    inputs: int = 0
    records: int = 0
    documents: int = 0
    covered: set[str] = field(default_factory=set)
    present: set[str] = field(default_factory=set)
    defects: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    warnings: int = 0
    values_checked: int = 0
    values_conforming: int = 0
    formats_provisional: bool = False

    def add_defects(self, layer: str, n: int) -> None:
        self.defects[layer] = self.defects.get(layer, 0) + n

    @property
    def key(self) -> str:
        if self.records == 0 and self.documents == 0:
            return "none"
        if len(self.covered) == len(self.dataset.elements) and not sum(self.defects.values()):
            return "full"
        return "partial"

    @property
    def provisional(self) -> bool:
        """A verdict on a provisional element list is provisional; 完全覆盖且符合 also when it
        rests on provisional formats; 部分符合 is firm when an error (a missing element of a
        transcribed list, a wrong code, an impossible date …) makes it so."""
        if self.dataset.provisional:
            return True
        k = self.key
        if k == "full":
            return self.formats_provisional
        if k == "partial":
            return self.errors == 0
        return False

    def source(self) -> str:
        """Where the element list comes from (the evidence line of the scoring binding)."""
        ds = self.dataset
        prov = ds.raw.get("provenance") or {}
        basis = prov.get("elements")
        if isinstance(basis, list):
            basis = ", ".join(map(str, basis))
        std = ds.raw.get("standard") or ds.name
        return f"{std}; element list: {basis} ({ds.elements_status})" if basis else str(std)

    def to_dict(self, lang: str) -> dict[str, Any]:
        ds = self.dataset
        k = self.key
        from_documents = self.records == 0 and self.documents > 0
        missing = []
        for e in ds.elements:
            if e.id in self.covered:
                continue
            m = {"id": e.id, "internal_id": e.internal_id, "de": e.de, "name": e.name}
            if from_documents:   # documents only show the elements the project can locate
                m["located"] = bool(e.cda)
            missing.append(m)
        total = len(ds.elements)
        d = {"id": ds.id, "name": ds.name, "profile": ds.profile,
             "verdict": t(f"datasets.verdict.{k}", "zh"), "verdict_en": t(f"datasets.verdict.{k}", "en"),
             "verdict_key": k,
             "provisional": self.provisional, "elements_status": ds.elements_status,
             "element_list": self.source(),
             "inputs": self.inputs, "records": self.records, "documents": self.documents,
             # the two figures of the automated data-set test (model/datasets.py Ratio)
             "element_coverage": {"numerator": len(self.covered), "denominator": total,
                                  "value": _ratio(len(self.covered), total)},
             "format_conformance": {
                 "numerator": self.values_conforming, "denominator": self.values_checked,
                 "value": _ratio(self.values_conforming, self.values_checked),
                 "provisional": self.formats_provisional},
             "elements": {"total": total, "present": len(self.present),
                          "covered": len(self.covered), "missing": missing},
             "defects": dict(sorted(self.defects.items())),
             "errors": self.errors, "warnings": self.warnings}
        for key in ("assessment_item", "level", "points", "optional_business"):
            if key in ds.raw:
                d[key] = ds.raw[key]
        return d


class Collector:
    """Builds document results and accumulates verdicts per data set."""

    def __init__(self, defs: Definitions, lang: str, max_examples: int) -> None:
        self.defs, self.lang, self.max_examples = defs, lang, max_examples
        self.fm = FindingMaker(defs, lang)
        self.verdicts: dict[str, DatasetVerdict] = {}
        self.total_errors = 0        # every occurrence, listed or not
        self.total_warnings = 0
        self.total_infos = 0

    def verdict(self, ds: DataSet) -> DatasetVerdict:
        v = self.verdicts.get(ds.id)
        if v is None:
            v = self.verdicts[ds.id] = DatasetVerdict(ds)
        return v

    def _count(self, f: Finding, n: int = 1) -> None:
        if f.severity == "error":
            self.total_errors += n
        elif f.severity == "warning":
            self.total_warnings += n
        else:
            self.total_infos += n

    def table_result(self, w: TableWork, partial: Partial | None) -> DocumentResult:
        fm, lang = self.fm, self.lang
        res = DocumentResult(path=w.display)
        add = res.findings.append
        if w.error is not None:
            e = w.error
            f = fm.make(e.rule, detail=e.detail, line=e.line, actual=e.actual)
            add(f)
            self._count(f)
            res.io_error = w.io_error
            res.layers["parse"] = "ran"
            return res
        tab = w.table
        assert tab is not None
        res.layers["parse"] = f"ran: {local(tab.info, lang)}"
        if not tab.columns:
            f = fm.make("DS.EMPTY_TABLE", detail=local(tab.info, lang) or t("datasets.no_header", lang))
            add(f)
            self._count(f)
            return res
        ds = w.dataset
        if ds is None:
            f = fm.make("DS.DATASET_UNKNOWN", detail=w.note)
            add(f)
            self._count(f)
            res.layers["coverage"] = skipped(lang, "dataset_unknown")
            return res
        res.document_type, res.document_name = ds.id, ds.name
        b = w.binding
        assert b is not None and partial is not None
        by_id = {e.id: e for e in ds.elements}
        v = self.verdict(ds)
        v.inputs += 1
        v.records += partial.rows
        present = {eid for _, eid, _ in b.bindings}
        v.present |= present
        ag_nonempty = [0] * len(ds.elements)
        for agg in partial.groups.values():
            for i, n in enumerate(agg.nonempty):
                ag_nonempty[i] += n
        covered = {e.id for e in ds.elements if ag_nonempty[e.index] > 0}
        v.covered |= covered
        for agg in partial.groups.values():
            v.values_checked += sum(agg.nonempty)
            v.values_conforming += sum(agg.format_ok)
        v.formats_provisional = v.formats_provisional or any(
            by_id[eid].format_status == "provisional" for _, eid, _ in b.bindings)
        listed: list[tuple[tuple, Finding]] = []

        def put(f: Finding, sort_key: tuple, occurrences: int = 1) -> None:
            listed.append((sort_key, f))
            self._count(f, occurrences)
            if f.rule not in _NOT_DEFECTS and f.severity != "info":
                v.add_defects(f.layer, occurrences)
                if f.severity == "error":
                    v.errors += occurrences
                else:
                    v.warnings += occurrences

        header_line = tab.first_line - 1
        d = w.detection
        if d is not None and d.dataset is ds and d.best is not None:
            put(fm.make("DS.DATASET_DETECTED", actual=f"{ds.id} {ds.name}",
                        detail=d.describe(len(tab.columns), lang), line=header_line), (0, -1))
        # which occurrence of a shared DE id each column holds
        guessed = {i: ids for i, _, _, ids in b.guessed}
        for i, eid, label in b.bindings:
            el = by_id[eid]
            if el.occurrence is None:
                continue
            if i in guessed:
                others = t("sep.list", lang).join(f"{by_id[x].internal_id or x} {by_id[x].name}"
                                                  for x in guessed[i])
                put(fm.make("DS.COLUMN_DE_AMBIGUOUS", column=label, expected=el.de,
                            detail=others, name=el.label, actual=el.name, line=header_line,
                            col=i + 1), (0, i))
            else:
                put(fm.make("DS.COLUMN_BOUND", column=label, name=el.label, expected=el.de,
                            detail=str(el.occurrence[1]), actual=str(el.occurrence[0]),
                            line=header_line, col=i + 1), (0, i))
        # mapping problems
        for i, label in b.unmapped:
            put(fm.make("DS.COLUMN_UNMAPPED", column=label, detail=f"{ds.id} {ds.name}",
                        line=tab.first_line - 1, col=i + 1), (0, i))
        for i, label, ids in b.ambiguous:
            put(fm.make("DS.COLUMN_AMBIGUOUS", column=label, expected=", ".join(ids),
                        line=tab.first_line - 1, col=i + 1), (0, i))
        for i, label, eid, first in b.duplicate:
            put(fm.make("DS.COLUMN_DUPLICATE", column=label, expected=first,
                        name=by_id[eid].label, line=tab.first_line - 1, col=i + 1), (0, i))
        for col in b.absent:
            put(fm.make("DS.MAPPING_COLUMN_ABSENT", column=col), (0, 0))
        if w.by_missing:
            put(fm.make("DS.MAPPING_COLUMN_ABSENT", column=w.by_missing), (0, 0))
        # coverage
        for e in ds.elements:
            code = e.de or e.item or e.id
            if e.internal_id and e.internal_id != code:
                code = e.internal_id + t("sep.comma", lang) + code
            if e.id not in present:
                put(fm.make("DS.ELEMENT_MISSING", e.status, name=e.name, detail=code),
                    (1, e.index))
            elif e.id not in covered and partial.rows:
                col = next(c for c, eid, _ in b.bindings if eid == e.id)
                label = next(lbl for _, eid, lbl in b.bindings if eid == e.id)
                put(fm.make("DS.ELEMENT_EMPTY", e.status, name=e.name, column=label,
                            actual=str(partial.rows), line=tab.first_line - 1, col=col + 1),
                    (1, e.index))
        if partial.rows == 0 and partial.stopped is None:
            put(fm.make("DS.EMPTY_TABLE", detail=local(tab.info, lang)), (1, 0))
        # row findings
        for (_g, rule, eid), (count, examples) in partial.findings.items():
            el = by_id.get(eid)
            name = el.label if el else ""
            for ex in examples:
                line, colno, label, actual, expected, detail, status = ex
                f = fm.make(rule, status, name=name, column=label, expected=expected,
                            actual=actual, detail=detail or "", line=line, col=colno,
                            xpath=label or None)
                put(f, (2, line, colno or 0), 1)
            if count > len(examples):
                more = count - len(examples)
                f = fm.make("DS.TRUNCATED", name=name or rule, actual=str(more),
                            expected=str(count), extra={"rule_id": rule})
                listed.append(((3, 0), f))
                self._count(f)
                # the occurrences not listed still count, with the severity of the rule
                sev_f = fm.make(rule, examples[0][6] if examples else "seen", name=name)
                self._count(sev_f, more)
                if rule not in _NOT_DEFECTS and sev_f.severity != "info":
                    v.add_defects(sev_f.layer, more)
                    if sev_f.severity == "error":
                        v.errors += more
                    else:
                        v.warnings += more
        if partial.stopped is not None:
            rule, detail, line, actual = partial.stopped
            put(fm.make(rule, detail=detail, line=line, actual=actual), (2, line or 0, 0))
        listed.sort(key=lambda x: x[0])
        res.findings.extend(f for _, f in listed)
        checked = sum(sum(a.nonempty) for a in partial.groups.values())
        ok = sum(sum(a.format_ok) for a in partial.groups.values())
        res.layers["coverage"] = "ran: " + t("datasets.layer.coverage", lang, covered=len(covered),
                                             total=len(ds.elements), rows=partial.rows)
        res.layers["format"] = "ran: " + t("datasets.layer.format", lang, ok=ok, checked=checked)
        for layer in ("datatype", "vocabulary"):
            res.layers[layer] = "ran"
        return res

    def cda_result(self, cov: Any) -> DocumentResult:
        res: DocumentResult = cov.result
        for f in res.findings:
            self._count(f)
        if not cov.covered:
            if res.document_type:
                f = self.fm.make("DS.CDA_UNMAPPED", actual=res.document_type)
                res.findings.append(f)
                self._count(f)
            return res
        for ds_id, elements in cov.covered.items():
            ds = self.defs.datasets[ds_id]
            v = self.verdict(ds)
            v.documents += 1
            v.inputs += 1
            v.covered |= elements
            v.present |= elements
            v.formats_provisional = v.formats_provisional or any(
                e.format_status == "provisional" for e in ds.elements if e.id in elements)
            for f in res.findings:
                # the data-set test looks at format, data type and allowed values
                if f.severity in ("error", "warning") and f.layer in ("vocabulary", "datatype",
                                                                     "parse"):
                    v.add_defects(f.layer, 1)
                    if f.severity == "error":
                        v.errors += 1
                    else:
                        v.warnings += 1
        return res

    def verdict_list(self, profiles: set[str] | None = None) -> list[DatasetVerdict]:
        touched = {v.dataset.profile for v in self.verdicts.values()}
        wanted = profiles or touched or {"hospital"}
        out = []
        for ds in self.defs.ordered():
            if ds.profile in wanted:
                out.append(self.verdicts.get(ds.id) or DatasetVerdict(ds))
        return out

