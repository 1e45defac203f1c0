"""Load standards/ (YAML data) into compiled, fast structures, once per process.

Nothing here knows a document type, OID or section by name: everything comes from the data.
Loading errors name the file, line and what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from .errors import ConformanceError
from .i18n import t
from .resources import standards_dir
from .yamlio import read_yaml

HL7_NS = "urn:hl7-org:v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
NS = {"hl7": HL7_NS, "xsi": XSI_NS}
# Status words (standards/README.md), strongest basis first. `transcribed`: a vendor transcription
# of a standard's tables, cross-checked (the WS 445 element lists) — a requirement resting on it
# keeps the rule's severity (a missing element is an error) and the message names the basis.
# `vendor-consensus`: agreed by several independent implementations, not read in the standard's
# text — a value that contradicts it keeps the rule's severity (a wrong code is an error), forms
# recorded as variants are warnings.
STATUS_WORDS = ("seen", "transcribed", "vendor-consensus", "strict-xsd", "observed", "provisional")
# Requirements whose only basis is the sample set, the instance-generated strict per-document
# schemas (every element present in their example is minOccurs=1) or an unverified inference are
# reported as warnings at most: a false error costs users more than a missed warning.
WEAK_STATUSES = ("observed", "strict-xsd", "provisional")

class CatalogError(ConformanceError):
    """A standards data file is missing or malformed."""


def load_yaml(path: Path) -> Any:
    return read_yaml(path, CatalogError)


_BASES = frozenset({"vendor-consensus", "observed", "strict-xsd", "transcribed"})


def basis_suffix(status: str | None, provisional: bool, lang: str) -> str:
    """What a finding's message says about the basis of a weak requirement."""
    text = t(f"finding.basis.{status}", lang) if status in _BASES else ""
    return text + (t("finding.provisional", lang) if provisional else "")


class _SafeDict(dict):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, values: dict[str, Any]) -> str:
    """Fill a message template; unknown or None placeholders render as empty text."""
    return template.format_map(_SafeDict({k: ("" if v is None else v) for k, v in values.items()}))


@dataclass(slots=True)
class Rule:
    id: str
    layer: str
    severity: str
    source: str
    message: dict[str, str]

    def severity_for(self, status: str | None) -> str:
        if self.severity == "error" and status in WEAK_STATUSES:
            return "warning"
        return self.severity


def _card(value: Any, where: str) -> tuple[int, int | None]:
    m = re.fullmatch(r"\s*(\d+)\s*\.\.\s*(\d+|\*)\s*", str(value))
    if not m:
        raise CatalogError(f"{where}: card must look like 0..1 or 1..*, found {value!r}")
    hi = None if m.group(2) == "*" else int(m.group(2))
    return int(m.group(1)), hi


_STEP_RE = re.compile(r"^([A-Za-z_][\w.\-]*)(\[.*\])?$")


def path_to_xpath(path: str, where: str) -> str:
    """'recordTarget/patientRole/id[@root='x']' → 'hl7:recordTarget/hl7:patientRole/...'."""
    steps = []
    for step in path.split("/"):
        m = _STEP_RE.match(step)
        if not m:
            raise CatalogError(f"{where}: cannot read path step {step!r} in {path!r}")
        steps.append(f"hl7:{m.group(1)}{m.group(2) or ''}")
    return "/".join(steps)


_PRED_RE = re.compile(r"""^\[@([A-Za-z_][\w.\-]*)(?:\s*=\s*(?:'([^']*)'|"([^"]*)"))?\]$""")


def path_steps(path: str) -> list[tuple[str, str | None, str | None]] | None:
    """A data path as (namespaced tag, predicate attribute, predicate value) steps, for paths
    whose predicates are [@a] or [@a='v']; None for anything else (use its XPath)."""
    out = []
    for step in path.split("/"):
        m = _STEP_RE.match(step)
        if not m:
            return None
        attr = value = None
        if m.group(2):
            p = _PRED_RE.match(m.group(2))
            if not p:
                return None
            attr = p.group(1)
            value = p.group(2) if p.group(2) is not None else p.group(3)
        out.append((f"{{{HL7_NS}}}{m.group(1)}", attr, value))
    return out


def compile_path(path: str, where: str) -> etree.XPath:
    """Compile a data path (see path_to_xpath) into a namespaced XPath."""
    try:
        return etree.XPath(path_to_xpath(path, where), namespaces=NS)
    except etree.XPathSyntaxError as exc:
        raise CatalogError(f"{where}: invalid path {path!r}: {exc}") from None


