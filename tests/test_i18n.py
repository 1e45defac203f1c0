"""The UI phrase catalog: one bundle per language with the same keys and placeholders, every
key the code asks for exists, and the packages already folded into the bundles keep no zh/en
tables or inline pairs of their own (a guard that fails if one comes back)."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from conformance.i18n import LANGS, bundle, t

PKG = Path(__file__).resolve().parent.parent / "conformance"
_USE = re.compile(r"""\bt\(\s*["']([a-z][\w.-]*)["']""")
_IMPORTS_T = re.compile(r"from \.+i18n import [^\n]*\bt\b")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_bundle_has_the_same_keys_and_placeholders() -> None:
    keys = {lang: set(bundle(lang)) for lang in LANGS}
    zh = keys["zh"]
    for lang, have in keys.items():
        assert have == zh, f"{lang}: missing {sorted(zh - have)}, extra {sorted(have - zh)}"
    for key in zh:
        fields = {lang: _fields(bundle(lang)[key]) for lang in LANGS}
        assert len({frozenset(f) for f in fields.values()}) == 1, f"{key}: {fields}"


def test_the_bundles_read_the_same_through_the_guarded_yaml_reader() -> None:
    # bundle() reads with PyYAML directly (i18n is the bottom layer); the project's reader
    # refuses duplicate keys, which PyYAML would silently let the last one win
    from conformance.i18n import _DIR
    from conformance.yamlio import load_file

    for lang in LANGS:
        data, _ = load_file(_DIR / f"{lang}.yaml")
        assert {str(k): str(v) for k, v in data.items()} == bundle(lang)


def test_every_key_the_code_uses_exists() -> None:
    sources = [p.read_text("utf-8") for p in PKG.rglob("*.py")]
    used = {m.group(1) for text in sources if _IMPORTS_T.search(text)
            for m in _USE.finditer(text)}
    assert used, "the scan found no use of t(): the pattern is wrong"
    assert not sorted(used - set(bundle("zh")))


# The templates' ``_`` names a phrase of its area: ``_('title')`` is report.title in
# templates/report, campaign.ui.title in templates/campaign; ``_('status.' ~ value)`` a family.
TEMPLATES = PKG.parent / "templates"
_TEMPLATE_AREAS = {"report": "report.", "campaign": "campaign.ui."}
_T_KEY = re.compile(r"""\b_\(\s*'([\w.-]+)'\s*[,)]""")
_T_FAMILY = re.compile(r"""\b_\(\s*'([\w.-]+\.)'\s*~""")


@pytest.mark.parametrize("folder", sorted(_TEMPLATE_AREAS))
def test_every_key_the_templates_use_exists(folder: str) -> None:
    area, keys = _TEMPLATE_AREAS[folder], set(bundle("zh"))
    text = "".join(p.read_text("utf-8") for p in sorted((TEMPLATES / folder).glob("*.j2")))
    used = {area + k for k in _T_KEY.findall(text)}
    families = {area + k for k in _T_FAMILY.findall(text)}
    assert used and families, "the scan found no use of _(): the pattern is wrong"
    assert not sorted(used - keys)
    assert not sorted(f for f in families if not any(k.startswith(f) for k in keys))
    assert not re.search(r"if lang ==[^}]*[\u4e00-\u9fff、；，]|[\u4e00-\u9fff、；，][^{]*if lang ==",
                         text), "a zh/en branch in a template"


def test_zh_is_chinese_and_lookup_falls_back() -> None:
    assert t("severity.error") == "错误" and t("severity.error", "en") == "error"
    assert t("severity.error", "fr") == "错误"
    with pytest.raises(KeyError):
        t("no.such.key")


def test_a_stage_that_cannot_run_says_why_in_both_languages(tmp_path: Path) -> None:
    from conformance.pipeline import AssessOptions, StageFailed, _documents
    from conformance.profiles import get_profile

    with pytest.raises(StageFailed) as exc:
        _documents(AssessOptions(documents=str(tmp_path / "none")), get_profile(None))
    missing = tmp_path / "none"
    assert exc.value.render("zh") == f"阶段 validate 无法运行（退出码 2）：找不到文档目录：{missing}"
    assert str(exc.value) == f"stage validate failed (exit 2): documents folder not found: {missing}"


# ------------------------------------------------------------------ the migrated packages
# Their UI phrases live in the bundles: no module there keeps its own zh/en table, builds a
# Chinese/English text pair inline, or names a phrase key the bundles lack.
MIGRATED = ["scoring", "perf", "datasets", "validate/message.py", "validate/carried.py", "hl7v3/services.py",
            "validate/status.py", "validate/context.py", "validate/datatype.py",
            "validate/template.py", "catalog.py", "assess.py", "pipeline.py", "cli.py",
            "profiles.py", "platform", "report", "harness", "proxy", "campaign", "model"]
_AREAS = "score|perf|datasets|v3|validate|assess|cli|platform|finding|sep|value|report|run|campaign|proxy"
_KEY = re.compile(rf"^({_AREAS})\.[a-z][\w.-]*[\w-]$")
_PREFIX = re.compile(rf"^({_AREAS})\.[\w.-]*\.$")
_FILE = re.compile(r"\.(json|ya?ml|xml|html|pdf|csv|tsv|txt|md|j2|py|xsd|zip|jsonl|xlsx|log|sarif)$")
# identifiers shaped like phrase keys that are not phrases: JUnit classnames, SARIF rule ids
_NOT_PHRASES = {"perf.bands", "perf.thresholds", "perf.threshold", "score.levels"}
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_LANG_TEST = re.compile(r"\blang\b|\bzh\b")


def _migrated() -> list[Path]:
    files: list[Path] = []
    for name in MIGRATED:
        p = PKG / name
        files.extend(sorted(p.rglob("*.py")) if p.is_dir() else [p])
    assert all(p.is_file() for p in files) and len(files) > 40
    return files


def _strings(node: ast.AST) -> list[str]:
    """The literal texts of an expression (constants and the literal parts of f-strings)."""
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    where = path.name if PKG not in path.parents else path.relative_to(PKG.parent)
    out = []
    in_fstring = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Dict):    # {"zh": "…", "en": "…"} with literal texts
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            literal = [v for k, v in zip(node.keys, node.values, strict=True)
                       if isinstance(k, ast.Constant) and k.value in ("zh", "en")
                       and isinstance(v, ast.Constant | ast.JoinedStr)]
            if {"zh", "en"} <= keys and literal:
                out.append(f"{where}:{line}: a zh/en table or pair")
        elif isinstance(node, ast.IfExp):   # "中文" if lang == "zh" else "English"
            test = ast.unparse(node.test)
            texts = _strings(node.body) + _strings(node.orelse)
            if _LANG_TEST.search(test) and any(_CJK_RE.search(s) for s in texts):
                out.append(f"{where}:{line}: a zh/en branch on {test}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in in_fstring and _KEY.match(node.value) \
                and not _FILE.search(node.value) and node.value not in bundle("zh") \
                and node.value not in _NOT_PHRASES:
            out.append(f"{where}:{line}: the phrase {node.value!r} is not in the bundles")
        elif isinstance(node, ast.JoinedStr) and node.values \
                and isinstance(node.values[0], ast.Constant) \
                and _PREFIX.match(str(node.values[0].value)) \
                and not any(k.startswith(node.values[0].value) for k in bundle("zh")):
            out.append(f"{where}:{line}: no phrase starts with {node.values[0].value!r}")
    return out


def test_migrated_packages_keep_no_phrases_of_their_own() -> None:
    problems = [p for path in _migrated() for p in _problems(path)]
    assert not problems, "\n".join(problems)


def test_every_check_message_of_the_harness_exists() -> None:
    # the checks name their phrase by its last part: _say(ctx, "ack", …) is run.check.ack
    tree = ast.parse((PKG / "harness" / "checks.py").read_text("utf-8"))
    said = {c.value for n in ast.walk(tree) if isinstance(n, ast.Call)
            and getattr(n.func, "id", None) == "_say" and len(n.args) > 1
            for c in ast.walk(n.args[1]) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    assert len(said) > 15
    missing = sorted(k for k in said if f"run.check.{k}" not in bundle("zh"))
    assert not missing, missing


def test_the_guard_finds_a_table_a_branch_and_a_missing_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text('A = {"x": {"zh": "是", "en": "yes"}}\n'
                   'def f(lang):\n    return "是" if lang == "zh" else "yes"\n'
                   'K = "score.no_such_phrase"\nF = f"perf.nothing_here.{A}"\n', encoding="utf-8")
    found = _problems(bad)
    assert len(found) == 4, found


# ------------------------------------------------------------------ errors raised as phrases
def test_a_profile_problem_is_said_in_both_languages(tmp_path: Path) -> None:
    import pickle

    from conformance.profiles import ProfileError, _load, get_profile

    with pytest.raises(ProfileError) as exc:
        get_profile("nope")
    assert exc.value.render("zh").startswith("未知的测评类型 'nope'；可选：hospital")
    assert str(exc.value).startswith("unknown profile 'nope'; one of hospital")
    assert pickle.loads(pickle.dumps(exc.value)).render("zh") == exc.value.render("zh")
    bad = tmp_path / "x.yaml"
    bad.write_text("standards: {}\ncases: []\n", encoding="utf-8")
    with pytest.raises(ProfileError) as exc:
        _load(bad)
    zh = exc.value.render("zh").splitlines()
    assert zh[0] == f"{bad}: 缺少 standards.service_catalog" and zh[-1] == f"{bad}: 缺少 'id'"
    assert f"{bad}: 'cases' 应为含 scenarios, documents" in exc.value.render("zh")
    assert str(exc.value).splitlines()[-1] == f"{bad}: 'id' is missing"


def test_an_artifact_problem_is_said_in_both_languages(tmp_path: Path) -> None:
    import pickle

    from conformance.model.io import CODECS, ArtifactError

    with pytest.raises(ArtifactError) as exc:
        CODECS["perf"].load(tmp_path)
    where = tmp_path / "perf.json"
    assert exc.value.render("zh") == f"{where}: 找不到文件——请用 `conformance perf --out RUN_DIR` 生成"
    assert str(exc.value) == exc.value.render("en") == \
        f"{where}: file not found — produce it with `conformance perf --out RUN_DIR`"
    assert pickle.loads(pickle.dumps(exc.value)).render("zh") == exc.value.render("zh")
    where.write_text('{"schema_version": 99}', encoding="utf-8")
    with pytest.raises(ArtifactError) as exc:
        CODECS["perf"].load(where)
    assert "由 schema_version 99 写出" in exc.value.render("zh")
    assert "written with schema_version 99" in exc.value.reason
