"""Load and validate assessment definitions (standards/assessment/*.yaml or a user's own file).

Structure is checked with a JSON Schema (jsonschema) assembled from the common item fields and
the fragments of every rule type and level rule (``scoring.rules``); meaning with code:
references between items, sub-indices and levels, rule-specific fields (each rule type compiles
its own), the stated sub-totals against the item points. Every problem is reported with file,
line and what is wrong — all of them at once, so an assessor fixing a hand-written scheme does
not go round in circles."""

from __future__ import annotations

import difflib
import hashlib
import math
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from ..errors import ConformanceError
from ..i18n import LANGS, t
from ..profiles import profile_ids
from ..resources import standards_dir
from ..yamlio import LineDict, YamlError, line_at, load_file, path_text
from .bindings import SOURCES
from .model import (
    STATUSES,
    Band,
    Binding,
    Consistency,
    Definition,
    Dimension,
    FieldSpec,
    Item,
    Level,
    LevelRule,
    SubIndex,
)
from .problems import ItemScope, Phrase, Problem, Problems, same_text, where
from .rules import item_fields, level_rule_fields, level_rule_types, registry_version, rule_types
from .rules.base import FIELDS, STRS

SCHEMA_ID = "conformance-assessment/1"
EPS = 1e-6

_TEXT = {"anyOf": [{"type": "string"},
                   {"type": "object", "additionalProperties": {"type": "string"}}]}

# the fields every item may have, whatever its rule
COMMON_ITEM_FIELDS: dict[str, Any] = {
    "code": {"type": "string", "minLength": 1},
    "number": {"type": "integer"},
    "dimension": {"type": "string"},
    "sub_index": {"type": "string"},
    "group": {"type": "string"},
    "text": {"type": "string", "minLength": 1},
    "text_en": {"type": "string"},
    "rule": {"type": "string"},            # the enum of rule type names is added when assembled
    "points": {"type": ["number", "null"], "minimum": 0},
    "level": {"type": ["string", "null"]},
    "status": {"enum": list(STATUSES)},
    "source": STRS,
    "note": {"type": "string"},
    "details": FIELDS,
    "evidence_hint": {"type": "string"},
    "evidence_required": {"type": "boolean"},
}
BINDING = "binding"                       # allowed on the items of rule types that bind
LEVEL_RULE_COMMON = ("type", "status", "description", "source")


def item_schema() -> dict[str, Any]:
    """The JSON Schema of one item: the common fields, the binding, and every rule type's
    fields (which of them a rule needs or accepts is checked when compiling)."""
    return _item_schema(registry_version())


@cache
def _item_schema(_registry: int) -> dict[str, Any]:
    props = {**COMMON_ITEM_FIELDS, "rule": {"enum": sorted(rule_types())},
             BINDING: {"type": "object", "required": ["source"], "additionalProperties": False,
                       "properties": {"source": {"enum": list(SOURCES)},
                                      "document_types": STRS, "services": STRS, "datasets": STRS,
                                      "names": STRS, "fallback": {"enum": ["questionnaire"]}}}}
    for key, frag in item_fields().items():
        if key in props and props[key] != frag:
            raise RuntimeError(f"a rule type redefines the common item field {key!r}")
        props[key] = frag
    return {"type": "object", "required": ["code", "text", "rule"], "additionalProperties": False,
            "properties": props}


def definition_schema() -> dict[str, Any]:
    """The JSON Schema of an assessment definition file (assembled from the registry)."""
    return _definition_schema(registry_version())