@dataclass(slots=True)
class AttrCheck:
    attr: str
    rule: str
    equals: str | None = None
    one_of: tuple[str, ...] | None = None
    pattern: re.Pattern[str] | None = None
    nonempty: bool = False
    optional: bool = False
    expected: str | None = None
    status: str | None = None
    source: tuple[str, ...] = ()


@dataclass(slots=True)
class Assertion:
    path: str
    xpath: etree.XPath
    name: dict[str, str]
    card: tuple[int, int | None]
    status: str
    source: tuple[str, ...]
    missing_rule: str
    too_many_rule: str
    attrs: list[AttrCheck] = field(default_factory=list)
    text_rule: str | None = None
    value_set: str | None = None
    xpath_text: str = ""
    # "code" | "template_id": the assertion checks the document's identity, whose basis is the
    # document template's (status / template_id_status), not the family's header status
    identity: str | None = None


@dataclass(slots=True)
class EntrySpec:
    key: str                       # DE code or item code
    code_system: str | None
    name: str
    card: tuple[int, int | None]
    status: str
    value_type: str | None
    value_set: str | None
    note: str | None = None


@dataclass(slots=True)
class SectionSpec:
    key: str
    match: str                     # "code" | "display"
    code: str | None
    code_system: str | None
    display: str | None
    name: str
    card: tuple[int, int | None]
    status: str
    entries: list[EntrySpec]


@dataclass(slots=True)
class CodeVariant:
    """Another form of a document type code that implementations write (accepted, warned)."""
    code: str
    status: str
    source: tuple[str, ...]
    note: str | None = None


@dataclass(slots=True)
class DocumentTemplate:
    id: str
    family: str
    standard: str
    name: str
    name_en: str
    code: str
    code_system: str
    template_id: str
    status: str
    ws445_group: str | None
    header: list[Assertion]
    sections: list[SectionSpec]
    provenance: Any
    raw: dict[str, Any]
    note: str | None = None
    # status of the templateId and of the header/section structure (default: `status`, the
    # status of the code and name)
    template_id_status: str = ""
    structure_status: str = ""
    variants: list[CodeVariant] = field(default_factory=list)

    @property
    def provisional(self) -> bool:
        """The template's structure (header items, sections, entries) is provisional."""
        return self.structure_status == "provisional"

    def identity_sources(self, what: str = "identity") -> tuple[str, ...]:
        prov = self.provenance if isinstance(self.provenance, dict) else {}
        return tuple(prov.get(what) or prov.get("identity") or ())


@dataclass(slots=True)
class Family:
    id: str
    rule_prefix: str
    standard: str
    standard_en: str
    status: str
    assertions: list[Assertion]


@dataclass(slots=True)
class ValueSet:
    oid: str
    name: str
    complete: bool
    status: str
    codes: dict[str, str]
    raw: dict[str, Any]


def _assertion(item: dict[str, Any], where: str, default_status: str) -> Assertion:
    if "path" not in item:
        raise CatalogError(f"{where}: assertion without 'path'")
    name = item.get("name") or item["path"]
    if isinstance(name, str):
        name = {"zh": name, "en": item.get("name_en") or name}
    status = str(item.get("status", default_status))
    source = tuple(item.get("source") or ())
    attrs = []
    for a in item.get("attrs") or []:
        pat = a.get("pattern")
        attrs.append(AttrCheck(
            attr=a["attr"], rule=a.get("rule", "HEADER.VALUE_MISMATCH"),
            equals=None if a.get("equals") is None else str(a["equals"]),
            one_of=tuple(str(v) for v in a["one_of"]) if a.get("one_of") else None,
            pattern=re.compile(pat) if pat else None,
            nonempty=bool(a.get("nonempty")), optional=bool(a.get("optional")),
            expected=a.get("expected"), status=a.get("status"),
            source=tuple(a.get("source") or ()),
        ))
    text = item.get("text") or {}
    return Assertion(
        path=item["path"], xpath=compile_path(item["path"], where), name=name,
        card=_card(item.get("card", "0..*"), where), status=status, source=source,
        missing_rule=item.get("missing_rule", "HEADER.ELEMENT_MISSING"),
        too_many_rule=item.get("too_many_rule", "HEADER.ELEMENT_TOO_MANY"),
        attrs=attrs, text_rule=text.get("rule") if text.get("nonempty") else None,
        value_set=item.get("value_set"), xpath_text=path_to_xpath(item["path"], where),
        identity=_identity(item.get("identity"), where),
    )


