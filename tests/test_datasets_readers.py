"""Reading exports: GBK, BOM and UTF-16 CSV, delimiters, quoted newlines across partitions, XLSX
with merged header cells, JSON lines, XML data-set files."""

from __future__ import annotations

import codecs
import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest

from conformance.datasets.readers import (
    ReadError,
    Source,
    _BadRecord,
    expand_sources,
    open_tables,
)


def table(path: Path, **kw):
    (src,) = expand_sources([str(path)])
    (t,) = open_tables(src, **kw)
    return t


def rows(t, part=None) -> list:
    return list(t.rows(part))


def write(path: Path, text: str, encoding: str = "utf-8", bom: bytes = b"") -> Path:
    path.write_bytes(bom + text.encode(encoding))
    return path


TEXT = "患者姓名,性别代码,出生日期\n张三,1,19800101\n李四,2,19810202\n"


def test_gbk_csv_is_detected(tmp_path: Path) -> None:
    t = table(write(tmp_path / "a.csv", TEXT, "gbk"))
    assert t.encoding == "gb18030"
    assert t.columns == ["患者姓名", "性别代码", "出生日期"]
    assert rows(t) == [(2, ["张三", "1", "19800101"]), (3, ["李四", "2", "19810202"])]


def test_bom_csv_header_has_no_bom(tmp_path: Path) -> None:
    t = table(write(tmp_path / "a.csv", TEXT, "utf-8", codecs.BOM_UTF8))
    assert t.encoding == "utf-8-sig"
    assert t.columns[0] == "患者姓名"
    assert rows(t)[0] == (2, ["张三", "1", "19800101"])


def test_utf16_csv(tmp_path: Path) -> None:
    t = table(write(tmp_path / "a.csv", TEXT, "utf-16"))
    assert t.encoding == "utf-16" and not t.partitionable
    assert rows(t)[1] == (3, ["李四", "2", "19810202"])


def test_explicit_encoding_and_delimiter(tmp_path: Path) -> None:
    p = write(tmp_path / "a.txt", TEXT.replace(",", "\t"), "gbk")
    t = table(p, encoding="gbk")
    assert t.delimiter == "\t" and t.columns[2] == "出生日期"
    with pytest.raises(ReadError, match="unknown encoding"):
        table(p, encoding="nope-123")


def test_decoding_error_names_the_row(tmp_path: Path) -> None:
    good = TEXT.encode("utf-8") * 12000   # beyond the encoding-detection sample
    p = tmp_path / "a.csv"
    p.write_bytes(good + "王五,1,19800101\n".encode("gbk"))  # GBK bytes after UTF-8 rows
    t = table(p)
    assert t.encoding == "utf-8"
    with pytest.raises(ReadError) as exc:
        rows(t)
    assert exc.value.rule == "DS.ENCODING"
    assert exc.value.line == 36001   # 12000 × 3 lines, then the GBK row


@pytest.mark.slow
def test_partitions_give_the_same_rows_with_quoted_newlines(tmp_path: Path, monkeypatch) -> None:
    from conformance.datasets import readers

    monkeypatch.setattr(readers, "MIN_PARTITION_BYTES", 64 * 1024)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["患者姓名", "备注", "性别代码"])
    for i in range(60_000):
        note = f"第{i}行\n含换行,和\"引号\"" if i % 7 == 0 else f"备注{i}"
        w.writerow([f"姓名{i}", note, str(i % 2 + 1)])
    p = write(tmp_path / "big.csv", buf.getvalue())
    t = table(p)
    whole = rows(t)
    parts = t.partitions(4)
    assert len(parts) > 1
    assert parts[0].start == t.data_start and parts[-1].end == t.size
    joined = [r for part in parts for r in rows(t, part)]
    assert joined == whole
    assert len(whole) == 60_000 and whole[7][1][1].startswith("第7行\n")


def test_jsonl_rows_and_bad_lines(tmp_path: Path) -> None:
    lines = [json.dumps({"DE02.01.039.00": "张三", "DE02.01.040.00": 1, "x": {"y": True}},
                        ensure_ascii=False), "{not json", json.dumps({"DE02.01.039.00": "李四"})]
    t = table(write(tmp_path / "a.jsonl", "\n".join(lines) + "\n"))
    assert t.columns == ["DE02.01.039.00", "DE02.01.040.00", "x.y"]
    got = rows(t)
    assert got[0] == (1, ["张三", "1", "T"])
    assert isinstance(got[1][1], _BadRecord) and got[1][0] == 2
    assert got[2] == (3, ["李四", "", ""])


def test_json_array(tmp_path: Path) -> None:
    p = write(tmp_path / "a.json", json.dumps([{"a": 1.0}, {"a": 2.5, "b": None}]))
    t = table(p)
    assert t.columns == ["a", "b"] and rows(t) == [(1, ["1", ""]), (2, ["2.5", ""])]


