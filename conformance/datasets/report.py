"""Reporters of `validate-dataset`: the `validate` reporters (text, JSON contract, JUnit,
SARIF) streaming one result per table or document, plus the per-data-set verdicts at the end
(JSON, JUnit and SARIF through the one writer of each, fed typed ``model.DatasetVerdict``)."""

from __future__ import annotations

from typing import IO, Any

import msgspec

from ..i18n import t
from ..model import DatasetVerdict as VerdictRecord
from ..model.findings import Summary
from ..report.json_report import JsonReporter
from ..report.junit import JunitReporter
from ..report.sarif import SarifReporter
from ..report.text import TextReporter
from .results import DatasetVerdict


def _pct(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio * 100:.1f}%"


def figures(v: dict[str, Any], lang: str) -> str:
    """数据元覆盖 5/27（18.5%）  格式符合 98/100（98.0%，暂定）"""
    c, f = v["element_coverage"], v["format_conformance"]
    cov = t("datasets.report.covered", lang, num=c["numerator"], den=c["denominator"],
            pct=_pct(c["value"]))
    if not f["denominator"]:
        fmt = t("datasets.report.format_unmeasured" if v["documents"] else "datasets.report.format_none",
                lang)
    else:
        prov = t("datasets.report.format_prov", lang) if f["provisional"] else ""
        fmt = t("datasets.report.format", lang, num=f["numerator"], den=f["denominator"],
                pct=_pct(f["value"]), prov=prov)
    return f"{cov}  {fmt}"


def verdict_label(v: dict[str, Any], lang: str) -> str:
    text = v["verdict"] if lang == "zh" else v["verdict_en"]
    if not v["provisional"]:
        return text
    return text + t("paren", lang, text=t("provisional", lang))


# info findings the text report always prints: what the tool decided about the input (which
# occurrence of a shared DE id each column holds is DS.COLUMN_BOUND, shown with --show-info)
_ALWAYS = frozenset({"DS.DATASET_DETECTED"})


class DatasetTextReporter(TextReporter):
    always_shown = _ALWAYS

    def finish_datasets(self, verdicts: list[VerdictRecord], summary: Summary) -> None:
        lang = self.lang
        rows = [msgspec.to_builtins(v) for v in verdicts]
        shown = [r for r in rows if r["verdict_key"] != "none"]
        self.out.write(f"\n{t('datasets.report.verdicts', lang)}\n")
        for r in shown:
            el = r["elements"]
            defects = sum(r["defects"].values())
            counts = (t("datasets.report.records", lang, n=r["records"]) if r["records"] else "") + \
                (" " + t("datasets.report.docs", lang, n=r["documents"]) if r["documents"] else "")
            mark = "✔" if r["verdict_key"] == "full" else "✘"
            self.out.write(f"  {mark} {r['id']:<12} {r['name']:<16} {verdict_label(r, lang)}  "
                           f"{figures(r, lang)}  "
                           f"{t('datasets.report.defects', lang, n=defects)}  {counts.strip()}\n")
            if el["missing"] and r["verdict_key"] != "full":
                names = t("sep.list", lang).join(m["name"] for m in el["missing"][:8])
                more = " …" + t("paren", lang, text=len(el["missing"])) \
                    if len(el["missing"]) > 8 else ""
                unloc = sum(1 for m in el["missing"] if m.get("located") is False)
                note = t("datasets.report.unlocated", lang, n=unloc) if unloc else ""
                self.out.write(f"      {t('datasets.report.missing', lang, names=names)}{more}{note}\n")
        none = len(rows) - len(shown)
        if none:
            self.out.write(f"  {t('datasets.report.others', lang, n=none)}\n")
        self.out.write(f"  {t('datasets.report.legend', lang)}\n")
        self.finish(summary)


def records(verdicts: list[DatasetVerdict], lang: str) -> list[VerdictRecord]:
    """The verdicts as datasets.json holds them."""
    return [msgspec.convert(v.to_dict(lang), VerdictRecord) for v in verdicts]


class DatasetJsonReporter(JsonReporter):
    lang = "zh"

    def finish_datasets(self, verdicts: list[VerdictRecord], summary: Summary) -> None:
        self.finish(summary, datasets=verdicts)


class DatasetJunitReporter(JunitReporter):
    def finish_datasets(self, verdicts: list[VerdictRecord], summary: Summary) -> None:
        self.datasets(verdicts)
        self.finish(summary)


class DatasetSarifReporter(SarifReporter):
    def finish_datasets(self, verdicts: list[VerdictRecord], summary: Summary) -> None:
        self.datasets(verdicts)
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