def _identity(value: Any, where: str) -> str | None:
    if value in (None, "code", "template_id"):
        return value
    raise CatalogError(f"{where}: identity must be 'code' or 'template_id', found {value!r}")


def _status(value: Any, where: str, default: str) -> str:
    status = default if value is None else str(value)
    if status not in STATUS_WORDS:
        raise CatalogError(f"{where}: unknown status {status!r} (one of {', '.join(STATUS_WORDS)}; "
                           "see standards/README.md)")
    return status


@dataclass
class CompiledState:
    """What the validator layers compile from a catalog on first use, per process (typed: one
    field per layer's structure, instead of names stashed on the catalog). ``Validator.
    precompile`` fills it before ``--jobs`` forks, so workers share it."""

    vocabulary: dict[str, Any] | None = None         # data-element conventions (vocabulary)
    vocabulary_verdicts: dict[Any, Any] = field(default_factory=dict)   # memo of code verdicts
    bindings: dict[Any, Any] = field(default_factory=dict)      # value-set bindings per template
    binding_ok: dict[Any, Any] = field(default_factory=dict)    # memo of binding verdicts
    statement_code_systems: Any = None                # code systems of statements (context)
    datatype: dict[str, Any] | None = None           # data-type checks (datatype)
    header_plans: dict[Any, Any] = field(default_factory=dict)   # header step trees (template)
    template_index: dict[Any, Any] = field(default_factory=dict)  # section/entry index
    section_code_systems: frozenset[str] | None = None
    source_texts: dict[tuple[str, ...], str] = field(default_factory=dict)
    header_raw: Any = None                            # family headers as data (synth)
    services: list[Any] | None = None                 # service catalogs of this root (V3 messages)