@cache
def _definition_schema(_registry: int) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["schema", "id", "name", "profile", "status", "levels", "level_rule",
                     "dimensions", "items"],
        "additionalProperties": False,
        "properties": {
            "schema": {"type": "string"},
            "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9.-]*$"},
            "name": {"type": "string", "minLength": 1},
            "name_en": {"type": "string"},
            "profile": {"enum": profile_ids()},
            "edition": {"type": ["string", "integer"]},
            "status": {"enum": list(STATUSES)},
            "note": {"type": "string"},
            "default_source": STRS,
            "sources": {"type": "object", "additionalProperties": {
                "type": "object", "required": ["title"],
                "properties": {"title": {"type": "string"}, "kind": {"type": "string"},
                               "url": {"type": "string"}, "path": {"type": "string"},
                               "commit": {"type": "string"}, "note": {"type": "string"},
                               "status": {"enum": list(STATUSES)}}}},
            "known_gaps": STRS,
            "levels": {"type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["id"], "additionalProperties": False,
                "properties": {"id": {"type": ["string", "integer"]}, "name": {"type": "string"},
                               "en": {"type": "string"}, "description": {"type": "string"}}}},
            "level_rule": {
                "type": "object", "required": ["type", "status", "description"],
                "additionalProperties": False,
                "properties": {"type": {"enum": sorted(level_rule_types())},
                               "status": {"enum": list(STATUSES)}, "description": _TEXT,
                               "source": STRS, **level_rule_fields()}},
            "bands": {"type": "array", "items": {
                "type": "object", "required": ["id", "label"], "additionalProperties": False,
                "properties": {"id": {"type": "string"}, "label": {"type": "string"},
                               "label_en": {"type": "string"},
                               "max_ms": {"type": ["number", "null"]}}}},
            "dimensions": {"type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["id", "name"], "additionalProperties": False,
                "properties": {
                    "id": {"type": "string"}, "name": {"type": "string"},
                    "name_en": {"type": "string"},
                    "max": {"type": ["number", "null"], "minimum": 0},
                    "missing_points": {"type": "number", "minimum": 0},
                    "status": {"enum": list(STATUSES)}, "note": {"type": "string"},
                    "sub_indices": {"type": "array", "items": {
                        "type": "object", "required": ["id", "name"], "additionalProperties": False,
                        "properties": {
                            "id": {"type": "string"}, "name": {"type": "string"},
                            "name_en": {"type": "string"},
                            "max": {"type": ["number", "null"], "minimum": 0},
                            "leaf_sum": {"type": "number", "minimum": 0},
                            "normalize": {"enum": ["proportional"]},
                            "status": {"enum": list(STATUSES)}, "note": {"type": "string"}}}}}}},
            "items": {"type": "array", "items": item_schema()},
            # performance thresholds judged by `conformance perf` (conformance/perf/thresholds.py)
            "performance": {"type": "object", "properties": {"thresholds": {"type": "array"}}},
            "consistency": {"type": "array", "items": {
                "type": "object", "required": ["type", "message"],
                "properties": {"type": {"enum": ["excludes", "count_not_more"]}, "message": _TEXT}}},
        },
    }


def _validator() -> jsonschema.Draft202012Validator:
    return _validator_for(registry_version())


@cache
def _validator_for(_registry: int) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(definition_schema())


class DefinitionError(ConformanceError):
    """An assessment definition is missing or malformed. ``problems`` are (file, line, {zh, en})."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(self.render("en"))

    def render(self, lang: str = "zh") -> str:
        rows = [where(f, line) + (msg.get(lang) or msg["zh"]) for f, line, msg in self.problems]
        if len(rows) == 1:
            return rows[0]
        return "\n".join([t("score.def.invalid", lang, n=len(rows)), *("  " + r for r in rows)])


def _json_type(value: Any) -> str:
    """The JSON Schema name of a YAML value's type (for messages)."""
    if value is None:
        return "null"
    for kind, types in (("boolean", bool), ("string", str), ("number", int | float), ("array", list)):
        if isinstance(value, types):
            return kind
    return "object"


