"""Read the machine results a score is computed from, after verifying them.

Every file is read through the run model (``RunFolder`` and the artifact codecs), typed:
``validate.json`` (ValidateResults), ``results.json`` (RunResults), ``perf.json`` (PerfResults)
and ``datasets.json`` (DatasetsResults; also ``--datasets FILE``, the output of
``conformance validate-dataset --format json`` as it is). At least one is required per folder.

Before anything is used: each folder's manifest.json (when present) is checked file by file
(``RunFolder.verify``), every file must carry a ``tool`` stamp, and inputs written by different
tool versions — or, for the same kind of file, with different rulesets — are refused, as are
files whose manifest was sealed by another version. Problems are (message key, values) pairs,
all reported at once per stage.

What the bindings need is kept: per document type its samples; per service its cases; the 3.3
bands; per data set its verdict (``verdict_key`` full | partial | none). A "无此数据" for a set the
inputs never touched (no records, no documents) says nothing about the institution and is left
to the questionnaire."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConformanceError
from ..i18n import t
from ..model import DatasetsResults, PerfResults, RunResults, ToolStamp, ValidateResults
from ..model.common import drop_unset
from ..model.datasets import VERDICT_WORDS
from ..model.folder import RunFolder, sha256_file
from ..model.io import ArtifactError, datasets_json

# the artifacts scores are computed from, and the kind each one is recorded as in score.json
KINDS = {"validate": "validate", "results": "run", "perf": "perf", "datasets": "datasets"}
FILES = {"validate.json": "validate", "results.json": "run", "perf.json": "perf",
         "datasets.json": "datasets"}
CASE_KINDS = ("positive", "negative", "workflow")
# the data-set verdict (verdict_key) as an item verdict
_VERDICT = {"full": "conformant", "partial": "partial", "none": "absent"}

Problems = list[tuple[str, dict[str, Any]]]


class ResultsError(ConformanceError):
    """Inputs that must not be scored (tampered, mixed versions, malformed); ``problems`` are
    (message key, values) pairs rendered in the user's language."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        super().__init__(self.render("en"))

    def render(self, lang: str = "zh") -> str:
        return "\n".join(t(k, lang, **v) for k, v in self.problems)


@dataclass
class DocSample:
    path: str
    valid: bool
    errors: int
    rules: list[str]
    source: str


@dataclass
class CaseFacts:
    id: str
    kind: str
    result: str
    source: str
    failed_checks: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.result == "pass"


@dataclass
class PerfFacts:
    item: str
    service: str
    median_ms: float | None
    band: str | None
    source: str


@dataclass
class DatasetFacts:
    id: str
    name: str | None
    assessment_item: str | None
    verdict: str          # conformant | partial | absent
    word: str             # the verdict as the data-set test gives it (完全覆盖且符合 …)
    source: str
    element_list: str | None = None   # where the data set's element list comes from
    word_en: str | None = None        # the verdict in English, when the data-set test gives it


@dataclass
class RunInputs:
    folders: list[Path] = field(default_factory=list)
    documents: dict[str, list[DocSample]] = field(default_factory=dict)
    services: dict[str, list[CaseFacts]] = field(default_factory=dict)
    perf: list[PerfFacts] = field(default_factory=list)
    datasets: list[DatasetFacts] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    warnings: Problems = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)
    targets: list[str] = field(default_factory=list)

    def service_cases(self, keys: tuple[str, ...]) -> list[CaseFacts]:
        want = {_norm(k) for k in keys}
        out: list[CaseFacts] = []
        for key, cases in self.services.items():
            if _norm(key) in want:
                out.extend(cases)
        return out

    def perf_entry(self, code: str, keys: tuple[str, ...]) -> PerfFacts | None:
        for entry in self.perf:
            if entry.item.strip() == code:
                return entry
        want = {_norm(k) for k in keys}
        for entry in self.perf:
            if not entry.item.strip() and _norm(entry.service) in want:
                return entry
        return None

    def dataset(self, ids: tuple[str, ...], names: tuple[str, ...],
                code: str | None = None) -> DatasetFacts | None:
        want_ids = {_norm(k) for k in ids}
        want_names = {_norm(k) for k in names}
        for entry in self.datasets:
            if _norm(entry.id) in want_ids:
                return entry
        for entry in self.datasets:
            if code is not None and (entry.assessment_item or "").strip() == code:
                return entry
        for entry in self.datasets:
            if _norm(entry.name or "") in want_names:
                return entry
        return None


