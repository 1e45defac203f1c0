"""Schema layer: structure against the CDA R2 schema with the Chinese extensions.

libxml2 (through lxml) is the runtime engine: it is fast and gives line numbers. A user-supplied
schema package that libxml2 cannot compile is loaded with xmlschema (pure Python) instead.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lxml import etree

from ..catalog import HL7_NS
from .context import DocContext
from .status import skipped

_NS_RE = re.compile(r"\{[^}]*\}")
_EL_RE = re.compile(r"Element '([^']+)'")
_ZH_PATTERNS = [
    (re.compile(r"^Element '([^']+)': This element is not expected\. Expected is(?: one of)? \( (.+) \)\.$"),
     "元素 {0} 不应出现在此处，此处应为：{1}"),
    (re.compile(r"^Element '([^']+)': This element is not expected\.$"),
     "元素 {0} 不应出现在此处"),
    (re.compile(r"^Element '([^']+)': Missing child element\(s\)\. Expected is(?: one of)? \( (.+) \)\.$"),
     "元素 {0} 缺少子元素，应包含：{1}"),
    (re.compile(r"^Element '([^']+)', attribute '([^']+)': The attribute '[^']+' is not allowed\.$"),
     "元素 {0} 不允许有属性 {1}"),
    (re.compile(r"^Element '([^']+)': The attribute '([^']+)' is required but missing\.$"),
     "元素 {0} 缺少必需的属性 {1}"),
    (re.compile(r"^Element '([^']+)': The type definition is abstract\.$"),
     "元素 {0} 的类型是抽象类型，需要用 xsi:type 指定具体数据类型"),
    (re.compile(r"^Element '([^']+)', attribute '([^']+)': (.+)$"),
     "元素 {0} 的属性 {1} 取值无效：{2}"),
    (re.compile(r"^Element '([^']+)': No matching global declaration available for the validation root\.$"),
     "根元素 {0} 在模式中没有声明"),
]


class SchemaUnavailable(Exception):
    pass


def _strip_ns(text: str) -> str:
    return _NS_RE.sub("", text)


def translate(message: str, lang: str) -> str:
    msg = _strip_ns(message.strip())
    if lang != "zh":
        return msg
    for pat, tmpl in _ZH_PATTERNS:
        m = pat.match(msg)
        if m:
            return tmpl.format(*m.groups())
    return msg


def find_entry_schema(folder: Path) -> Path:
    """The schema file that declares ClinicalDocument in a schema package folder."""
    for name in ("SDA.xsd", "CDA.xsd"):
        for p in sorted(folder.rglob(name)):
            return p
    for p in sorted(folder.rglob("*.xsd")):
        try:
            head = p.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if re.search(r'<xs(d)?:element\s+name="ClinicalDocument"', head):
            return p
    raise SchemaUnavailable(f"no schema declaring ClinicalDocument under {folder}")


class SchemaValidator:
    """Compiled once per process; validates parsed documents and yields (message, line, el)."""

    def __init__(self, entry: Path) -> None:
        self.entry = entry
        self.engine = "lxml"
        self._lxml: etree.XMLSchema | None = None
        self._xs: Any = None
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        try:
            self._lxml = etree.XMLSchema(etree.parse(str(entry), parser))
        except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
            try:
                import xmlschema

                self._xs = xmlschema.XMLSchema10(str(entry), allow="sandbox")
                self.engine = "xmlschema"
            except Exception as exc2:  # the package cannot be used at all
                raise SchemaUnavailable(
                    f"{entry}: cannot compile schema ({exc}; xmlschema: {exc2})") from None

    def errors(self, root: etree._Element) -> list[tuple[str, int | None, str | None]]:
        out: list[tuple[str, int | None, str | None]] = []
        if self._lxml is not None:
            if self._lxml.validate(root):
                return out
            for e in self._lxml.error_log:
                m = _EL_RE.match(e.message or "")
                out.append((e.message or "", e.line, m.group(1) if m else None))
            return out
        for err in self._xs.iter_errors(root):
            elem = getattr(err, "elem", None)
            line = getattr(elem, "sourceline", None) if elem is not None else None
            tag = elem.tag if elem is not None else None
            out.append((f"Element '{tag}': {err.reason}" if tag else str(err.reason),
                        line, tag))
        return out


def run(ctx: DocContext, schema: SchemaValidator | None, why_not: str | None) -> str:
    if schema is None:
        return skipped(ctx.lang, "schema_unavailable", detail=why_not or "-")
    errors = schema.errors(ctx.root)
    by_line = _elements_by_line(ctx.root) if errors else {}
    for message, line, tag in errors:
        el = _element_at(by_line, line, tag)
        detail = translate(message, ctx.lang)
        if el is not None:
            ctx.report("SCHEMA.INVALID", el, detail=detail)
        else:
            ctx.report("SCHEMA.INVALID", None, detail=detail, line=line, column=None)
    return "ran" if schema.engine == "lxml" else "ran (xmlschema)"


def _elements_by_line(root: etree._Element) -> dict[int, list[etree._Element]]:
    """The elements of each source line, in document order: one walk for all the errors of a
    document (a walk per error was quadratic: 8,000 errors in a 3 MB document took 31 s)."""
    out: dict[int, list[etree._Element]] = {}
    for el in root.iter(etree.Element):
        out.setdefault(el.sourceline, []).append(el)
    return out


def _element_at(by_line: dict[int, list[etree._Element]], line: int | None,
                tag: str | None) -> etree._Element | None:
    """The element an error names: the first on its line with its tag, else the first there."""
    if line is None:
        return None
    els = by_line.get(line)
    if not els:
        return None
    want = tag
    if want and not want.startswith("{") and ":" not in want:
        want = f"{{{HL7_NS}}}{want}"
    if want is not None:
        for el in els:
            if el.tag == want:
                return el
    return els[0]
