"""The command line: inputs, formats, exit codes, languages, atomic output."""

from __future__ import annotations

import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from conformance.cli import main
from conformance.resources import standards_dir

from .conftest import FIXTURES

GOOD = Path(__file__).resolve().parents[1] / "test_cases" / "documents" / "wst500"
BAD = FIXTURES / "bad"


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return r.exit_code, r.output


def good(code: str) -> Path:
    return next(GOOD.glob(f"EMR-SD-{int(code[1:]):02d}-*.xml"))


def test_valid_document_exits_0_and_prints_zh() -> None:
    code, out = run("validate", str(good("C0032")))
    assert code == 0
    assert "共 1 份文档：1 份通过" in out and "C0032 住院病案首页" in out


def test_errors_exit_1_english() -> None:
    code, out = run("validate", "--lang", "en", str(BAD / "C0004-realm-us.xml"))
    assert code == 1
    assert "realmCode must be CN, found US" in out and "1 invalid" in out


def test_usage_and_missing_paths_exit_2(tmp_path: Path) -> None:
    assert run("validate")[0] == 2
    code, out = run("validate", str(tmp_path / "nope.xml"))
    assert code == 2 and "no such file" in out
    code, out = run("validate", str(tmp_path / "*.xml"))
    assert code == 2 and "matches no file" in out


def test_unreadable_file_is_an_io_error(tmp_path: Path, monkeypatch) -> None:
    """A file that disappears between listing and reading: reported on the document, exit 2."""
    from conformance.inputs import Task
    from conformance.validate import api

    gone = tmp_path / "gone.xml"
    monkeypatch.setattr(api, "expand", lambda paths: [Task(str(gone), str(gone)),
                                                       Task(str(good("C0004")), str(good("C0004")))])
    code, out = run("validate", "--format", "json", "whatever")
    d = json.loads(out)
    assert code == 2 and d["summary"]["documents"] == 2
    assert d["documents"][0]["findings"][0]["rule"] == "PARSE.IO_ERROR"
    assert d["documents"][1]["valid"] is True


def test_json_contract() -> None:
    code, out = run("validate", "--format", "json", str(good("C0004")),
                    str(BAD / "C0004-ts-feb-29.xml"), str(BAD / "not-well-formed.xml"))
    assert code == 1
    d = json.loads(out)
    assert set(d["tool"]) >= {"name", "version", "ruleset"}
    assert set(d["summary"]) >= {"documents", "valid", "invalid", "errors", "warnings"}
    assert d["summary"]["documents"] == 3 and d["summary"]["valid"] == 1
    for doc in d["documents"]:
        assert set(doc) >= {"path", "document_type", "valid", "layers", "findings"}
        assert set(doc["layers"]) == {"parse", "schema", "template", "vocabulary", "datatype"}
        for f in doc["findings"]:
            assert set(f) >= {"rule", "severity", "layer", "message", "xpath", "line", "column",
                              "expected", "actual", "source"}
            assert f["layer"] in doc["layers"]
    bad = d["documents"][1]["findings"]
    f = next(f for f in bad if f["rule"] == "DT.TS_INVALID_DATE")
    assert f["actual"] == "20230229" and f["xpath"].endswith("/time[1]/@value")
    assert d["documents"][2]["layers"]["schema"].startswith("skipped")


def test_junit_and_sarif() -> None:
    code, out = run("validate", "--format", "junit", str(good("C0004")),
                    str(BAD / "C0004-language.xml"))
    assert code == 1
    root = etree.fromstring(out.encode())
    assert root.get("tests") == "2" and root.get("failures") == "1"
    assert len(root.findall(".//testcase")) == 2 and len(root.findall(".//failure")) == 1
    code, out = run("validate", "--format", "sarif", str(BAD / "C0004-language.xml"))
    s = json.loads(out)
    assert s["version"] == "2.1.0"
    res = s["runs"][0]["results"]
    r = next(r for r in res if r["ruleId"] == "WST500.HEADER.LANGUAGE")
    region = r["locations"][0]["physicalLocation"]["region"]
    assert r["level"] == "error" and region["startLine"] > 1 and region["startColumn"] > 1
    assert any(x["id"] == "WST500.HEADER.LANGUAGE" for x in s["runs"][0]["tool"]["driver"]["rules"])


class _GbkInfo(zipfile.ZipInfo):
    """What zip tools on Chinese Windows write: GBK bytes without the UTF-8 flag."""

    def _encodeFilenameFlags(self):  # noqa: N802 - zipfile's name
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


