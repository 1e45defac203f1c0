"""Data-set definitions: the 58 WS 445 subsets in 17 parts with their transcribed element lists
(2,273 elements, internal ids, DE ids shared by several elements), the 20 regional sets,
elements with code, type, format, value set, required flag and provenance; the transcription
importer; loader errors; format grammar; the generated files in sync."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conformance.catalog import CatalogError, load_catalog
from conformance.cli import main
from conformance.datasets import ws445
from conformance.datasets.definitions import STATUS_ORDER, Definitions, load_definitions, parse_format
from conformance.datasets.derive import Deriver, _dump
from conformance.resources import standards_dir

REPO = Path(__file__).resolve().parents[1]
TRANSCRIPTION = REPO.parent / "shared" / "datasets" / "ws445-elements.tsv"


@pytest.fixture(scope="module")
def defs() -> Definitions:
    return load_definitions()


def test_ws445_has_58_subsets_in_17_parts(defs: Definitions) -> None:
    hosp = defs.ordered("hospital")
    assert len(hosp) == 58
    assert {d.raw["part"] for d in hosp} == set(range(1, 18))
    per_part = {}
    for d in hosp:
        per_part[d.raw["part"]] = per_part.get(d.raw["part"], 0) + 1
    assert per_part[1] == 4 and per_part[13] == 15 and per_part[5] == 6
    # levels and points as the 2020 table gives them: 54 at 一级 (0.19), 4 at 二级 (1 point)
    assert sum(1 for d in hosp if d.raw["level"] == "二级") == 4
    assert sum(d.raw["points"] for d in hosp if d.raw["level"] == "二级") == 4
    assert {d.id for d in hosp if d.raw["optional_business"]} == {
        "WS445.3.2", "WS445.6.1", "WS445.6.2", "WS445.6.3", "WS445.11.1"}


def test_regional_has_20_sets_all_provisional(defs: Definitions) -> None:
    reg = defs.ordered("regional")
    assert [d.id for d in reg] == [f"EHR-DE-{n:02d}" for n in range(1, 21)]
    assert all(d.provisional for d in reg)
    assert all(e.status == "provisional" for d in reg for e in d.elements)
    assert "EHR-DE-06" in reg[5].raw["provenance"]["name"]


def test_every_element_is_complete_and_traceable(defs: Definitions) -> None:
    cat = load_catalog()
    for ds in defs.datasets.values():
        assert ds.elements, ds.id
        assert ds.raw.get("provenance"), ds.id
        for e in ds.elements:
            assert e.data_type in defs.data_types
            assert e.format.text
            assert e.status in STATUS_ORDER
            assert e.source, (ds.id, e.id)
            if e.de and e.status != "transcribed":
                # never an invented code: a DE code is in the shared vocabulary or in the
                # transcription of the WS 445 tables (with the element's internal id)
                assert e.de in cat.data_elements, (ds.id, e.de)
            if e.value_set:
                assert e.value_set in cat.value_sets


def test_ws445_lists_are_transcribed(defs: Definitions) -> None:
    hosp = defs.ordered("hospital")
    assert sum(len(d.elements) for d in hosp) == 2273
    assert all(d.elements_status == "transcribed" and not d.provisional for d in hosp)
    assert all(e.status == "transcribed" for d in hosp for e in d.elements)
    for d in hosp:
        assert d.raw["provenance"]["elements"] == ["ws445-transcription"]
        assert d.raw["ws445_name"].endswith("子集")
        # internal ids HDSD00.pp.nnn and subset ids HDSD00.pp.ss number part P as pp = P + 1
        assert {int(e.internal_id[7:9]) for e in d.elements} == {d.raw["part"] + 1}, d.id
        if d.raw["subset_id"]:
            assert int(d.raw["subset_id"][7:9]) == d.raw["part"] + 1
        assert len({e.id for e in d.elements}) == len(d.elements)
    # the transcription has no subset id for parts 16 and 17
    assert [d.id for d in hosp if not d.raw["subset_id"]] == ["WS445.16.1", "WS445.17.1"]
    assert "ws445-transcription" in load_catalog().sources


def test_patient_basic_information_has_27_elements(defs: Definitions) -> None:
    ds = defs.get("患者基本信息")
    assert ds.id == "WS445.1.1" and len(ds.elements) == 27
    assert ds.raw["subset_id"] == "HDSD00.02.02" and ds.raw["ws445_name"] == "患者基本信息子集"
    names = [e.name for e in ds.by_de["DE02.01.039.00"]]
    assert names == ["患者姓名", "联系人姓名", "建档者姓名"]
    tel = ds.by_de["DE02.01.010.00"]
    assert [e.name for e in tel] == ["工作单位电话号码", "患者电话号码", "联系人电话号码"]
    assert [e.occurrence for e in tel] == [(1, 3), (2, 3), (3, 3)]
    contact = ds.by_de["DE02.01.039.00"][1]
    assert contact.id == contact.internal_id == "HDSD00.02.039"
    assert contact.label == "联系人姓名（HDSD00.02.039，DE02.01.039.00）"
    # the patient's own elements come first where record-level checks read one of several
    assert min(ds.by_de["DE02.01.039.00"], key=ds.subject_rank).name == "患者姓名"
    assert min(tel, key=ds.subject_rank).name == "患者电话号码"


def test_transcription_typos_are_corrected_and_repeated_internal_ids_kept_apart(
        defs: Definitions) -> None:
    names = {e.name for d in defs.ordered("hospital") for e in d.elements}
    assert not any(ch in n for n in names for ch in "査観脘跻捭")
    assert defs.datasets["WS445.5.2"].raw["ws445_name"] == "一般手术记录子集"
    mz = defs.datasets["WS445.2.1"]
    twice = [e for e in mz.elements if e.internal_id == "HDSD00.03.057"]
    assert len(twice) == 2 and len({e.id for e in twice}) == 2
    assert all(e.id == f"HDSD00.03.057:{e.name}" for e in twice)


def test_merged_knowledge_of_each_element(defs: Definitions) -> None:
    ds = defs.datasets["WS445.1.1"]
    by = {e.name: e for e in ds.elements}
    # WS 363 background formats, value sets and CDA places carried over from the template
    assert by["性别代码"].value_set == "2.16.156.10011.2.3.3.4" and by["性别代码"].format.text == "N1"
    assert by["患者姓名"].required and by["患者姓名"].required_status == "seen"
    assert by["患者姓名"].cda == {"path": "recordTarget/patientRole/patient/name", "value": "text"}
    assert by["患者身份证件号码"].check == "resident_id"
    assert "身份证件号码" in by["患者身份证件号码"].aliases   # the name the project used before
    assert by["患者电话号码"].cda["path"] == "recordTarget/patientRole/telecom"
    assert by["联系人电话号码"].cda is None     # not the patient's telecom
    # no template element: type and format from the name's class word, provisional
    assert (by["建档日期时间"].data_type, by["建档日期时间"].format.text) == ("DT", "DT15")
    assert by["邮政编码"].format_basis == "derived-from-name"
    assert all(e.format_status == "provisional" for e in ds.elements)
    assert ds.formats_known == sum(1 for e in ds.elements if e.format_basis == "ws363-background")


def test_every_wst500_document_maps_to_its_subset(defs: Definitions) -> None:
    cat = load_catalog()
    for code, tpl in cat.documents.items():
        if tpl.family != "wst500":
            continue
        subs = defs.subsets_of_document(code)
        assert subs, code
        assert all(s.raw["part_name"] == tpl.ws445_group for s in subs), code
    assert [d.id for d in defs.subsets_of_document("C0001")] == [
        "WS445.1.1", "WS445.1.2", "WS445.1.3", "WS445.1.4"]


def test_wst483_documents_map_to_the_regional_sets_by_their_hsd_code(defs: Definitions) -> None:
    assert [d.id for d in defs.subsets_of_document("HSDB03.03")] == ["EHR-DE-11"]
    assert [d.id for d in defs.subsets_of_document("B0011")] == ["EHR-DE-11"]  # the variant
    assert [d.id for d in defs.subsets_of_document("HSDB02.02")] == ["EHR-DE-05", "EHR-DE-06"]
    cat = load_catalog()
    for ds in defs.ordered("regional"):
        for code in ds.raw.get("documents") or []:
            assert cat.documents[code].family == "wst483", (ds.id, code)


def test_lookup_by_id_item_code_document_and_name(defs: Definitions) -> None:
    assert defs.get("WS445.13.15").name == "死亡病例讨论记录"
    assert defs.get("2.1.13.15").id == "WS445.13.15"
    assert defs.get("C0051").id == "WS445.13.15"
    assert defs.get("死亡病例讨论记录").id == "WS445.13.15"
    assert defs.get("ehr-de-11").id == "EHR-DE-11"
    assert defs.get("EHR-DE-11-死亡医学证明信息-T01").id == "EHR-DE-11"
    assert defs.get("C0001") is None  # C0001 splits into four subsets: not an alias
    assert defs.get("nope") is None


def test_known_formats_and_bindings(defs: Definitions) -> None:
    ds = defs.datasets["WS445.1.1"]
    by_name = {e.name: e for e in ds.elements}
    assert by_name["患者姓名"].format.text == "A..50" and by_name["患者姓名"].required
    assert by_name["性别代码"].value_set == "2.16.156.10011.2.3.3.4"
    assert by_name["性别代码"].format.text == "N1"
    assert by_name["出生日期"].format.text == "D8"
    assert by_name["患者身份证件号码"].check == "resident_id"
    # formats are background knowledge, never "seen": every format finding is provisional
    assert all(e.format_status == "provisional" for e in ds.elements)


@pytest.mark.parametrize("text,kind,cls,lo,hi,dec", [
    ("AN..50", "chars", "AN", None, 50, None),
    ("A..50", "chars", "A", None, 50, None),
    ("N..3", "chars", "N", None, 3, None),
    ("N2", "chars", "N", 2, 2, None),
    ("AN4..20", "chars", "AN", 4, 20, None),
    ("N..10,2", "chars", "N", None, 10, 2),
    ("D8", "date", None, 8, 8, None),
    ("DT15", "datetime", None, 15, 15, None),
    ("T6", "time", None, 6, 6, None),
    ("T/F", "boolean", None, None, None, None),
])
def test_format_grammar(text, kind, cls, lo, hi, dec) -> None:
    f = parse_format(text)
    assert (f.kind, f.cls, f.min_len, f.max_len, f.decimals) == (kind, cls, lo, hi, dec)


@pytest.mark.parametrize("bad", ["X..5", "AN", "N..", "AN20..4", "D9", ""])
def test_format_grammar_rejects(bad) -> None:
    with pytest.raises(ValueError):
        parse_format(bad)


def _copy_defs(tmp_path: Path) -> Path:
    dst = tmp_path / "datasets"
    shutil.copytree(standards_dir() / "datasets", dst)
    return dst


def test_loader_names_file_and_problem(tmp_path: Path) -> None:
    root = _copy_defs(tmp_path)
    f = root / "ws445" / "WS445.1.1.yaml"
    text = f.read_text(encoding="utf-8").replace("format: A..50", "format: Q..50", 1)
    f.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match=r"WS445\.1\.1\.yaml element 6: unknown representation"):
        Definitions(root, load_catalog())


def test_loader_rejects_unquoted_comma_in_flow_mapping(tmp_path: Path) -> None:
    root = _copy_defs(tmp_path)
    f = root / "ws445" / "WS445.1.4.yaml"
    text = f.read_text(encoding="utf-8").replace("'N..10,2'", "N..10,2", 1)
    f.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match="unknown key"):
        Definitions(root, load_catalog())


def test_loader_rejects_unknown_value_set(tmp_path: Path) -> None:
    root = _copy_defs(tmp_path)
    f = root / "ws445" / "WS445.1.1.yaml"
    text = f.read_text(encoding="utf-8").replace("value_set: 2.16.156.10011.2.3.3.4",
                                                 "value_set: 9.9.9", 1)
    f.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match="value set 9.9.9"):
        Definitions(root, load_catalog())


def test_loader_rejects_unknown_status_and_bad_internal_id(tmp_path: Path) -> None:
    root = _copy_defs(tmp_path)
    f = root / "ws445" / "WS445.1.1.yaml"
    good = f.read_text(encoding="utf-8")
    f.write_text(good.replace(", status: transcribed", ", status: vendor", 1), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"element 1: unknown status 'vendor'"):
        Definitions(root, load_catalog())
    f.write_text(good.replace("elements_status: transcribed", "elements_status: vendor", 1),
                 encoding="utf-8")
    with pytest.raises(CatalogError, match=r"WS445\.1\.1\.yaml: unknown elements_status 'vendor'"):
        Definitions(root, load_catalog())
    f.write_text(good.replace("internal_id: HDSD00.02.003", "internal_id: HD.02", 1),
                 encoding="utf-8")
    with pytest.raises(CatalogError, match=r"element 1: internal id 'HD\.02'"):
        Definitions(root, load_catalog())


@pytest.mark.slow
def test_generated_files_are_in_sync() -> None:
    """The stored WS 445 lists re-merge to the committed files and the regional sets derive
    from the templates — without the transcription (edit profiles.yaml, formats.yaml, the
    vocabulary or the templates, then re-run `python -m conformance.datasets.derive`)."""
    d = Deriver()
    merged = ws445.Merger(d).datasets(ws445.stored_lists())
    assert len(merged) == 58
    for item in merged:
        path = standards_dir() / "datasets" / "ws445" / f"{item['id']}.yaml"
        assert path.read_text(encoding="utf-8") == ws445.dump(item), (
            f"{path} is out of date: run `python -m conformance.datasets.derive` and commit")
    for item in d.regional(d.ws445())[:3]:
        path = standards_dir() / "datasets" / "regional" / f"{item['id']}.yaml"
        assert path.read_text(encoding="utf-8") == _dump(item), (
            f"{path} is out of date: run `python -m conformance.datasets.derive` and commit")
    assert yaml.safe_load(ws445.dump(merged[0]))["id"] == "WS445.1.1"


@pytest.mark.slow
def test_lists_agree_with_the_transcription() -> None:
    """The committed lists are the transcription's (with the corrections of profiles.yaml)."""
    if not TRANSCRIPTION.is_file():
        pytest.skip(f"the WS 445 transcription is not available at {TRANSCRIPTION} (it lives in "
                    "../shared beside the checkout; the lists' internal consistency is checked "
                    "by the other tests)")
    lists = ws445.from_transcription(TRANSCRIPTION)
    assert sum(len(x.elements) for x in lists.values()) == 2273
    assert ws445.compare(ws445.stored_lists(), lists) == []