def _schema_problems(ctx: Problems) -> None:
    validator = _validator()
    errors = sorted(validator.iter_errors(ctx.data), key=lambda e: (list(map(str, e.absolute_path))))
    seen: set[tuple[str, str]] = set()
    for err in errors:
        path = list(err.absolute_path)
        where = path_text(ctx.data, path, ("code", "id"))
        line = line_at(ctx.data, path)
        kind = err.validator
        inst = err.instance
        if kind == "required":
            have = set(inst) if isinstance(inst, dict) else set()
            for key in err.validator_value:
                if key not in have and (where, key) not in seen:
                    seen.add((where, key))
                    ctx.add(line, "score.def.required", path=where, key=key)
        elif kind == "additionalProperties":
            allowed = set(err.schema.get("properties", {}))
            for key in sorted(set(inst) - allowed):
                near = difflib.get_close_matches(key, sorted(allowed), n=1)
                kline = inst.line_of(key) if isinstance(inst, LineDict) else line
                ctx.add(kline, "score.def.unknown_key", path=where, key=key,
                        hint=Phrase("score.def.did_you_mean", alt=near[0]) if near else "")
        elif kind == "type":
            wants = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
            ctx.problems.append((ctx.file, line, {lang: t(
                "score.def.type", lang, path=where, got=inst, want=t("score.def.or", lang).join(
                    t(f"score.def.type_name.{w}", lang) for w in wants)) for lang in LANGS}))
        elif kind == "enum":
            ctx.add(line, "score.def.enum", path=where, got=inst,
                    allowed=", ".join(map(str, err.validator_value)))
        elif kind in ("minimum", "exclusiveMinimum"):
            ctx.add(line, "score.def.min", path=where, limit=err.validator_value, got=inst)
        elif kind in ("minItems", "minLength", "minProperties"):
            ctx.add(line, "score.def.empty", path=where)
        elif kind == "pattern":
            ctx.add(line, "score.def.pattern", path=where, got=inst, pattern=err.validator_value)
        elif kind == "anyOf":
            ctx.add(line, "score.def.wrong_form", path=where, got=inst)
        else:  # pragma: no cover - every validator used in the schema is handled above
            ctx.add(line, "score.def.other", path=where, msg=err.message)


def _close(x: float, y: float) -> bool:
    return math.isclose(x, y, abs_tol=EPS)


def _fmt(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".")



