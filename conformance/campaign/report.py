"""`campaign report`: the typed ``CampaignReport`` (campaign.json) built from campaign.yaml,
state.json and every institution's run folder — read only through ``RunFolder`` and the codecs.

- the league table: level, total and dimension scores under the national scheme, the score under
  the city's index system, rank within the kind, change against ``--previous``;
- per institution the 问题清单 (failing indicators, services, document types, data-set verdicts,
  data-quality problems, with counts and examples) and the 任务清单 (one task per problem: what
  to fix, owner, deadline from the policy, status);
- the follow-up review (成效“回头看”) of every task of the previous campaign: fixed, still open
  or reopened (found again after it was closed or reported done);
- levels by district, institutions below their target level, and data quality per institution,
  district and region (numerators and denominators added up)."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import ConformanceError
from ..i18n import t
from ..model.campaign import (
    CampaignInfo,
    CampaignReport,
    Change,
    CityScore,
    DimensionCell,
    Example,
    FollowUp,
    InstitutionRow,
    LevelCount,
    Problem,
    QualityRow,
    Task,
)
from ..model.common import ToolStamp
from ..model.folder import RunFolder, now_utc
from ..model.io import ArtifactError, campaign_json
from ..model.quality import QualityFigure, QualityFigures
from .config import Campaign, Institution
from .config import load as load_campaign
from .runner import read_state

FAILURE_KINDS = ("indicator", "service", "document", "dataset")
MAX_EXAMPLES = 3
MAX_QUALITY_PROBLEMS = 10


# ------------------------------------------------------------------------------ problems
def _ex(where: str, message: str = "") -> Example:
    return Example(where=where, message=message[:300])


def indicator_problems(folder: RunFolder, target_level: str | None, lang: str) -> list[Problem]:
    score = folder.score
    if score is None:
        return []
    blocking: set[str] = set()
    for gap in score.gaps:
        if target_level is None or gap.level == target_level:
            blocking |= {g.code for g in gap.missing}
            if target_level is not None:
                break
    out = []
    for it in score.indicators:
        if it.status not in ("not_met", "unanswered"):
            continue
        text = it.text_en if lang == "en" and isinstance(it.text_en, str) and it.text_en \
            else it.text
        detail = "; ".join(it.reasons[:2])
        out.append(Problem(key=f"indicator:{it.code}", kind="indicator", subject=it.code,
                           title=f"{it.code} {text}",
                           detail=t(f"campaign.status.{it.status}", lang)
                           + (f" — {detail}" if detail else ""),
                           blocking=it.code in blocking and target_level is not None,
                           item=it.code))
    return out


def service_problems(folder: RunFolder, blocking_items: dict[str, str], lang: str) -> list[Problem]:
    results = folder.results
    if results is None:
        return []
    by_service: dict[str, list[Any]] = defaultdict(list)
    for case in results.cases:
        if case.failing:
            by_service[case.service or case.id].append(case)
    out = []
    for svc, cases in by_service.items():
        examples = []
        for case in cases[:MAX_EXAMPLES]:
            first = next((c for c in case.checks if c.failing), None)
            examples.append(_ex(case.id, f"{first.id}: {first.message}" if first else
                                str(case.result)))
        out.append(Problem(key=f"service:{svc}", kind="service", subject=svc,
                           title=t("campaign.problem.service", lang, service=svc),
                           detail=t("campaign.problem.cases", lang, n=len(cases)),
                           count=len(cases), examples=examples,
                           blocking=svc in blocking_items, item=blocking_items.get(svc)))
    return out


def document_problems(folder: RunFolder, lang: str) -> list[Problem]:
    validate = folder.validate
    if validate is None:
        return []
    by_type: dict[str, list[Any]] = defaultdict(list)
    names: dict[str, str] = {}
    for doc in validate.documents:
        if doc.valid:
            continue
        key = doc.document_type or "unknown"
        by_type[key].append(doc)
        if doc.document_name:
            names[key] = doc.document_name
    out = []
    for dtype, docs in by_type.items():
        examples = []
        for doc in docs[:MAX_EXAMPLES]:
            first = next((f for f in doc.findings if f.severity == "error"), None)
            where = doc.path + (f":{first.line}" if first and first.line else "")
            examples.append(_ex(where, f"{first.rule} {first.message}" if first else ""))
        errors = sum(d.errors for d in docs)
        out.append(Problem(key=f"document:{dtype}", kind="document", subject=dtype,
                           title=t("campaign.problem.document", lang, type=dtype,
                                   name=names.get(dtype, "")),
                           detail=t("campaign.problem.documents", lang, n=len(docs),
                                    errors=errors),
                           count=len(docs), examples=examples))
    return out


def dataset_problems(folder: RunFolder, lang: str) -> list[Problem]:
    ds = folder.datasets
    if ds is None:
        return []
    out = []
    for v in ds.datasets:
        if v.verdict_key == "full" or (v.verdict_key == "none" and not v.touched):
            continue
        missing = [e.id for e in v.elements.missing[:5]]
        detail = v.verdict + (f" — {t('campaign.problem.missing', lang)}: {', '.join(missing)}"
                              if missing else "")
        examples = [_ex(f"{k}", str(n)) for k, n in list(v.defects.items())[:MAX_EXAMPLES]]
        out.append(Problem(key=f"dataset:{v.id}", kind="dataset", subject=v.id,
                           title=f"{v.id} {v.name or ''}".strip(), detail=detail,
                           count=max(1, v.errors), examples=examples))
    return out


def quality_problems(folder: RunFolder, lang: str) -> list[Problem]:
    q = folder.read("quality")
    if q is None:
        return []
    out = []
    for issue in q.issues[:MAX_QUALITY_PROBLEMS]:
        subject = ":".join(x for x in (issue.rule, issue.dataset, issue.element or "") if x)
        what = issue.element_name or issue.element or ""
        out.append(Problem(
            key=f"quality:{subject}", kind="quality", subject=subject,
            title=t("campaign.problem.quality", lang, rule=issue.rule, dataset=issue.dataset,
                    element=what),
            detail=issue.examples[0].message if issue.examples else "",
            count=issue.count,
            examples=[_ex(f"{e.file}:{e.row}" if e.row else e.file, e.message)
                      for e in issue.examples[:MAX_EXAMPLES]]))
    return out


def _service_items(folder: RunFolder, blocking_codes: set[str]) -> dict[str, str]:
    """service action → the blocking indicator whose evidence names it."""
    score = folder.score
    out: dict[str, str] = {}
    if score is None:
        return out
    for it in score.indicators:
        if it.code not in blocking_codes:
            continue
        for ev in it.evidence:
            if isinstance(ev, dict) and ev.get("kind") == "cases" and ev.get("service"):
                out[str(ev["service"])] = it.code
    return out


def problems_of(folder: RunFolder, target_level: str | None, lang: str) -> list[Problem]:
    indicators = indicator_problems(folder, target_level, lang)
    blocking = {p.subject for p in indicators if p.blocking}
    return [*indicators, *service_problems(folder, _service_items(folder, blocking), lang),
            *document_problems(folder, lang), *dataset_problems(folder, lang),
            *quality_problems(folder, lang)]


# ------------------------------------------------------------------------------ tasks
def tasks_for(inst: Institution, problems: list[Problem], campaign: Campaign, issued: date,
              lang: str) -> list[Task]:
    out = []
    for p in problems:
        days = campaign.days.get(p.kind, 90)
        if p.blocking and campaign.blocking_days is not None:
            days = min(days, campaign.blocking_days)
        owner = campaign.owners.get(p.kind, "")
        if inst.owner:
            owner = f"{owner} · {inst.owner}" if owner else inst.owner
        out.append(Task(id=f"{inst.id}:{p.key}", problem=p.key, kind=p.kind,
                        action=t(f"campaign.task.{p.kind}", lang, title=p.title),
                        owner=owner, deadline=(issued + timedelta(days=days)).isoformat(),
                        blocking=p.blocking))
    return out


def reported_done(inst: Institution, lang: str = "zh") -> set[str]:
    """Task ids (or problem keys) the institution's rectification feedback reports done."""
    if inst.rectification is None:
        return set()
    from ..yamlio import YamlError, load_file

    try:
        data, _ = load_file(inst.rectification)
    except YamlError as exc:
        raise ConformanceError.like(exc) from None
    done = data.get("done") if isinstance(data, dict) else None
    if not isinstance(done, list):
        raise ConformanceError(t("campaign.feedback.shape", lang, path=inst.rectification))
    out = set()
    for item in done:
        key = str(item)
        out.add(key if key.startswith(f"{inst.id}:") else f"{inst.id}:{key}")
    return out


