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
from ..errors import ConformanceError
from ..xmlsafe import NodePaths
from .context import DocContext
from .diagnostics import schema_message
from .status import skipped

_EL_RE = re.compile(r"Element '([^']+)'")


class SchemaUnavailable(ConformanceError):
    pass


def translate(message: str, lang: str) -> str:
    return schema_message(message, lang)


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

    def errors(self, root: etree._Element) -> list[tuple[str, int | None, str | None, Any]]:
        """(message, line, tag of the element named, where libxml2 says it is: the node's path,
        or with xmlschema the element itself), in the order the engine reports them."""
        out: list[tuple[str, int | None, str | None, Any]] = []
        if self._lxml is not None:
            if self._lxml.validate(root):
                return out
            for e in self._lxml.error_log:
                m = _EL_RE.match(e.message or "")
                out.append((e.message or "", e.line, m.group(1) if m else None, e.path))
            return out
        for err in self._xs.iter_errors(root):
            elem = getattr(err, "elem", None)
            line = getattr(elem, "sourceline", None) if elem is not None else None
            tag = elem.tag if elem is not None else None
            out.append((f"Element '{tag}': {err.reason}" if tag else str(err.reason),
                        line, tag, elem if isinstance(elem, etree._Element) else None))
        return out


def run(ctx: DocContext, schema: SchemaValidator | None, why_not: str | None) -> str:
    if schema is None:
        return skipped(ctx.lang, "schema_unavailable", detail=why_not or "-")
    errors = schema.errors(ctx.root)
    if errors:
        placer = _Placer(ctx.root)
        for message, line, tag, where in errors:
            el, attr = placer.place(line, tag, where)
            detail = translate(message, ctx.lang)
            if el is not None:
                ctx.report("SCHEMA.INVALID", el, attr=attr or _attribute_named(message, el),
                           detail=detail)
            else:
                ctx.report("SCHEMA.INVALID", None, detail=detail, line=line, column=None)
    return "ran" if schema.engine == "lxml" else "ran (xmlschema)"


_ATTR_RE = re.compile(r"^Element '[^']+', attribute '(?:\{([^}]*)\})?([^']+)'")


def _attribute_named(message: str, el: etree._Element) -> str | None:
    """The attribute an error is about (``Element 'x', attribute 'y': …``), as the document
    writes its name, when the element has it: the finding then points at the attribute."""
    m = _ATTR_RE.match(message)
    if m is None:
        return None
    ns, local = m.groups()
    if not ns:
        return local if el.get(local) is not None else None
    if el.get(f"{{{ns}}}{local}") is None:
        return None
    prefix = next((p for p, uri in el.nsmap.items() if uri == ns and p), None)
    return f"{prefix}:{local}" if prefix else None


class _Placer:
    """Which element each schema error is about. A line holding one element of the error's
    name is answered by one index of (line, name) built once per document (a walk per error was
    quadratic: 8,000 errors in a 3 MB document took 31 s; so was a scan of a minified document's
    one line per error); a line holding several (a minified document, written on one line) or
    none is answered by the node's path libxml2 gives."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self._index: dict[tuple[int, str], list[etree._Element]] | None = None
        self._first: dict[int, etree._Element] = {}
        self._paths: NodePaths | None = None

    def _build(self) -> dict[tuple[int, str], list[etree._Element]]:
        if self._index is None:
            self._index = {}
            for el in self.root.iter(etree.Element):
                n = el.sourceline
                self._index.setdefault((n, el.tag), []).append(el)
                self._first.setdefault(n, el)
        return self._index

    def _on_line(self, line: int, tag: str) -> list[etree._Element]:
        want = tag if tag.startswith("{") or ":" in tag else f"{{{HL7_NS}}}{tag}"
        return self._build().get((line, want)) or []

    def place(self, line: int | None, tag: str | None,
              where: Any) -> tuple[etree._Element | None, str | None]:
        if isinstance(where, etree._Element):  # xmlschema names the element itself
            return where, None
        same = self._on_line(line, tag) if line is not None and tag is not None else []
        if len(same) == 1:
            return same[0], None
        if where:
            if self._paths is None:
                self._paths = NodePaths(self.root)
            el, attr = self._paths.resolve(where)
            if el is not None:
                return el, attr
        # no usable path: the first element of that name on the line, else the line's first
        if same:
            return same[0], None
        if line is None:
            return None, None
        self._build()
        return self._first.get(line), None
