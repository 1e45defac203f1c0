"""Why a message lacks what the platform needs, in the words of its acknowledgement: what is
wrong, where, and the value found (an id under another root, an extension that is empty, a root
with a stray space) — not only that "something is missing".

The paths are the catalog's (standards/services/shapes.yaml): steps of element names with at
most a predicate [@attr='value'] each, an optional final @attr, alternatives joined by ' | '.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from ..catalog import HL7_NS
from ..hl7v3.services import PathSpec
from ..i18n import t
from .safe import phrase

_STEP_RE = re.compile(r"^([A-Za-z_][\w.\-]*)(?:\[@([\w:.\-]+)='([^']*)'\])?$")
H = f"{{{HL7_NS}}}"


@dataclass(slots=True)
class _Gap:
    depth: float  # how many steps were found: the deeper, the closer the message came
    key: str
    values: dict[str, str]


def element_name(el: etree._Element) -> str:
    """An element's name as a reader writes it: local name, and its namespace when it has
    one (never lxml's {uri}name notation)."""
    ns = etree.QName(el).namespace
    return etree.QName(el).localname + (f' xmlns="{ns}"' if ns else "")


def quoted(value: str, lang: str) -> str:
    """A value as found, quoted so that spaces at its ends can be seen."""
    return t("platform.quoted", lang, value=value)


def _walk(path: str, root: etree._Element, lang: str) -> _Gap | None:
    steps = path.strip().split("/")
    attr = steps.pop()[1:] if steps and steps[-1].startswith("@") else None
    nodes = [root]
    done: list[str] = []
    for i, step in enumerate(steps):
        m = _STEP_RE.match(step)
        if m is None:
            return None
        name, pattr, pvalue = m.groups()
        found = [c for n in nodes for c in n if c.tag == H + name]
        where = "/".join(done) or etree.QName(root).localname
        if not found:
            return _Gap(i, "platform.absent.element", {"name": name, "where": where})
        if pattr is not None:
            matching = [c for c in found if c.get(pattr) == pvalue]
            if not matching:
                seen = [c.get(pattr) for c in found]
                shown = ", ".join(quoted(v, lang) for v in seen if v is not None)
                near = [v for v in seen if v is not None and v.strip() == pvalue]
                key = ("platform.absent.predicate_spaces" if near else "platform.absent.predicate" if shown
                       else "platform.absent.predicate_missing")
                return _Gap(i + 0.5, key, {"name": name, "where": where, "attr": pattr,
                                           "expected": pvalue, "found": shown})
            found = matching
        nodes = found
        done.append(step)
    where = "/".join(done)
    if attr is not None:
        values = [n.get(attr) for n in nodes]
        if all(v is None for v in values):
            return _Gap(len(steps), "platform.absent.attribute", {"where": where, "attr": attr})
        return _Gap(len(steps) + 0.5, "platform.absent.empty", {
            "where": where, "attr": attr,
            "found": ", ".join(quoted(v, lang) for v in values if v is not None)})
    return _Gap(len(steps) + 0.5, "platform.absent.text", {"where": where})


_FOUND_SOMETHING = ("platform.absent.empty", "platform.absent.predicate_spaces", "platform.absent.predicate")


def _rank(gap: _Gap) -> tuple[bool, float]:
    """An alternative where a value was found (another root, an empty extension) says more
    than one where an element is absent; else the one that came deeper."""
    return gap.key in _FOUND_SOMETHING, gap.depth


def absent(paths: list[str], label: str, root: etree._Element, lang: str) -> str:
    """What is wrong where the catalog's paths select nothing: the alternative that came
    closest is described (the element that is not there, the root found instead, the empty
    extension)."""
    best: _Gap | None = None
    for path in paths:
        for alt in path.split(" | "):
            gap = _walk(alt, root, lang)
            if gap is not None and (best is None or _rank(gap) > _rank(best)):
                best = gap
    if best is None:
        return f"{label} ({paths[0]})"
    return phrase(best.key, lang, label=label, **best.values)


def absent_spec(spec: PathSpec, root: etree._Element, lang: str) -> str:
    return absent(spec.paths, spec.label(lang), root, lang)


def message_id_problem(root: etree._Element, wanted_root: str, lang: str) -> str:
    """Why the message has no usable message id (id/@extension under the message id root, in
    either form: <id root extension/> or <id><item root extension/></id>)."""
    ids = [c for c in root if c.tag == H + "id"]
    if not ids:
        return phrase("platform.message_id.absent", lang, root=wanted_root)
    written: list[etree._Element] = []  # the elements that carry root and extension
    for el in ids:
        items = [i for i in el if i.tag == H + "item"]
        bare = el.get("root") is None and el.get("extension") is None
        written.extend(items if items and bare else [el])
    for el in written:  # the one meant as the message id: the right root, or no root at all
        if el.get("root") in (wanted_root, None):
            ext = el.get("extension")
            if ext is None:
                return phrase("platform.message_id.no_extension", lang, root=wanted_root)
            return phrase("platform.message_id.empty_extension", lang, root=wanted_root,
                       found=quoted(ext, lang))
    roots = [el.get("root") or "" for el in written]
    near = next((r for r in roots if r.strip() == wanted_root), None)
    if near is not None:
        return phrase("platform.message_id.root_spaces", lang, root=wanted_root, found=quoted(near, lang))
    return phrase("platform.message_id.other_root", lang, root=wanted_root,
               found=", ".join(quoted(r, lang) for r in roots))