def _norm(text: str) -> str:
    return "".join(str(text).split()).casefold()


def _shape(path: Path, ok: bool, msg: str) -> None:
    if not ok:
        raise ResultsError([("score.results.shape", {"path": str(path), "msg": msg})])


def _add_validate(inp: RunInputs, path: Path, data: ValidateResults, folder: RunFolder | None) -> None:
    for doc in data.documents:
        if not doc.document_type:
            continue
        errors = [f for f in doc.findings if f.severity == "error"]
        inp.documents.setdefault(doc.document_type, []).append(DocSample(
            doc.path, doc.valid and not errors, len(errors),
            sorted({str(f.rule) for f in errors})[:5], str(path)))


def _add_run(inp: RunInputs, path: Path, data: RunResults, folder: RunFolder | None) -> None:
    if data.target and folder is not None:
        inp.targets.append(folder.target() or "")   # as the folder names it: "embedded (http://…)"
    if not data.complete:
        inp.warnings.append(("score.results.incomplete", {"path": str(path)}))
    for i, case in enumerate(data.cases):
        _shape(path, case.kind in CASE_KINDS,
               f"cases[{i}].kind must be positive, negative or workflow, found {case.kind!r}")
        if not case.service:
            continue
        failed = [c.id for c in case.checks if c.result not in ("pass", "skip")][:5]
        inp.services.setdefault(case.service, []).append(
            CaseFacts(case.id, case.kind, str(case.result), str(path), failed))


def _add_perf(inp: RunInputs, path: Path, data: PerfResults, folder: RunFolder | None) -> None:
    for b in data.bands:
        inp.perf.append(PerfFacts(b.item, b.service, b.median_ms, b.band, str(path)))


def _add_datasets(inp: RunInputs, path: Path, data: DatasetsResults,
                  folder: RunFolder | None) -> None:
    for i, s in enumerate(data.datasets):
        verdict = _VERDICT.get(s.verdict_key)
        _shape(path, verdict is not None,
               f"datasets[{i}].verdict_key must be full, partial or none, found {s.verdict_key!r}")
        _shape(path, s.verdict == VERDICT_WORDS[s.verdict_key],
               f"datasets[{i}]: verdict {s.verdict!r} disagrees with verdict_key "
               f"{s.verdict_key!r} ({VERDICT_WORDS[s.verdict_key]}); write the file with "
               "`conformance validate-dataset --format json`")
        if s.verdict_key == "none" and not s.touched:
            continue
        inp.datasets.append(DatasetFacts(s.id, s.name, drop_unset(s.assessment_item), verdict,
                                         s.verdict, str(path), drop_unset(s.element_list),
                                         drop_unset(s.verdict_en)))


_ADD = {"validate": _add_validate, "results": _add_run, "perf": _add_perf,
        "datasets": _add_datasets}


def _artifact_problem(exc: ArtifactError) -> tuple[str, dict[str, Any]]:
    if exc.reason.endswith("missing required field `tool`"):
        return "score.results.not_ours", {"path": exc.path}
    return "score.results.artifact", {"path": exc.path, "msg": exc.problem}


