"""The scoring engine's in-process entry point: score run folders against an index system and
get the typed ``Score`` back — what `conformance score` runs, and what `assess` (or a campaign)
composes.

    definition = resolve_definition(profile="hospital")
    outcome = score_folder([RunFolder(run_dir)], definition, "问卷.yaml", lang="en")
    outcome.score.level, outcome.written, outcome.exit_code

Every problem a user can cause raises a ``ConformanceError`` (DefinitionError, ResultsError,
QuestionnaireError, ScoreUsageError) whose ``render(lang)`` says what, where and how to fix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..catalog import load_catalog
from ..errors import ConformanceError
from ..i18n import t
from ..model import Score, ToolStamp
from ..model.folder import RunFolder
from ..profiles import default_profile
from ..yamlio import YamlError, load_file
from .definition import default_for_profile, get_definition, load_definition, shipped_ids
from .engine import score
from .model import Definition, Level
from .questionnaire import Questionnaire, load_questionnaire
from .rating import Rating
from .report import build_score_json
from .results import RunInputs, load_results


class ScoreUsageError(ConformanceError):
    """A request scoring cannot follow (a --min-level that is not a level of the index system, an
    output folder that cannot be written)."""

    def __init__(self, key: str, **values: Any) -> None:
        self.key, self.values = key, values
        super().__init__(self.render("en"))

    def render(self, lang: str = "zh") -> str:
        return t(self.key, lang, **self.values)


@dataclass
class ScoreOutcome:
    """What scoring concluded: the typed score.json, the rating behind it, where it was written
    (None: not written) and the --min-level gate."""

    score: Score
    rating: Rating
    definition: Definition
    written: Path | None
    min_level: Level | None = None

    @property
    def min_level_met(self) -> bool | None:
        return self.score.min_level_met

    @property
    def exit_code(self) -> int:
        """0, or 1 when the level reached is below the --min-level."""
        return 1 if self.min_level_met is False else 0


def tool_stamp() -> ToolStamp:
    """This tool, as stamped on what it writes (the ruleset of the standards data, when it
    loads)."""
    ruleset = None
    try:
        ruleset = load_catalog().ruleset
    except Exception:  # noqa: BLE001 - the stamp is informative; a broken catalog is reported by validate
        ruleset = None
    return ToolStamp(name="conformance", version=__version__, ruleset=ruleset)


def resolve_definition(*, assessment: str | Path | None = None, index_system: str | None = None,
                       profile: str | None = None,
                       questionnaire: str | Path | None = None) -> Definition:
    """The index system to score against: an assessor's own file, a shipped one by id, the one
    the questionnaire names, else the profile's default."""
    if assessment:
        return load_definition(assessment)
    if index_system:
        return get_definition(index_system)
    if questionnaire:
        try:
            data, _ = load_file(Path(questionnaire))
            ident = data.get("assessment") if isinstance(data, dict) else None
        except YamlError:
            ident = None  # reported properly when the questionnaire is loaded
        if isinstance(ident, str) and ident in shipped_ids():
            return get_definition(ident)
    return get_definition(default_for_profile(profile or default_profile().id))


def score_folder(folders: Sequence[RunFolder | Path], definition: Definition,
                 questionnaire: Questionnaire | str | Path | None = None, *,
                 datasets: Path | None = None, out: RunFolder | Path | None = None,
                 write: bool = True, min_level: str | None = None, lang: str = "zh",
                 tool: ToolStamp | None = None,
                 facts: Mapping[str, Any] | None = None) -> ScoreOutcome:
    """Score the results of ``folders`` (and an extra data-set result) with the questionnaire.

    score.json is written to ``out`` — by default the run folder when exactly one is given — and
    added to that folder's manifest (``write=False``: not written). ``facts`` are handed to the
    rule types (what they may need from outside the run folders)."""
    runs = [f if isinstance(f, RunFolder) else RunFolder(f) for f in folders]
    want = None
    if min_level:
        want = definition.find_level(min_level)
        if want is None:
            raise ScoreUsageError("score.console.bad_min_level", got=min_level, name=definition.id,
                                  allowed=", ".join(lv.id for lv in definition.levels))
    tool = tool or tool_stamp()
    inputs = load_results(runs, datasets, tool) if runs or datasets else RunInputs()
    q = questionnaire if isinstance(questionnaire, Questionnaire) or questionnaire is None \
        else load_questionnaire(questionnaire, definition)
    rating, notes = score(definition, inputs, q, lang, facts)
    warnings = [t(k, lang, **v) for k, v in [*inputs.warnings, *(q.warnings if q else []), *notes]]
    result = build_score_json(rating, inputs, q, tool, warnings, lang, want.id if want else None)
    target = out if out is not None else (runs[0] if len(runs) == 1 else None)
    written = None
    if write and target is not None:
        folder = target if isinstance(target, RunFolder) else RunFolder(target)
        try:
            written = folder.write("score", result)
            folder.reseal([written], tool)
        except OSError as exc:
            raise ScoreUsageError("score.console.cannot_write", path=str(folder.path),
                                  msg=exc.strerror or str(exc)) from None
    return ScoreOutcome(result, rating, definition, written, want)


__all__ = ["ScoreOutcome", "ScoreUsageError", "resolve_definition", "score_folder", "tool_stamp"]