class Catalog:
    """All standards knowledge the validator uses, compiled."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.compiled = CompiledState()
        self.sources: dict[str, dict[str, Any]] = {}
        self.rules: dict[str, Rule] = {}
        self.families: dict[str, Family] = {}
        self.documents: dict[str, DocumentTemplate] = {}
        self.by_template: dict[str, DocumentTemplate] = {}
        # variant code → (its document type, the variant); see DocumentTemplate.variants
        self.variants: dict[str, tuple[DocumentTemplate, CodeVariant]] = {}
        self.value_sets: dict[str, ValueSet] = {}
        self.data_elements: dict[str, dict[str, Any]] = {}
        self.item_codes: dict[str, dict[str, Any]] = {}
        self.identifiers: dict[str, dict[str, Any]] = {}
        self.placeholders_exact: frozenset[str] = frozenset()
        self.placeholder_patterns: dict[str, list[re.Pattern[str]]] = {}
        self._load()

    # ---------------------------------------------------------------- loading
    def _load(self) -> None:
        root = self.root
        if not root.is_dir():
            raise CatalogError(f"{root}: standards folder not found")
        src = root / "sources.yaml"
        if src.exists():
            data = load_yaml(src) or {}
            items = data.get("sources", data)
            if isinstance(items, list):
                items = {s["id"]: s for s in items}
            self.sources = {str(k): (v if isinstance(v, dict) else {"citation": str(v)})
                            for k, v in items.items()}
        self._load_rules(root / "rules" / "cda.yaml")
        for extra in sorted((root / "rules").glob("*.yaml")):  # e.g. rules/hl7v3.yaml
            if extra.name != "cda.yaml":
                self._load_extra_rules(extra)
        self.conventions = load_yaml(root / "vocabulary" / "conventions.yaml")
        self.datatypes = load_yaml(root / "cda" / "datatypes.yaml")
        self._load_families(root / "cda" / "header.yaml")
        for family in ("wst500", "wst483"):
            folder = root / "cda" / family
            for path in sorted(folder.glob("*.yaml")):
                self._load_document(path)
        self._load_vocabulary(root / "vocabulary")
        self._check_references()

    def _check_references(self) -> None:
        """Every rule id that data refers to must be defined (fail at load, not mid-batch)."""
        for fam in self.families.values():
            for a in fam.assertions + [h for d in self.documents.values()
                                       if d.family == fam.id for h in d.header]:
                ids = [a.missing_rule, a.too_many_rule] + [c.rule for c in a.attrs]
                if a.text_rule:
                    ids.append(a.text_rule)
                for rid in ids:
                    if f"{fam.rule_prefix}.{rid}" not in self.rules:
                        raise CatalogError(
                            f"{self.root / 'cda' / 'header.yaml'}: assertion {a.path!r} of family "
                            f"{fam.id} names rule {rid!r}, which rules/cda.yaml does not define")

    def _load_rules(self, path: Path) -> None:
        data = load_yaml(path)
        self.ruleset = str(data.get("ruleset", "unknown"))

        def add(rid: str, spec: dict[str, Any], source: str) -> None:
            for key in ("layer", "severity", "message"):
                if key not in spec:
                    raise CatalogError(f"{path}: rule {rid} lacks '{key}'")
            self.rules[rid] = Rule(rid, spec["layer"], spec["severity"],
                                   spec.get("source", source), spec["message"])

        for rid, spec in (data.get("rules") or {}).items():
            add(rid, spec, "")
        for rid, spec in (data.get("shared_rules") or {}).items():
            add(rid, spec, "")
        self._family_rules = data.get("family_rules") or {}
        self._rules_path = path

    def _load_extra_rules(self, path: Path) -> None:
        """More rules in the same format as rules/cda.yaml, into the one rule registry."""
        data = load_yaml(path) or {}
        for rid, spec in (data.get("rules") or {}).items():
            for key in ("layer", "severity", "message"):
                if key not in (spec or {}):
                    raise CatalogError(f"{path}: rule {rid} lacks '{key}'")
            if rid in self.rules:
                raise CatalogError(f"{path}: rule {rid} is already defined")
            self.rules[rid] = Rule(rid, spec["layer"], spec["severity"], spec.get("source", ""),
                                   spec["message"])

    def _load_families(self, path: Path) -> None:
        data = load_yaml(path)
        for fid, spec in (data.get("families") or {}).items():
            where = f"{path} family {fid}"
            prefix = spec["rule_prefix"]
            items = list(spec.get("assertions") or [])
            # a family may replace inherited assertions (same path) with its own
            for rep in spec.get("replace") or []:
                idx = [i for i, a in enumerate(items) if a.get("path") == rep.get("path")]
                if not idx:
                    raise CatalogError(f"{where}: replace names unknown path {rep.get('path')!r}")
                items[idx[0]] = rep
            assertions = [_assertion(a, f"{where} assertion {i + 1}", spec.get("status", "seen"))
                          for i, a in enumerate(items)]
            self.families[fid] = Family(fid, prefix, spec["standard"],
                                        spec.get("standard_en", spec["standard"]),
                                        spec.get("status", "seen"), assertions)
            for rid, rspec in self._family_rules.items():
                full = f"{prefix}.{rid}"
                self.rules[full] = Rule(full, rspec["layer"], rspec["severity"],
                                        rspec.get("source", spec["standard"]), rspec["message"])

    def _load_document(self, path: Path) -> None:
        d = load_yaml(path)
        where = str(path)
        if not isinstance(d, dict):
            raise CatalogError(f"{where}: expected a mapping")
        for key in ("id", "family", "name", "code", "template_id"):
            if key not in d:
                raise CatalogError(f"{where}: missing key '{key}'")
        if d["family"] not in self.families:
            raise CatalogError(f"{where}: unknown family {d['family']!r}")
        status = _status(d.get("status"), where, "seen")
        structure_status = _status(d.get("structure_status"), where, status)
        header = []
        for i, h in enumerate(d.get("header") or []):
            h = dict(h)
            if "name" in h and isinstance(h["name"], str):
                h["name"] = {"zh": h["name"], "en": h.get("name_en") or h["path"]}
            h.setdefault("status", "provisional" if structure_status == "provisional"
                         else "observed")
            header.append(_assertion(h, f"{where} header {i + 1}", h["status"]))
        sections = []
        for i, s in enumerate(d.get("sections") or []):
            sw = f"{where} section {i + 1}"
            entries = []
            for j, e in enumerate(s.get("entries") or []):
                key = e.get("de") or e.get("code")
                if not key:
                    raise CatalogError(f"{sw} entry {j + 1}: needs 'de' or 'code'")
                entries.append(EntrySpec(
                    key=str(key), code_system=e.get("code_system"),
                    name=str(e.get("name") or key), card=_card(e.get("card", "0..*"), sw),
                    status=str(e.get("status", "observed")), value_type=e.get("value_type"),
                    value_set=e.get("value_set"), note=e.get("note")))
            match = s.get("match", "code")
            if match not in ("code", "display"):
                raise CatalogError(f"{sw}: match must be 'code' or 'display'")
            sections.append(SectionSpec(
                key=str(s.get("key") or s.get("code") or s.get("display")), match=match,
                code=None if s.get("code") is None else str(s["code"]),
                code_system=s.get("code_system"), display=s.get("display"),
                name=str(s.get("name") or s.get("display") or s.get("key")),
                card=_card(s.get("card", "0..1"), sw), status=str(s.get("status", "observed")),
                entries=entries))
        doc = DocumentTemplate(
            id=str(d["id"]), family=d["family"], standard=str(d.get("standard", "")),
            name=str(d["name"]), name_en=str(d.get("name_en", d["name"])), code=str(d["code"]),
            code_system=str(d.get("code_system", "")), template_id=str(d["template_id"]),
            status=status, ws445_group=d.get("ws445_group"), header=header, sections=sections,
            provenance=d.get("provenance"), raw=d, note=d.get("note"),
            template_id_status=_status(d.get("template_id_status"), where, status),
            structure_status=structure_status)
        for i, v in enumerate(d.get("variants") or []):
            if not isinstance(v, dict) or not v.get("code"):
                raise CatalogError(f"{where} variant {i + 1}: needs a 'code'")
            doc.variants.append(CodeVariant(
                code=str(v["code"]), status=_status(v.get("status"), f"{where} variant {i + 1}",
                                                    "provisional"),
                source=tuple(v.get("source") or ()), note=v.get("note")))
        for code in [doc.code] + [v.code for v in doc.variants]:
            if code in self.documents or code in self.variants:
                raise CatalogError(f"{where}: document code {code} defined twice")
        self.documents[doc.code] = doc
        for v in doc.variants:
            self.variants[v.code] = (doc, v)
        self.by_template[doc.template_id] = doc

    def _load_vocabulary(self, folder: Path) -> None:
        vs = load_yaml(folder / "value-sets.yaml") if (folder / "value-sets.yaml").exists() else {}
        for item in (vs or {}).get("value_sets") or []:
            codes = {str(k): str(v) for k, v in (item.get("codes") or {}).items()}
            self.value_sets[str(item["oid"])] = ValueSet(
                oid=str(item["oid"]), name=str(item.get("name", item["oid"])),
                complete=bool(item.get("complete")), status=str(item.get("status", "seen")),
                codes=codes, raw=item)
        de_path = folder / "data-elements.yaml"
        if de_path.exists():
            de = load_yaml(de_path) or {}
            self.data_elements = {str(k): (v or {}) for k, v in
                                  (de.get("data_elements") or {}).items()}
            self.item_codes = {str(k): (v if isinstance(v, dict) else {"name": v})
                               for k, v in (de.get("fee_items") or {}).items()}
        id_path = folder / "identifiers.yaml"
        if id_path.exists():
            ids = load_yaml(id_path) or {}
            items = ids.get("identifiers", ids)
            if isinstance(items, dict):
                items = [dict(v, oid=k) for k, v in items.items()]
            self.identifiers = {str(i["oid"]): i for i in items}
        ph_path = folder / "placeholders.yaml"
        if ph_path.exists():
            ph = load_yaml(ph_path) or {}
            self.placeholders_exact = frozenset(str(x) for x in ph.get("exact") or [])
            pats: dict[str, list[re.Pattern[str]]] = {}
            for p in ph.get("patterns") or []:
                where = p.get("applies_to", "any") if isinstance(p, dict) else "any"
                pats.setdefault(where, []).append(
                    re.compile(p["regex"] if isinstance(p, dict) else p))
            self.placeholder_patterns = pats

    # ---------------------------------------------------------------- helpers
    def source_text(self, ids: tuple[str, ...] | list[str]) -> str:
        key = tuple(ids)
        cache = self.compiled.source_texts
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = self._source_text(key)
        return hit

    def _source_text(self, ids: tuple[str, ...]) -> str:
        parts = []
        for sid in ids:
            s = self.sources.get(sid)
            parts.append(str(s.get("label") or s.get("title") or s.get("citation") or sid)
                         if s else sid)
        return "; ".join(parts)

    def document_for(self, code: str | None) -> DocumentTemplate | None:
        """The document type a code names: its primary code or a recorded variant."""
        if not code:
            return None
        doc = self.documents.get(code)
        if doc is None:
            hit = self.variants.get(code)
            doc = hit[0] if hit is not None else None
        return doc

    def primary_code(self, code: str) -> str:
        """The primary code of a document type code (a variant becomes its primary code)."""
        hit = self.variants.get(code)
        return hit[0].code if hit is not None else code

    def family_of(self, doc: DocumentTemplate | None) -> Family:
        return self.families[doc.family if doc else "wst500"]

    def templates(self) -> list[DocumentTemplate]:
        return sorted(self.documents.values(), key=lambda d: (d.family != "wst500", d.code))


@cache
def load_catalog(root: str | None = None) -> Catalog:
    return Catalog(Path(root) if root else standards_dir())