def test_directory_glob_and_zip_with_gbk_names(tmp_path: Path) -> None:
    z = tmp_path / "submission.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in sorted(GOOD.glob("*.xml"))[:3]:
            zf.writestr(_GbkInfo(p.name), p.read_bytes())
        zf.writestr("readme.txt", "not xml")
    code, out = run("validate", "--format", "json", str(z))
    d = json.loads(out)
    assert code == 0 and d["summary"]["documents"] == 3
    assert d["documents"][0]["path"].endswith("!/EMR-SD-01-病历概要-T01-001.xml")
    code, out = run("validate", "--format", "json", str(GOOD.parent))
    assert json.loads(out)["summary"]["documents"] == 73
    code, out = run("validate", "--format", "json", str(GOOD / "EMR-SD-0*.xml"))
    assert json.loads(out)["summary"]["documents"] == 9


def test_parallel_jobs_give_the_same_results() -> None:
    _, one = run("validate", "--format", "json", str(BAD))
    _, two = run("validate", "--format", "json", "--jobs", "2", str(BAD))
    assert json.loads(one) == json.loads(two)


def test_output_file_is_atomic(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    code, _ = run("validate", "--format", "json", "-o", str(out), str(good("C0004")))
    assert code == 0 and json.loads(out.read_text(encoding="utf-8"))["summary"]["valid"] == 1
    code, text = run("validate", "-o", str(tmp_path / "missing" / "r.json"), str(good("C0004")))
    assert code == 2 and "missing" in text
    assert not list(tmp_path.glob("**/*.part"))


def test_schema_dir_option(tmp_path: Path) -> None:
    pkg = tmp_path / "sdschemas"
    shutil.copytree(standards_dir() / "schemas" / "cda", pkg)
    code, out = run("validate", "--format", "json", "--schema-dir", str(pkg), str(good("C0004")))
    assert code == 0 and json.loads(out)["schema"].endswith("CDA.xsd")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "SDA.xsd").write_text("<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'>",
                                    encoding="utf-8")
    code, out = run("validate", "--schema-dir", str(broken), str(good("C0004")))
    assert code == 2 and "SDA.xsd" in out


@pytest.mark.parametrize("args, needle", [
    (("standards", "list"), "C0032"),
    (("standards", "list", "--kind", "value-sets"), "2.16.156.10011.2.3.3.4"),
    (("standards", "list", "--kind", "rules", "--lang", "en"), "WST500.HEADER.TEMPLATE_MISSING"),
    (("standards", "show", "C0032"), "住院病案首页"),
    (("standards", "show", "DE04.50.001.00"), "ABO"),
])
def test_standards_browse(args: tuple[str, ...], needle: str) -> None:
    code, out = run(*args)
    assert code == 0 and needle in out


def test_value_sets_listed_in_the_output_language() -> None:
    _, zh = run("standards", "list", "--kind", "value-sets")
    _, en = run("standards", "list", "--kind", "value-sets", "--lang", "en")
    assert "个代码，" in zh and " codes, " not in zh
    assert re.search(r"\(\d+ codes, (complete|partial)\)", en)


def test_standards_json_and_unknown() -> None:
    code, out = run("standards", "list", "--format", "json")
    rows = json.loads(out)
    assert len(rows) == 73 and {"id", "name", "template_id", "status"} <= set(rows[0])
    wst483 = [r for r in rows if r["family"] == "wst483"]
    assert len(wst483) == 20 and all(r["status"] == "vendor-consensus"
                                     and r["template_id_status"] == "provisional" for r in wst483)
    assert not any(r["status"] == "provisional" for r in rows)
    code, out = run("standards", "show", "C0032", "--format", "json")
    assert json.loads(out)["template_id"] == "2.16.156.10011.2.1.1.52"
    code, out = run("standards", "show", "C9999")
    assert code == 2 and "C9999" in out


@pytest.mark.slow
def test_examples_command(tmp_path: Path) -> None:
    code, out = run("examples", "--out", str(tmp_path), "--family", "wst500", "--count", "2")
    assert code == 0 and len(list(tmp_path.rglob("*.xml"))) == 106
    code, out = run("validate", str(tmp_path))
    assert code == 0


