"""Data-set coverage derived from CDA documents: each WS/T 500 document type maps to its WS 445
subset (profiles.yaml), and each element of the subset records where its value sits in the
document (`cda: {path, value}` for a header element, `cda: {de}` for a body entry). A document is
validated by the CDA validator (the same findings), and the elements with a value are covered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from .. import xmlsafe
from ..catalog import compile_path
from ..inputs import Task, read_task
from ..model.findings import DocumentResult
from ..validate import Validator
from ..validate.context import DocContext
from .definitions import DataSet, Definitions


@dataclass(slots=True)
class CdaCoverage:
    result: DocumentResult
    document_type: str | None = None
    covered: dict[str, set[str]] = field(default_factory=dict)   # data set id → element ids


_PATHS: dict[str, etree.XPath] = {}


def _xpath(path: str) -> etree.XPath:
    x = _PATHS.get(path)
    if x is None:
        x = _PATHS[path] = compile_path(path, "data-set element cda.path")
    return x


def _has_value(el: etree._Element, where: str) -> bool:
    if el.get("nullFlavor") is not None:
        return False
    if where.startswith("@"):
        return bool((el.get(where[1:]) or "").strip())
    text = "".join(el.itertext()).strip()
    return bool(text) or any((el.get(a) or "").strip() for a in ("value", "code", "extension"))


def covered_elements(ds: DataSet, root: etree._Element, statement_keys: dict[str, bool]
                     ) -> set[str]:
    out = set()
    for el in ds.elements:
        spec = el.cda or {}
        if "path" in spec:
            if any(_has_value(n, str(spec.get("value", "text"))) for n in _xpath(spec["path"])(root)):
                out.add(el.id)
        elif "de" in spec and statement_keys.get(str(spec["de"])):
            out.add(el.id)
    return out


def check_cda(validator: Validator, defs: Definitions, task: Task) -> CdaCoverage:
    result = validator.validate_task(task)
    cov = CdaCoverage(result, result.document_type)
    if not result.document_type:
        return cov
    subsets = defs.subsets_of_document(result.document_type)
    if not subsets:
        return cov
    try:
        data = read_task(task, validator.options.max_bytes)
        root = xmlsafe.parse_bytes(data, max_bytes=validator.options.max_bytes)
    except xmlsafe.ParseProblem:
        return cov
    ctx = DocContext(validator.catalog, validator.options.lang, data, root,
                     DocumentResult(path=task.display))
    keys: dict[str, bool] = {}
    for st in ctx.statements():
        v = st.value_el
        has = v is not None and v.get("nullFlavor") is None and (
            any((v.get(a) or "").strip() for a in ("value", "code", "extension"))
            or bool("".join(v.itertext()).strip()))
        keys[st.key] = keys.get(st.key, False) or has
    for ds in subsets:
        cov.covered[ds.id] = covered_elements(ds, root, keys)
    return cov
