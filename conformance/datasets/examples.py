"""Synthetic, conformant data-set rows for any data set (and files in every supported format):
the shipped examples under test_cases/datasets/, the tests and the benchmark use them.

Values come from the definitions — person fields (formats.yaml `examples`) from the synthetic
patients of conformance.synth, codes from the bound value sets, dates and numbers from the
representation formats — so every generated row passes the checks unless a defect is injected.
A hospital table has one column per element of its WS 445 subset, as the transcribed element
lists give them (standards/datasets/ws445, source ws445-transcription; data types and formats
merged from WS 363 knowledge, provisional).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..synth import Person, Synthesizer
from .definitions import DataSet, Definitions, Element, load_definitions


class ExampleData:
    def __init__(self, defs: Definitions | None = None) -> None:
        self.defs = defs or load_definitions()
        self.synth = Synthesizer(self.defs.catalog)
        ex = self.defs.formats.get("examples") or {}
        self.person_fields: dict[str, str] = dict(ex.get("person_fields") or {})
        self.fixed: dict[str, str] = {str(k): str(v) for k, v in
                                      (ex.get("fixed_values") or {}).items()}
        self.base = datetime.strptime(str(ex.get("base_time", "20240315093000")), "%Y%m%d%H%M%S")
        self.ranges = self.defs.quality.get("plausible_ranges") or {}
        self._people: dict[int, Person] = {}

    def person(self, i: int) -> Person:
        p = self._people.get(i)
        if p is None:
            if len(self._people) > 10_000:
                self._people.clear()
            p = self._people[i] = self.synth.person(i)
        return p

    # ---------------------------------------------------------------- values
    def value(self, el: Element, i: int, person: Person, subject: bool = True) -> str:
        """A conformant value; `subject`: the element is the patient's own (患者姓名, not
        联系人姓名, when several share a DE id) and takes the synthetic person's field."""
        fmt = el.format
        field = self.person_fields.get(el.de or "") if subject else None
        when = self.base - timedelta(hours=i % 5000)
        if field == "birth":
            return f"{person.birth:%Y%m%d}" if fmt.kind != "datetime" else \
                f"{person.birth:%Y%m%d}T000000"
        if field:
            return str(getattr(person, field))
        if el.de in self.fixed:
            return self.fixed[el.de]
        if fmt.kind == "date":
            return f"{when:%Y%m%d}"
        if fmt.kind == "datetime":
            return f"{when:%Y%m%dT%H%M%S}"
        if fmt.kind == "time":
            return f"{when:%H%M%S}"
        if fmt.kind == "boolean":
            return "T" if i % 2 == 0 else "F"
        vs = self.defs.catalog.value_sets.get(el.value_set) if el.value_set else None
        if vs is not None and vs.codes:
            codes = [c for c in vs.codes if _fits(fmt, c)]
            if codes:
                return codes[i % len(codes)]
        kind = self.defs.data_types[el.data_type].get("kind")
        if kind == "number" or fmt.cls == "N":
            spec = self.ranges.get(el.de or "")
            if spec and fmt.decimals is not None:
                lo, hi = float(spec["min"]), float(spec["max"])
                v = lo + (hi - lo) * ((i % 7) + 3) / 13
                return f"{v:.{min(fmt.decimals, 1)}f}"
            n = str(1 + i % 9)
            if fmt.fixed and fmt.max_len:
                n = n.zfill(fmt.max_len)
            return n
        if fmt.fixed and fmt.max_len:
            return str(10 ** (fmt.max_len - 1) + i)[-fmt.max_len:]
        text = f"{el.name}{i + 1}"
        if fmt.max_len is not None:
            text = text[: fmt.max_len]
        return text

    @staticmethod
    def element(ds: DataSet, ref: str) -> Element:
        """The element `ref` names: its id, internal id, name, a DE id the set has once, or
        "DE id:name" (DE02.01.039.00:联系人姓名)."""
        from .mapping import index_of

        by_id = {e.id: e for e in ds.elements}
        if ref in by_id:
            return by_id[ref]
        hits = index_of(ds).resolve(ref)
        if len(hits) != 1:
            raise KeyError(f"{ds.id} has no single element {ref!r}")
        return hits[0]

    def header(self, ds: DataSet, style: str = "name") -> list[str]:
        """Column headers: element names (style name); DE ids (style de), with the name where
        several elements share the id ("DE02.01.039.00 联系人姓名")."""
        if style == "de":
            return [e.de if e.de and not e.occurrence else
                    f"{e.de} {e.name}" if e.de else e.id for e in ds.elements]
        return [e.name if sum(1 for x in ds.elements if x.name == e.name) == 1 else e.id
                for e in ds.elements]

    def rows(self, ds: DataSet, n: int, start: int = 0, patients: int | None = None
             ) -> Iterator[list[str]]:
        subject = {min(same, key=ds.subject_rank).id for same in ds.by_de.values()}
        for i in range(start, start + n):
            p = self.person(i % patients if patients else i)
            yield [self.value(e, i, p, e.id in subject or not e.de) for e in ds.elements]

    # ---------------------------------------------------------------- files
    def write_csv(self, path: Path, ds: DataSet, n: int, *, encoding: str = "utf-8",
                  header_style: str = "name", extra: dict[str, Any] | None = None,
                  defects: dict[int, dict[str, str]] | None = None,
                  patients: int | None = None) -> Path:
        """`extra`: additional columns {header: callable(i) -> value}; `defects`: {row index:
        {element id or column header: value}}."""
        head = self.header(ds, header_style)
        ids = [e.id for e in ds.elements]
        extra = extra or {}
        with open(path, "w", encoding=encoding, newline="") as fh:
            w = csv.writer(fh)
            w.writerow(head + list(extra))
            for i, row in enumerate(self.rows(ds, n, patients=patients)):
                full = row + [str(f(i)) for f in extra.values()]
                for key, val in (defects or {}).get(i, {}).items():
                    if key in extra:
                        full[len(row) + list(extra).index(key)] = val
                    else:
                        full[ids.index(self.element(ds, key).id)] = val
                w.writerow(full)
        return path

    def write_jsonl(self, path: Path, ds: DataSet, n: int, header_style: str = "de") -> Path:
        head = self.header(ds, header_style)
        with open(path, "w", encoding="utf-8") as fh:
            for row in self.rows(ds, n):
                fh.write(json.dumps(dict(zip(head, row, strict=True)), ensure_ascii=False) + "\n")
        return path

    def write_xml(self, path: Path, ds: DataSet, n: int) -> Path:
        """An XML data-set file: one <记录> per record, fields named by DE code (or a <field
        name="…"> for elements without a code)."""
        from xml.sax.saxutils import escape, quoteattr

        root = Path(path).stem if Path(path).stem[:1].isalpha() else "dataset"
        parts = ['<?xml version="1.0" encoding="UTF-8"?>', f"<{root}>"]
        for row in self.rows(ds, n):
            parts.append("  <记录>")
            for e, v in zip(ds.elements, row, strict=True):
                if e.de and sum(1 for x in ds.elements if x.de == e.de) == 1:
                    parts.append(f"    <{e.de}>{escape(v)}</{e.de}>")
                else:
                    parts.append(f"    <field name={quoteattr(e.id)}>{escape(v)}</field>")
            parts.append("  </记录>")
        parts.append(f"</{root}>")
        Path(path).write_text("\n".join(parts) + "\n", encoding="utf-8")
        return path

    def write_xlsx(self, path: Path, ds: DataSet, n: int, title: str | None = None) -> Path:
        """A workbook with an optional title row merged across the table and a two-row header:
        group labels (merged across their columns) above the element names; elements without a
        group have their name merged over both header rows."""
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = ds.name[:31]
        groups = [_group(e) for e in ds.elements]
        r = 1
        width = len(ds.elements)
        if title:
            ws.cell(1, 1, title)
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
            r = 2
        names = self.header(ds, "name")
        c = 1
        while c <= width:
            g = groups[c - 1]
            end = c
            while end < width and groups[end] == g and g:
                end += 1
            if not g:
                ws.cell(r, c, names[c - 1])
                ws.merge_cells(start_row=r, start_column=c, end_row=r + 1, end_column=c)
            else:
                ws.cell(r, c, g)
                if end > c:
                    ws.merge_cells(start_row=r, start_column=c, end_row=r, end_column=end)
                for k in range(c, end + 1):
                    ws.cell(r + 1, k, names[k - 1])
            c = end + 1
        for i, row in enumerate(self.rows(ds, n)):
            for k, v in enumerate(row, start=1):
                ws.cell(r + 2 + i, k, v)
        wb.save(path)
        return path


