"""Seeded mutations of valid documents, for the validator's "zero crashes on any input" target.

Each mutation is a small, plausible defect (what a buggy exporter or a damaged transfer does):
tree-level ones keep the XML well-formed so that every layer runs on odd content; byte-level ones
break the text so that the parse layer and its locations are exercised. The same seed always
gives the same mutated document, so a crash found by a long run (scripts/fuzz_validate.py)
replays exactly in a test.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable

from lxml import etree

XSI = "http://www.w3.org/2001/XMLSchema-instance"

# values that have broken validators before: empty, blank, huge, non-ASCII digits, impossible
# dates, numbers out of range, placeholders, markup-like text, odd OIDs and data-element codes
ODD_VALUES = [
    "", " ", "\t\n", "0", "-1", "00000000", "1e999", "NaN", "inf", "-0.0", "3.", ".5",
    "２０２４０１０１", "٢٠٢٤", "20240230", "20241301", "2024", "20240101246000",
    "20240101120000+0800", "20240101120000.123", "19000101", "99991231235959", "2024-01-01",
    "RN001", "XXXXX", "患者ID", "000000000000000000", "11010519491231002X", "11010519491231002x",
    "110105194912310021", "11010519491231002", "2.16.156.10011.1.1", "2.16.156.10011.2.2.1",
    "2.16.156.10011.2.3.1.4", "1..2", ".1", "urn:oid:1.2", "DE02.01.039.00", "DE99.99.999.99",
    "DE02.01.039", "de02.01.039.00", "C0001", "C9999", "S001", "x" * 3000, "😀", "\u200b",
    "a\u0301", "<b>&amp;</b>", "]]>", "'\"", "true", "false", "TRUE", "mg", "mmHg", "元",
    "CNY", "ISO", "zh-CN", "N", "R", "V", "CN", "POCD_MT000040", "2.16.840.1.113883.1.3",
]
ODD_TYPES = ["PQ", "TS", "IVL_TS", "IVL_PQ", "CD", "CE", "CV", "ST", "SC", "II", "INT", "REAL",
             "BL", "MO", "ED", "ANY", "RTO", "foo:PQ", "", ":", "xsi:", "PQ ", "v3:TS"]
ODD_BYTES = [b"\xff", b"\xc3", b"\xe4\xb8", b"<", b"&", b"&#0;", b"&#xD800;", b"]]>", b"\x00",
             b"\x1b", b"<!--", b"<!DOCTYPE x [<!ENTITY a 'b'>]>", b"<?xml version='1.0'?>",
             b"\r", b"\xef\xbb\xbf", b"</ClinicalDocument>", b"<x:y>", b"\"", b"'"]


def _elements(root: etree._Element) -> list[etree._Element]:
    return [e for e in root.iter() if isinstance(e.tag, str)]


class NothingToMutate(Exception):
    """The tree has no element this mutation applies to (e.g. only the root is left)."""


def _any(rng: random.Random, root: etree._Element, *, root_ok: bool = False) -> etree._Element:
    els = _elements(root)
    if not root_ok:
        els = els[1:]
    if not els:
        raise NothingToMutate
    return rng.choice(els)


def _delete(rng: random.Random, root: etree._Element) -> str:
    el = _any(rng, root)
    el.getparent().remove(el)
    return f"delete {etree.QName(el).localname}"


def _duplicate(rng: random.Random, root: etree._Element) -> str:
    el = _any(rng, root)
    el.addnext(copy.deepcopy(el))
    return f"duplicate {etree.QName(el).localname}"


def _move(rng: random.Random, root: etree._Element) -> str:
    el = _any(rng, root)
    targets = [t for t in _elements(root) if t is not el and el not in t.iterancestors()
               and t is not el.getparent()]
    if not targets:
        return "move (none)"
    t = rng.choice(targets)
    t.insert(rng.randint(0, len(t)), el)
    return f"move {etree.QName(el).localname} into {etree.QName(t).localname}"


def _set_attribute(rng: random.Random, root: etree._Element) -> str:
    el = _any(rng, root, root_ok=True)
    names = list(el.attrib) or ["value"]
    name = rng.choice(names + ["code", "codeSystem", "root", "extension", "value", "unit",
                               "displayName", "nullFlavor", "currency", "inclusive"])
    el.set(name, rng.choice(ODD_VALUES))
    return f"set @{name} on {etree.QName(el).localname}"


def _delete_attribute(rng: random.Random, root: etree._Element) -> str:
    el = _any(rng, root, root_ok=True)
    if not el.attrib:
        return "delete attribute (none)"
    name = rng.choice(list(el.attrib))
    del el.attrib[name]
    return f"delete @{name} on {etree.QName(el).localname}"


def _set_type(rng: random.Random, root: etree._Element) -> str:
    el = _any(rng, root)
    el.set(f"{{{XSI}}}type", rng.choice(ODD_TYPES))
    return f"xsi:type on {etree.QName(el).localname}"


def _set_text(rng: random.Random, root: etree._Element) -> str:
    el = _any(rng, root, root_ok=True)
    el.text = rng.choice(ODD_VALUES)
    return f"text of {etree.QName(el).localname}"


def _rename(rng: random.Random, root: etree._Element) -> str:
    el = _any(rng, root, root_ok=rng.random() < 0.1)
    other = _any(rng, root, root_ok=True)
    ns = etree.QName(other).namespace
    local = etree.QName(other).localname
    choice = rng.random()
    if choice < 0.2:
        el.tag = local  # no namespace
    elif choice < 0.3:
        el.tag = f"{{urn:example:other}}{local}"
    else:
        el.tag = f"{{{ns}}}{local}" if ns else local
    return f"rename to {el.tag}"


def _wrap(rng: random.Random, root: etree._Element) -> str:
    el = _any(rng, root)
    parent = el.getparent()
    ns = etree.QName(el).namespace
    wrapper = etree.Element(f"{{{ns}}}component" if ns else "component")
    parent.replace(el, wrapper)
    wrapper.append(el)
    return f"wrap {etree.QName(el).localname}"


def _empty_element(rng: random.Random, root: etree._Element) -> str:
    el = _any(rng, root)
    for ch in list(el):
        el.remove(ch)
    el.attrib.clear()
    el.text = None
    return f"empty {etree.QName(el).localname}"


TREE_MUTATIONS: list[Callable[[random.Random, etree._Element], str]] = [
    _delete, _duplicate, _move, _set_attribute, _delete_attribute, _set_type, _set_text,
    _rename, _wrap, _empty_element]


def _truncate(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    n = rng.randint(0, len(data))
    return data[:n], f"truncate at {n}"


def _flip(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(b))
        b[i] = rng.randrange(256)
    return bytes(b), "flip bytes"


def _insert(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    i = rng.randint(0, len(data))
    chunk = rng.choice(ODD_BYTES)
    return data[:i] + chunk + data[i:], f"insert {chunk[:12]!r} at {i}"


def _reencode(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    text = data.decode("utf-8", errors="replace")
    enc = rng.choice(["gbk", "gb18030", "utf-16", "utf-16-le", "utf-8-sig", "latin-1"])
    out = text.encode(enc, errors="replace")
    if rng.random() < 0.5:  # keep or drop the declaration's encoding name
        out = out.replace("UTF-8".encode(enc, errors="replace"), enc.upper().encode(
            enc, errors="replace"), 1)
    return out, f"re-encode {enc}"


BYTE_MUTATIONS: list[Callable[[random.Random, bytes], tuple[bytes, str]]] = [
    _truncate, _flip, _insert, _reencode]


def mutate(data: bytes, seed: int, *, steps: int | None = None) -> tuple[bytes, list[str]]:
    """A mutated copy of a well-formed document: 1-3 tree mutations, and one time in five a
    byte-level one on top. Deterministic in (data, seed)."""
    rng = random.Random(seed)
    root = etree.fromstring(data)
    done: list[str] = []
    for _ in range(steps if steps is not None else rng.randint(1, 3)):
        op = rng.choice(TREE_MUTATIONS)
        try:
            done.append(op(rng, root))
        except NothingToMutate:
            done.append(f"{op.__name__.lstrip('_')} (nothing left to mutate)")
    out = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    if rng.random() < 0.2:
        out, what = rng.choice(BYTE_MUTATIONS)(rng, out)
        done.append(what)
    return out, done
