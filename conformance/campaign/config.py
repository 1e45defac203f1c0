"""campaign.yaml: the campaign (name, period, index systems, the city's own index system, target
levels, the deadlines policy, owners, settings) and its institutions (id, name, kind, district,
target, documents, data-set exports, questionnaires, rectification feedback).

Read with the one YAML reader (lines of every key and item) and checked with a JSON Schema
plus meaning checks (duplicate ids, paths that do not exist, unknown index systems or levels,
a malformed fault profile); every problem is reported at once as ``file:line: what``."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema

from ..errors import ConformanceError
from ..i18n import t
from ..yamlio import LineDict, LineList, YamlError, line_at, load_file, path_text

SCHEMA_ID = "conformance-campaign/1"
FILENAME = "campaign.yaml"
KINDS: dict[str, str] = {"hospital": "hospital", "district": "regional"}   # kind → profile
PROBLEM_KINDS = ("indicator", "service", "document", "dataset", "quality")
DEFAULT_DAYS = {"indicator": 120, "service": 60, "document": 60, "dataset": 90, "quality": 90}

_STR = {"type": "string", "minLength": 1}
_PATH = {"type": "string", "minLength": 1}
_KIND_MAP = {"type": "object", "additionalProperties": False,
             "properties": {k: _STR for k in KINDS}}
_PER_PROBLEM_INT = {"type": "object", "additionalProperties": False,
                    "properties": {k: {"type": "integer", "minimum": 0} for k in PROBLEM_KINDS}}
_PER_PROBLEM_STR = {"type": "object", "additionalProperties": False,
                    "properties": {k: _STR for k in PROBLEM_KINDS}}
_TARGET = {"anyOf": [
    {"enum": ["embedded"]},
    {"type": "object", "additionalProperties": False, "minProperties": 1,
     "properties": {"embedded": {"type": "boolean"}, "faults": {"type": "string"},
                    "url": {"type": "string", "pattern": "^https?://"}, "config": _PATH}}]}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schema", "name", "institutions"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "name": _STR,
        "region": _STR,
        "period": {"type": ["string", "integer"]},
        "index_systems": _KIND_MAP,
        "city_index": _STR,
        "target_levels": _KIND_MAP,
        "deadlines": {"type": "object", "additionalProperties": False, "properties": {
            "issued": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
            "days": _PER_PROBLEM_INT,
            "blocking_days": {"type": "integer", "minimum": 0}}},
        "owners": _PER_PROBLEM_STR,
        "settings": {"type": "object", "additionalProperties": False, "properties": {
            "jobs": {"type": "integer", "minimum": 1, "maximum": 64},
            "perf": {"type": "boolean"},
            "formats": {"type": "array", "items": {"enum": ["html", "pdf"]}},
            "documents": {"type": "object", "additionalProperties": False, "properties": {
                "engine": {"enum": ["local", "dask"]},
                "scheduler": {"type": "string", "pattern": "^[a-z]+://"},
                "jobs": {"type": "integer", "minimum": 1, "maximum": 256}}},
            "reachability_timeout": {"type": "number", "exclusiveMinimum": 0}}},
        "institutions": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False,
            "required": ["id", "name", "kind"],
            "properties": {
                "id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$"},
                "name": _STR,
                "kind": {"enum": list(KINDS)},
                "district": _STR,
                "target": _TARGET,
                "documents": _PATH,
                "datasets": _PATH,
                "questionnaire": _PATH,
                "city_questionnaire": _PATH,
                "rectification": _PATH,
                "owner": _STR,
                "outcomes": {"type": "object", "additionalProperties": {
                    "type": ["string", "number", "boolean"]}},
            }}},
    },
}


class CampaignError(ConformanceError):
    """campaign.yaml (or a campaign folder) cannot be used; ``problems`` are ``file:line: what``
    lines, all of them at once."""

    def __init__(self, problems: list[str], lang: str = "zh") -> None:
        self.problems = problems
        head = t("campaign.cfg.invalid", lang, n=len(problems)) if len(problems) > 1 else ""
        super().__init__("\n".join([head, *("  " + p for p in problems)]) if head
                         else problems[0])


@dataclass
class Target:
    embedded: bool = True
    faults: str = ""
    url: str | None = None
    config: Path | None = None

    def describe(self) -> str:
        if self.embedded:
            return "embedded" + (f" (faults: {self.faults})" if self.faults else "")
        return self.url or str(self.config)


@dataclass
class Institution:
    id: str
    name: str
    kind: str
    district: str | None
    target: Target
    documents: Path | None = None
    datasets: Path | None = None
    questionnaire: Path | None = None
    city_questionnaire: Path | None = None
    rectification: Path | None = None
    owner: str | None = None
    outcomes: dict[str, Any] = field(default_factory=dict)
    line: int = 0

    @property
    def profile(self) -> str:
        return KINDS[self.kind]


@dataclass
class Settings:
    jobs: int = 2
    perf: bool = True
    formats: tuple[str, ...] = ("html",)
    doc_engine: str = "local"
    doc_scheduler: str | None = None
    doc_jobs: int = 1
    reachability_timeout: float = 5.0


@dataclass
class Campaign:
    path: Path                                  # campaign.yaml
    name: str
    region: str | None
    period: str | None
    index_systems: dict[str, str]
    city_index: str | None
    target_levels: dict[str, str]
    issued: date | None
    days: dict[str, int]
    blocking_days: int | None
    owners: dict[str, str]
    settings: Settings
    institutions: list[Institution]

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def runs_dir(self) -> Path:
        return self.folder / "runs"

    def run_dir(self, ident: str) -> Path:
        return self.runs_dir / ident

    def get(self, ident: str) -> Institution | None:
        return next((i for i in self.institutions if i.id == ident), None)


def _schema_problems(data: Any, where: str, lang: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = list(err.absolute_path)
        at = path_text(data, path)
        line = line_at(data, path)
        inst = err.instance
        if err.validator == "required":
            for key in err.validator_value:
                if not isinstance(inst, dict) or key not in inst:
                    out.append((line, t("campaign.cfg.required", lang, path=at, key=key)))
        elif err.validator == "additionalProperties":
            allowed = sorted(err.schema.get("properties", {}))
            for key in sorted(set(inst) - set(allowed)):
                near = difflib.get_close_matches(str(key), allowed, n=1)
                hint = t("campaign.cfg.did_you_mean", lang, alt=near[0]) if near else ""
                kline = inst.line_of(key) if isinstance(inst, LineDict) else line
                out.append((kline, t("campaign.cfg.unknown_key", lang, path=at, key=key,
                                     hint=hint, allowed=", ".join(allowed))))
        elif err.validator == "enum":
            out.append((line, t("campaign.cfg.enum", lang, path=at, got=inst,
                                allowed=", ".join(map(str, err.validator_value)))))
        elif err.validator == "const":
            out.append((line, t("campaign.cfg.schema", lang, want=err.validator_value, got=inst)))
        elif err.validator == "type":
            out.append((line, t("campaign.cfg.type", lang, path=at, want=err.validator_value,
                                got=inst)))
        elif err.validator == "pattern":
            out.append((line, t("campaign.cfg.pattern", lang, path=at, got=inst,
                                pattern=err.validator_value)))
        elif err.validator == "anyOf" and path and path[-1] == "target":
            out.append((line, t("campaign.cfg.target", lang, path=at, got=inst)))
        else:
            out.append((line, t("campaign.cfg.value", lang, path=at, got=inst,
                                msg=err.message)))
    return out


def load(path: str | Path, lang: str = "zh", *, check_paths: bool = True) -> Campaign:
    """Read and check campaign.yaml (``path`` may be the campaign folder)."""
    p = Path(path)
    if p.is_dir():
        p = p / FILENAME
    try:
        data, _ = load_file(p)
    except YamlError as exc:
        hint = t("campaign.cfg.init_hint", lang, folder=p.parent) if not p.exists() else ""
        raise CampaignError([f"{exc.render(lang)}{hint}"], lang) from None
    where = str(p)
    if not isinstance(data, LineDict):
        raise CampaignError([f"{where}:1: " + t("campaign.cfg.mapping", lang)], lang)
    problems = _schema_problems(data, where, lang)
    if problems:
        raise CampaignError([f"{where}:{line}: {msg}" for line, msg in problems], lang)
    camp = _compile(data, p, lang, problems, check_paths)
    if problems:
        raise CampaignError([f"{where}:{line}: {msg}" for line, msg in problems], lang)
    return camp


def _compile(d: LineDict, p: Path, lang: str, problems: list[tuple[int, str]],
             check_paths: bool) -> Campaign:
    from ..platform.faults import FaultInjector, FaultSpecError

    base = p.parent
    index_systems = {"hospital": "hospital-2020", "district": "regional-2020"}
    index_systems.update(d.get("index_systems") or {})
    known = _index_ids()
    for kind, ident in (d.get("index_systems") or {}).items():
        if ident not in known:
            problems.append((d["index_systems"].line_of(kind), t(
                "campaign.cfg.index_system", lang, key=ident, known=", ".join(sorted(known)))))
    city = d.get("city_index")
    if city is not None and city not in known and not (base / city).is_file():
        problems.append((d.line_of("city_index"), t("campaign.cfg.index_system", lang, key=city,
                                                    known=", ".join(sorted(known)))))
    targets = dict(d.get("target_levels") or {})
    for kind, level in targets.items():
        levels = _levels(index_systems[kind])
        if levels and level not in levels:
            problems.append((d["target_levels"].line_of(kind), t(
                "campaign.cfg.level", lang, key=level, kind=kind, known=", ".join(levels))))
    dl = d.get("deadlines") or {}
    issued = date.fromisoformat(dl["issued"]) if dl.get("issued") else None
    days = {**DEFAULT_DAYS, **(dl.get("days") or {})}
    s = d.get("settings") or {}
    docs = s.get("documents") or {}
    settings = Settings(jobs=int(s.get("jobs", 2)), perf=bool(s.get("perf", True)),
                        formats=tuple(s.get("formats", ("html",))),
                        doc_engine=docs.get("engine", "local"),
                        doc_scheduler=docs.get("scheduler"), doc_jobs=int(docs.get("jobs", 1)),
                        reachability_timeout=float(s.get("reachability_timeout", 5.0)))
    insts: list[Institution] = []
    seen: dict[str, int] = {}
    listed: LineList = d["institutions"]
    for k, raw in enumerate(listed):
        line = listed.line_of(k)
        ident = raw["id"]
        if ident in seen:
            problems.append((line, t("campaign.cfg.duplicate", lang, key=ident, first=seen[ident])))
            continue
        seen[ident] = line
        tgt = raw.get("target", "embedded")
        target = Target()
        if isinstance(tgt, dict):
            target = Target(embedded=not (tgt.get("url") or tgt.get("config")),
                            faults=str(tgt.get("faults") or ""), url=tgt.get("url"),
                            config=base / tgt["config"] if tgt.get("config") else None)
            tline = tgt.line_of("faults") if isinstance(tgt, LineDict) else line
            if target.faults:
                if not target.embedded:
                    problems.append((tline, t("campaign.cfg.faults_real", lang, id=ident)))
                try:
                    FaultInjector(target.faults)
                except FaultSpecError as exc:
                    problems.append((tline, t("campaign.cfg.faults", lang, id=ident, msg=exc)))
            if tgt.get("url") and tgt.get("config"):
                problems.append((tgt.line_of("url"), t("campaign.cfg.url_and_config", lang,
                                                       id=ident)))
            if target.config is not None and check_paths and not target.config.is_file():
                problems.append((tgt.line_of("config"), t("campaign.cfg.missing", lang,
                                                          path=target.config)))
        paths: dict[str, Path | None] = {}
        for key in ("documents", "datasets", "questionnaire", "city_questionnaire",
                    "rectification"):
            value = raw.get(key)
            paths[key] = base / value if value else None
            if value and check_paths and not (base / value).exists():
                problems.append((raw.line_of(key), t("campaign.cfg.missing", lang,
                                                      path=base / value)))
        insts.append(Institution(id=ident, name=raw["name"], kind=raw["kind"],
                                 district=raw.get("district"), target=target,
                                 owner=raw.get("owner"), outcomes=dict(raw.get("outcomes") or {}),
                                 line=line, **paths))
    return Campaign(path=p, name=d["name"], region=d.get("region"),
                    period=str(d["period"]) if d.get("period") is not None else None,
                    index_systems=index_systems, city_index=city, target_levels=targets,
                    issued=issued, days=days, blocking_days=dl.get("blocking_days"),
                    owners={**_default_owners(lang), **(d.get("owners") or {})},
                    settings=settings, institutions=insts)


def _default_owners(lang: str) -> dict[str, str]:
    return {k: t(f"campaign.owner.{k}", lang) for k in PROBLEM_KINDS}


def _index_ids() -> set[str]:
    from ..scoring.definition import shipped_ids

    return set(shipped_ids())


def _levels(ident: str) -> list[str]:
    from ..scoring.definition import DefinitionError, get_definition

    try:
        return [lv.id for lv in get_definition(ident).levels]
    except DefinitionError:
        return []


_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
