"""Profiles (hospital, regional) as data: ``standards/profiles/<id>.yaml`` names a profile's
service catalog, document family, data-set profile, default index system, scenarios, example
documents, perf mix and bands, and example questionnaire. Commands offer the profiles found
there and take the one marked ``default: true`` when none is given."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .errors import ConformanceError
from .i18n import Lines, Phrase
from .resources import standards_dir, test_cases_dir
from .yamlio import read_yaml


class ProfileError(ConformanceError):
    pass


@dataclass(frozen=True)
class Profile:
    id: str
    name: str
    name_en: str
    default: bool
    service_catalog: Path
    document_family: str
    datasets: str
    default_index_system: str
    scenarios: Path
    documents: Path
    perf_mix: Path | None
    perf_bands: Path | None
    questionnaire: Path | None
    raw: dict[str, Any]

    def label(self, lang: str = "zh") -> str:
        return self.name_en if lang == "en" else self.name


_KEYS = {"standards": ("service_catalog", "document_family", "datasets", "default_index_system"),
         "cases": ("scenarios", "documents", "perf_mix", "perf_bands", "questionnaire")}


def _load(path: Path) -> Profile:
    data = read_yaml(path, ProfileError)
    where = str(path)
    if not isinstance(data, dict):
        raise ProfileError.phrase("profile.not_mapping", where=where)
    problems = []
    for section, keys in _KEYS.items():
        block = data.get(section)
        if not isinstance(block, dict):
            problems.append(Phrase("profile.section", where=where, section=section,
                                   keys=", ".join(keys)))
            continue
        problems += [Phrase("profile.missing", where=where, section=section, key=k)
                     for k in keys if k not in block]
    if not data.get("id"):
        problems.append(Phrase("profile.no_id", where=where))
    if problems:
        raise ProfileError.phrase("profile.problems", lines=Lines(problems))
    s, c = data["standards"], data["cases"]

    def case_path(key: str) -> Path | None:
        return test_cases_dir() / c[key] if c.get(key) else None

    return Profile(
        id=str(data["id"]), name=str(data.get("name") or data["id"]),
        name_en=str(data.get("name_en") or data.get("name") or data["id"]),
        default=bool(data.get("default")), service_catalog=standards_dir() / s["service_catalog"],
        document_family=str(s["document_family"]), datasets=str(s["datasets"]),
        default_index_system=str(s["default_index_system"]),
        scenarios=test_cases_dir() / c["scenarios"], documents=test_cases_dir() / c["documents"],
        perf_mix=case_path("perf_mix"), perf_bands=case_path("perf_bands"),
        questionnaire=case_path("questionnaire"), raw=data)


@cache
def profiles() -> dict[str, Profile]:
    folder = standards_dir() / "profiles"
    out = {}
    for path in sorted(folder.glob("*.yaml")):
        p = _load(path)
        if p.id != path.stem:
            raise ProfileError.phrase("profile.id_mismatch", path=path, id=repr(p.id),
                                      stem=repr(path.stem))
        out[p.id] = p
    if not out:
        raise ProfileError.phrase("profile.none", folder=folder)
    defaults = [p.id for p in out.values() if p.default]
    if len(defaults) != 1:
        raise ProfileError.phrase("profile.defaults", folder=folder,
                                  found=", ".join(defaults) or Phrase("value.none"))
    return out


def profile_ids() -> list[str]:
    return list(profiles())


def default_profile() -> Profile:
    return next(p for p in profiles().values() if p.default)


def get_profile(profile_id: str | None = None) -> Profile:
    """A profile by id (the default one for None); an unknown id is a clear error."""
    if profile_id is None:
        return default_profile()
    try:
        return profiles()[profile_id]
    except KeyError:
        raise ProfileError.phrase("profile.unknown", id=repr(profile_id),
                                  known=", ".join(profiles())) from None


def for_family(family: str) -> Profile | None:
    """The profile whose documents are of a CDA family (wst500 → hospital)."""
    return next((p for p in profiles().values() if p.document_family == family), None)
