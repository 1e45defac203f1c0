"""The one YAML reader: lines, duplicate keys, bounded alias expansion and nesting, encodings,
size — and the commands that read third-party YAML refuse a bomb with file:line, fast."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.yamlio import LineDict, YamlError, load_file, load_text

BOMB = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_lines_of_mappings_keys_and_items() -> None:
    data = load_text("top:\n  a: 1\n  b:\n    - x\n    - y\n", "f.yaml")
    assert isinstance(data, LineDict) and data.line_of("top") == 1
    assert data["top"].line_of("b") == 3 and data["top"]["b"].line_of(1) == 5


def test_duplicate_keys_name_both_lines() -> None:
    with pytest.raises(YamlError, match=r"f\.yaml:3:1: duplicate key 'a' \(first on line 1\)"):
        load_text("a: 1\nb: 2\na: 3\n", "f.yaml")


def test_an_alias_bomb_is_refused_at_its_first_alias_without_expanding_it() -> None:
    t0 = time.perf_counter()
    with pytest.raises(YamlError, match=r"f\.yaml:2:\d+: its anchors and aliases expand to "):
        load_text(BOMB, "f.yaml")
    assert time.perf_counter() - t0 < 2


def test_modest_aliases_are_fine() -> None:
    data = load_text("base: &b {x: 1}\none: *b\ntwo: *b\n", "f.yaml")
    assert data["one"] == data["two"] == {"x": 1}


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(YamlError, match="nested"):
        load_text("a: " + "[" * 300 + "]" * 300 + "\n", "f.yaml")


def test_bom_size_and_encoding(tmp_path: Path) -> None:
    p = tmp_path / "q.yaml"
    p.write_bytes("\ufeffa: 一\n".encode())
    assert load_file(p)[0] == {"a": "一"}
    p.write_bytes("a: 测试问卷\n".encode("gbk"))
    with pytest.raises(YamlError, match="not UTF-8"):
        load_file(p)
    with pytest.raises(YamlError, match="too large"):
        load_file(p, max_bytes=3)
    with pytest.raises(YamlError, match="is a folder|not a regular file"):
        load_file(tmp_path)


def test_problems_are_said_in_the_users_language_with_the_place_first(tmp_path: Path) -> None:
    cases = [("a: 1\nb: 2\na: 3\n", "f.yaml:3:1: 重复的键 'a'（第 1 行已有）",
              "f.yaml:3:1: duplicate key 'a' (first on line 1)"),
             ("a: [1\n", "f.yaml:2:1: YAML 语法错误：", "f.yaml:2:1: YAML syntax error: "),
             ("a: " + "[" * 300 + "]" * 300 + "\n", "f.yaml: YAML 错误：嵌套过深",
              "f.yaml: YAML error: nested too deeply")]
    for text, zh, en in cases:
        with pytest.raises(YamlError) as exc:
            load_text(text, "f.yaml")
        assert zh in exc.value.render("zh") and en in exc.value.render("en") == str(exc.value)
    with pytest.raises(YamlError) as exc:
        load_file(tmp_path / "none.yaml")
    assert exc.value.render("zh") == f"{tmp_path / 'none.yaml'}: 找不到文件"


def test_dates_stay_text() -> None:
    assert load_text("date: 2024-05-01\n", "f.yaml") == {"date": "2024-05-01"}


@pytest.mark.parametrize("args", [
    ["score", "--self-assessment", "{f}"],
    ["score", "--assessment", "{f}"],
    ["run", "--config", "{f}"],
    ["perf", "--mix", "{f}", "--users", "1"],
    ["validate-dataset", "--mapping", "{f}", "{csv}"],
])
@pytest.mark.parametrize(("lang", "said"), [("en", "expand to"), ("zh", "锚点和别名展开后有")])
def test_commands_refuse_a_bomb_in_a_user_file(tmp_path: Path, args: list[str], lang: str,
                                               said: str) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB, encoding="utf-8")
    t0 = time.perf_counter()
    csv = tmp_path / "t.csv"
    csv.write_text("姓名,性别代码\n张三,1\n", encoding="utf-8")
    result = CliRunner().invoke(main, [a.format(f=bomb, csv=csv) for a in args]
                                + ["--lang", lang])
    assert time.perf_counter() - t0 < 20
    assert result.exit_code == 2, result.output
    assert "bomb.yaml:2:" in result.output and said in result.output, result.output
    assert "Traceback" not in result.output