# ---------------------------------------------------------------- the importer on own fixtures
HEAD = "# a test transcription\npart\tpart_title\tsubset\tsubset_id\tinternal_id\tde_id\tname\n"


def _tsv(tmp_path: Path, rows: list[str], head: str = HEAD) -> Path:
    p = tmp_path / "t.tsv"
    p.write_text(head + "".join(r + "\n" for r in rows), encoding="utf-8")
    return p


def _row(part: int, subset: str, sid: str, iid: str, de: str, name: str) -> str:
    return "\t".join([f"WS 445.{part}", "x", subset, sid, iid, de, name])


@pytest.mark.parametrize("rows,head,pattern", [
    ([_row(1, "患者基本信息子集", "HDSD00.02.02", "HDSD00.02.027", "DE02.01.039.00", "患者姓名")],
     "part\tsubset\tname\n", r"t\.tsv:1: the header row lacks"),
    ([_row(1, "患者基本信息子集", "HDSD00.02.02", "HDSD0.2.027", "DE02.01.039.00", "患者姓名")],
     HEAD, r"t\.tsv:3: internal id 'HDSD0\.2\.027'"),
    ([_row(1, "患者基本信息子集", "HDSD00.02.02", "HDSD00.02.027", "DE2.1.39", "患者姓名")],
     HEAD, r"t\.tsv:3: data-element id 'DE2\.1\.39'"),
    (["WS 445.1\tx\t患者基本信息子集"], HEAD, r"t\.tsv:3: 3 fields, the header has 7"),
    ([], HEAD, r"no element rows"),
])
def test_transcription_mistakes_are_clear(tmp_path, rows, head, pattern) -> None:
    with pytest.raises(ws445.TranscriptionError, match=pattern):
        ws445.read_transcription(_tsv(tmp_path, rows, head), ws445.Fixes({}))


