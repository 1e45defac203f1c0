"""Reporters of `validate-dataset`: the `validate` reporters (text, JSON contract, JUnit,
SARIF) streaming one result per table or document, plus the per-data-set verdicts at the end."""

from __future__ import annotations

import json
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from ..findings import Summary
from ..report.json_report import JsonReporter
from ..report.junit import JunitReporter
from ..report.sarif import SarifReporter
from ..report.text import TextReporter
from .results import DatasetVerdict

_T = {
    "verdicts": {"zh": "数据集判定", "en": "Data-set verdicts"},
    "records": {"zh": "记录", "en": "records"},
    "docs": {"zh": "文档", "en": "documents"},
    "covered": {"zh": "数据元覆盖", "en": "elements covered"},
    "defects": {"zh": "问题", "en": "defects"},
    "others": {"zh": "其余 {n} 个数据集：无此数据", "en": "{n} other data sets: no such data"},
    "prov": {"zh": "暂定", "en": "provisional"},
    "missing": {"zh": "缺少", "en": "missing"},
    "legend": {"zh": "判定依据：数据元全部覆盖（有非空值）且无格式、数据类型、允许值问题为“完全覆盖且符合”；"
                     "数据集定义为暂定时，判定也是暂定的。",
               "en": "Verdict: every data element covered (a non-empty value) and no format, "
                     "data-type or allowed-value defect = fully covered and conformant; a verdict "
                     "on a provisional definition is provisional."},
}


def _t(key: str, lang: str, **kw: Any) -> str:
    s = _T[key].get(lang) or _T[key]["zh"]
    return s.format(**kw) if kw else s


def verdict_label(v: dict[str, Any], lang: str) -> str:
    text = v["verdict"] if lang == "zh" else v["verdict_en"]
    if not v["provisional"]:
        return text
    return f"{text}（{_t('prov', lang)}）" if lang == "zh" else f"{text} ({_t('prov', lang)})"


class DatasetTextReporter(TextReporter):
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
                           f"{_t('covered', lang)} {el['covered']}/{el['total']}  "
                           f"{_t('defects', lang)} {defects}  {counts.strip()}\n")
            if el["missing"] and r["verdict_key"] != "full":
                names = "、".join(m["name"] for m in el["missing"][:8])
                more = " …" if len(el["missing"]) > 8 else ""
                self.out.write(f"      {_t('missing', lang)}: {names}{more}\n")
        none = len(rows) - len(shown)
        if none:
            self.out.write(f"  {_t('others', lang, n=none)}\n")
        self.out.write(f"  {_t('legend', lang)}\n")
        self.finish(summary)


class DatasetJsonReporter(JsonReporter):
    def finish_datasets(self, verdicts: list[DatasetVerdict], summary: Summary) -> None:
        lang = getattr(self, "lang", "zh")
        self.out.write("\n],\n")
        self.out.write('"datasets": ')
        self.out.write(json.dumps([v.to_dict(lang) for v in verdicts], ensure_ascii=False))
        self.out.write(",\n")
        self.out.write(f'"summary": {json.dumps(summary.to_dict())}\n}}\n')


class DatasetJunitReporter(JunitReporter):
    def finish_datasets(self, verdicts: list[DatasetVerdict], summary: Summary) -> None:
        touched = [v for v in verdicts if v.key != "none"]
        failures = 0
        for v in touched:
            d = v.to_dict(self.lang)
            self.body.write(f"  <testcase classname={quoteattr('dataset')} "
                            f"name={quoteattr(d['id'] + ' ' + d['name'])}>\n")
            if d["verdict_key"] != "full":
                failures += 1
                msg = f"{verdict_label(d, self.lang)}: {d['elements']['covered']}/" \
                      f"{d['elements']['total']} elements covered, " \
                      f"{sum(d['defects'].values())} defects"
                self.body.write(f"    <failure type=\"verdict\" message={quoteattr(msg)}>"
                                f"{escape(json.dumps(d, ensure_ascii=False))}</failure>\n")
            self.body.write("  </testcase>\n")
        s = Summary(**{k: getattr(summary, k) for k in summary.__dataclass_fields__})
        s.documents += len(touched)
        s.invalid += failures
        self.finish(s)


class DatasetSarifReporter(SarifReporter):
    def finish_datasets(self, verdicts: list[DatasetVerdict], summary: Summary) -> None:
        lang = self.lang
        self.out.write('\n], "properties": ')
        self.out.write(json.dumps({"summary": summary.to_dict(),
                                   "datasets": [v.to_dict(lang) for v in verdicts]},
                                  ensure_ascii=False))
        self.out.write("}]}\n")


def make_dataset_reporter(fmt: str, out: IO[str], lang: str, **opts: Any) -> Any:
    if fmt == "json":
        r: Any = DatasetJsonReporter(out)
        r.lang = lang
        return r
    if fmt == "junit":
        return DatasetJunitReporter(out, lang)
    if fmt == "sarif":
        return DatasetSarifReporter(out, lang, rules=opts.get("rules") or {})
    return DatasetTextReporter(out, lang, show_info=bool(opts.get("show_info")),
                               color=bool(opts.get("color")))