# ------------------------------------------------------------------------------ city index
def city_score(folder: RunFolder, inst: Institution, campaign: Campaign, row: InstitutionRow,
               lang: str) -> CityScore:
    """The score under the city's own index system (``campaign.city_index``)."""
    if not campaign.city_index:
        return CityScore()
    from .city import score_city

    return score_city(folder, inst, campaign, row, lang)


# ------------------------------------------------------------------------------ building
def _dimensions(score: Any) -> list[DimensionCell]:
    return [DimensionCell(id=d.id, name=d.name, score=d.score, max=d.max)
            for d in score.dimensions]


def _rank(rows: list[InstitutionRow]) -> None:
    by_kind: dict[str, list[InstitutionRow]] = defaultdict(list)
    for r in rows:
        if r.status == "assessed" and r.total is not None:
            by_kind[r.kind].append(r)
    for group in by_kind.values():
        use_city = all(r.city.total is not None for r in group)

        def key(r: InstitutionRow, use_city: bool = use_city) -> tuple[float, float]:
            main = r.city.total if use_city else r.total
            return (-(main or 0.0), -(r.total or 0.0))

        group.sort(key=key)
        prev_key, rank = None, 0
        for i, r in enumerate(group, 1):
            k = key(r)
            if k != prev_key:
                rank, prev_key = i, k
            r.rank = rank


