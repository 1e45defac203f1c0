"""Load the interaction-service catalogs (standards/services/*.yaml) into compiled services.

Nothing here knows a service, interaction or OID by name: everything comes from the data files.
Errors name the file and line (CatalogError, the same exception the document catalog raises).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from ..catalog import HL7_NS, CatalogError
from ..i18n import t
from ..resources import standards_dir
from ..yamlio import read_yaml

NS = {"hl7": HL7_NS, "xsi": "http://www.w3.org/2001/XMLSchema-instance"}


def __getattr__(name: str) -> Any:
    if name == "PROFILES":   # the profiles standards/profiles/ defines
        from ..profiles import profile_ids

        return tuple(profile_ids())
    raise AttributeError(name)
KINDS = ("write", "query")
WRITE_OPS = ("add", "update", "merge", "put")
QUERY_OPS = ("query", "notifications", "time", "node_verify", "audit")
KEY_BY = ("key", "index", "patient", "param")
_VAR_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_NAME_STEP = re.compile(r"^[A-Za-z_][\w.\-]*")


def _load(path: Path) -> Any:
    return read_yaml(path, CatalogError, lines=True)


def _split_steps(path: str) -> list[str]:
    steps, depth, cur = [], 0, []
    for ch in path:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "/" and depth == 0:
            steps.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    steps.append("".join(cur))
    return steps


def to_xpath(path: str) -> str:
    """'controlActProcess/subject/x[@root='1']/@extension' → namespaced XPath (unions with ' | ')."""
    out = []
    for alt in path.split(" | "):
        steps = []
        for step in _split_steps(alt.strip()):
            if step and _NAME_STEP.match(step) and ":" not in step.split("[")[0]:
                step = "hl7:" + step
            steps.append(step)
        out.append("/".join(steps))
    return " | ".join(out)


def compile_xpath(path: str, where: str) -> etree.XPath:
    try:
        return etree.XPath(to_xpath(path), namespaces=NS)
    except etree.XPathSyntaxError as exc:
        raise CatalogError(f"{where}: invalid path {path!r}: {exc}") from None


def first_value(xpaths: list[etree.XPath], root: etree._Element) -> str | None:
    """The first non-empty string the paths select (attributes or element text), stripped."""
    for xp in xpaths:
        try:
            res = xp(root)
        except etree.XPathEvalError:
            continue
        for r in res if isinstance(res, list) else [res]:
            if isinstance(r, str):
                val = r.strip()
            elif isinstance(r, etree._Element):
                val = (r.text or "").strip()
            else:
                continue
            if val:
                return val
    return None


@dataclass(slots=True)
class RootAlternative:
    """An identifier root that sources use in place of the one the shapes expect (shapes.yaml
    root_alternatives): accepted where the preferred root is read, with a warning naming it."""

    preferred: str
    root: str
    name: dict[str, str]
    status: str
    source: str
    basis: dict[str, str]
    note: str = ""


@dataclass(slots=True)
class AltHit:
    """A value read under an alternative root: the value, the element carrying the root (for
    the finding's place) and which alternative it was."""

    value: str
    element: etree._Element | None
    alternative: RootAlternative


@dataclass(slots=True)
class PathSpec:
    name: dict[str, str]
    paths: list[str]
    xpaths: list[etree.XPath]
    by: str = "key"
    entity: str | None = None
    patient: bool = False
    required: bool = True
    optional: bool = False
    # the same paths with an alternative root in place of the preferred one, tried only when
    # the preferred paths find nothing
    alt_xpaths: list[tuple[etree.XPath, RootAlternative]] = field(default_factory=list)

    def value(self, root: etree._Element) -> str | None:
        v = first_value(self.xpaths, root)
        if v or not self.alt_xpaths:
            return v
        hit = self.alternative(root)
        return hit.value if hit else None

    def lookup(self, root: etree._Element) -> tuple[str | None, AltHit | None]:
        """The value, and how it was found when an alternative root supplied it."""
        v = first_value(self.xpaths, root)
        if v or not self.alt_xpaths:
            return v, None
        hit = self.alternative(root)
        return (hit.value, hit) if hit else (None, None)

    def alternative(self, root: etree._Element) -> AltHit | None:
        for xp, alt in self.alt_xpaths:
            try:
                res = xp(root)
            except etree.XPathEvalError:
                continue
            for r in res if isinstance(res, list) else [res]:
                if isinstance(r, str) and r.strip():
                    parent = r.getparent() if hasattr(r, "getparent") else None
                    return AltHit(r.strip(), parent, alt)
        return None

    def label(self, lang: str) -> str:
        return self.name.get(lang) or self.name.get("zh") or self.paths[0]


@dataclass(slots=True)
class QuerySpec:
    keys: list[PathSpec]
    wrap: list[tuple[str, dict[str, str]]]
    filter_code: list[etree.XPath] = field(default_factory=list)
    query_id: etree.XPath | None = None


@dataclass(slots=True)
class Service:
    profile: str
    action: str
    aliases: tuple[str, ...]
    s_code: str | None
    name: str
    name_en: str
    category: str
    level: str | None
    level_status: str
    kind: str
    op: str
    entity: str
    shape: str
    request_root: str
    interaction_id: str
    alternatives: list[dict[str, str]]
    response_root: str
    vars: dict[str, Any]
    status: str
    sources: tuple[str, ...]
    note: str | None
    order: int
    test_number: int | None
    part: str | None
    template: str
    where: str
    record: etree.XPath | None = None
    record_path: str | None = None
    key: PathSpec | None = None
    merged: PathSpec | None = None
    index: list[PathSpec] = field(default_factory=list)
    references: list[PathSpec] = field(default_factory=list)
    required: list[PathSpec] = field(default_factory=list)
    doc_code: list[etree.XPath] = field(default_factory=list)
    doc_content: list[etree.XPath] = field(default_factory=list)
    query: QuerySpec | None = None
    discriminator: etree.XPath | None = None
    discriminator_weight: int = 0  # length of the shape's own expression (before alternatives)

    @property
    def provisional(self) -> bool:
        return self.status == "provisional"

    def alternative_for(self, root: str) -> dict[str, str] | None:
        """The request alternative whose root is this element (not the service's own root)."""
        if root == self.request_root:
            return None
        return next((a for a in self.alternatives if a.get("root") == root), None)

    def disputed(self, root: str) -> str | None:
        """The id of the recorded disagreement under which this root is accepted, if any."""
        alt = self.alternative_for(root)
        return alt.get("disputed") if alt else None

    def response_root_for(self, root: str) -> str:
        """The response interaction that answers a request with this root element."""
        alt = self.alternative_for(root)
        return (alt.get("response") if alt else None) or self.response_root

    @property
    def roots(self) -> set[str]:
        return {self.request_root} | {a["root"] for a in self.alternatives if a.get("root")}

    @property
    def interaction_ids(self) -> set[str]:
        return {self.interaction_id} | {a.get("interaction_id") or a["root"] for a in self.alternatives}

    def display_name(self, lang: str) -> str:
        return self.name if lang == "zh" else self.name_en

    def summary(self) -> dict[str, Any]:
        return {
            "profile": self.profile, "order": self.order, "test_number": self.test_number,
            "action": self.action, "aliases": list(self.aliases), "s_code": self.s_code,
            "name": self.name, "name_en": self.name_en, "category": self.category,
            "part": self.part, "level": self.level, "level_status": self.level_status,
            "kind": self.kind, "op": self.op, "entity": self.entity,
            "request_root": self.request_root, "interaction_id": self.interaction_id,
            "response_root": self.response_root,
            "alternatives": [{k: v for k, v in a.items() if k != "__line__"} for a in self.alternatives],
            "status": self.status, "provisional": self.provisional, "note": self.note,
        }


def _fmt(value: Any, vars_: dict[str, Any], where: str) -> Any:
    """Fill {var} placeholders of shape data with a service's vars."""
    if isinstance(value, str):
        m = re.fullmatch(r"\{([a-z_][a-z0-9_]*)\}", value)
        if m:
            if m.group(1) not in vars_:
                raise CatalogError(f"{where}: shape uses {{{m.group(1)}}} "
                                   "but the service's vars do not set it")
            return vars_[m.group(1)]

        def sub(mm: re.Match[str]) -> str:
            if mm.group(1) not in vars_:
                raise CatalogError(f"{where}: shape uses {{{mm.group(1)}}} "
                                   "but the service's vars do not set it")
            return str(vars_[mm.group(1)])
        return _VAR_RE.sub(sub, value)
    if isinstance(value, list):
        return [_fmt(v, vars_, where) for v in value]
    if isinstance(value, dict):
        return {k: (v if k == "__line__" else _fmt(v, vars_, where)) for k, v in value.items()}
    return value


def _name(value: Any, where: str) -> dict[str, str]:
    if isinstance(value, str):
        return {"zh": value, "en": value}
    if isinstance(value, dict) and "zh" in value:
        return {"zh": str(value["zh"]), "en": str(value.get("en") or value["zh"])}
    raise CatalogError(f"{where}: 'name' must be text or {{zh, en}}")


def _with_alternatives(path: str, alternatives: dict[str, list[RootAlternative]]
                       ) -> list[tuple[str, RootAlternative]]:
    """The path once per alternative of each preferred root its predicates name."""
    out = []
    for preferred, alts in alternatives.items():
        needle = f"@root='{preferred}'"
        if needle in path:
            out.extend((path.replace(needle, f"@root='{a.root}'"), a) for a in alts)
    return out


def _pathspec(spec: Any, where: str, default_by: str = "key",
              alternatives: dict[str, list[RootAlternative]] | None = None) -> PathSpec:
    if not isinstance(spec, dict) or not spec.get("paths"):
        raise CatalogError(f"{where}: expected a mapping with 'paths'")
    line = spec.get("__line__")
    w = f"{where.split(':')[0]}:{line}" if line else where
    paths = [str(p) for p in spec["paths"]]
    by = str(spec.get("by", default_by))
    if by not in KEY_BY:
        raise CatalogError(f"{w}: 'by' must be one of {', '.join(KEY_BY)}, found {by!r}")
    opt = spec.get("optional", False)
    alt = [(compile_xpath(ap, w), a) for p in paths
           for ap, a in _with_alternatives(p, alternatives or {})]
    return PathSpec(name=_name(spec.get("name") or paths[0], w), paths=paths,
                    xpaths=[compile_xpath(p, w) for p in paths], by=by, entity=spec.get("entity"),
                    patient=bool(spec.get("patient")), required=bool(spec.get("required", True)),
                    optional=str(opt).lower() == "true", alt_xpaths=alt)


def _wrap(items: Any, where: str) -> list[tuple[str, dict[str, str]]]:
    out = []
    for item in items or []:
        parts = str(item).split()
        if not parts or not _NAME_STEP.fullmatch(parts[0]):
            raise CatalogError(f"{where}: wrap step {item!r} must be 'element attr=value …'")
        attrs = {}
        for p in parts[1:]:
            if "=" not in p:
                raise CatalogError(f"{where}: wrap step {item!r}: {p!r} is not attr=value")
            k, v = p.split("=", 1)
            attrs[k] = v
        out.append((parts[0], attrs))
    return out


class ServiceCatalog:
    """One profile's services, compiled, with lookups by action code and by root element."""

    def __init__(self, profile: str, root: Path | None = None) -> None:
        from ..profiles import ProfileError, get_profile

        try:
            manifest = get_profile(profile)
        except ProfileError as exc:
            raise CatalogError.like(exc) from None
        self.profile = profile
        self.root = root or standards_dir()
        folder = self.root / "services"
        self.path = (self.root / manifest.raw["standards"]["service_catalog"] if root
                     else manifest.service_catalog)
        shapes_path = folder / "shapes.yaml"
        shapes_doc = _load(shapes_path) or {}
        self.shapes: dict[str, dict[str, Any]] = {
            k: v for k, v in (shapes_doc.get("shapes") or {}).items() if k != "__line__"}
        data = _load(self.path)
        if not isinstance(data, dict) or not isinstance(data.get("services"), list):
            raise CatalogError(f"{self.path}: expected a mapping with a 'services' list")
        self.title = {k: v for k, v in (data.get("title") or {}).items() if k != "__line__"}
        self.standard = str(data.get("standard", ""))
        self.status = str(data.get("status", "seen"))
        self.soap = {k: v for k, v in (data.get("soap") or {}).items() if k != "__line__"}
        self.wrapper = {k: str(v) for k, v in (data.get("wrapper") or {}).items() if k != "__line__"}
        self.sources = {k: str(v) for k, v in (data.get("sources") or {}).items() if k != "__line__"}
        self.parts = {str(k): str(v) for k, v in (data.get("parts") or {}).items()
                      if k != "__line__" and v}
        self.cites = self._cites(data.get("cites") or [])
        self.disagreements = data.get("disagreements") or []
        self.disputes: dict[str, dict[str, Any]] = {
            str(d["id"]): d for d in self.disagreements if isinstance(d, dict) and d.get("id")}
        self.root_alternatives = _root_alternatives(shapes_doc.get("root_alternatives"), shapes_path)
        self.id_forms = _id_forms(shapes_doc.get("id_forms"), shapes_path)
        for key in ("message_id_root", "interaction_id_root", "device_id_root", "platform_device_id"):
            if key not in self.wrapper:
                raise CatalogError(f"{self.path}: wrapper lacks {key!r}")
        self.services: list[Service] = []
        self.by_action: dict[str, Service] = {}
        self.by_root: dict[str, list[Service]] = {}
        for i, raw in enumerate(data["services"]):
            svc = self._service(raw, i)
            self.services.append(svc)
            for code in self._codes(svc):
                if code in self.by_action:
                    raise CatalogError(f"{svc.where}: action code {code!r} already used by "
                                       f"{self.by_action[code].action}")
                self.by_action[code] = svc
            for r in svc.roots:
                self.by_root.setdefault(r, []).append(svc)
        self.entities = {s.entity for s in self.services}

    def _cites(self, items: Any) -> list[dict[str, Any]]:
        """The standards the catalog cites, resolved in standards/sources.yaml (provenance is
        data: the report and the service listing print these, never a literal)."""
        if not isinstance(items, list):
            raise CatalogError(f"{self.path}: cites must be a list")
        known: dict[str, Any] = {}
        if items:
            src = read_yaml(self.root / "sources.yaml", CatalogError) or {}
            known = src.get("sources", src) if isinstance(src, dict) else {}
        out = []
        for item in items:
            sid = str(item.get("source") if isinstance(item, dict) else item)
            spec = known.get(sid)
            if not isinstance(spec, dict):
                raise CatalogError(f"{self.path}: cites {sid!r}, which standards/sources.yaml "
                                   "does not define")
            role = item.get("role") if isinstance(item, dict) else None
            out.append({"id": sid, "title": str(spec.get("label") or spec["title"]),
                        "published": spec.get("published"), "effective": spec.get("effective"),
                        "role": {k: str(v) for k, v in (role or {}).items() if k != "__line__"}})
        return out

    def citations(self, lang: str = "zh") -> list[dict[str, str]]:
        """What the catalog cites, one line of text each: title, dates, role."""
        out = []
        for c in self.cites:
            dates = ""
            if c["published"] and c["effective"]:
                dates = t("v3.citation.dates", lang, published=c["published"], effective=c["effective"])
            role = c["role"].get(lang) or c["role"].get("zh") or ""
            text = c["title"] + dates + (f" — {role}" if role else "")
            out.append({"id": c["id"], "title": c["title"], "role": role, "text": text})
        return out

    def _codes(self, svc: Service) -> list[str]:
        keys = self.soap.get("action_keys") or ["action", "aliases", "s_code"]
        codes: list[str] = []
        if "action" in keys:
            codes.append(svc.action)
        if "aliases" in keys:
            codes.extend(svc.aliases)
        if "s_code" in keys and svc.s_code:
            codes.append(svc.s_code)
        return codes

    def _service(self, raw: Any, i: int) -> Service:
        line = raw.get("__line__") if isinstance(raw, dict) else None
        where = f"{self.path}:{line}" if line else f"{self.path} service {i + 1}"
        if not isinstance(raw, dict):
            raise CatalogError(f"{where}: each service must be a mapping")
        for key in ("action", "name", "category", "kind", "op", "entity", "shape", "request", "response"):
            if raw.get(key) in (None, ""):
                raise CatalogError(f"{where}: service lacks {key!r}")
        action = str(raw["action"])
        where = f"{where} ({action})"
        kind, op = str(raw["kind"]), str(raw["op"])
        if kind not in KINDS:
            raise CatalogError(f"{where}: kind must be write or query, found {kind!r}")
        if op not in (WRITE_OPS if kind == "write" else QUERY_OPS):
            raise CatalogError(f"{where}: op {op!r} is not valid for a {kind} service")
        shape_name = str(raw["shape"])
        if shape_name not in self.shapes:
            raise CatalogError(f"{where}: unknown shape {shape_name!r} (see services/shapes.yaml)")
        req, resp = raw["request"], raw["response"]
        if not isinstance(req, dict) or not req.get("root") or not isinstance(resp, dict) \
                or not resp.get("root"):
            raise CatalogError(f"{where}: request and response need a 'root'")
        vars_ = {k: v for k, v in (raw.get("vars") or {}).items() if k != "__line__"}
        vars_.setdefault("key_optional", "false")
        prov = raw.get("provenance") or {}
        shape = _fmt(self.shapes[shape_name], vars_, f"{where} shape {shape_name}")
        svc = Service(
            profile=self.profile, action=action, aliases=tuple(str(a) for a in raw.get("aliases") or ()),
            s_code=None if raw.get("s_code") is None else str(raw["s_code"]),
            name=str(raw["name"]), name_en=str(raw.get("name_en") or raw["name"]),
            category=str(raw["category"]), level=None if raw.get("level") is None else str(raw["level"]),
            level_status=str(raw.get("level_status", "provisional")), kind=kind, op=op,
            entity=str(raw["entity"]), shape=shape_name, request_root=str(req["root"]),
            interaction_id=str(req.get("interaction_id") or req["root"]),
            alternatives=[dict(a) for a in req.get("alternatives") or []],
            response_root=str(resp["root"]), vars=vars_, status=str(prov.get("status", "seen")),
            sources=tuple(prov.get("sources") or ()), note=prov.get("note"),
            order=int(raw.get("order") or i + 1),
            test_number=None if raw.get("test_number") is None else int(raw["test_number"]),
            part=raw.get("part") or self.parts.get(str(raw["category"])),
            template=str(raw.get("template") or shape.get("template") or f"{shape_name}.xml.j2"),
            where=where)
        for a in svc.alternatives:
            a.pop("__line__", None)
            if a.get("disputed") and a["disputed"] not in self.disputes:
                raise CatalogError(f"{where}: alternative {a.get('root')} names disagreement "
                                   f"{a['disputed']!r}, which 'disagreements' does not define")
        alts = self.root_alternatives
        if shape.get("record"):
            svc.record_path = str(shape["record"])
            svc.record = compile_xpath(svc.record_path, where)
        if shape.get("key"):
            svc.key = _pathspec(shape["key"], where, alternatives=alts)
        if shape.get("merged"):
            svc.merged = _pathspec(shape["merged"], where, alternatives=alts)
        svc.index = [_pathspec(s, where, "index", alts) for s in shape.get("index") or []]
        svc.references = [_pathspec(s, where, alternatives=alts) for s in shape.get("references") or []]
        svc.required = [_pathspec(s, where, alternatives=alts) for s in shape.get("required") or []]
        doc = shape.get("document") or {}
        svc.doc_code = [compile_xpath(p, where) for p in doc.get("code") or []]
        svc.doc_content = [compile_xpath(p, where) for p in doc.get("content") or []]
        if shape.get("query"):
            q = shape["query"]
            svc.query = QuerySpec(
                keys=[_pathspec(k, where, alternatives=alts) for k in q.get("keys") or []],
                wrap=_wrap(q.get("wrap"), where),
                filter_code=[compile_xpath(p, where) for p in q.get("filter_code") or []],
                query_id=compile_xpath(q["query_id"], where) if q.get("query_id") else None)
        if shape.get("discriminator"):
            expr = str(shape["discriminator"])
            svc.discriminator_weight = len(expr)
            variants = [expr] + [v for alt in expr.split(" | ")
                                 for v, _ in _with_alternatives(alt.strip(), alts)]
            svc.discriminator = compile_xpath(" | ".join(variants), where)
        if kind == "write" and svc.key is None:
            raise CatalogError(f"{where}: a write service's shape needs a 'key'")
        if kind == "write" and svc.record is None:
            raise CatalogError(f"{where}: a write service's shape needs a 'record' path")
        if kind == "query" and svc.query is None:
            raise CatalogError(f"{where}: a query service's shape needs a 'query' block")
        if op == "merge" and svc.merged is None:
            raise CatalogError(f"{where}: a merge service's shape needs 'merged'")
        for ref in svc.references:
            if not ref.entity:
                raise CatalogError(f"{where}: every reference needs an 'entity'")
        return svc

    # ------------------------------------------------------------------ lookups
    def get(self, action: str) -> Service | None:
        return self.by_action.get(action.strip())

    def service(self, action: str) -> Service:
        svc = self.get(action)
        if svc is None:
            raise KeyError(action)
        return svc

    def candidates(self, root: etree._Element) -> list[Service]:
        """Services whose request root is this element, best match first (discriminators)."""
        local = etree.QName(root).localname
        cands = self.by_root.get(local, [])
        if len(cands) <= 1:
            return list(cands)
        # a service that takes this root only under a recorded disagreement comes after every
        # service whose own root it is (DocumentRetrieve before DocumentAccess for …031UV01)
        disputed = [s for s in cands if s.disputed(local)]
        cands = [s for s in cands if s not in disputed]
        return self._ranked(root, cands) + self._ranked(root, disputed)

    def _ranked(self, root: etree._Element, cands: list[Service]) -> list[Service]:
        matched, neutral = [], []
        for s in cands:
            if s.discriminator is None:
                neutral.append(s)
                continue
            try:
                hit = s.discriminator(root)
            except etree.XPathEvalError:
                hit = False
            if hit:
                matched.append(s)
        # the most specific discriminator first (a longer expression constrains more)
        matched.sort(key=lambda s: -s.discriminator_weight)
        return matched + neutral + [s for s in cands if s not in matched and s not in neutral]

    def response_roots(self) -> set[str]:
        return {s.response_root for s in self.services}


def _root_alternatives(raw: Any, path: Path) -> dict[str, list[RootAlternative]]:
    """shapes.yaml root_alternatives: preferred root → the alternatives accepted in its place."""
    out: dict[str, list[RootAlternative]] = {}
    for item in raw or []:
        if not isinstance(item, dict) or not item.get("root") or not item.get("alternatives"):
            raise CatalogError(f"{path}:{item.get('__line__', '?') if isinstance(item, dict) else '?'}:"
                               " each root_alternatives entry needs 'root' and 'alternatives'")
        where = f"{path}:{item.get('__line__', '?')}"
        name = _name(item.get("name") or item["root"], where)
        for a in item["alternatives"]:
            if not isinstance(a, dict) or not a.get("root") or not a.get("source"):
                raise CatalogError(f"{where}: each alternative needs 'root' and 'source'")
            out.setdefault(str(item["root"]), []).append(RootAlternative(
                preferred=str(item["root"]), root=str(a["root"]), name=name,
                status=str(a.get("status", "seen")), source=str(a["source"]),
                basis=_name(a.get("basis") or a["source"], where), note=str(a.get("note") or "")))
    return out


ID_FORMS = ("II", "DSET")


def _id_forms(raw: Any, path: Path) -> dict[str, str]:
    """shapes.yaml id_forms: for each wrapper id (message_id, device_id) the form the sources
    write, II (<id root extension/>) or DSET (<id><item root extension/></id>)."""
    out: dict[str, str] = {}
    for key, spec in (raw or {}).items():
        if key == "__line__":
            continue
        form = spec.get("preferred") if isinstance(spec, dict) else spec
        if form not in ID_FORMS:
            raise CatalogError(f"{path}: id_forms.{key}.preferred must be II or DSET, found {form!r}")
        out[str(key)] = str(form)
    return out


def read_id(parent: etree._Element, root_oid: str | None = None, accept_no_root: bool = True
            ) -> tuple[str, str, etree._Element] | None:
    """An identifier written either way under parent: <id root extension/> (form II) or
    <id><item root extension/></id> (form DSET). Returns (extension, form, element) for the first
    with a non-empty extension and, when root_oid is given, that root (or none, when
    accept_no_root), else None."""
    roots = (root_oid, None) if accept_no_root else (root_oid,)
    for el in parent.iterfind(f"{{{HL7_NS}}}id"):
        ext = (el.get("extension") or "").strip()
        if ext and (root_oid is None or el.get("root") in roots):
            return ext, "II", el
        for item in el.iterfind(f"{{{HL7_NS}}}item"):
            ext = (item.get("extension") or "").strip()
            if ext and (root_oid is None or item.get("root") in roots):
                return ext, "DSET", item
    return None


@cache
def load_services(profile: str, root: str | None = None) -> ServiceCatalog:
    return ServiceCatalog(profile, Path(root) if root else None)


def all_profiles(root: str | Path | None = None) -> list[ServiceCatalog]:
    """The service catalogs of every profile under a standards root (default: the shipped one;
    the shipped root given as a path is the same cached catalogs)."""
    from ..profiles import profile_ids

    key = None if root is None or Path(root) == standards_dir() else str(root)
    return [load_services(p, key) for p in profile_ids()]