def _compile(ctx: Problems, raw: bytes) -> Definition | None:
    d: LineDict = ctx.data
    file = ctx.file
    # levels --------------------------------------------------------------------------------
    levels: list[Level] = []
    seen_lv: dict[str, int] = {}
    for i, lv in enumerate(d["levels"]):
        ident = str(lv["id"])
        line = d["levels"].line_of(i)
        if ident in seen_lv:
            ctx.add(line, "score.def.dup", what="level", key=ident, first=seen_lv[ident])
            continue
        seen_lv[ident] = line
        levels.append(Level(ident, len(levels), lv.get("name", ident), lv.get("en", ""),
                            lv.get("description", "")))
    by_id = {lv.id: lv for lv in levels}
    default_source = tuple(d.get("default_source", ()))
    sources = dict(d.get("sources", {}))
    for src in default_source:
        if src not in sources:
            ctx.add(d.line_of("default_source"), "score.def.ref", path="default_source", what="source",
                    key=src, known=", ".join(sources) or "-")
    # dimensions and sub-indices ---------------------------------------------------------------
    dims: list[Dimension] = []
    subs: dict[str, SubIndex] = {}
    dim_ids: dict[str, int] = {}
    for i, dd in enumerate(d["dimensions"]):
        line = d["dimensions"].line_of(i)
        if dd["id"] in dim_ids:
            ctx.add(line, "score.def.dup", what="dimension", key=dd["id"], first=dim_ids[dd["id"]])
            continue
        dim_ids[dd["id"]] = line
        dim = Dimension(dd["id"], dd["name"], dd.get("name_en", ""), dd.get("max"),
                        float(dd.get("missing_points", 0.0)), dd.get("status", "seen"),
                        dd.get("note", ""), line=line)
        for j, sd in enumerate(dd.get("sub_indices", [])):
            sline = dd["sub_indices"].line_of(j)
            if sd["id"] in subs or sd["id"] in dim_ids and sd["id"] != dd["id"]:
                ctx.add(sline, "score.def.dup", what="sub-index", key=sd["id"],
                        first=subs[sd["id"]].line if sd["id"] in subs else dim_ids[sd["id"]])
                continue
            sub = SubIndex(sd["id"], dim.id, sd["name"], sd.get("name_en", ""), sd.get("max"),
                           sd.get("leaf_sum"), sd.get("normalize"), sd.get("status", "seen"),
                           sd.get("note", ""), line=sline)
            subs[sub.id] = sub
            dim.sub_indices.append(sub)
        dims.append(dim)
    # bands -----------------------------------------------------------------------------------
    bands = [Band(b["id"], b["label"], b.get("label_en", b["label"]), b.get("max_ms"))
             for b in d.get("bands", [])]
    # items -----------------------------------------------------------------------------------
    items: list[Item] = []
    codes: dict[str, int] = {}
    kinds = rule_types()
    common = set(COMMON_ITEM_FIELDS)
    for i, it in enumerate(d["items"]):
        line = d["items"].line_of(i)
        code = it["code"]
        path = f"items[{code}]"
        if code in codes:
            ctx.add(line, "score.def.dup", what="item code", key=code, first=codes[code])
            continue
        codes[code] = line
        rule = it["rule"]
        kind = kinds[rule]
        accepted = common | kind.needs | kind.accepts | ({BINDING} if kind.binds else set())
        for key in sorted(kind.needs):
            if key not in it:
                ctx.add(line, "score.def.rule_field", path=path, rule=rule, key=key)
        for key in sorted(set(it) - accepted):
            ctx.add(it.line_of(key), "score.def.rule_extra", path=path, rule=rule, key=key)
        # where the item belongs
        sub_id = it.get("sub_index")
        dim_id = it.get("dimension")
        if sub_id is not None:
            if sub_id not in subs:
                ctx.add(it.line_of("sub_index"), "score.def.ref", path=path, what="sub-index", key=sub_id,
                        known=", ".join(subs) or "-")
                continue
            dim_id = subs[sub_id].dimension
        elif dim_id is None:
            ctx.add(line, "score.def.required", path=path, key="sub_index")
            continue
        elif dim_id not in dim_ids:
            ctx.add(it.line_of("dimension"), "score.def.ref", path=path, what="dimension", key=dim_id,
                    known=", ".join(dim_ids))
            continue
        elif any(dd.id == dim_id and dd.sub_indices for dd in dims):
            ctx.add(line, "score.def.required", path=path, key="sub_index")
            continue
        scope = ItemScope(ctx, it, path, line, by_id, bands)
        level = scope.check_level(it.get("level"), it.line_of("level"), f"{path}.level")
        src = tuple(it.get("source", default_source))
        for s in src:
            if s not in sources:
                ctx.add(it.line_of("source"), "score.def.ref", path=f"{path}.source", what="source",
                        key=s, known=", ".join(sources) or "-")
        binding = None
        if BINDING in it and kind.binds:
            b = it[BINDING]
            keys = tuple(b.get("document_types", ()) or b.get("services", ()) or b.get("datasets", ()))
            binding = Binding(b["source"], keys, tuple(b.get("names", ())), b.get("fallback"))
            if b["source"] not in kind.binds:
                ctx.add(b.line_of("source"), "score.def.enum", path=f"{path}.binding.source",
                        got=b["source"], allowed=", ".join(kind.binds))
            elif not keys and not binding.names and b["source"] != "performance":
                ctx.add(it.line_of(BINDING), "score.def.rule_field", path=f"{path}.binding",
                        rule=b["source"], key="document_types/services/datasets")
        item = Item(
            code=code, dimension=dim_id, sub_index=sub_id, text=it["text"], rule=rule,
            points=it.get("points"), level=level, status=it.get("status", d["status"]),
            source=src, group=it.get("group", ""), text_en=it.get("text_en", ""),
            note=it.get("note", ""), subject=it.get("subject", ""),
            optional_business=bool(it.get("optional_business", False)),
            details=[FieldSpec(f["id"], f["label"], f.get("type", "text"), f.get("unit", ""))
                     for f in it.get("details", [])],
            binding=binding, evidence_hint=it.get("evidence_hint", ""),
            evidence_required=bool(it.get("evidence_required", False)),
            number=it.get("number"), line=line)
        kind.compile(scope, item)
        top = kind.top_points(item)
        if top is not None and it.get("points") is not None and not _close(top, float(it["points"])):
            ctx.add(it.line_of("points"), "score.def.sum", what=Phrase("score.def.what.item_best", code=code),
                    key=code, got=_fmt(top), want=_fmt(float(it["points"])))
        items.append(item)
    # level rule ----------------------------------------------------------------------------------
    lr = d["level_rule"]
    params = {k: v for k, v in lr.items() if k not in LEVEL_RULE_COMMON}
    desc = lr["description"] if isinstance(lr["description"], dict) else {"zh": lr["description"]}
    rule = LevelRule(lr["type"], lr["status"], dict(desc), tuple(lr.get("source", ())), params)
    lkind = rule.kind
    for key in sorted(lkind.needs - set(params)):
        ctx.add(lr.line, "score.def.rule_field", path="level_rule", rule=rule.type, key=key)
    for key in sorted(set(params) - set(lkind.fields)):
        ctx.add(lr.line_of(key), "score.def.rule_extra", path="level_rule", rule=rule.type, key=key)
    lkind.check(ctx, rule, lr, seen_lv)
    # consistency rules -----------------------------------------------------------------------------
    cons = []
    for k, c in enumerate(d.get("consistency", [])):
        cline = d["consistency"].line_of(k)
        for key in ("item", "than") if c["type"] == "count_not_more" else ():
            if c.get(key) not in codes:
                ctx.add(cline, "score.def.ref", path=f"consistency[{k}].{key}", what="item",
                        key=c.get(key), known="…")
        if c["type"] == "excludes":
            for key in ("when", "then_not"):
                spec = c.get(key)
                if not isinstance(spec, dict) or spec.get("item") not in codes:
                    ctx.add(cline, "score.def.ref", path=f"consistency[{k}].{key}.item", what="item",
                            key=(spec or {}).get("item") if isinstance(spec, dict) else spec,
                            known="…")
        msg = c["message"] if isinstance(c["message"], dict) else {"zh": c["message"]}
        cons.append(Consistency(c["type"], {k2: v for k2, v in c.items()
                                            if k2 not in ("type", "message")}, dict(msg), cline))
    # sums (only on an otherwise sound file: a skipped item would make every sum look wrong) --------
    if not ctx.problems:
        _check_sums(ctx, dims, items)
    if ctx.problems:
        return None
    return Definition(
        id=d["id"], name=d["name"], name_en=d.get("name_en", ""), profile=d["profile"],
        edition=str(d.get("edition", "")), status=d["status"], levels=levels, level_rule=rule,
        dimensions=dims, items=items, sources=sources, known_gaps=list(d.get("known_gaps", [])),
        bands=bands, consistency=cons, path=file, sha256=hashlib.sha256(raw).hexdigest(), raw=d)


