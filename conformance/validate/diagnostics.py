# ruff: noqa: E501  (a table of patterns and texts: long lines read better than split strings)
"""The parser's and the schema engine's diagnostics (libxml2 writes them in English) as the
output's language shows them: zh-CN by pattern, English as libxml2 wrote it (namespaces written
as prefixes a reader knows, never in {uri} notation). A diagnostic no pattern knows stays as
libxml2 wrote it (it is quoted inside a Chinese message)."""

from __future__ import annotations

import re

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_NS_RE = re.compile(r"\{[^}]*\}")
_POSITION_RE = re.compile(r",? line \d+, column \d+\s*$")

# reasons libxml2 gives after "Element 'x':" or "Element 'x', attribute 'y':"
_REASONS = [
    (r"The QName value '([^']*)' of the xsi:type attribute does not resolve to a type definition\.", "{0} 不是已定义的数据类型"),
    (r"The QName value '([^']*)' has no corresponding namespace declaration in scope\.", "取值 {0} 的命名空间前缀没有声明"),
    (r"'([^']*)' is not a valid value of the (?:atomic|list|union) type '([^']*)'\.", "“{0}”不是类型 {1} 的有效值"),
    (r"\[facet 'pattern'\] The value '([^']*)' is not accepted by the pattern '([^']*)'\.", "取值“{0}”不符合格式 {1}"),
    (r"\[facet 'enumeration'\] The value '([^']*)' is not an element of the set \{(.*)\}\.", "取值“{0}”不在允许的取值 {1} 中"),
    (r"\[facet '(?:minLength|length)'\] The value has a length of '(\d+)'; this (?:underruns|differs from) the allowed (?:minimum )?length of '(\d+)'\.", "取值长度为 {0}，少于允许的 {1}"),
    (r"\[facet 'maxLength'\] The value has a length of '(\d+)'; this exceeds the allowed maximum length of '(\d+)'\.", "取值长度为 {0}，超过允许的 {1}"),
    (r"The attribute '[^']+' is not allowed\.", "不允许有此属性"),
    (r"The attribute '([^']+)' is required but missing\.", "缺少必需的属性 {0}"),
    (r"The type definition is abstract\.", "的类型是抽象类型，需要用 xsi:type 指定具体数据类型"),
    (r"This element is not expected\. Expected is(?: one of)? \( (.+) \)\.", "不应出现在此处，此处应为：{0}"),
    (r"This element is not expected\.", "不应出现在此处"),
    (r"Missing child element\(s\)\. Expected is(?: one of)? \( (.+) \)\.", "缺少子元素，应包含：{0}"),
    (r"Character content other than whitespace is not allowed because the content type is 'element-only'\.", "只能包含子元素，不能包含文本"),
    (r"Character content is not allowed, because the content type is empty\.", "应为空元素，不能包含文本"),
    (r"Element content is not allowed, because the content type is empty\.", "应为空元素，不能包含子元素"),
    (r"No matching global declaration available for the validation root\.", "在模式中没有声明（不能作为根元素）"),
    (r"The xsi:type attribute value '([^']*)' is not a valid QName\.", "xsi:type 的取值 {0} 不是有效的限定名"),
]
_REASONS_RE = [(re.compile(f"^{p}$"), t) for p, t in _REASONS]
_ELEMENT_RE = re.compile(r"^Element '([^']+)'(?:, attribute '([^']+)')?: (.+)$", re.S)