def test_subsets_match_by_part_and_name_not_by_number(tmp_path) -> None:
    merger = ws445.Merger()
    fixes = ws445.Fixes(merger.spec)
    subsets = [s for s in merger.d.profiles["ws445_subsets"] if s["n"] in ("5.1", "5.2", "12.2")]
    rows = [_row(5, "—般手术记录子集", "HDSD00.06.06", "HDSD00.06.001", "DE06.00.093.00", "手术及操作编码"),
            _row(5, "治疗记录子集", "HDSD00.06.03", "HDSD00.06.002", "DE02.01.039.00", "患者姓名"),
            _row(5, "治疗记录子集", "HDSD00.06.03", "HDSD00.06.002", "DE02.01.039.00", "患者姓名"),
            _row(12, "24 h内入出院记录子集", "HDSD00.13.01", "HDSD00.13.003", "DE08.50.947.00",
                 "检査(结果)")]
    got = ws445.lists_from_rows(ws445.assign_subsets(
        ws445.read_transcription(_tsv(tmp_path, rows), fixes), subsets, "t.tsv"))
    assert got["5.2"].ws445_name == "一般手术记录子集" and got["5.2"].subset_id == "HDSD00.06.06"
    assert got["5.1"].elements == [("HDSD00.06.002", "DE02.01.039.00", "患者姓名")]  # repeat dropped
    assert got["12.2"].elements == [("HDSD00.13.003", "DE08.50.047.00", "检查（结果）")]
    with pytest.raises(ws445.TranscriptionError, match=r"WS 445\.12 subset 24小时内入出院记录 \(12\.2\) "
                                                        r"matches 0 tables"):
        ws445.assign_subsets(ws445.read_transcription(_tsv(tmp_path, rows[:3]), fixes),
                             subsets, "t.tsv")