def load_results(folders: list[RunFolder | Path], datasets_file: Path | None = None,
                 current_tool: ToolStamp | None = None) -> RunInputs:
    """Verify and read the result files of the given run folders (and an extra data-set
    result)."""
    runs = [f if isinstance(f, RunFolder) else RunFolder(f) for f in folders]
    inp = RunInputs(folders=[f.path for f in runs])
    problems: Problems = []
    # (path, artifact name, the folder or None, verified sha or None)
    files: list[tuple[Path, str, RunFolder | None, str | None]] = []
    manifests: dict[Path, ToolStamp | None] = {}
    for folder in runs:
        if not folder.path.is_dir():
            problems.append(("score.results.not_dir", {"path": str(folder.path)}))
            continue
        present = [name for name in KINDS if folder.has(name)]
        if not present:
            problems.append(("score.results.empty", {"path": str(folder.path)}))
            continue
        ver = folder.verify([folder.file(name).name for name in present])
        problems.extend(ver.problems)
        if not ver.present:
            inp.warnings.append(("score.results.no_manifest", {"folder": str(folder.path)}))
        manifests[folder.path] = ver.tool
        for name in present:
            path = folder.file(name)
            files.append((path, name, folder, ver.checked.get(path.name)))
    if datasets_file is not None:
        if not datasets_file.is_file():
            problems.append(("score.results.not_dir", {"path": str(datasets_file)}))
        else:
            files.append((datasets_file, "datasets", None, None))
    if problems:
        raise ResultsError(problems)
    stamps: list[tuple[Path, str, ToolStamp]] = []
    for path, name, folder, verified in files:
        try:
            data = folder.read(name) if folder is not None else datasets_json.load(path)
        except ArtifactError as exc:
            raise ResultsError([_artifact_problem(exc)]) from None
        tool = data.tool
        if not tool.name or not tool.version:
            raise ResultsError([("score.results.not_ours", {"path": str(path)})])
        kind = KINDS[name]
        stamps.append((path, kind, tool))
        _ADD[name](inp, path, data, folder)
        inp.kinds.add(kind)
        inp.inputs.append({"path": str(path), "kind": kind,
                           "sha256": verified or sha256_file(path), "verified": verified is not None,
                           "tool": {"name": tool.name, "version": tool.version,
                                    "ruleset": tool.ruleset}})
    _check_versions(stamps, manifests)
    if current_tool is not None:
        versions = {t.version for _, _, t in stamps}
        if versions and versions != {current_tool.version}:
            inp.warnings.append(("score.results.other_version", {"got": ", ".join(sorted(versions)),
                                                     "now": current_tool.version}))
        for path, kind, tool in stamps:
            if kind == "validate" and tool.ruleset and current_tool.ruleset \
                    and tool.ruleset != current_tool.ruleset:
                inp.warnings.append(("score.results.other_ruleset", {"path": str(path), "got": tool.ruleset,
                                                         "now": current_tool.ruleset}))
    return inp


def _check_versions(stamps: list[tuple[Path, str, ToolStamp]],
                    manifests: dict[Path, ToolStamp | None]) -> None:
    problems: Problems = []
    if stamps:
        pa, _, ta = stamps[0]
        for pb, _, tb in stamps[1:]:
            if (ta.name, ta.version) != (tb.name, tb.version):
                problems.append(("score.results.mixed_version", {
                    "a": str(pa), "va": f"{ta.name} {ta.version}",
                    "b": str(pb), "vb": f"{tb.name} {tb.version}"}))
                break
    by_kind: dict[str, tuple[Path, str]] = {}
    for path, kind, tool in stamps:
        rs = tool.ruleset
        if rs is None:
            continue
        if kind in by_kind and by_kind[kind][1] != rs:
            problems.append(("score.results.mixed_ruleset", {
                "a": str(by_kind[kind][0]), "ra": by_kind[kind][1], "b": str(path), "rb": rs}))
        by_kind.setdefault(kind, (path, rs))
    # a manifest sealed by one version must not cover files written by another
    for folder, mtool in manifests.items():
        if mtool is None or not mtool.version:
            continue
        for path, _, tool in stamps:
            if path.parent == folder and tool.version != mtool.version:
                problems.append(("score.results.manifest_version", {"path": str(path), "vf": tool.version,
                                                        "vm": mtool.version}))
    if problems:
        raise ResultsError(problems)