def _group(e: Element) -> str:
    src = e.source
    if "(" in src and src.endswith(")"):
        return src[src.rindex("(") + 1: -1]
    return ""


def _fits(fmt: Any, code: str) -> bool:
    if fmt.kind != "chars":
        return True
    if fmt.cls == "N" and not code.isdigit():
        return False
    n = len(code)
    return (fmt.max_len is None or n <= fmt.max_len) and (fmt.min_len is None or n >= fmt.min_len)


# ==================================================================== shipped examples
INSTITUTIONS = ("市第一人民医院", "区中医院", "社区卫生服务中心")


def build_examples(folder: Path, ex: ExampleData | None = None) -> list[Path]:
    """Write the example files of test_cases/datasets/ (deterministic)."""
    import codecs
    from datetime import date

    from ..synth import resident_id

    ex = ex or ExampleData()
    d = ex.defs.datasets
    out: list[Path] = []
    hosp, reg, qual = folder / "hospital", folder / "regional", folder / "quality"
    for f in (hosp, reg, qual):
        f.mkdir(parents=True, exist_ok=True)
    # hospital: a conformant table, the same with defects, a GBK export with local headers and
    # its mapping file, a BOM-prefixed CSV with DE-code headers, a workbook with merged headers
    out.append(ex.write_csv(hosp / "WS445.1.1-患者基本信息.csv", d["WS445.1.1"], 20))
    out.append(ex.write_csv(hosp / "WS445.1.1-患者基本信息-有缺陷.csv", d["WS445.1.1"], 20,
                            defects={2: {"DE02.01.040.00": "男"},
                                     4: {"DE02.01.030.00": "110101198001010015"},
                                     6: {"DE02.01.005.01": "1980-13-01"},
                                     8: {"DE02.01.018.00": "2", "DE02.01.025.00": "1"},
                                     10: {"患者姓名": ""},
                                     12: {"DE02.01.040.00": "3"},
                                     14: {"DE02.01.005.01": "19991332"}}))
    ds = d["WS445.2.1"]
    local = [f"COL{k + 1:02d}" for k in range(len(ds.elements))]
    rows = list(ex.rows(ds, 15))
    rows[3][ds.elements.index(next(e for e in ds.elements if e.de == "DE02.10.023.00"))] = "是"
    p = hosp / "门急诊病历-GBK.csv"
    with open(p, "w", encoding="gbk", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(local)
        w.writerows(rows)
    out.append(p)
    mp = hosp / "门急诊病历-mapping.yaml"
    lines = ["# Column → data-element mapping of 门急诊病历-GBK.csv (its headers are local codes).",
             "dataset: WS445.2.1", "columns:"]
    lines += [f"  {c}: {e.de}" if e.de and not e.occurrence
              else f"  {c}: \"{e.id}\"    # {e.name}" for c, e in zip(local, ds.elements, strict=True)]
    mp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out.append(mp)
    p = hosp / "WS445.4.2-检验记录-BOM.csv"
    ex.write_csv(p, d["WS445.4.2"], 10, encoding="utf-8", header_style="de")
    p.write_bytes(codecs.BOM_UTF8 + p.read_bytes())
    out.append(p)
    out.append(ex.write_xlsx(hosp / "住院病案首页.xlsx", d["WS445.10.1"], 8,
                             title="住院病案首页（示例，合成数据）"))
    # regional: an XML data-set file and JSON lines
    out.append(ex.write_xml(reg / "EHR-DE-01-个人基本信息-T01.xml", d["EHR-DE-01"], 5))
    out.append(ex.write_jsonl(reg / "EHR-DE-17-门诊摘要信息-T01.jsonl", d["EHR-DE-17"], 10))
    # quality: a patient registration table and health-event records of three institutions
    n_pat = 30
    out.append(ex.write_csv(qual / "患者登记.csv", d["WS445.1.1"], n_pat,
                            extra={"机构": lambda i: INSTITUTIONS[i % 3]},
                            defects={4: {"DE02.01.018.00": "2"}}))   # not in 婚姻状况代码表
    ev = d["WS445.15.1"]
    base = ex.base

    def upload(i: int) -> str:
        hours = 2 + (i % 5) if i % 3 != 1 else (6 + (i % 4) * 30)   # 区中医院 uploads late
        t = base - timedelta(hours=i % 5000) + timedelta(hours=hours)
        return f"{t:%Y-%m-%d %H:%M:%S}"

    defects: dict[int, dict[str, str]] = {
        1: {"DE02.01.018.00": "70"},                      # not in 婚姻状况代码表
        4: {"DE06.00.017.00": "20240101T080000"},         # discharge before admission
        7: {"DE01.00.021.00": resident_id("110101", date(1990, 1, 1), 3, "2")},  # unregistered
        10: {"患者姓名": "张三丰"},                          # name disagrees with registration
        13: {"DE06.00.221.00": "20990101T000000"},        # in the future
        16: {"DE06.00.092.00": "2024/03/01 10:00"},       # not DT15
        2: {"患者姓名": ""},                                # required element empty
        5: {"患者姓名": ""},
    }
    out.append(ex.write_csv(qual / "出院小结.csv", ev, 3 * n_pat, patients=n_pat,
                            extra={"机构": lambda i: INSTITUTIONS[i % 3], "上传时间": upload},
                            defects=defects))
    return out


def main() -> None:  # pragma: no cover - maintenance entry point
    import sys

    from ..resources import test_cases_dir

    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else test_cases_dir() / "datasets"
    for p in build_examples(folder):
        print(p)


if __name__ == "__main__":  # pragma: no cover
    main()
