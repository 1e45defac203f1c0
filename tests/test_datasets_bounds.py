"""Bounded reads of data-set exports (issue 17 item 11): a header or a record longer than
MAX_RECORD_CHARS is a finding naming the file and the line, read in bounded chunks, never the
whole line in memory first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conformance.datasets import readers
from conformance.datasets.readers import ReadError, expand_sources, open_tables

ROOT = Path(__file__).resolve().parent.parent


def table(path: Path):
    (src,) = expand_sources([str(path)])
    (t,) = open_tables(src)
    return t


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(readers, "MAX_RECORD_CHARS", 1000)
    return 1000


def test_header_longer_than_the_limit(tmp_path: Path, small_limit: int) -> None:
    p = tmp_path / "wide.csv"
    p.write_text("a,b," + "x" * 5000 + "\n1,2,3\n")
    with pytest.raises(ReadError) as ei:
        table(p)
    assert ei.value.rule == "DS.RECORD_TOO_LARGE" and ei.value.line == 1


def test_header_without_newline_is_a_finding(tmp_path: Path, small_limit: int) -> None:
    p = tmp_path / "nonl.csv"
    p.write_text("a," * 3000)
    with pytest.raises(ReadError) as ei:
        table(p)
    assert ei.value.rule == "DS.RECORD_TOO_LARGE" and ei.value.line == 1


def test_record_longer_than_the_limit_names_its_line(tmp_path: Path, small_limit: int) -> None:
    p = tmp_path / "rec.csv"
    p.write_text("a,b\n1,2\n3,4\n5," + "y" * 5000 + "\n7,8\n")
    t = table(p)
    got = []
    with pytest.raises(ReadError) as ei:
        for line, _row in t.rows():
            got.append(line)
    assert got == [2, 3]
    assert ei.value.rule == "DS.RECORD_TOO_LARGE" and ei.value.line == 4


def test_a_record_of_many_short_lines_is_bounded_too(tmp_path: Path, small_limit: int) -> None:
    p = tmp_path / "quoted.csv"
    p.write_text('a,b\n1,2\n3,"' + "z\n" * 3000 + '"\n')
    t = table(p)
    with pytest.raises(ReadError) as ei:
        list(t.rows())
    assert ei.value.rule == "DS.RECORD_TOO_LARGE" and ei.value.line == 3


def test_records_just_under_the_limit_still_read(tmp_path: Path, small_limit: int) -> None:
    p = tmp_path / "ok.csv"
    long = "q" * 900
    p.write_text(f"a,b\n1,{long}\n2,\"{long[:400]}\n{long[:400]}\"\n")
    t = table(p)
    assert [(n, len(r[1])) for n, r in t.rows()] == [(2, 900), (3, 801)]


def test_jsonl_line_longer_than_the_limit(tmp_path: Path, small_limit: int, monkeypatch) -> None:
    p = tmp_path / "r.jsonl"
    p.write_text(json.dumps({"a": "x" * 5000}) + "\n")   # the column sample is bounded
    with pytest.raises(ReadError) as ei:
        table(p)
    assert ei.value.rule == "DS.RECORD_TOO_LARGE" and ei.value.line == 1
    # past the column sample (its first JSON_HEADER_SAMPLE records), the rows are bounded too
    monkeypatch.setattr(readers, "JSON_HEADER_SAMPLE", 2)
    p.write_text("".join(json.dumps({"a": str(i)}) + "\n" for i in range(3))
                 + json.dumps({"a": "x" * 5000}) + "\n")
    t = table(p)
    with pytest.raises(ReadError) as ei:
        list(t.rows())
    assert ei.value.rule == "DS.RECORD_TOO_LARGE" and ei.value.line == 4


@pytest.mark.slow
def test_finding_through_the_cli(tmp_path: Path, small_limit: int) -> None:
    from click.testing import CliRunner

    from conformance.cli import main

    p = tmp_path / "nonl.csv"
    p.write_text("a," * 3000)
    res = CliRunner().invoke(main, ["validate-dataset", str(p), "--format", "json", "--lang", "en"])
    assert res.exit_code == 1, res.output
    (f,) = json.loads(res.output)["documents"][0]["findings"]
    assert f["rule"] == "DS.RECORD_TOO_LARGE" and f["line"] == 1
    assert "1,000" in f["message"]


_MEASURE = textwrap.dedent("""
    import json, resource, sys
    from click.testing import CliRunner
    from conformance.cli import main
    res = CliRunner().invoke(main, ["validate-dataset", sys.argv[1], "--format", "json", "--lang", "en"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"code": res.exit_code, "peak": peak, "out": res.output}))
""")


def _peak(path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True,
                         env=env, timeout=300, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_large_file_without_newline_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """150 MB without a newline: before, the header read held ~2.3x the file (472 MB peak for
    200 MB); now the reading stops at the limit."""
    small = tmp_path / "small.csv"
    small.write_text("a,b\n1,2\n")
    base = _peak(small)["peak"]
    big = tmp_path / "big.csv"
    chunk = b"x" * (1 << 20)
    with open(big, "wb") as fh:
        fh.write(b"a,b,")
        for _ in range(150):
            fh.write(chunk)
    got = _peak(big)
    assert got["code"] == 1
    finding = json.loads(got["out"])["documents"][0]["findings"][0]
    assert finding["rule"] == "DS.RECORD_TOO_LARGE" and finding["line"] == 1
    assert got["peak"] - base < 120 * 1024 * 1024, (got["peak"] - base) / 2**20


@pytest.mark.slow
def test_a_wide_header_is_normalised_once_not_once_per_data_set() -> None:
    """10^5 columns took 54 s of CPU, most of it normalising every header once per data set
    (78 of them); the normalisation is cached now (29 s)."""
    from conformance.datasets.definitions import load_definitions, norm_de, norm_label
    from conformance.datasets.mapping import rank

    cols = [f"列{i}" for i in range(2000)] + ["患者姓名"]
    norm_label.cache_clear()
    norm_de.cache_clear()
    rank(load_definitions(), cols, list(cols), None, set())
    label, de = norm_label.cache_info(), norm_de.cache_info()
    assert label.hits > 20 * label.misses and de.hits > 20 * de.misses, (label, de)
