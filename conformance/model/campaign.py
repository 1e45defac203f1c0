"""campaign.json: a region's assessment campaign as `conformance campaign report` concludes it —
the league table (level, totals, dimension scores under the national scheme, the score under
the city's own index system, rank and the change against the previous campaign), per
institution the problem list (问题清单) and the task list (任务清单) with owners and deadlines,
the follow-up review (成效“回头看”) of the previous campaign's tasks, the distribution of levels
by district, and the region's data quality per institution and per district."""

from __future__ import annotations

import msgspec

from .common import Record, ToolStamp
from .quality import QualityFigure, QualityFigures

# task status in a campaign: open (new), still_open, reopened (was closed or reported done and
# found again), fixed (the problem is gone)
TASK_STATUSES: tuple[str, ...] = ("open", "still_open", "reopened", "fixed")
# institution status: assessed | failed (a stage could not run) | unreachable | refused (a
# submitted folder failed verification) | missing (not run, not submitted)
INSTITUTION_STATUSES: tuple[str, ...] = ("assessed", "failed", "unreachable", "refused",
                                         "missing")
PROBLEM_KINDS: tuple[str, ...] = ("indicator", "service", "document", "dataset", "quality")


class CampaignInfo(Record, kw_only=True):
    name: str
    region: str | None = None
    period: str | None = None
    file: str | None = None                   # campaign.yaml
    index_systems: dict[str, str] = {}        # kind → national index system id
    city_index: str | None = None             # the city's own index system id
    target_levels: dict[str, str] = {}        # kind → the level every institution should reach
    issued: str | None = None                 # the date the lists are issued (deadlines count from it)


class DimensionCell(Record, kw_only=True):
    id: str
    name: str | None = None
    score: float | None = None
    max: float | None = None


class Change(Record, kw_only=True):
    """Against the same institution in the previous campaign."""

    previous_level: str | None = None
    level_step: int | None = None             # +1 a level up, -1 down, 0 same (null: not comparable)
    score_delta: float | None = None
    city_delta: float | None = None
    rank_delta: int | None = None             # positive: moved up
    new_failures: list[str] = []              # problem keys failing now and not before
    fixed_failures: list[str] = []            # problem keys failing before and not now


class Example(Record, kw_only=True):
    where: str                                # file:line, case id, data-set file:row
    message: str = ""


class Problem(Record, kw_only=True):
    """One entry of the 问题清单: a failing indicator, service, document type, data set or a
    data-quality problem, with counts and examples."""

    key: str                                  # stable across campaigns: <kind>:<subject>
    kind: str
    subject: str                              # item code, service action, document type, …
    title: str
    detail: str = ""
    count: int = 1
    examples: list[Example] = []
    blocking: bool = False                    # keeps the institution below its target level
    item: str | None = None                   # the national index-system item it fails


class Task(Record, kw_only=True):
    """One entry of the 任务清单: one task per problem."""

    id: str                                   # <institution>:<problem key>
    problem: str                              # the problem key
    kind: str
    action: str                               # what to fix
    owner: str
    deadline: str | None = None               # YYYY-MM-DD from the deadlines policy
    status: str = "open"                      # see TASK_STATUSES
    blocking: bool = False


class FollowUp(Record, kw_only=True):
    """One task of the previous campaign, reviewed: fixed, still open or reopened."""

    task: str
    institution: str
    kind: str
    action: str
    owner: str | None = None
    deadline: str | None = None               # the deadline it had
    previous_status: str
    reported_done: bool = False               # the institution's rectification feedback said so
    status: str                               # fixed | still_open | reopened
    overdue: bool = False                     # still open (or reopened) after its deadline


class CityScore(Record, kw_only=True):
    """The score under the city's index system (null figures: not scored, ``note`` says why)."""

    index_system: str | None = None
    total: float | None = None
    max: float | None = None
    level: str | None = None
    provisional: bool = False
    items: list[DimensionCell] = []           # per dimension of the city index system
    deductions: float | None = None
    note: str | None = None


class InstitutionRow(Record, kw_only=True):
    id: str
    name: str
    kind: str                                 # hospital | district
    district: str | None = None
    status: str = "assessed"
    reason: str | None = None                 # why not assessed
    source: str | None = None                 # run (the campaign ran it) | submitted (collected)
    run: str | None = None                    # the run folder, relative to the campaign folder
    report: str | None = None                 # its report.html, relative to the campaign folder
    index_system: str | None = None
    level: str | None = None
    level_index: int | None = None
    level_provisional: bool = False
    total: float | None = None
    max: float | None = None
    dimensions: list[DimensionCell] = []
    city: CityScore = msgspec.field(default_factory=CityScore)
    rank: int | None = None                   # within its kind
    target_level: str | None = None
    target_met: bool | None = None
    change: Change | None = None
    owner: str | None = None
    problems: list[Problem] = []
    tasks: list[Task] = []
    quality: QualityFigures | None = None     # from its quality.json


class QualityRow(Record, kw_only=True):
    """The six dimensions and the four coefficients of one institution or one district (sums
    of the numerators and denominators of its institutions)."""

    scope: str                                # institution | district | region
    id: str
    name: str
    district: str | None = None
    institutions: int = 1
    records: int = 0
    governance: list[QualityFigure] = []
    emr: list[QualityFigure] = []


class LevelCount(Record, kw_only=True):
    district: str
    kind: str
    counts: dict[str, int] = {}               # level → institutions ("" : no level)
    institutions: int = 0


class CampaignReport(Record, kw_only=True):
    """campaign.json."""

    schema: str = "conformance-campaign/1"
    schema_version: int = 1
    tool: ToolStamp
    generated: str
    lang: str = "zh"
    campaign: CampaignInfo
    levels: dict[str, list[str]] = {}         # kind → levels of its national scheme, low to high
    institutions: list[InstitutionRow] = []
    distribution: list[LevelCount] = []
    below_target: list[str] = []              # institution ids
    follow_up: list[FollowUp] = []
    quality: list[QualityRow] = []
    quality_definitions: list[dict[str, str]] = []
    previous: str | None = None               # the previous campaign folder (--previous)
    warnings: list[str] = []

    def institution(self, ident: str) -> InstitutionRow | None:
        return next((i for i in self.institutions if i.id == ident), None)


class InstitutionState(Record, kw_only=True):
    """What `campaign run` / `collect` last did for one institution (state.json)."""

    status: str                               # see INSTITUTION_STATUSES
    reason: str | None = None
    source: str = "run"                       # run | submitted
    finished: str | None = None
    seconds: float | None = None
    exit_code: int | None = None
    notes: list[str] = []
    submitted_from: str | None = None


class CampaignState(Record, kw_only=True):
    """state.json in the campaign folder: where every institution stands (an interrupted
    campaign resumes from it)."""

    schema_version: int = 1
    tool: ToolStamp
    institutions: dict[str, InstitutionState] = {}
