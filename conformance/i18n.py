"""User-interface strings (not standards knowledge): zh-CN by default, English with --lang en."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "severity.error": {"zh": "错误", "en": "error"},
    "severity.warning": {"zh": "警告", "en": "warning"},
    "severity.info": {"zh": "提示", "en": "info"},
    "doc.valid": {"zh": "通过", "en": "valid"},
    "doc.invalid": {"zh": "不通过", "en": "invalid"},
    "doc.unknown_type": {"zh": "未识别类型", "en": "unknown type"},
    "summary": {
        "zh": "共 {documents} 份文档：{valid} 份通过，{invalid} 份不通过；"
              "{errors} 个错误，{warnings} 个警告，{infos} 个提示。",
        "en": "{documents} documents: {valid} valid, {invalid} invalid; "
              "{errors} errors, {warnings} warnings, {infos} infos.",
    },
    "counts": {"zh": "{errors} 个错误，{warnings} 个警告", "en": "{errors} errors, {warnings} warnings"},
    "infos_hidden": {"zh": "（另有 {n} 个提示，用 --show-info 显示）",
                     "en": "({n} more infos; show them with --show-info)"},
    "layers": {"zh": "校验层", "en": "layers"},
    "err.input": {"zh": "输入错误：{msg}", "en": "Input error: {msg}"},
    "err.output": {"zh": "无法写入输出文件 {path}：{msg}", "en": "Cannot write output {path}: {msg}"},
    "err.catalog": {"zh": "标准数据有误：{msg}", "en": "Standards data error: {msg}"},
    "err.schema": {"zh": "无法使用模式目录：{msg}", "en": "Cannot use the schema folder: {msg}"},
    "err.no_input": {"zh": "没有找到要校验的文档（支持 .xml 文件、目录、通配符和 .zip）。",
                     "en": "No documents to validate (give .xml files, folders, patterns or .zip)."},
    "err.unknown": {"zh": "未找到：{what}。用 `conformance standards list` 查看全部。",
                    "en": "Not found: {what}. See `conformance standards list`."},
    "progress": {"zh": "校验中", "en": "Validating"},
    "provisional": {"zh": "暂定", "en": "provisional"},
}


def lookup(table: dict[str, dict[str, str]], key: str, lang: str = "zh", /,
           **kw: object) -> str:
    """A text of one of the UI tables (this one, and each package's own: platform, scoring,
    perf, reports, data sets) in the asked language (zh when missing), filled in."""
    entry = table[key]
    text = entry.get(lang) or entry["zh"]
    return text.format(**kw) if kw else text


def t(key: str, lang: str = "zh", **kw: object) -> str:
    return lookup(STRINGS, key, lang, **kw)