def test_template_elements_pair_with_transcribed_ones() -> None:
    m = ws445.Merger()
    rows = [("HDSD00.02.018", "DE02.01.010.00", "工作单位电话号码"),
            ("HDSD00.02.023", "DE02.01.010.00", "患者电话号码"),
            ("HDSD00.02.027", "DE02.01.039.00", "患者姓名")]
    old = [{"de": "DE02.01.010.00", "name": "电话号码"}, {"de": "DE02.01.039.00", "name": "姓名"}]
    got = m.match(rows, old)
    # 电话号码 is the patient's (患者 is an optional leading word), not the work telephone
    assert got == {1: old[0], 2: old[1]}


def test_cli_datasets_show_lists_the_27_elements() -> None:
    r = CliRunner().invoke(main, ["datasets", "show", "WS445.1.1"])
    assert r.exit_code == 0, r.output
    assert "27 数据元" in r.output and "HDSD00.02.039" in r.output and "联系人姓名" in r.output
    assert "厂商转录本" in r.output and "数据元覆盖 = 有值的数据元 / 27" in r.output
    assert "(第2/3个)" in r.output
    r = CliRunner().invoke(main, ["datasets", "show", "WS445.1.1", "--format", "json"])
    data = yaml.safe_load(r.output)
    assert len(data["elements"]) == 27 and data["coverage_required"] == 27
    assert data["elements_status"] == "transcribed" and data["subset_id"] == "HDSD00.02.02"
    e = next(x for x in data["elements"] if x["name"] == "联系人姓名")
    assert e["internal_id"] == "HDSD00.02.039" and e["occurrence"] == [2, 3]
    r = CliRunner().invoke(main, ["datasets", "list", "--profile", "hospital", "--lang", "en"])
    assert "WS445.1.1" in r.output and "27 elements" in r.output and "[transcribed]" in r.output
