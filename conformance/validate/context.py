"""Per-document state shared by the layers, and the one way findings are made."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from lxml import etree

from ..catalog import HL7_NS, Catalog, DocumentTemplate, basis_suffix, render
from ..i18n import t
from ..model.findings import DocumentResult, Finding
from ..xmlsafe import Locator

CODE = f"{{{HL7_NS}}}code"
_SECTION = f"{{{HL7_NS}}}section"
_COMPONENT = f"{{{HL7_NS}}}component"
_BODY = f"{{{HL7_NS}}}structuredBody"
VALUE = f"{{{HL7_NS}}}value"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def shown(value: Any, lang: str) -> str:
    """A value as a message shows it: nothing is 'none', an empty or blank text is 'empty'
    (an empty code is called empty, not left out), a sequence is listed; never a Python
    representation (None, a tuple)."""
    if value is None:
        return t("value.none", lang)
    if isinstance(value, tuple | list | set | frozenset):
        return t("sep.list", lang).join(shown(v, lang) for v in value) or t("value.empty", lang)
    text = str(value)
    return text if text.strip() else t("value.empty", lang)


def render_message(template: str, values: dict[str, Any], lang: str) -> str:
    """A rule's message with its placeholders filled as shown() shows the values."""
    return render(template, {k: shown(v, lang) for k, v in values.items()
                             if "{" + k + "}" in template})


def field_text(value: Any) -> str | None:
    """A finding's expected/actual field: text as found ("" stays ""), a sequence listed."""
    if value is None:
        return None
    if isinstance(value, tuple | list | set | frozenset):
        return ", ".join(str(v) for v in value)
    return str(value)


def _value_before(code_el: etree._Element) -> bool:
    """Whether a <value> precedes the <code> (schema-invalid, but then it is the statement's
    first value, as find() would return)."""
    prev = code_el.getprevious()
    while prev is not None:
        if prev.tag == VALUE:
            return True
        prev = prev.getprevious()
    return False


class Statement(NamedTuple):
    """A clinical statement keyed by a data-element (or item) code, and its value."""

    key: str
    code_el: etree._Element
    value_el: etree._Element | None
    section: etree._Element | None


