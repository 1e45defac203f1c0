"""`campaign run` and `campaign collect`: every institution assessed into
``CAMPAIGN_DIR/runs/<id>/`` — by the campaign itself (bounded parallelism, one worker process
per institution at a time: an assessment is CPU-bound Python), or from the run folder the
institution submitted (verified against its manifest first).

One institution that cannot be reached or whose assessment fails is recorded with its reason in
``state.json`` and the others go on; a campaign interrupted (Ctrl-C, a reboot) resumes where it
stopped: institutions already assessed, whose folder still verifies, are not run again.

    outcome = run_campaign(load("campaign/"), jobs=4, yes=True, on_event=print_line)
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..errors import ConformanceError
from ..i18n import t
from ..model.campaign import CampaignState, InstitutionState
from ..model.common import ToolStamp
from ..model.folder import ARTIFACTS, RunFolder, now_utc
from ..model.io import ArtifactError
from ..model.io.campaign_json import STATE_CODEC
from .config import Campaign, Institution, Settings

STATE_FILE = "state.json"
# (event, institution id, state or None): start | done | skip
Listener = Callable[[str, str, InstitutionState | None], None]


def tool_stamp() -> ToolStamp:
    return ToolStamp(name="conformance", version=__version__)


# ------------------------------------------------------------------------------------ state
def read_state(campaign: Campaign) -> CampaignState:
    path = campaign.folder / STATE_FILE
    if not path.is_file():
        return CampaignState(tool=tool_stamp())
    return STATE_CODEC.load(path)


def write_state(campaign: Campaign, state: CampaignState) -> None:
    STATE_CODEC.dump(state, campaign.folder / STATE_FILE)


def folder_verifies(path: Path) -> bool:
    folder = RunFolder(path)
    if not folder.has("manifest") or not folder.has("score"):
        return False
    ver = folder.verify([folder.file(n).name for n in folder.present])
    return ver.present and not ver.problems


# ------------------------------------------------------------------------------------ run
@dataclass
class Job:
    """What one worker process needs to assess one institution (plain, picklable)."""

    institution: Institution
    settings: Settings
    index_system: str
    run_dir: Path
    yes: bool
    lang: str
    scheduler: str | None = None


@dataclass
class RunOutcome:
    states: dict[str, InstitutionState] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """0 every selected institution assessed, 1 some were not (see their reasons), 130
        interrupted."""
        if self.interrupted:
            return 130
        return 1 if any(s.status != "assessed" for s in self.states.values()) else 0


def reachable(url: str, timeout: float, lang: str = "zh") -> str | None:
    """None when something answers at ``url`` (any HTTP status), else why not."""
    import requests

    def why(key: str, detail: str = "", **values: object) -> str:
        text = t(f"campaign.reach.{key}", lang, **values) + t("paren", lang, text=url)
        return text + t("sep.colon", lang) + detail if detail else text

    try:
        requests.get(url, timeout=timeout, allow_redirects=False)
    except requests.exceptions.Timeout:
        return why("timeout", secs=f"{timeout:g}")
    except requests.exceptions.SSLError as exc:
        return why("tls", str(exc).splitlines()[0][:200])
    except requests.exceptions.ConnectionError as exc:
        text = str(exc).lower()
        return why("refused" if "refused" in text else
                   "no_host" if "name or service" in text or "resolve" in text
                   else "cannot_connect")
    except requests.exceptions.RequestException as exc:
        return type(exc).__name__ + t("paren", lang, text=url)
    return None


def _endpoint(inst: Institution) -> str | None:
    if inst.target.url:
        return inst.target.url
    if inst.target.config is not None:
        from ..harness.target import load_target

        tgt = load_target(inst.target.config)
        return tgt.endpoint or next(iter(tgt.endpoints.values()), None)
    return None


def _definition_path(ident: str) -> str:
    from ..scoring.definition import assessment_dir

    return str(assessment_dir() / f"{ident}.yaml")


def assess_institution(job: Job) -> InstitutionState:
    """One institution's whole assessment into its run folder (runs in a worker process); what
    the stages print goes to ``CAMPAIGN_DIR/logs/<id>.log``."""
    log = job.run_dir.parent.parent / "logs" / f"{job.institution.id}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as fh, contextlib.redirect_stderr(fh), \
            contextlib.redirect_stdout(fh):
        st = _assess_institution(job)
    if st.status == "failed" and st.reason and ":" not in st.reason:
        with contextlib.suppress(OSError):
            tail = [ln.strip() for ln in log.read_text("utf-8").splitlines() if ln.strip()][-2:]
            if tail:
                st.reason = f"{st.reason}: {' / '.join(tail)}"[:1000]
    return st


def _assess_institution(job: Job) -> InstitutionState:
    from ..pipeline import AssessOptions, assess
    from ..profiles import get_profile

    inst, s = job.institution, job.settings
    t0 = time.perf_counter()
    notes: list[str] = []

    def state(status: str, reason: str | None = None, code: int | None = None) -> InstitutionState:
        return InstitutionState(status=status, reason=reason, source="run", finished=now_utc(),
                                seconds=round(time.perf_counter() - t0, 1), exit_code=code,
                                notes=notes)

    try:
        if not inst.target.embedded:
            url = _endpoint(inst)
            why = reachable(url, s.reachability_timeout, job.lang) if url \
                else t("campaign.reach.no_endpoint", job.lang)
            if why:
                return state("unreachable", why)
        if job.run_dir.exists():
            shutil.rmtree(job.run_dir)   # an interrupted attempt: start over
        folder = RunFolder.create(job.run_dir)
        skip_perf = not s.perf
        if s.perf and not inst.target.embedded and not job.yes:
            skip_perf = True
            notes.append(t("campaign.run.perf_needs_yes", job.lang))
        profile = get_profile(inst.profile)
        assessment = None
        if job.index_system != profile.default_index_system:
            assessment = _definition_path(job.index_system)
        opts = AssessOptions(
            target_url=inst.target.url, profile=inst.profile,
            config_path=str(inst.target.config) if inst.target.config else None,
            documents=str(inst.documents) if inst.documents else None,
            datasets=str(inst.datasets) if inst.datasets else None,
            questionnaire=str(inst.questionnaire) if inst.questionnaire else None,
            example_questionnaire=inst.target.embedded,   # a real institution answers itself
            assessment=assessment, skip_perf=skip_perf, yes=job.yes, lang=job.lang,
            formats=s.formats, jobs=s.doc_jobs, faults=inst.target.faults,
            engine=s.doc_engine, scheduler=job.scheduler or s.doc_scheduler)
        outcome = assess(folder, opts)
        if outcome.failed is not None:
            tail = [ln for ln in (outcome.failed.output or "").strip().splitlines() if ln][-3:]
            reason = t("campaign.run.stage_failed", job.lang, stage=outcome.failed.key,
                       code=outcome.failed.code) + (": " + " / ".join(tail) if tail else "")
            return state("failed", reason, outcome.exit_code)
        if inst.datasets is not None:
            from .quality import quality_into

            try:
                quality_into(folder, inst.datasets, job.lang)
            except ConformanceError as exc:
                notes.append(t("campaign.run.quality_failed", job.lang, msg=exc.render(job.lang)))
        return state("assessed", None, outcome.exit_code)
    except ConformanceError as exc:
        return state("failed", exc.render(job.lang).strip().splitlines()[0][:500])
    except Exception as exc:  # noqa: BLE001 - one institution's bug must not stop the campaign
        return state("failed", f"{type(exc).__name__}: {str(exc)[:400]}")


def _select(campaign: Campaign, only: Sequence[str] | None, lang: str) -> list[Institution]:
    if not only:
        return list(campaign.institutions)
    unknown = [i for i in only if campaign.get(i) is None]
    if unknown:
        raise ConformanceError(t("campaign.run.unknown_ids", lang, ids=", ".join(unknown),
                                 known=", ".join(i.id for i in campaign.institutions)))
    return [i for i in campaign.institutions if i.id in set(only)]


def run_campaign(campaign: Campaign, *, jobs: int | None = None,
                 only: Sequence[str] | None = None, yes: bool = False, lang: str = "zh",
                 on_event: Listener | None = None) -> RunOutcome:
    """Assess the selected institutions (all by default) with at most ``jobs`` at a time."""
    emit = on_event or (lambda *a: None)
    selected = _select(campaign, only, lang)
    state = read_state(campaign)
    outcome = RunOutcome()
    todo: list[Institution] = []
    for inst in selected:
        prev = state.institutions.get(inst.id)
        if prev is not None and prev.status == "assessed" and folder_verifies(
                campaign.run_dir(inst.id)):
            outcome.skipped.append(inst.id)
            emit("skip", inst.id, prev)
        else:
            todo.append(inst)
    if not todo:
        return outcome
    campaign.runs_dir.mkdir(parents=True, exist_ok=True)
    s = campaign.settings
    workers = max(1, min(jobs or s.jobs, len(todo)))
    with contextlib.ExitStack() as stack:
        scheduler = None
        if s.doc_engine == "dask" and not s.doc_scheduler:
            from ..distributed import DaskPool

            pool = stack.enter_context(DaskPool(None, s.doc_jobs))
            scheduler = pool.cluster.scheduler_address if pool.cluster else None
        jobs_ = {inst.id: Job(inst, s, campaign.index_systems[inst.kind],
                              campaign.run_dir(inst.id), yes, lang, scheduler) for inst in todo}
        ctx = multiprocessing.get_context("spawn")
        ex = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
        futures: dict[cf.Future[InstitutionState], str] = {}
        try:
            for inst in todo:
                emit("start", inst.id, None)
                futures[ex.submit(assess_institution, jobs_[inst.id])] = inst.id
            for fut in cf.as_completed(futures):
                ident = futures[fut]
                try:
                    st = fut.result()
                except Exception as exc:  # noqa: BLE001 - a worker that died
                    st = InstitutionState(status="failed", reason=t("campaign.run.worker_stopped", lang,
                                                                   msg=exc),
                                          finished=now_utc())
                outcome.states[ident] = st
                state.institutions[ident] = st
                write_state(campaign, state)
                emit("done", ident, st)
        except KeyboardInterrupt:
            outcome.interrupted = True
            for fut in futures:
                fut.cancel()
        finally:
            ex.shutdown(wait=not outcome.interrupted, cancel_futures=True)
    return outcome


# ------------------------------------------------------------------------------------ collect
@dataclass
class Submission:
    path: Path
    institution: str | None
    accepted: bool
    reasons: list[str] = field(default_factory=list)


def _which(campaign: Campaign, arg: str) -> tuple[str | None, Path]:
    if "=" in arg and campaign.get(arg.split("=", 1)[0]) is not None:
        ident, _, path = arg.partition("=")
        return ident, Path(path)
    p = Path(arg)
    name = p.resolve().name
    if campaign.get(name) is not None:
        return name, p
    for inst in campaign.institutions:
        if name.endswith("-" + inst.id):
            return inst.id, p
    return None, p


def check_submission(folder: RunFolder, inst: Institution, lang: str) -> list[str]:
    """Why a submitted run folder cannot be taken (empty: it can): no manifest, a file that
    does not match it, files it does not list, artifacts of different tool versions or rulesets
    (a mixed folder), another kind of institution, or no score."""
    if not folder.path.is_dir():
        return [t("campaign.collect.not_folder", lang, path=folder.path)]
    if not folder.has("manifest"):
        return [t("campaign.collect.unsealed", lang, path=folder.path)]
    names = [folder.file(n).name for n in folder.present]
    ver = folder.verify(names)
    reasons = [t(key, lang, **values) for key, values in ver.problems]
    if reasons:
        return reasons
    try:
        tools = folder.tools()
        profile = folder.profile()
    except ArtifactError as exc:
        return [exc.render(lang)]
    stamps = {(tl.version, tl.ruleset) for tl in tools.values()}
    if len({v for v, _ in stamps}) > 1 or len({r for _, r in stamps if r}) > 1:
        listed = ", ".join(f"{n}: {tl.version}/{tl.ruleset or '-'}" for n, tl in tools.items())
        reasons.append(t("campaign.collect.mixed", lang, stamps=listed))
    # the names only: an embedded platform gets a new port for every stage
    targets = {str(art.target.get("name")) for art in (folder.results, folder.perf)
               if art is not None and art.target and art.target.get("name")}
    if len(targets) > 1:
        reasons.append(t("campaign.collect.mixed_targets", lang,
                         targets=", ".join(sorted(targets))))
    if profile and profile != inst.profile:
        reasons.append(t("campaign.collect.profile", lang, got=profile, want=inst.profile,
                         id=inst.id))
    if not folder.has("score"):
        reasons.append(t("campaign.collect.no_score", lang, path=folder.path))
    return reasons


def collect(campaign: Campaign, paths: Sequence[str], lang: str = "zh") -> list[Submission]:
    """Import the run folders institutions submitted: each verified against its manifest and
    copied to ``runs/<id>/`` (replacing what was there) — or refused with the reasons."""
    state = read_state(campaign)
    out: list[Submission] = []
    for arg in paths:
        ident, path = _which(campaign, arg)
        if ident is None:
            out.append(Submission(path, None, False, [t(
                "campaign.collect.which", lang, path=path,
                known=", ".join(i.id for i in campaign.institutions))]))
            continue
        inst = campaign.get(ident)
        assert inst is not None
        reasons = check_submission(RunFolder(path), inst, lang)
        if reasons:
            out.append(Submission(path, ident, False, reasons))
            prev = state.institutions.get(ident)
            if prev is None or prev.status != "assessed":
                state.institutions[ident] = InstitutionState(
                    status="refused", reason="; ".join(reasons)[:1000], source="submitted",
                    finished=now_utc(), submitted_from=str(path))
            continue
        dest = campaign.run_dir(ident)
        tmp = dest.with_name(f".{ident}.collecting")
        if tmp.exists():
            shutil.rmtree(tmp)
        shutil.copytree(path, tmp)
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
        notes: list[str] = []
        if inst.datasets is not None:
            from .quality import quality_into

            try:
                quality_into(RunFolder(dest), inst.datasets, lang)
            except ConformanceError as exc:
                notes.append(t("campaign.run.quality_failed", lang, msg=exc.render(lang)))
        state.institutions[ident] = InstitutionState(status="assessed", source="submitted",
                                                     finished=now_utc(), notes=notes,
                                                     submitted_from=str(path))
        out.append(Submission(path, ident, True))
    write_state(campaign, state)
    return out


__all__ = ["ARTIFACTS", "Job", "RunOutcome", "Submission", "assess_institution", "collect",
           "check_submission", "folder_verifies", "read_state", "run_campaign", "write_state"]