def _sum_figures(figs: Iterable[QualityFigures]) -> QualityFigures:
    acc: dict[tuple[str, str], list[Any]] = {}
    order: list[tuple[str, str]] = []
    records = 0
    for f in figs:
        records += f.records
        for group in ("governance", "emr"):
            for fig in getattr(f, group):
                key = (group, fig.id)
                if key not in acc:
                    acc[key] = [fig.name, 0, 0, [], fig.provisional]
                    order.append(key)
                a = acc[key]
                if fig.numerator is not None and fig.denominator:
                    a[1] += fig.numerator
                    a[2] += fig.denominator
                elif fig.numerator is None and fig.value is not None:
                    a[3].append(fig.value)   # usefulness: a mean of values
    out = QualityFigures(records=records)
    for group, fid in order:
        name, num, den, values, prov = acc[(group, fid)]
        if den:
            fig = QualityFigure(id=fid, name=name, value=round(num / den, 4), numerator=num,
                                denominator=den, provisional=prov)
        elif values:
            fig = QualityFigure(id=fid, name=name, value=round(sum(values) / len(values), 4),
                                denominator=len(values), provisional=prov)
        else:
            fig = QualityFigure(id=fid, name=name, provisional=prov)
        getattr(out, group).append(fig)
    return out


def _quality_rows(rows: list[InstitutionRow], campaign: Campaign, lang: str) -> list[QualityRow]:
    out = []
    with_q = [r for r in rows if r.quality is not None]
    for r in with_q:
        q = r.quality
        assert q is not None
        out.append(QualityRow(scope="institution", id=r.id, name=r.name, district=r.district,
                              records=q.records, governance=q.governance, emr=q.emr))
    by_district: dict[str, list[InstitutionRow]] = defaultdict(list)
    for r in with_q:
        by_district[r.district or ""].append(r)
    for district, members in sorted(by_district.items()):
        s = _sum_figures(m.quality for m in members if m.quality is not None)
        out.append(QualityRow(scope="district", id=district or "-",
                              name=district or t("campaign.no_district", lang),
                              district=district or None, institutions=len(members),
                              records=s.records, governance=s.governance, emr=s.emr))
    if with_q:
        s = _sum_figures(m.quality for m in with_q if m.quality is not None)
        out.append(QualityRow(scope="region", id="*", name=campaign.region or
                              t("campaign.region", lang), institutions=len(with_q),
                              records=s.records, governance=s.governance, emr=s.emr))
    return out


