"""Reporters of `validate-dataset`: the `validate` reporters (text, JSON contract, JUnit,
SARIF) streaming one result per table or document, plus the per-data-set verdicts at the end
(JSON, JUnit and SARIF through the one writer of each, fed typed ``model.DatasetVerdict``)."""

from __future__ import annotations

from typing import IO, Any

import msgspec

from ..findings import DocumentResult, Summary
from ..i18n import t
from ..model import DatasetVerdict as VerdictRecord
from ..report.json_report import JsonReporter
from ..report.junit import JunitReporter
from ..report.sarif import SarifReporter
from ..report.text import TextReporter
from .results import DatasetVerdict

_T = {
    "verdicts": {"zh": "数据集判定", "en": "Data-set verdicts"},
    "records": {"zh": "记录", "en": "records"},
    "docs": {"zh": "文档", "en": "documents"},
    "covered": {"zh": "数据元覆盖", "en": "element coverage"},
    "format": {"zh": "格式符合", "en": "format conformance"},
    "not_measured": {"zh": "未测（文档）", "en": "not measured (documents)"},
    "unlocated": {"zh": "其中 {n} 个在 CDA 文档中的位置未知",
                  "en": "{n} of them have no known place in a CDA document"},
    "defects": {"zh": "问题", "en": "defects"},
    "others": {"zh": "其余 {n} 个数据集：无此数据", "en": "{n} other data sets: no such data"},
    "prov": {"zh": "暂定", "en": "provisional"},
    "missing": {"zh": "缺少", "en": "missing"},
    "legend": {"zh": "判定依据：数据元覆盖 = 有非空值的数据元 / 数据集要求的数据元"
                     "（WS 445 子集的全部数据元）；格式符合 = 符合 WS 363 表示格式的值 / 检查的值。"
                     "数据元全部覆盖且无格式、数据类型、允许值问题为“完全覆盖且符合”。数据元清单或表示格式为暂定时，判定也标为暂定；"
                     "缺少转录清单中的数据元是错误，判定为部分符合。",
               "en": "Element coverage = elements with a non-empty value / elements the data set "
                     "requires (every element of the WS 445 subset); format conformance = values "
                     "in the WS 363 representation format / values checked. Every element "
                     "covered and no format, data-type or allowed-value defect = fully covered "
                     "and conformant. A verdict resting on a provisional element list or "
                     "provisional formats is marked provisional; a missing element of a "
                     "transcribed list is an error and makes the verdict partial."},
}


def _t(key: str, lang: str, **kw: Any) -> str:
    s = _T[key].get(lang) or _T[key]["zh"]
    return s.format(**kw) if kw else s


def _pct(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio * 100:.1f}%"


def figures(v: dict[str, Any], lang: str) -> str:
    """数据元覆盖 5/27（18.5%）  格式符合 98/100（98.0%，暂定）"""
    c, f = v["element_coverage"], v["format_conformance"]
    zh = lang == "zh"
    cov = f"{_t('covered', lang)} {c['numerator']}/{c['denominator']}" + \
        (f"（{_pct(c['value'])}）" if zh else f" ({_pct(c['value'])})")
    if not f["denominator"]:
        fmt = f"{_t('format', lang)} {_t('not_measured', lang) if v['documents'] else '-'}"
    else:
        prov = ("，" + _t("prov", lang) if zh else ", " + _t("prov", lang)) \
            if f["provisional"] else ""
        fmt = f"{_t('format', lang)} {f['numerator']}/{f['denominator']}" + \
            (f"（{_pct(f['value'])}{prov}）" if zh else f" ({_pct(f['value'])}{prov})")
    return f"{cov}  {fmt}"


def verdict_label(v: dict[str, Any], lang: str) -> str:
    text = v["verdict"] if lang == "zh" else v["verdict_en"]
    if not v["provisional"]:
        return text
    return f"{text}（{_t('prov', lang)}）" if lang == "zh" else f"{text} ({_t('prov', lang)})"


# info findings the text report always prints: what the tool decided about the input (which
# occurrence of a shared DE id each column holds is DS.COLUMN_BOUND, shown with --show-info)
_ALWAYS = frozenset({"DS.DATASET_DETECTED"})
_COLORS = {"error": "red", "warning": "yellow", "info": "cyan"}