def test_output_to_a_device_writes_through(tmp_path: Path) -> None:
    """-o /dev/null must not replace the device with a regular file."""
    import stat

    code, _ = run("validate", "--format", "json", "-o", "/dev/null", str(good("C0004")))
    assert code == 0 and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_archives_nested_broken_and_encrypted(tmp_path: Path) -> None:
    """A submission folder as assessors receive them: a zip of per-department zips, a damaged
    archive, a password-protected member. Nested archives are opened (one level); what cannot
    be read is one entry with an I/O error, and the rest of the batch is still validated."""
    docs = sorted(GOOD.glob("*.xml"))[:3]
    inner = tmp_path / "inner.zip"
    deepest = tmp_path / "deepest.zip"
    with zipfile.ZipFile(deepest, "w") as zf:
        zf.writestr("too-deep.xml", docs[0].read_bytes())
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr(_GbkInfo("内科/" + docs[1].name), docs[1].read_bytes())
        zf.write(deepest, "deepest.zip")
    folder = tmp_path / "submission"
    folder.mkdir()
    with zipfile.ZipFile(folder / "all.zip", "w") as zf:
        zf.write(inner, "内科.zip")
        zf.writestr(docs[2].name, docs[2].read_bytes())
        zf.writestr("notes.txt", "not a document")
    (folder / "damaged.zip").write_bytes(b"PK\x03\x04" + bytes(300))
    plain = folder / "plain.zip"
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr(docs[0].name, docs[0].read_bytes())
    raw = bytearray(plain.read_bytes())  # mark the member encrypted, as a password tool does
    raw[raw.find(b"PK\x03\x04") + 6] |= 1
    raw[raw.find(b"PK\x01\x02") + 8] |= 1
    (folder / "locked.zip").write_bytes(bytes(raw))
    plain.unlink()

    code, out = run("validate", "--format", "json", "--lang", "en", str(folder))
    report = json.loads(out)
    by_path = {d["path"].replace(str(folder) + "/", ""): d for d in report["documents"]}
    assert list(by_path) == [
        f"all.zip!/{docs[2].name}",
        "all.zip!/内科.zip!/deepest.zip",
        f"all.zip!/内科.zip!/内科/{docs[1].name}",
        "damaged.zip",
        f"locked.zip!/{docs[0].name}",
    ]
    assert by_path[f"all.zip!/内科.zip!/内科/{docs[1].name}"]["valid"]
    assert by_path[f"all.zip!/{docs[2].name}"]["valid"]

    def io_error(key: str) -> str:
        (f,) = by_path[key]["findings"]
        assert f["rule"] == "PARSE.IO_ERROR"
        return f["message"]

    assert "not opened" in io_error("all.zip!/内科.zip!/deepest.zip")
    assert "not a readable zip archive" in io_error("damaged.zip")
    assert "encrypted" in io_error(f"locked.zip!/{docs[0].name}")
    assert code == 2  # I/O problems, reported per entry, after everything readable was validated
    # the same batch in parallel gives the same report
    _, out2 = run("validate", "--format", "json", "--lang", "en", "--jobs", "2", str(folder))
    assert json.loads(out2)["documents"] == report["documents"]


def test_jobs_zero_means_one_per_core() -> None:
    _, one = run("validate", "--format", "json", str(BAD))
    _, auto = run("validate", "--format", "json", "--jobs", "0", str(BAD))
    assert json.loads(auto)["documents"] == json.loads(one)["documents"]
    code, out = run("validate", "--jobs", "-1", str(BAD))
    assert code == 2 and "-1" in out


def test_a_fifo_in_a_folder_is_skipped_with_a_finding_not_a_hang(tmp_path: Path) -> None:
    import os

    (tmp_path / "a.xml").write_bytes(good("C0004").read_bytes())
    os.mkfifo(tmp_path / "pipe.xml")
    code, out = run("validate", "--format", "json", str(tmp_path))
    d = json.loads(out)
    assert d["summary"]["documents"] == 2 and code == 2
    pipe = next(x for x in d["documents"] if x["path"].endswith("pipe.xml"))
    assert "不是普通文件" in pipe["findings"][0]["message"]  # zh output: the reason in Chinese


def test_control_characters_in_file_names_are_escaped_in_text_output(tmp_path: Path) -> None:
    name = tmp_path / "evil\n✔ forged.xml\x1b[2J.xml"
    name.write_bytes(b"<not-well-formed")
    code, out = run("validate", str(name))
    assert code == 1
    assert "\x1b" not in out and "\\x1b[2J" in out
    assert not any(line.startswith("✔ forged") for line in out.splitlines())