def _check_sums(ctx: Problems, dims: list[Dimension], items: list[Item]) -> None:
    leaf: dict[str, float] = {}
    for it in items:
        if not it.scored or not it.rule_type.in_leaf_sums:
            continue
        key = it.sub_index or it.dimension
        leaf[key] = leaf.get(key, 0.0) + it.max_points()
    for dim in dims:
        for sub in dim.sub_indices:
            got = leaf.get(sub.id, 0.0)
            want = sub.leaf_sum if sub.leaf_sum is not None else sub.max
            if want is not None and not _close(got, want):
                ctx.add(sub.line, "score.def.sum", what="sub-index", key=sub.id, got=_fmt(got),
                        want=_fmt(want))
            if sub.leaf_sum is not None and sub.max is not None and sub.normalize is None \
                    and not _close(sub.leaf_sum, sub.max):
                ctx.add(sub.line, "score.def.rule_field", path=f"sub-index {sub.id}", rule="leaf_sum != max",
                        key="normalize")
        if dim.max is not None and dim.sub_indices and all(s.max is not None for s in dim.sub_indices):
            total = sum(s.max or 0.0 for s in dim.sub_indices)
            if not _close(total + dim.missing_points, dim.max):
                ctx.add(dim.line, "score.def.dimsum", key=dim.id, got=_fmt(total),
                        missing=_fmt(dim.missing_points), want=_fmt(dim.max))
        if dim.max is not None and not dim.sub_indices:
            got = leaf.get(dim.id, 0.0)
            if got and not _close(got + dim.missing_points, dim.max):
                ctx.add(dim.line, "score.def.sum", what="dimension", key=dim.id, got=_fmt(got),
                        want=_fmt(dim.max))


