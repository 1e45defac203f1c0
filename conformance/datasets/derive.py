"""Derive the data-set definitions (standards/datasets/ws445/*.yaml, regional/*.yaml) from the
list in standards/datasets/profiles.yaml and the CDA document templates.

A maintenance tool, not used at run time: ``python -m conformance.datasets.derive`` rewrites the
generated files. The element lists of the WS 445 subsets are transcribed (``ws445.py``): derive
keeps them and re-merges what the templates and the vocabulary say about each element; the
template-derived lists (``Deriver.ws445``) serve that merge and the regional sets. It never
invents a data-element code: elements come from the templates (header assertions mapped by
formats.yaml ``header_elements``, section entries), from the vocabulary, or from the explicit
lists in profiles.yaml; types and formats come from
vocabulary/data-element-formats.yaml or the value-type defaults of formats.yaml. Every fact keeps
its status, and each generated file says what it was derived from.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from ..catalog import Catalog, DocumentTemplate, load_catalog, load_yaml
from ..resources import standards_dir


class Deriver:
    def __init__(self, catalog: Catalog | None = None) -> None:
        self.cat = catalog or load_catalog()
        root = standards_dir() / "datasets"
        self.root = root
        self.formats = load_yaml(root / "formats.yaml")
        self.profiles = load_yaml(root / "profiles.yaml")
        known = load_yaml(standards_dir() / "vocabulary" / "data-element-formats.yaml") or {}
        self.known: dict[str, dict[str, str]] = known.get("formats") or {}
        self.id_element = (self.formats.get("resident_id") or {}).get("id_element")

    # ---------------------------------------------------------------- element helpers
    def _type_format(self, de: str | None, name: str, value_type: Any, value_set: str | None
                     ) -> tuple[str, str, str]:
        """(data type, representation format, basis) for one element."""
        if de and de in self.known:
            k = self.known[de]
            return k["data_type"], k["format"], "ws363-background"
        if isinstance(value_type, list):
            value_type = value_type[0] if value_type else None
        defaults = self.formats["defaults"]
        spec = defaults["by_value_type"].get(str(value_type)) if value_type else None
        if spec is None and value_set:
            spec = defaults["by_value_type"]["CD"]
            basis = "derived-from-value-set-binding"
        elif spec is None:
            spec = defaults["unknown"]
            basis = "default"
        elif "data_type" not in spec:  # TS: by the element name
            spec = spec["date"] if name.endswith("日期") else spec["date_time"]
            basis = "derived-from-value-type"
        else:
            basis = "derived-from-value-type"
        dtype, fmt = spec["data_type"], spec["format"]
        if dtype in ("S2", "S3") and value_set and defaults.get("code_format_from_value_set"):
            vs = self.cat.value_sets.get(value_set)
            if vs is not None and vs.complete and vs.codes:
                lengths = {len(c) for c in vs.codes}
                if len(lengths) == 1:
                    n = lengths.pop()
                    fmt = f"N{n}" if all(c.isdigit() for c in vs.codes) else f"AN{n}"
                    basis = "derived-from-value-set-codes"
        return dtype, fmt, basis

    def element(self, *, de: str | None, name: str, status: str, source: str,
                value_type: Any = None, value_set: str | None = None, required: bool = False,
                required_status: str | None = None, cda: dict[str, Any] | None = None,
                item_code: str | None = None, data_type: str | None = None,
                fmt: str | None = None, check: str | None = None) -> dict[str, Any]:
        info = self.cat.data_elements.get(de or "", {})
        if value_type is None:
            value_type = info.get("value_type")
        if value_set is None:
            value_set = info.get("value_set")
        if data_type and fmt:
            basis = "header-map"
        else:
            data_type, fmt, basis = self._type_format(de, name, value_type, value_set)
        el: dict[str, Any] = {"id": de or item_code or name, "de": de}
        if item_code:
            el["item"] = item_code
        el.update({"name": name, "data_type": data_type, "format": fmt})
        if value_set:
            el["value_set"] = str(value_set)
        el["required"] = bool(required)
        if required and required_status and required_status != status:
            el["required_status"] = required_status
        el["status"] = status
        el["format_basis"] = basis
        if de and de == self.id_element and check is None:
            check = "resident_id"
        if check:
            el["check"] = check
        el["source"] = source
        if cda:
            el["cda"] = cda
        return el

    def header_elements(self, tpl: DocumentTemplate, status_cap: str | None = None
                        ) -> list[dict[str, Any]]:
        hmap = self.formats["header_elements"]
        structural = set(self.formats.get("header_structural") or [])
        out = []
        name_path = "recordTarget/patientRole/patient/name"
        paths = [name_path] + [h.path for h in tpl.header if h.path != name_path]
        cards = {h.path: h for h in tpl.header}
        for path in paths:
            if path in structural:
                continue
            spec = hmap.get(path)
            if spec is None:
                print(f"warning: {tpl.code}: header path {path} has no mapping", file=sys.stderr)
                continue
            h = cards.get(path)
            status = spec.get("status", "observed")
            if status_cap == "provisional" or tpl.provisional:
                status = "provisional"
            if h is not None:
                req = h.card[0] >= 1
                req_status = h.status
                vs = h.value_set
                src = f"{tpl.code} header {path}"
            else:  # the patient name: a family assertion (seen) for every document
                req, req_status, vs = True, "seen", None
                src = f"{tpl.family} family header {path} (1..1)"
            out.append(self.element(
                de=spec.get("de"), name=spec["name"], status=status, source=src, value_set=vs,
                required=req, required_status=req_status,
                cda={"path": path, "value": spec.get("value", "text")},
                data_type=spec.get("data_type"), fmt=spec.get("format"), check=spec.get("check")))
        return out

    def section_elements(self, tpl: DocumentTemplate, keep: Any = None,
                         status_cap: str | None = None) -> list[dict[str, Any]]:
        out = []
        item_cs = {i["oid"] for i in self.cat.conventions.get("item_code_systems") or []}
        for sec in tpl.sections:
            for e in sec.entries:
                if keep is not None and not keep(sec, e):
                    continue
                is_item = e.code_system in item_cs or not e.key.startswith("DE")
                status = "provisional" if (status_cap == "provisional" or tpl.provisional) \
                    else e.status
                out.append(self.element(
                    de=None if is_item else e.key, item_code=e.key if is_item else None,
                    name=e.name, status=status, value_type=e.value_type, value_set=e.value_set,
                    required=e.card[0] >= 1, required_status=e.status,
                    source=f"{tpl.code} section {sec.key} ({sec.name})",
                    cda={"de": e.key, "section": sec.key}))
        return out

    def vocabulary_elements(self, codes: list[str], basis: str, status: str = "provisional"
                            ) -> list[dict[str, Any]]:
        out = []
        hmap = {v["de"]: (p, v) for p, v in self.formats["header_elements"].items() if v.get("de")}
        for de in codes:
            info = self.cat.data_elements.get(de)
            if info is None:
                raise SystemExit(f"profiles.yaml names {de}, which the vocabulary does not know")
            name = info.get("name", de)
            cda = None
            if de in hmap:
                path, spec = hmap[de]
                name = spec["name"]
                cda = {"path": path, "value": spec.get("value", "text")}
            out.append(self.element(de=de, name=name, status=status, source=basis, cda=cda,
                                    required=bool(de in hmap and hmap[de][1].get("required"))))
        return out

    @staticmethod
    def dedupe(elements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Drop exact repeats (same code and name); give elements that share a code but not a
        name distinct ids (DE05.01.024.00:出院诊断编码)."""
        seen: set[tuple[str | None, str]] = set()
        out = []
        for el in elements:
            key = (el["de"] or el.get("item"), el["name"])
            if key in seen:
                continue
            seen.add(key)
            out.append(el)
        counts: dict[str, int] = {}
        for el in out:
            counts[el["id"]] = counts.get(el["id"], 0) + 1
        names: set[str] = set()
        for el in out:
            if counts[el["id"]] > 1:
                el["id"] = f"{el['id']}:{el['name']}"
            if el["id"] in names:  # same code and a name already used: number it
                i = 2
                while f"{el['id']}#{i}" in names:
                    i += 1
                el["id"] = f"{el['id']}#{i}"
            names.add(el["id"])
        return out

    # ---------------------------------------------------------------- data sets
    def ws445(self) -> list[dict[str, Any]]:
        parts = self.profiles["ws445_parts"]
        out = []
        for row in self.profiles["ws445_subsets"]:
            p, s = (int(x) for x in str(row["n"]).split("."))
            docs = list(row.get("documents") or [])
            elements: list[dict[str, Any]] = []
            derived = []
            take = row.get("take")
            for code in docs:
                tpl = self.cat.documents[code]
                derived.append(f"{code} {tpl.name}")
                if take == "header":
                    elements += self.header_elements(tpl)
                    continue
                if take:
                    kind, _, arg = take.partition(":")
                    inc = tuple(row.get("include_prefix") or ())
                    exc = tuple(row.get("exclude_prefix") or ())

                    def keep(sec, e, kind=kind, arg=arg, inc=inc, exc=exc) -> bool:
                        if kind == "section" and sec.key != arg:
                            return False
                        if kind == "sections-except" and sec.key == arg:
                            return False
                        if inc and not e.key.startswith(inc):
                            return False
                        return not (exc and e.key.startswith(exc))

                    ctx = self.vocabulary_elements(
                        self.profiles["ws445_context"],
                        f"{code} header: the document header identifies the patient of every "
                        "section (context element, inferred)")
                    elements += ctx + self.section_elements(tpl, keep)
                else:
                    elements += self.header_elements(tpl) + self.section_elements(tpl)
            no_doc = (self.profiles.get("ws445_no_document") or {}).get(str(row["n"]))
            if no_doc:
                elements += self.vocabulary_elements(
                    no_doc, "inferred from the subset name; WS 445 text not available")
            ident = f"WS445.{p}.{s}"
            out.append({
                "id": ident,
                "profile": "hospital",
                "name": row["name"],
                "label": row.get("label", row["name"]),
                "standard": f"WS 445.{p}-2014 电子病历基本数据集 第{p}部分：{parts[p]}",
                "part": p,
                "part_name": parts[p],
                "subset": s,
                "assessment_item": f"2.1.{p}.{s}",
                "level": row["level"],
                "points": row["points"],
                "optional_business": bool(row.get("optional")),
                "documents": docs,
                "status": "seen",
                "elements_status": "provisional",
                "provenance": {
                    "identity": ["assessment-2.1"],
                    "elements": (f"derived from the WS/T 500 template(s) {', '.join(derived)} "
                                 "(data elements observed in the sample documents) — the WS 445 "
                                 "element list itself is not available, so the list may be "
                                 "incomplete" if derived else
                                 "no WS/T 500 document maps to this subset: elements inferred "
                                 "from its name, provisional"),
                },
                "elements": self.dedupe(elements),
            })
        return out

    def regional(self, ws445: list[dict[str, Any]]) -> list[dict[str, Any]]:
        by_n = {f"{d['part']}.{d['subset']}": d for d in ws445}
        out = []
        for row in self.profiles["regional_sets"]:
            n = int(row["n"])
            elements = self.vocabulary_elements(
                self.profiles["regional_core"],
                "every health-record data set identifies the resident (WS/T 483 header, "
                "Mediinfo generator of 个人基本健康信息登记; inferred)")
            basis = []
            for code in row.get("documents") or []:
                tpl = self.cat.documents.get(code)
                if tpl is None:
                    continue
                basis.append(f"{code} {tpl.name} (WS/T 483 template, provisional structure)")
                if row.get("take") == "header":
                    elements += self.header_elements(tpl, status_cap="provisional")
                elements += self.section_elements(tpl, status_cap="provisional")
            if row.get("extra"):
                elements += self.vocabulary_elements(
                    list(row["extra"]), f"inferred from the data-set name {row['name']}")
                basis.append("data elements inferred from the name")
            like = row.get("like")
            if like:
                src = by_n[str(like)]
                basis.append(f"elements of {src['id']} {src['name']} (inferred: same content)")
                for el in src["elements"]:
                    el = dict(el)
                    el["status"] = "provisional"
                    el.pop("required_status", None)
                    el["source"] = f"{src['id']} {src['name']}: {el['source']}"
                    el["id"] = el["de"] or el.get("item") or el["name"]
                    elements.append(el)
            ident = f"EHR-DE-{n:02d}"
            prov: dict[str, Any] = {
                "identity": ["notes-4-naming"],
                "elements": "; ".join(basis) + " — the health-record data-set standards are not "
                            "available: the list is incomplete and provisional",
            }
            if row.get("name_unknown"):
                prov["name"] = ("EHR-DE-06 is not in the vendor list; the name is a placeholder "
                                "inferred from EHR-SD-6 产前随访服务")
            if row.get("note"):
                prov["note"] = row["note"]
            out.append({
                "id": ident,
                "profile": "regional",
                "name": row["name"],
                "label": row["name"],
                "standard": "电子健康档案数据集（文本不可得）",
                "number": n,
                "documents": list(row.get("documents") or []),
                "file_name": f"{ident}-{row['name']}-T01",
                "status": "provisional",
                "elements_status": "provisional",
                "provenance": prov,
                "elements": self.dedupe(elements),
            })
        return out

    def write(self) -> list[Path]:
        """Re-merge the stored WS 445 lists (ws445.py) and regenerate the regional sets. The
        regional sets that share a hospital subset's elements (`like`) take them from the
        template-derived list, as before the WS 445 lists were transcribed."""
        from .ws445 import Merger, stored_lists
        from .ws445 import write as write_ws445

        ws = self.ws445()
        reg = self.regional(ws)
        written = write_ws445(Merger(self).datasets(stored_lists(self.root / "ws445")),
                              self.root / "ws445")
        for folder, items in (("regional", reg),):
            d = self.root / folder
            d.mkdir(exist_ok=True)
            for old in d.glob("*.yaml"):
                old.unlink()
            for item in items:
                path = d / f"{item['id']}.yaml"
                path.write_text(_dump(item), encoding="utf-8")
                written.append(path)
        return written


_HEAD = """# {id} {name} — data-set definition, GENERATED by `python -m conformance.datasets.derive`
# from standards/datasets/profiles.yaml and the CDA templates. Edit those, then re-run.
# elements: id (unique in the set), de (WS 363 code or null), name, data_type, format,
# value_set, required, status (of the element's membership), format_basis, source, cda (where the
# value sits in a CDA document of the mapped type).
"""


def _dump(item: dict[str, Any], comment: str = _HEAD) -> str:
    head = {k: v for k, v in item.items() if k != "elements"}
    text = comment.format(id=item["id"], name=item["name"])
    text += yaml.safe_dump(head, allow_unicode=True, sort_keys=False, width=110)
    text += "elements:\n"
    for el in item["elements"]:
        line = yaml.safe_dump(el, allow_unicode=True, sort_keys=False, default_flow_style=True,
                              width=100_000).strip()
        text += f"  - {line}\n"
    return text


def main() -> None:  # pragma: no cover - maintenance entry point
    written = Deriver().write()
    total = sum(1 for _ in written)
    print(f"{total} data-set files written under {standards_dir() / 'datasets'}")


if __name__ == "__main__":  # pragma: no cover
    main()