def _distribution(rows: list[InstitutionRow]) -> list[LevelCount]:
    acc: dict[tuple[str, str], LevelCount] = {}
    for r in rows:
        key = (r.district or "-", r.kind)
        lc = acc.setdefault(key, LevelCount(district=key[0], kind=r.kind))
        lc.institutions += 1
        label = r.level if r.status == "assessed" and r.level else ""
        lc.counts[label] = lc.counts.get(label, 0) + 1
    return [acc[k] for k in sorted(acc)]


def _change(row: InstitutionRow, prev: InstitutionRow | None, levels: list[str]) -> Change | None:
    if prev is None:
        return None
    step = None
    if row.level_index is not None and prev.level_index is not None and \
            row.index_system == prev.index_system:
        diff = row.level_index - prev.level_index
        step = (diff > 0) - (diff < 0)
    elif row.level and prev.level and row.level in levels and prev.level in levels:
        diff = levels.index(row.level) - levels.index(prev.level)
        step = (diff > 0) - (diff < 0)
    now = {p.key for p in row.problems if p.kind in FAILURE_KINDS}
    before = {p.key for p in prev.problems if p.kind in FAILURE_KINDS}

    def delta(a: float | None, b: float | None) -> float | None:
        return round(a - b, 2) if a is not None and b is not None else None

    return Change(previous_level=prev.level, level_step=step,
                  score_delta=delta(row.total, prev.total),
                  city_delta=delta(row.city.total, prev.city.total),
                  rank_delta=(prev.rank - row.rank) if prev.rank and row.rank else None,
                  new_failures=sorted(now - before), fixed_failures=sorted(before - now))


def _follow_up(prev: CampaignReport, rows: dict[str, InstitutionRow],
               done: dict[str, set[str]], today: date) -> list[FollowUp]:
    out = []
    for prow in prev.institutions:
        row = rows.get(prow.id)
        assessed = row is not None and row.status == "assessed"
        present = {p.key for p in row.problems} if row is not None else set()
        for task in prow.tasks:
            claimed = task.id in done.get(prow.id, set())
            if assessed and task.problem not in present:
                status = "fixed"
            elif task.status == "fixed" or claimed:
                status = "reopened" if assessed else "still_open"
            else:
                status = "still_open"
            overdue = status != "fixed" and bool(task.deadline) and \
                date.fromisoformat(str(task.deadline)) < today
            out.append(FollowUp(task=task.id, institution=prow.id, kind=task.kind,
                                action=task.action, owner=task.owner, deadline=task.deadline,
                                previous_status=task.status, reported_done=claimed,
                                status=status, overdue=overdue))
    return out


def load_previous(path: str | Path, lang: str) -> CampaignReport:
    """The previous campaign's report: its campaign.json, else built from its folder."""
    p = Path(path)
    if (p / campaign_json.CODEC.filename).is_file():
        return campaign_json.load(p / campaign_json.CODEC.filename)
    if p.is_file() and p.suffix == ".json":
        return campaign_json.load(p)
    return build_report(load_campaign(p, lang, check_paths=False), lang=lang)