def load_definition(path: str | Path) -> Definition:
    """Load and validate one definition file; raises DefinitionError listing every problem."""
    p = Path(path)
    try:
        data, raw = load_file(p)
    except YamlError as exc:
        raise DefinitionError([("", 0, exc.texts())]) from None
    ctx = Problems(str(p), data)
    if not isinstance(data, LineDict):
        ctx.add(1, "score.def.type", path="(top)", want=Phrase("score.def.type_name.mapping"),
                got=Phrase(f"score.def.type_name.{_json_type(data)}"))
        raise DefinitionError(ctx.problems)
    if data.get("schema") != SCHEMA_ID:
        ctx.add(data.line_of("schema"), "score.def.schema", want=SCHEMA_ID, got=data.get("schema"))
        raise DefinitionError(ctx.problems)
    _schema_problems(ctx)
    if ctx.problems:
        raise DefinitionError(ctx.problems)
    definition = _compile(ctx, raw)
    if definition is None:
        raise DefinitionError(ctx.problems)
    return definition


def assessment_dir() -> Path:
    return standards_dir() / "assessment"


@cache
def _shipped() -> dict[str, Path]:
    out: dict[str, Path] = {}
    folder = assessment_dir()
    for p in sorted(folder.glob("*.yaml")):
        out[p.stem] = p
    return out


def shipped_ids() -> list[str]:
    return sorted(_shipped())


@cache
def _load_shipped(ident: str) -> Definition:
    return load_definition(_shipped()[ident])


def get_definition(ident: str) -> Definition:
    """A shipped definition by id (file stem under standards/assessment/)."""
    if ident not in _shipped():
        problems = Problems(str(assessment_dir()), None)
        problems.add(0, "score.def.not_found", ident=ident, known=", ".join(shipped_ids()))
        raise DefinitionError(problems.problems)
    return _load_shipped(ident)


def default_for_profile(profile: str) -> str:
    """The default index system of a profile, as its manifest names it
    (standards/profiles/<profile>.yaml ``default_index_system``)."""
    from ..profiles import ProfileError, get_profile

    try:
        ident = get_profile(profile).default_index_system
    except ProfileError as exc:
        raise DefinitionError([(str(assessment_dir()), 0, same_text(str(exc)))]) from None
    if ident not in shipped_ids():
        problems = Problems(str(assessment_dir()), None)
        problems.add(0, "score.def.profile_default_missing", profile=profile, ident=ident)
        raise DefinitionError(problems.problems)
    return ident
