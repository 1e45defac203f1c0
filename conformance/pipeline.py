"""The whole assessment as one in-process pipeline over a ``RunFolder``: validate the shared
documents → check the data sets → replay the scenarios → measure performance (short bands) →
seal → score → report. Each stage calls the same engine API its own command uses; ``assess``
(one institution) and ``campaign run`` (many) compose it.

    outcome = pipeline.assess(RunFolder.create(target_name="embedded"), AssessOptions())
    outcome.exit_code   # 0, 1 (below --min-level / a regression), 2 (a stage could not run)
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConformanceError
from .i18n import t
from .model.folder import RunFolder
from .profiles import Profile, get_profile


class StageFailed(ConformanceError):
    """A stage could not run (the phrase ``key`` with ``values`` says why); the folder keeps
    what was done."""

    def __init__(self, stage: str, code: int, key: str, **values: Any) -> None:
        self.stage, self.code, self.key, self.values = stage, code, key, values
        super().__init__(self.render("en"))

    def render(self, lang: str = "zh") -> str:
        return t("assess.stage_failed", lang, stage=self.stage, code=self.code,
                 detail=t(self.key, lang, **self.values))


@dataclass
class AssessOptions:
    target_url: str | None = None
    config_path: str | None = None
    profile: str | None = None
    documents: str | None = None          # default: the profile's example documents
    datasets: str | None = None
    questionnaire: str | None = None      # default: the profile's example questionnaire
    example_questionnaire: bool = True    # False: no questionnaire given, nothing answered
    assessment: str | None = None
    baseline: str | None = None
    fail_on: str = "never"
    min_level: str | None = None
    skip_perf: bool = False
    yes: bool = False
    lang: str = "zh"
    formats: tuple[str, ...] = ("html", "pdf")
    jobs: int = 1
    faults: str = ""                      # embedded target: fault profile (trials, campaigns)
    engine: str = "local"                 # documents: local (--jobs processes) | dask
    scheduler: str | None = None          # dask: the cluster (None: a local one of --jobs)

    @property
    def embedded(self) -> bool:
        return not (self.target_url or self.config_path)

    def target_name(self) -> str:
        if self.embedded:
            return "embedded"
        if self.target_url:
            from .secrets import host_label

            return host_label(self.target_url)      # never the URL's credentials
        return (self.config_path or "").split("//", 1)[-1].split("/", 1)[0]


@dataclass
class StageOutcome:
    key: str                 # validate | datasets | run | perf | seal | score | report
    code: int
    seconds: float
    output: str = ""


@dataclass
class AssessOutcome:
    folder: RunFolder
    stages: list[StageOutcome] = field(default_factory=list)
    exit_code: int = 0
    failed: StageOutcome | None = None

    @property
    def score(self) -> Any:
        return self.folder.score if self.folder.has("score") else None


StageCallback = Callable[[str, int, int, str], None]   # (event, index, total, key)


def stages(opts: AssessOptions) -> list[str]:
    keys = ["validate"]
    if opts.datasets:
        keys.append("datasets")
    keys.append("run")
    if not opts.skip_perf:
        keys.append("perf")
    keys += ["seal", "score", "report"]
    return keys


def _documents(opts: AssessOptions, profile: Profile) -> Path:
    docs = Path(opts.documents) if opts.documents else profile.documents
    if not docs.exists():
        raise StageFailed("validate", 2, "assess.no_documents", path=docs)
    return docs


def assess(folder: RunFolder, opts: AssessOptions,
           on_stage: StageCallback | None = None) -> AssessOutcome:
    """Run every stage into ``folder``; a stage that cannot run stops the pipeline (the folder
    keeps what was done) and is the outcome's ``failed`` stage."""
    from .scoring import api as scoring_api
    from .scoring.report import console_summary
    from .validate import api as validate_api

    profile = get_profile(opts.profile)
    docs = _documents(opts, profile)
    lang = opts.lang
    questionnaire = opts.questionnaire or (str(profile.questionnaire) if profile.questionnaire
                                           and opts.example_questionnaire else None)
    faults = opts.faults if opts.embedded else ""   # run and perf start the embedded platform
    keys = stages(opts)
    outcome = AssessOutcome(folder=folder)

    def stage_validate() -> tuple[int, str]:
        res = validate_api.validate_into(folder, [str(docs)], lang=lang, jobs=opts.jobs,
                                         engine=opts.engine, scheduler=opts.scheduler)
        return (0 if res.exit_code in (0, 1) else res.exit_code), ""

    def stage_perf() -> tuple[int, str]:
        from .perf.commands import exit_code
        from .perf.runner import PerfOptions, measure

        options = PerfOptions.quick(target_url=opts.target_url, config_path=opts.config_path,
                                    profile=profile.id, lang=lang, yes=opts.yes,
                                    **({"faults": faults} if faults else {}))
        return exit_code(measure(folder, None, options)), ""

    def stage_seal() -> tuple[int, str]:
        try:
            folder.seal(scoring_api.tool_stamp())
        except OSError as exc:
            return 2, f"{folder.path}: {exc.strerror or exc}"
        return 0, ""

    def stage_score() -> tuple[int, str]:
        # datasets.json is in the folder: read with the other results
        q = questionnaire if questionnaire and Path(questionnaire).is_file() else None
        try:
            d = scoring_api.resolve_definition(assessment=opts.assessment, profile=profile.id,
                                               questionnaire=q)
            res = scoring_api.score_folder([folder], d, q, out=folder,
                                           min_level=opts.min_level, lang=lang)
        except ConformanceError as exc:
            return exc.exit_code, exc.render(lang)
        return res.exit_code, console_summary(res.score, lang)

    def stage_run() -> tuple[int, str]:
        from .harness.session import RunOptions, run_scenarios
        from .harness.target import make_target

        target = make_target(opts.target_url, opts.config_path, profile.id)
        digest = (hashlib.sha256(Path(opts.config_path).read_bytes()).hexdigest()
                  if opts.config_path else None)
        res = run_scenarios(folder, target, RunOptions(lang=lang, faults=faults,
                                                       config_sha256=digest))
        if res.interrupted:
            return 130, t("cli.interrupted", lang)
        return (1 if res.failing else 0), ""

    def stage_datasets() -> tuple[int, str]:
        from .datasets import api as datasets_api

        res = datasets_api.check_into(folder, [str(opts.datasets)], datasets_api.DatasetOptions(
            lang=lang, auto=True, jobs=opts.jobs, engine=opts.engine, scheduler=opts.scheduler))
        return res.exit_code(), ""

    def stage_report() -> tuple[int, str]:
        from .report.render import render_reports

        res = render_reports(folder, opts.formats, lang, baseline=opts.baseline)
        fail_on = opts.fail_on if opts.baseline else "never"
        code = 1 if fail_on == "regression" and res.new_failures else 0
        return code, "\n".join(res.warnings)
    runners: dict[str, tuple[Callable[[], tuple[int, str]], set[int]]] = {
        "validate": (stage_validate, {0}),
        "datasets": (stage_datasets, {0, 1}),
        "run": (stage_run, {0, 1}),
        "perf": (stage_perf, {0, 1}),
        "seal": (stage_seal, {0}),
        "score": (stage_score, {0, 1}),
        "report": (stage_report, {0, 1}),
    }
    for i, key in enumerate(keys, start=1):
        if on_stage:
            on_stage("start", i, len(keys), key)
        t0 = time.perf_counter()
        run, ok = runners[key]
        try:
            code, out = run()
        except ConformanceError as exc:   # the stage could not run: say why, keep the folder
            code, out = exc.exit_code, exc.render(lang)
        except OSError as exc:            # an output that cannot be written
            code, out = 2, f"{exc.filename or folder.path}: {exc.strerror or exc}"
        folder.forget()
        done = StageOutcome(key, code, time.perf_counter() - t0, out)
        outcome.stages.append(done)
        if code not in ok:
            outcome.failed = done
            outcome.exit_code = code or 2
            if on_stage:
                on_stage("failed", i, len(keys), key)
            return outcome
        if key in ("score", "report") and code == 1:
            outcome.exit_code = 1   # below --min-level, or a regression with --fail-on
        if on_stage:
            on_stage("done", i, len(keys), key)
    return outcome