def build_report(campaign: Campaign, *, previous: CampaignReport | None = None,
                 previous_path: str | None = None, lang: str = "zh",
                 today: date | None = None) -> CampaignReport:
    state = read_state(campaign)
    issued = campaign.issued or today or date.today()
    warnings: list[str] = []
    rows: list[InstitutionRow] = []
    levels_by_kind: dict[str, list[str]] = {}
    done: dict[str, set[str]] = {}
    for inst in campaign.institutions:
        st = state.institutions.get(inst.id)
        folder = RunFolder(campaign.run_dir(inst.id))
        target = campaign.target_levels.get(inst.kind)
        row = InstitutionRow(id=inst.id, name=inst.name, kind=inst.kind, district=inst.district,
                             owner=inst.owner, target_level=target,
                             index_system=campaign.index_systems.get(inst.kind))
        if st is None:
            row.status, row.reason = "missing", t("campaign.reason.missing", lang)
        else:
            row.status, row.reason, row.source = st.status, st.reason, st.source
        if row.status == "assessed":
            try:
                _fill(row, folder, inst, campaign, issued, lang)
            except ArtifactError as exc:
                row.status, row.reason = "failed", exc.render(lang)
            if row.status == "assessed" and row.level is not None:
                levels_by_kind.setdefault(inst.kind, list(folder.score.levels))  # type: ignore
        try:
            done[inst.id] = reported_done(inst, lang)
        except ConformanceError as exc:
            warnings.append(exc.render(lang))
        rows.append(row)
    _rank(rows)
    by_id = {r.id: r for r in rows}
    follow: list[FollowUp] = []
    if previous is not None:
        prev_rows = {r.id: r for r in previous.institutions}
        for r in rows:
            if r.status == "assessed":
                r.change = _change(r, prev_rows.get(r.id), levels_by_kind.get(r.kind, []))
        follow = _follow_up(previous, by_id, done, issued)
        status_of = {f.task: f.status for f in follow}
        for r in rows:
            for task in r.tasks:
                if task.id in status_of:
                    task.status = status_of[task.id]
    below = [r.id for r in rows if r.target_met is False]
    qdefs: list[dict[str, str]] = []
    for r in rows:
        if r.quality is not None and r.run:
            q = RunFolder(campaign.folder / r.run).read("quality")
            qdefs = [{"id": d.id, "name": d.name, "group": d.group, "formula": d.formula,
                      "definition": d.definition} for d in q.definitions] if q else []
            if qdefs:
                break
    return CampaignReport(
        tool=ToolStamp(name="conformance", version=__version__), generated=now_utc(), lang=lang,
        campaign=CampaignInfo(name=campaign.name, region=campaign.region, period=campaign.period,
                              file=str(campaign.path), index_systems=dict(campaign.index_systems),
                              city_index=campaign.city_index,
                              target_levels=dict(campaign.target_levels),
                              issued=issued.isoformat()),
        levels=levels_by_kind, institutions=rows, distribution=_distribution(rows),
        below_target=below, follow_up=follow, quality=_quality_rows(rows, campaign, lang),
        quality_definitions=qdefs, previous=previous_path, warnings=warnings)


def _fill(row: InstitutionRow, folder: RunFolder, inst: Institution, campaign: Campaign,
          issued: date, lang: str) -> None:
    score = folder.score
    row.run = os.path.relpath(folder.path, campaign.folder)
    report = folder.path / "report.html"
    row.report = os.path.relpath(report, campaign.folder) if report.is_file() else None
    if score is None:
        row.status, row.reason = "failed", t("campaign.reason.no_score", lang)
        return
    row.index_system = score.assessment.id
    row.level, row.level_index = score.level, score.level_index
    row.level_provisional = score.level_provisional
    row.total, row.max = score.total, score.max
    row.dimensions = _dimensions(score)
    if row.target_level and row.target_level in score.levels:
        want = score.levels.index(row.target_level)
        row.target_met = score.level is not None and score.level in score.levels and \
            score.levels.index(score.level) >= want
    q = folder.read("quality")
    if q is not None:
        row.quality = QualityFigures(records=q.overall.records, governance=q.overall.governance,
                                     emr=q.overall.emr)
    row.problems = problems_of(folder, row.target_level, lang)
    row.tasks = tasks_for(inst, row.problems, campaign, issued, lang)
    row.city = city_score(folder, inst, campaign, row, lang)