class DatasetTextReporter(TextReporter):
    def document(self, doc: DocumentResult) -> None:
        mark = self._s("✔", fg="green") if doc.valid else self._s("✘", fg="red")
        kind = (f"{doc.document_type} {doc.document_name}" if doc.document_type
                else t("doc.unknown_type", self.lang))
        counts = t("counts", self.lang, errors=doc.errors, warnings=doc.warnings)
        self.out.write(f"{mark} {doc.path}  [{kind}]  {counts}\n")
        hidden = 0
        for f in doc.findings:
            if f.severity == "info" and not self.show_info and f.rule not in _ALWAYS:
                hidden += 1
                continue
            sev = self._s(t(f"severity.{f.severity}", self.lang), fg=_COLORS[f.severity])
            where = f"{f.line}:{f.column or 1}" if f.line else "-"
            self.out.write(f"    {sev} {f.rule}  {where}  {f.xpath or ''}\n")
            self.out.write(f"        {f.message}\n")
        if hidden:
            self.out.write(f"    {t('infos_hidden', self.lang, n=hidden)}\n")

    def finish_datasets(self, verdicts: list[DatasetVerdict], summary: Summary) -> None:
        lang = self.lang
        rows = [v.to_dict(lang) for v in verdicts]
        shown = [r for r in rows if r["verdict_key"] != "none"]
        self.out.write(f"\n{_t('verdicts', lang)}\n")
        for r in shown:
            el = r["elements"]
            defects = sum(r["defects"].values())
            counts = (f"{r['records']} {_t('records', lang)}" if r["records"] else "") + \
                (f" {r['documents']} {_t('docs', lang)}" if r["documents"] else "")
            mark = "✔" if r["verdict_key"] == "full" else "✘"
            self.out.write(f"  {mark} {r['id']:<12} {r['name']:<16} {verdict_label(r, lang)}  "
                           f"{figures(r, lang)}  "
                           f"{_t('defects', lang)} {defects}  {counts.strip()}\n")
            if el["missing"] and r["verdict_key"] != "full":
                names = "、".join(m["name"] for m in el["missing"][:8])
                more = f" …（{len(el['missing'])}）" if len(el["missing"]) > 8 else ""
                unloc = sum(1 for m in el["missing"] if m.get("located") is False)
                note = f"；{_t('unlocated', lang, n=unloc)}" if unloc and lang == "zh" else \
                    f"; {_t('unlocated', lang, n=unloc)}" if unloc else ""
                self.out.write(f"      {_t('missing', lang)}: {names}{more}{note}\n")
        none = len(rows) - len(shown)
        if none:
            self.out.write(f"  {_t('others', lang, n=none)}\n")
        self.out.write(f"  {_t('legend', lang)}\n")
        self.finish(summary)


def records(verdicts: list[DatasetVerdict], lang: str) -> list[VerdictRecord]:
    """The verdicts as datasets.json holds them."""
    return [msgspec.convert(v.to_dict(lang), VerdictRecord) for v in verdicts]


class DatasetJsonReporter(JsonReporter):
    lang = "zh"

    def finish_datasets(self, verdicts: list[DatasetVerdict], summary: Summary) -> None:
        self.finish(summary, datasets=records(verdicts, self.lang))


class DatasetJunitReporter(JunitReporter):
    def finish_datasets(self, verdicts: list[DatasetVerdict], summary: Summary) -> None:
        self.datasets(records(verdicts, self.lang))
        self.finish(summary)


class DatasetSarifReporter(SarifReporter):
    def finish_datasets(self, verdicts: list[DatasetVerdict], summary: Summary) -> None:
        self.datasets(records(verdicts, self.lang))
        self.finish(summary)


def make_dataset_reporter(fmt: str, out: IO[str], lang: str, **opts: Any) -> Any:
    if fmt == "json":
        r = DatasetJsonReporter(out)
        r.lang = lang
        return r
    if fmt == "junit":
        return DatasetJunitReporter(out, lang)
    if fmt == "sarif":
        return DatasetSarifReporter(out, lang, rules=opts.get("rules") or {})
    return DatasetTextReporter(out, lang, show_info=bool(opts.get("show_info")),
                               color=bool(opts.get("color")))