@dataclass
class DocContext:
    catalog: Catalog
    lang: str
    data: bytes
    root: etree._Element
    result: DocumentResult
    template: DocumentTemplate | None = None
    family_prefix: str = "WST500"
    family_standard: str = ""
    family_status: str = "seen"
    # validates a CDA document carried in this one (an HL7 V3 message's base64 attribute)
    validate_carried: Callable[[bytes, str], DocumentResult] | None = None
    _locator: Locator | None = None
    _statements: list[Statement] | None = field(default=None)
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def locator(self) -> Locator:
        if self._locator is None:  # over the whole document, also when root is a part of it
            self._locator = Locator(self.data, self.root.getroottree().getroot())
        return self._locator

    def head(self) -> dict[str, list[etree._Element]]:
        """The root's children by (namespaced) tag, from one scan of them (cheaper than
        find()/findall(), which go through ElementPath)."""
        head = self.cache.get("head")
        if head is None:
            head = self.cache["head"] = {}
            for ch in self.root:
                tag = ch.tag
                if tag in head:
                    head[tag].append(ch)
                else:
                    head[tag] = [ch]
        return head

    def children(self, tag: str) -> list[etree._Element]:
        """The root's children with this (namespaced) tag."""
        return self.head().get(tag) or []

    def child(self, tag: str) -> etree._Element | None:
        found = self.children(tag)
        return found[0] if found else None

    def top_sections(self) -> list[etree._Element]:
        """component/structuredBody/component/section, in document order."""
        tops = self.cache.get("top_sections")
        if tops is None:
            tops = self.cache["top_sections"] = [
                sec for comp in self.children(_COMPONENT)
                for body in comp if body.tag == _BODY
                for comp2 in body if comp2.tag == _COMPONENT
                for sec in comp2 if sec.tag == _SECTION]
        return tops

    def sections(self) -> list[etree._Element]:
        """Body sections, in document order (nested ones included)."""
        secs = self.cache.get("sections")
        if secs is None:
            secs = self.cache["sections"] = [s for top in self.top_sections()
                                             for s in top.iter(_SECTION)]
        return secs

    def statement_code_systems(self) -> frozenset[str]:
        """Code systems whose codes key a statement (data elements, item codes, known typos)."""
        wanted = self.catalog.compiled.statement_code_systems
        if wanted is None:
            conv = self.catalog.conventions
            wanted = frozenset(
                [conv["data_element"]["code_system"]]
                + [i["oid"] for i in conv.get("item_code_systems") or []]
                + [i["oid"] for i in conv.get("data_element_code_system_typos") or []])
            self.catalog.compiled.statement_code_systems = wanted
        return wanted

    def statements(self) -> list[Statement]:
        """Every body element whose child <code> names a data element or an item code, with the
        innermost section holding it: one C-filtered pass per top-level section."""
        if self._statements is not None:
            return self._statements
        wanted = self.statement_code_systems()
        out: list[Statement] = []
        make = tuple.__new__  # a NamedTuple built at C speed (Statement(...) is Python-level)
        tops = self.top_sections()
        nested = len(self.sections()) != len(tops)
        for top in tops:
            for code_el in top.iter(CODE):
                code = code_el.get("code")
                # a DE-prefixed code counts whatever its code system (typos are reported by
                # the vocabulary layer), so its codeSystem is only read for other codes
                if not code or (not code.startswith("DE")
                                and code_el.get("codeSystem") not in wanted):
                    continue
                stmt = code_el.getparent()
                if nested:
                    if stmt.tag == _SECTION:
                        continue
                    section = stmt.getparent()
                    while section.tag != _SECTION:
                        section = section.getparent()
                elif stmt is top:  # the section's own code
                    continue
                else:
                    section = top
                value = code_el.getnext()  # <value> follows <code> in a clinical statement
                if value is None or value.tag != VALUE or (
                        code_el.getprevious() is not None and _value_before(code_el)):
                    value = None
                    for ch in stmt:
                        if ch.tag == VALUE:
                            value = ch
                            break
                out.append(make(Statement, (code.strip(), code_el, value, section)))
        self._statements = out
        return out

    def report(self, rule_id: str, el: etree._Element | None = None, *, attr: str | None = None,
               status: str | None = None, expected: Any = None, actual: Any = None,
               detail: Any = None, name: Any = None, path: str | None = None,
               line: int | None = None, column: int | None = None,
               sources: tuple[str, ...] | list[str] = (), provisional: bool = False,
               layer: str | None = None, snippet: bool = True, identity: bool = False) -> Finding:
        """Record one finding. ``identity``: the finding is about the document's identity (its
        code or templateId) and ``status`` is the basis of that identity — the family's and the
        template structure's provisional status do not weaken it."""
        rule = self.catalog.rules[rule_id]
        if not identity:
            if self.family_status == "provisional" and rule_id.startswith(self.family_prefix):
                status = "provisional"
            if self.template is not None and self.template.provisional \
                    and rule.layer == "template":
                status = "provisional"
        provisional = provisional or status == "provisional"
        severity = rule.severity_for(status)
        if isinstance(name, dict):
            name = name.get(self.lang) or name.get("zh")
        values = {"name": name, "path": path, "attr": attr, "expected": expected,
                  "actual": actual, "detail": detail}
        message = render_message(rule.message.get(self.lang) or rule.message["zh"], values,
                                 self.lang)
        message += basis_suffix(status, provisional, self.lang)
        source = rule.source or self.family_standard
        if self.template is not None and rule.layer == "template":
            source = f"{self.template.standard} {self.template.name}".strip() or source
        extra = self.catalog.source_text(sources) if sources else ""
        if extra:
            source = f"{source} ({extra})" if source else extra
        xpath = None
        snip = None
        if el is not None:
            loc = self.locator.locate(el, attr)
            xpath, line, column = loc.xpath, loc.line, loc.column
            if snippet:
                snip = self.locator.snippet(line, column=column)
        elif path is not None and line is None:
            xpath = path
        finding = Finding(rule=rule_id, severity=severity, layer=layer or rule.layer,
                          message=message, source=source, xpath=xpath or path, line=line,
                          column=column, expected=field_text(expected),
                          actual=field_text(actual),
                          provisional=provisional, snippet=snip)
        self.result.findings.append(finding)
        return finding
