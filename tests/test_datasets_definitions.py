"""Data-set definitions: the 58 WS 445 subsets in 17 parts, the 20 regional sets, elements with
code, type, format, value set, required flag and provenance; loader errors; format grammar."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from conformance.catalog import CatalogError, load_catalog
from conformance.datasets.definitions import Definitions, load_definitions, parse_format
from conformance.datasets.derive import Deriver, _dump
from conformance.resources import standards_dir


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
            assert e.status in ("seen", "observed", "strict-xsd", "provisional")
            assert e.source, (ds.id, e.id)
            if e.de:  # never an invented code: every DE code is in the shared vocabulary
                assert e.de in cat.data_elements, (ds.id, e.de)
            if e.value_set:
                assert e.value_set in cat.value_sets


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
    by_de = {e.de: e for e in ds.elements if e.de}
    assert by_de["DE02.01.039.00"].format.text == "A..50" and by_de["DE02.01.039.00"].required
    assert by_de["DE02.01.040.00"].value_set == "2.16.156.10011.2.3.3.4"
    assert by_de["DE02.01.040.00"].format.text == "N1"
    assert by_de["DE02.01.005.01"].format.text == "D8"
    assert by_de["DE02.01.030.00"].check == "resident_id"
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
    with pytest.raises(CatalogError, match=r"WS445\.1\.1\.yaml element 1: unknown representation"):
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


def test_generated_files_are_in_sync_with_templates(defs: Definitions) -> None:
    """The derive tool reproduces the committed files (edit profiles.yaml or the templates,
    then re-run `python -m conformance.datasets.derive`)."""
    d = Deriver()
    for item in d.ws445()[:6] + d.regional(d.ws445())[:3]:
        folder = "ws445" if item["profile"] == "hospital" else "regional"
        path = standards_dir() / "datasets" / folder / f"{item['id']}.yaml"
        assert path.read_text(encoding="utf-8") == _dump(item), (
            f"{path} is out of date with the templates / vocabulary: run "
            "`python -m conformance.datasets.derive` and commit the result")
    assert yaml.safe_load(_dump(d.ws445()[0]))["id"] == "WS445.1.1"