def test_xlsx_with_title_row_and_merged_two_row_header(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "某医院住院病案首页导出"
    ws.merge_cells("A1:E1")                       # title row over the table
    ws["A2"] = "患者姓名"
    ws.merge_cells("A2:A3")                       # vertically merged header cell
    ws["B2"] = "出院诊断"
    ws.merge_cells("B2:C2")                       # group over two columns
    ws["B3"], ws["C3"] = "诊断名称", "诊断代码"
    ws["D2"] = "费用"
    ws.merge_cells("D2:E2")
    ws["D3"], ws["E3"] = "住院总费用", "自付金额"
    ws.append(["张三", "肺炎", "J18.900", 1200.5, 300])
    ws.append([None, None, None, None, None])      # empty rows are skipped
    ws.append(["李四", "高血压", "I10.x00", 99, 0])
    p = tmp_path / "a.xlsx"
    wb.save(p)
    t = table(p)
    assert t.title_rows == 1 and t.header_rows == 2 and t.first_line == 4
    assert t.columns == ["患者姓名", "诊断名称", "诊断代码", "住院总费用", "自付金额"]
    assert t.column_paths[1] == "出院诊断/诊断名称" and t.column_paths[3] == "费用/住院总费用"
    assert rows(t) == [(4, ["张三", "肺炎", "J18.900", "1200.5", "300"]),
                       (6, ["李四", "高血压", "I10.x00", "99", "0"])]


def test_xlsx_native_dates_become_standard_forms(tmp_path: Path) -> None:
    from datetime import datetime

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["出生日期", "入院日期时间"])
    ws.append([datetime(1980, 1, 2), datetime(2024, 3, 15, 9, 30)])
    p = tmp_path / "d.xlsx"
    wb.save(p)
    assert rows(table(p)) == [(2, ["19800102", "20240315T093000"])]


def test_xlsx_every_sheet_is_a_table_unless_one_is_named(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "患者"
    wb.active.append(["患者姓名"])
    wb.active.append(["张三"])
    ws = wb.create_sheet("空")
    ws2 = wb.create_sheet("门诊")
    ws2.append(["门（急）诊号"])
    ws2.append(["M001"])
    _ = ws
    p = tmp_path / "m.xlsx"
    wb.save(p)
    (src,) = expand_sources([str(p)])
    ts = open_tables(src)
    assert [t.sheet for t in ts] == ["患者", "门诊"]
    assert ts[1].display.endswith("#门诊")
    assert [t.sheet for t in open_tables(src, sheet="门诊")] == ["门诊"]
    with pytest.raises(ReadError, match="no sheet named"):
        open_tables(src, sheet="无")


def test_damaged_xlsx_is_a_clear_error(tmp_path: Path) -> None:
    p = write(tmp_path / "bad.xlsx", "not a zip")
    (src,) = expand_sources([str(p)])
    with pytest.raises(ReadError, match="not a readable XLSX"):
        open_tables(src)


def test_xml_dataset_file_records(tmp_path: Path) -> None:
    xml = """<?xml version="1.0" encoding="UTF-8"?>
<EHR-DE-01-个人基本信息-T01>
  <head><DE08.10.052.00>12345678-9</DE08.10.052.00></head>
  <记录><DE02.01.039.00>张三</DE02.01.039.00><field name="工作单位名称">某厂</field></记录>
  <记录><DE02.01.039.00>李四</DE02.01.039.00><DE02.01.040.00 code="2"/></记录>
</EHR-DE-01-个人基本信息-T01>"""
    t = table(write(tmp_path / "EHR-DE-01-个人基本信息-T01.xml", xml))
    assert t.columns == ["DE08.10.052.00", "DE02.01.039.00", "工作单位名称", "DE02.01.040.00"]
    assert rows(t) == [(4, ["12345678-9", "张三", "某厂", ""]),
                       (5, ["12345678-9", "李四", "", "2"])]


def test_xml_dataset_files_in_nested_and_damaged_archives(tmp_path: Path) -> None:
    import zipfile

    xml = ("<EHR-DE-01><记录><DE02.01.039.00>张三</DE02.01.039.00></记录></EHR-DE-01>")
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("记录_张三.xml", xml)
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.write(inner, "科室.zip")
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04" + bytes(100))
    nested, bad = expand_sources([str(outer), str(tmp_path / "bad.zip")])
    assert nested.display.endswith("outer.zip!/科室.zip!/记录_张三.xml")
    assert nested.name == "记录_张三.xml"
    (t,) = open_tables(nested)
    assert rows(t) == [(1, ["张三"])]
    with pytest.raises(ReadError) as exc:
        open_tables(bad)
    assert exc.value.rule == "DS.IO_ERROR" and "not a readable zip archive" in exc.value.detail


def test_xml_with_entities_is_refused(tmp_path: Path) -> None:
    xml = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "x">]><r><a>&e;</a></r>'
    with pytest.raises(ReadError):
        table(write(tmp_path / "e.xml", xml))


def test_cda_document_is_recognised(tmp_path: Path, synth, catalog) -> None:
    p = tmp_path / "doc.xml"
    p.write_bytes(synth.document_bytes(catalog.documents["C0004"], 1))
    assert table(p).cda


def test_expand_sources(tmp_path: Path) -> None:
    from conformance.inputs import InputError

    write(tmp_path / "a.csv", TEXT)
    write(tmp_path / "notes.md", "x")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "b.jsonl", "{}\n")
    found = [Path(s.path).name for s in expand_sources([str(tmp_path)])]
    assert found == ["a.csv", "b.jsonl"]
    with pytest.raises(InputError, match="unsupported file type"):
        expand_sources([str(tmp_path / "notes.md")])
    with pytest.raises(InputError, match="no such file"):
        expand_sources([str(tmp_path / "missing.csv")])
    assert isinstance(expand_sources([str(tmp_path / "*.csv")])[0], Source)