# the parser's own diagnostics (PARSE.NOT_WELL_FORMED, PARSE.ENCODING_NOT_UTF8, PARSE.TOO_DEEP …)
_PARSE = [
    (r"Opening and ending tag mismatch: (\S+) line (\d+) and (\S+)", "开始标签 {0}（第 {1} 行）与结束标签 {2} 不匹配"),
    (r"Premature end of data in tag (\S+) line (\d+)", "标签 {0}（第 {1} 行）没有结束，数据就已终止"),
    (r"EndTag: '</' not found", "缺少结束标签"),
    (r"Extra content at the end of the document", "根元素结束之后还有多余内容"),
    (r"StartTag: invalid element name", "开始标签中的元素名无效"),
    (r"Couldn't find end of Start Tag (\S+)(?: line (\d+))?", "开始标签 {0} 没有结束（缺少 >）"),
    (r"attributes construct error", "属性的写法有误"),
    (r"Specification mandates value for attribute (\S+)", "属性 {0} 缺少取值"),
    (r"AttValue: \" or ' expected", "属性值应以引号括起"),
    (r"Attribute (\S+) redefined", "属性 {0} 重复出现"),
    (r"Unescaped '<' not allowed in attributes values", "属性值中不允许未转义的 <"),
    (r"EntityRef: expecting ';'", "实体引用缺少结尾的分号"),
    (r"Entity '([^']*)' not defined", "实体 {0} 未定义"),
    (r"Comment not terminated.*", "注释没有结束（缺少 -->）"),
    (r"Double hyphen within comment.*", "注释中不允许出现 --"),
    (r"Namespace prefix (\S+)(?: for (\S+))? on (\S+) is not defined", "{2} 使用的命名空间前缀 {0} 没有声明"),
    (r"Failed to parse QName '([^']*)'", "无法解析限定名 {0}"),
    (r"Input is not proper UTF-8, indicate encoding !.*", "内容不是有效的 UTF-8 编码"),
    (r"Incomplete UTF-8 sequence starting with (\S+)", "以 {0} 开头的 UTF-8 字节序列不完整"),
    (r"Char 0x([0-9A-Fa-f]+) out of allowed range", "不允许的字符 0x{0}"),
    (r"PCDATA invalid Char value (\d+)", "文本中有不允许的字符（{0}）"),
    (r"xmlParseCharRef: invalid xmlChar value (\d+)", "字符引用的值 {0} 无效"),
    (r"CharRef: invalid decimal value", "十进制字符引用无效"),
    (r"CharRef: invalid hexadecimal value", "十六进制字符引用无效"),
    (r"Document is empty", "文档为空"),
    (r"Start tag expected, '<' not found", "文档应以开始标签 < 开头"),
    (r"XML declaration allowed only at the start of the document", "XML 声明只能出现在文档开头"),
    (r"Sequence '\]\]>' not allowed in content", "内容中不允许出现 ]]>"),
    (r"expected '>'", "缺少 >"),
    (r"Unsupported encoding (\S+)", "不支持的编码 {0}"),
    (r"Excessive depth in document: (\d+) use XML_PARSE_HUGE option", "元素嵌套超过 {0} 层"),
    (r"nesting depth > (\d+)", "元素嵌套超过 {0} 层"),
    (r"declared encoding (\S+)", "声明的编码为 {0}"),
    (r"UTF-16 byte order mark", "以 UTF-16 字节顺序标记开头"),
    (r"UTF-16/UTF-32 without a byte order mark", "UTF-16/UTF-32 编码（无字节顺序标记）"),
    (r"byte (0x[0-9a-f]{2}) is not valid UTF-8", "字节 {0} 不是有效的 UTF-8"),
    (r"No such file or directory: (.+)", "文件不存在：{0}"),
    (r"Permission denied: (.+)", "没有读取权限：{0}"),
    (r"Is a directory: (.+)", "这是一个目录：{0}"),
    (r"encrypted \(password-protected\) zip member: extract it and validate the files", "zip 成员已加密（有密码）：请解压后再校验这些文件"),
    (r"an archive inside an archive inside an archive is not opened: extract the outer ones and validate again", "不打开第三层嵌套的压缩包：请先解压外层，再重新校验"),
    (r"not a readable zip archive \((.*)\)", "不是可读取的 zip 压缩包（{0}）"),
    (r"the archive could not be listed when the batch started; validate it again", "批量校验开始时无法列出该压缩包的内容，请重新校验"),
    (r"member expands beyond the limit", "解压后超过大小上限"),
    (r"not a regular file \(a FIFO, socket or device\): skipped", "不是普通文件（FIFO、套接字或设备），已跳过"),
    (r"empty file", "文件为空"),
    (r"no root element", "没有根元素"),
    (r"(\d+) bytes(?: > (\d+))?", "{0} 字节"),
]
_PARSE_RE = [(re.compile(f"^{p}$", re.S), t) for p, t in _PARSE]


def strip_namespaces(text: str) -> str:
    """{uri}name → name ({xsi}type → xsi:type), as a reader of the document writes it."""
    return _NS_RE.sub("", text.replace(f"{{{XSI_NS}}}", "xsi:"))


def _fill(patterns: list[tuple[re.Pattern[str], str]], text: str) -> str | None:
    for pat, tmpl in patterns:
        m = pat.match(text)
        if m:
            return tmpl.format(*(g or "" for g in m.groups()))
    return None


def schema_message(message: str, lang: str) -> str:
    """A schema error as the output's language shows it."""
    msg = strip_namespaces(message.strip())
    if lang != "zh":
        return msg
    m = _ELEMENT_RE.match(msg)
    if m is None:
        return _fill(_REASONS_RE, msg) or msg
    element, attr, reason = m.groups()
    said = _fill(_REASONS_RE, reason)
    if attr is not None:
        if said == "不允许有此属性":
            return f"元素 {element} 不允许有属性 {attr}"
        return f"元素 {element} 的属性 {attr} 取值无效：{said or reason}"
    if said is None:
        return f"元素 {element}：{reason}"
    if said.startswith(("“", "取值")):
        return f"元素 {element} 的内容无效：{said}"
    if said.startswith("在模式中"):
        return f"根元素 {element} {said}"
    if said.startswith("的"):
        return f"元素 {element} {said}"
    return f"元素 {element} {said}"


def parse_detail(detail: str | None, lang: str) -> str | None:
    """A parser diagnostic as the output's language shows it (zh: the position libxml2 appends
    is left out, the finding carries it)."""
    if detail is None or lang != "zh":
        return detail
    text = _POSITION_RE.sub("", detail.strip())
    return _fill(_PARSE_RE, text) or detail
