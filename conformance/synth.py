"""Synthesize conformant CDA documents from the templates in standards/.

Used for the project's own example documents (one per document type), negative fixtures,
benchmarks and (later) the embedded platform's scenarios. Everything standards-specific comes
from the catalog: header constants from the family assertions, ids and sections from the
document template, codes from the value sets; element order from standards/cda/structure.yaml.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from lxml import etree

from .catalog import HL7_NS, XSI_NS, Catalog, DocumentTemplate, load_catalog, load_yaml
from .gb11643 import check_char as gb11643_check_char

H = f"{{{HL7_NS}}}"
XSI_TYPE = f"{{{XSI_NS}}}type"
_PRED_RE = re.compile(r"^([A-Za-z_][\w.\-]*)(?:\[@([\w:]+)='([^']*)'\])?$")

_FAMILY_NAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN_NAMES = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟",
                "涛", "明", "超", "秀英", "霞", "平"]
# Synthetic area codes for generated resident ID numbers (examples only).
_AREAS = ["110101", "310104", "440106", "420106", "510107", "330106"]


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    gender: str          # GB/T 2261.1 code: "1" male, "2" female
    birth: date
    id_number: str


def resident_id(area: str, birth: date, seq: int, gender: str) -> str:
    """A GB 11643 resident ID number with a correct check character."""
    order = seq % 500 * 2 + (1 if gender == "1" else 0)   # odd = male, even = female
    order = order if order % 2 == (1 if gender == "1" else 0) else order + 1
    body = f"{area}{birth:%Y%m%d}{order % 1000:03d}"
    return body + gb11643_check_char(body)


class Synthesizer:
    def __init__(self, catalog: Catalog | None = None, seed: int = 20240315) -> None:
        self.catalog = catalog or load_catalog()
        self.structure = load_yaml(self.catalog.root / "cda" / "structure.yaml")
        self.rng = random.Random(seed)
        self._serial = 0

    # ------------------------------------------------------------------ people and ids
    def person(self, i: int) -> Person:
        rng = random.Random(i * 7919 + 17)
        gender = "1" if i % 2 == 0 else "2"
        birth = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 60))
        name = _FAMILY_NAMES[i % len(_FAMILY_NAMES)] + _GIVEN_NAMES[(i * 7) % len(_GIVEN_NAMES)]
        return Person(name, gender, birth, resident_id(_AREAS[i % len(_AREAS)], birth, i, gender))

    def _serial_id(self, prefix: str = "") -> str:
        self._serial += 1
        return f"{prefix}{self._serial:012d}"

    # ------------------------------------------------------------------ tree helpers
    def _order(self, parent: etree._Element) -> list[str]:
        return (self.structure.get("order") or {}).get(etree.QName(parent).localname, [])

    def _insert(self, parent: etree._Element, name: str) -> etree._Element:
        order = self._order(parent)
        child = etree.Element(H + name)
        if name in order:
            pos = order.index(name)
            for i, existing in enumerate(parent):
                if not isinstance(existing.tag, str):
                    continue
                ln = etree.QName(existing).localname
                if ln in order and order.index(ln) > pos:
                    parent.insert(i, child)
                    break
            else:
                parent.append(child)
        else:
            parent.append(child)
        for k, v in ((self.structure.get("attributes") or {}).get(name) or {}).items():
            child.set(k, str(v))
        return child

    def ensure(self, node: etree._Element, path: str) -> etree._Element:
        for step in path.split("/"):
            m = _PRED_RE.match(step)
            if not m:
                raise ValueError(f"cannot synthesize path step {step!r}")
            name, attr, value = m.groups()
            found = None
            for child in node.iterchildren(H + name):
                if attr is None or child.get(attr) == value:
                    found = child
                    break
            if found is None:
                found = self._insert(node, name)
                if attr:
                    found.set(attr, value)
            node = found
        return node

    # ------------------------------------------------------------------ documents
    def document(self, tpl: DocumentTemplate, index: int = 1,
                 patient: Person | None = None) -> etree._Element:
        cat = self.catalog
        fam = cat.family_of(tpl)
        person = patient or self.person(index)
        when = datetime(2024, 3, 15, 9, 30, 0) + timedelta(minutes=index % 525_600)
        ts14 = f"{when:%Y%m%d%H%M%S}"
        root = etree.Element(H + "ClinicalDocument", nsmap={None: HL7_NS, "xsi": XSI_NS})
        for a in fam.assertions:
            if a.card[0] == 0:
                continue
            node = self.ensure(root, a.path)
            for chk in a.attrs:
                if chk.equals is not None:
                    node.set(chk.attr, chk.equals)
        self.ensure(root, "templateId").set("root", tpl.template_id)
        doc_id = root.find(H + "id")
        doc_id.set("extension", self._serial_id("DOC"))
        code = root.find(H + "code")
        code.set("code", tpl.code)
        code.set("codeSystem", tpl.code_system or fam_code_system(fam, cat))
        code.set("codeSystemName", "卫生信息共享文档规范编码体系")
        self.ensure(root, "title").text = tpl.name
        root.find(H + "effectiveTime").set("value", ts14)
        conf = root.find(H + "confidentialityCode")
        conf.set("code", "N")
        self._coded(conf, conf.get("codeSystem"), "N")
        for h in tpl.header:
            self.ensure(root, h.path)
        self._fill(root, tpl, person, ts14)
        body = self.ensure(root, "component/structuredBody")
        if not tpl.sections:
            fb = self.structure.get("fallback_section") or {}
            sec = etree.SubElement(etree.SubElement(body, H + "component"), H + "section")
            etree.SubElement(sec, H + "code", displayName=fb.get("display", "-"))
            etree.SubElement(sec, H + "text").text = fb.get("text", "")
        for spec in tpl.sections:
            for _ in range(max(1, spec.card[0])):
                comp = etree.SubElement(body, H + "component")
                sec = etree.SubElement(comp, H + "section")
                c = etree.SubElement(sec, H + "code")
                if spec.match == "code" and spec.code:
                    c.set("code", spec.code)
                    if spec.code_system:
                        c.set("codeSystem", spec.code_system)
                vs = cat.value_sets.get(spec.code_system or "")
                display = (vs.codes.get(spec.code or "") if vs else None) or spec.display
                if display:
                    c.set("displayName", display)
                etree.SubElement(sec, H + "text")
                for entry in spec.entries:
                    for _ in range(max(1, entry.card[0])):
                        self._entry(sec, entry, person, when)
        return root

    def _coded(self, el: etree._Element, oid: str | None, code: str | None = None) -> None:
        vs = self.catalog.value_sets.get(oid or "")
        if vs is None or not vs.codes:
            if code is None:
                el.set("nullFlavor", "UNK")
            return
        code = code if code in vs.codes else next(iter(vs.codes))
        el.set("code", code)
        el.set("codeSystem", vs.oid)
        el.set("codeSystemName", vs.name)
        el.set("displayName", vs.codes[code])

    def _fill(self, root: etree._Element, tpl: DocumentTemplate, person: Person,
              ts14: str) -> None:
        st = self.structure
        requires = st.get("requires") or {}
        # required children first (may add new classes), then leaves
        changed = True
        while changed:
            changed = False
            for el in list(root.iter(etree.Element)):
                for path in requires.get(etree.QName(el).localname, []):
                    first = path.split("/", 1)[0]
                    if el.find(H + first) is None:
                        self.ensure(el, path)
                        changed = True
        header_sets = {h.path.rsplit("/", 1)[-1].split("[", 1)[0]: h
                       for h in tpl.header}
        value_sets = {h.path: h for h in tpl.header}
        ids = self.catalog.identifiers
        defaults = st.get("defaults") or {}
        time_el = set(st.get("time_elements") or [])
        coded = set(st.get("coded_elements") or [])
        for el in root.iter(etree.Element):
            ln = etree.QName(el).localname
            parent = el.getparent()
            pln = etree.QName(parent).localname if parent is not None else ""
            if len(el) or el is root or (pln == "ClinicalDocument" and ln != "id"):
                continue
            if ln == "id":
                r = el.get("root")
                if r is None:
                    el.set("nullFlavor", "UNK")
                elif ids.get(r, {}).get("format") == "gb11643" or (
                        pln == "patient" and r.endswith(".1.3")):
                    el.set("extension", person.id_number)
                elif "extension" not in el.attrib:
                    el.set("extension", self._serial_id("ID"))
            elif ln == "name":
                if pln == "patient":
                    el.text = person.name
                elif pln in ("assignedPerson", "associatedPerson"):
                    el.text = self.person(self._serial + 3).name
                else:
                    el.text = "示例医院" if "Organization" in pln else "示例名称"
            elif ln == "birthTime":
                el.set("value", f"{person.birth:%Y%m%d}")
            elif ln == "administrativeGenderCode":
                h = header_sets.get(ln)
                self._coded(el, _value_set(h) or st.get("gender_value_set"), person.gender)
            elif ln in defaults:
                for k, v in defaults[ln].items():
                    el.set(k, str(v))
            elif ln in time_el:
                el.set("value", ts14)
            elif ln in coded:
                h = value_sets.get(_path_of(el)) or header_sets.get(ln)
                oid = _value_set(h)
                if oid:
                    self._coded(el, oid)
                elif ln == "code" and pln == "assignedEntity":
                    el.set("displayName", "医师")
                else:
                    el.set("nullFlavor", "UNK")

    def _entry(self, sec: etree._Element, entry: Any, person: Person, when: datetime) -> None:
        cat = self.catalog
        ent = etree.SubElement(sec, H + "entry")
        obs = etree.SubElement(ent, H + "observation", classCode="OBS", moodCode="EVN")
        c = etree.SubElement(obs, H + "code", code=entry.key)
        de = cat.data_elements.get(entry.key) or cat.item_codes.get(entry.key) or {}
        if entry.code_system:
            c.set("codeSystem", entry.code_system)
        else:
            c.set("codeSystem", cat.conventions["data_element"]["code_system"])
            c.set("codeSystemName", cat.conventions["data_element"]["code_system_name"])
        c.set("displayName", entry.name)
        vtype = entry.value_type or de.get("value_type") or (
            "MO" if entry.code_system else "ST")
        v = etree.SubElement(obs, H + "value")
        v.set(XSI_TYPE, vtype)
        oid = entry.value_set or de.get("value_set")
        if vtype in ("CD", "CE", "CV", "CS", "CO"):
            self._coded(v, oid, None)
            if v.get("nullFlavor") and oid:
                del v.attrib["nullFlavor"]
                v.set("code", "1")
                v.set("codeSystem", oid)
        elif vtype == "TS":
            v.set("value", f"{when:%Y%m%d%H%M%S}")
        elif vtype == "IVL_TS":
            etree.SubElement(v, H + "low", value=f"{when:%Y%m%d%H%M%S}")
            etree.SubElement(v, H + "high", value=f"{when + timedelta(hours=1):%Y%m%d%H%M%S}")
        elif vtype == "PQ":
            v.set("value", "1")
            v.set("unit", "1")
        elif vtype == "IVL_PQ":
            etree.SubElement(v, H + "low", value="1", unit="1")
            etree.SubElement(v, H + "high", value="2", unit="1")
        elif vtype == "MO":
            v.set("value", "100.00")
            v.set("currency", "元")
        elif vtype == "INT":
            v.set("value", "1")
        elif vtype == "REAL":
            v.set("value", "1.0")
        elif vtype == "BL":
            v.set("value", "true")
        elif vtype == "II":
            v.set("root", str(self.structure.get("ii_value_root", "")))
            v.set("extension", self._serial_id("V"))
        else:
            v.text = f"{entry.name}：无特殊"

    def document_bytes(self, tpl: DocumentTemplate, index: int = 1,
                       patient: Person | None = None) -> bytes:
        return etree.tostring(self.document(tpl, index, patient), xml_declaration=True,
                              encoding="UTF-8", pretty_print=True)

    def file_name(self, tpl: DocumentTemplate, index: int = 1) -> str:
        raw = _family_raw(self.catalog, tpl.family)
        pattern = raw.get("example_file") or "{code}-{index:03d}.xml"
        part = int(tpl.raw.get("part") or re.sub(r"\D", "", tpl.code) or 0)
        return pattern.format(part=part, name=tpl.name, index=index, code=tpl.code)

    def write_examples(self, out: Path, count: int = 1,
                       families: tuple[str, ...] = ("wst500", "wst483")) -> list[Path]:
        out.mkdir(parents=True, exist_ok=True)
        written = []
        n = 0
        for tpl in self.catalog.templates():
            if tpl.family not in families:
                continue
            for i in range(1, count + 1):
                n += 1
                p = out / tpl.family / self.file_name(tpl, i)
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(self.document_bytes(tpl, n))
                written.append(p)
        return written


def _value_set(h: Any) -> str | None:
    if h is None:
        return None
    raw = getattr(h, "value_set", None)
    return raw


def _path_of(el: etree._Element) -> str:
    parts = []
    node = el
    while node is not None and node.getparent() is not None:
        parts.append(etree.QName(node).localname)
        node = node.getparent()
    return "/".join(reversed(parts))


def fam_code_system(fam: Any, cat: Catalog) -> str:
    return cat.conventions.get("document_code_system", "")


def _family_raw(cat: Catalog, family: str) -> dict[str, Any]:
    data = cat.compiled.header_raw
    if data is None:
        data = load_yaml(cat.root / "cda" / "header.yaml")["families"]
        cat.compiled.header_raw = data
    return data[family]
