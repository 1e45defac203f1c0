"""Read the machine results a score is computed from, after verifying them.

Files read from each run folder (all optional, at least one required):

* ``validate.json`` — the ``conformance validate --format json`` object
  ``{"tool", "documents": [{"path", "document_type", "valid", "findings": [{"severity", "rule"}]}],
  "summary"}``;
* ``results.json`` — ``conformance run`` (issue 4):
  ``{"tool", "target", "profile", "cases": [{"id", "service", "kind": "positive"|"negative"|"workflow",
  "result": "pass"|"fail"|"error"|"skip", "checks": [...]}], "summary"}``;
* ``perf.json`` — ``conformance perf`` (issue 5): ``{"tool", "bands": [{"item", "service", "median_ms",
  "band"}], "steps": [...], "thresholds": [...]}``;
* ``datasets.json`` — a data-set conformance result (issue 8), minimal shape read here:
  ``{"tool", "datasets": [{"id", "name"?, "verdict"}]}`` where verdict is 完全覆盖且符合 | 部分符合 |
  无此数据 (or conformant | partial | absent; a ``verdict_key`` full | partial | none wins when
  present). An entry matches an item by id (WS445.<part>.<subset>), then ``assessment_item``, then
  name. "无此数据" with zero ``records`` and ``documents`` means the inputs did not cover that set and
  is ignored (the questionnaire answers). Also accepted via ``--datasets FILE`` — so the output of
  ``conformance validate-dataset --format json`` can be passed as it is.

Before anything is used: each folder's manifest.json (when present) is checked file by file, every
file must carry a ``tool`` stamp, and inputs written by different tool versions — or, for the same
kind of file, with different rulesets — are refused."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .manifest import sha256_file, verify_manifest
from .messages import m

FILES = {"validate.json": "validate", "results.json": "run", "perf.json": "perf",
         "datasets.json": "datasets"}
MAX_JSON = 512 * 1024 * 1024

VERDICTS = {
    "full": "conformant", "完全覆盖且符合": "conformant", "完全符合": "conformant",
    "conformant": "conformant", "pass": "conformant",
    "部分符合": "partial", "partial": "partial", "fail": "partial",
    "无此数据": "absent", "absent": "absent", "none": "absent",
}


class ResultsError(Exception):
    """Inputs that must not be scored (tampered, mixed versions, malformed); `problems` are
    (message key, values) pairs rendered in the user's language."""

    def __init__(self, problems: list[tuple[str, dict[str, Any]]]) -> None:
        self.problems = problems
        super().__init__(self.render("en"))

    def render(self, lang: str = "zh") -> str:
        return "\n".join(m(k, lang, **v) for k, v in self.problems)


@dataclass
class DocFacts:
    samples: list[dict[str, Any]] = field(default_factory=list)  # {path, valid, errors, rules, source}


@dataclass
class CaseFacts:
    id: str
    kind: str
    result: str
    source: str
    failed_checks: list[str] = field(default_factory=list)


@dataclass
class RunInputs:
    folders: list[Path] = field(default_factory=list)
    documents: dict[str, DocFacts] = field(default_factory=dict)
    services: dict[str, list[CaseFacts]] = field(default_factory=dict)
    perf: list[dict[str, Any]] = field(default_factory=list)
    datasets: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)
    targets: list[str] = field(default_factory=list)

    def service_cases(self, keys: tuple[str, ...]) -> list[CaseFacts]:
        want = {_norm(k) for k in keys}
        out: list[CaseFacts] = []
        for key, cases in self.services.items():
            if _norm(key) in want:
                out.extend(cases)
        return out

    def perf_entry(self, code: str, keys: tuple[str, ...]) -> dict[str, Any] | None:
        for entry in self.perf:
            if str(entry.get("item", "")).strip() == code:
                return entry
        want = {_norm(k) for k in keys}
        for entry in self.perf:
            if entry.get("item") in (None, "") and _norm(str(entry.get("service", ""))) in want:
                return entry
        return None

    def dataset(self, ids: tuple[str, ...], names: tuple[str, ...],
                code: str | None = None) -> dict[str, Any] | None:
        want_ids = {_norm(k) for k in ids}
        want_names = {_norm(k) for k in names}
        for entry in self.datasets:
            if _norm(str(entry.get("id", ""))) in want_ids:
                return entry
        for entry in self.datasets:
            if code is not None and str(entry.get("assessment_item", "")).strip() == code:
                return entry
        for entry in self.datasets:
            if _norm(str(entry.get("name", ""))) in want_names:
                return entry
        return None


def _norm(text: str) -> str:
    return "".join(str(text).split()).casefold()


def _read_json(path: Path) -> Any:
    size = path.stat().st_size
    if size > MAX_JSON:
        raise ResultsError([("r.shape", {"path": str(path), "msg": f"file too large ({size} bytes)"})])
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise ResultsError([("r.bad_json", {"path": str(path), "line": exc.lineno,
                                            "col": exc.colno, "msg": exc.msg})]) from None
    except UnicodeDecodeError as exc:
        raise ResultsError([("r.shape", {"path": str(path), "msg": f"not UTF-8 ({exc.reason})"})]) from None


def _tool(path: Path, data: Any) -> dict[str, Any]:
    tool = data.get("tool") if isinstance(data, dict) else None
    if not isinstance(tool, dict) or not tool.get("name") or not tool.get("version"):
        raise ResultsError([("r.not_ours", {"path": str(path)})])
    return tool


def _shape(path: Path, ok: bool, msg: str) -> None:
    if not ok:
        raise ResultsError([("r.shape", {"path": str(path), "msg": msg})])


def _add_validate(inp: RunInputs, path: Path, data: dict[str, Any]) -> None:
    docs = data.get("documents")
    _shape(path, isinstance(docs, list), "'documents' must be a list")
    for i, doc in enumerate(docs):
        _shape(path, isinstance(doc, dict), f"documents[{i}] must be an object")
        dtype = doc.get("document_type")
        if not dtype:
            continue
        findings = doc.get("findings") or []
        _shape(path, isinstance(findings, list), f"documents[{i}].findings must be a list")
        errors = [f for f in findings if isinstance(f, dict) and f.get("severity") == "error"]
        valid = bool(doc.get("valid")) and not errors
        inp.documents.setdefault(str(dtype), DocFacts()).samples.append({
            "path": doc.get("path"), "valid": valid, "errors": len(errors),
            "rules": sorted({str(f.get("rule")) for f in errors})[:5], "source": str(path)})


def _add_run(inp: RunInputs, path: Path, data: dict[str, Any]) -> None:
    cases = data.get("cases")
    _shape(path, isinstance(cases, list), "'cases' must be a list")
    if data.get("target"):
        inp.targets.append(str(data["target"]))
    for i, case in enumerate(cases):
        _shape(path, isinstance(case, dict), f"cases[{i}] must be an object")
        kind, result = case.get("kind"), case.get("result")
        _shape(path, kind in ("positive", "negative", "workflow"),
               f"cases[{i}].kind must be positive, negative or workflow, found {kind!r}")
        _shape(path, result in ("pass", "fail", "error", "skip"),
               f"cases[{i}].result must be pass, fail, error or skip, found {result!r}")
        service = case.get("service")
        if not service:
            continue
        failed = [str(c.get("id")) for c in case.get("checks") or []
                  if isinstance(c, dict) and c.get("result") not in ("pass", "skip")][:5]
        inp.services.setdefault(str(service), []).append(
            CaseFacts(str(case.get("id", f"cases[{i}]")), kind, result, str(path), failed))


def _add_perf(inp: RunInputs, path: Path, data: dict[str, Any]) -> None:
    bands = data.get("bands")
    _shape(path, isinstance(bands, list), "'bands' must be a list")
    for i, b in enumerate(bands):
        _shape(path, isinstance(b, dict), f"bands[{i}] must be an object")
        ms = b.get("median_ms")
        _shape(path, ms is None or isinstance(ms, int | float), f"bands[{i}].median_ms must be a number")
        inp.perf.append({**b, "source": str(path)})


def _add_datasets(inp: RunInputs, path: Path, data: dict[str, Any]) -> None:
    sets = data.get("datasets")
    _shape(path, isinstance(sets, list), "'datasets' must be a list")
    for i, s in enumerate(sets):
        _shape(path, isinstance(s, dict) and (s.get("id") or s.get("name")),
               f"datasets[{i}] must be an object with an id or a name")
        verdict = VERDICTS.get(_norm(str(s.get("verdict_key") or s.get("verdict", ""))))
        _shape(path, verdict is not None,
               f"datasets[{i}].verdict must be 完全覆盖且符合, 部分符合 or 无此数据, "
               f"found {s.get('verdict')!r}")
        # "无此数据" for a set the inputs never touched (no records, no documents) says nothing
        # about the hospital: such entries are left to the questionnaire
        untouched = verdict == "absent" and not s.get("records") and not s.get("documents") \
            and ("records" in s or "documents" in s)
        if not untouched:
            inp.datasets.append({**s, "verdict_norm": verdict, "source": str(path)})


_ADD = {"validate": _add_validate, "run": _add_run, "perf": _add_perf, "datasets": _add_datasets}


def load_results(folders: list[Path], datasets_file: Path | None = None,
                 current_tool: dict[str, Any] | None = None) -> RunInputs:
    """Verify and read the result files of the given run folders (and an extra data-set result)."""
    inp = RunInputs(folders=list(folders))
    problems: list[tuple[str, dict[str, Any]]] = []
    files: list[tuple[Path, str, str | None]] = []  # (path, kind, verified sha or None)
    for folder in folders:
        if not folder.is_dir():
            problems.append(("r.not_dir", {"path": str(folder)}))
            continue
        present = [name for name in FILES if (folder / name).is_file()]
        if not present:
            problems.append(("r.empty", {"path": str(folder)}))
            continue
        ver = verify_manifest(folder, present)
        problems.extend(ver.problems)
        if not ver.present:
            inp.warnings.append(("r.no_manifest", {"folder": str(folder)}))
        for name in present:
            files.append((folder / name, FILES[name], ver.checked.get(name)))
    if datasets_file is not None:
        if not datasets_file.is_file():
            problems.append(("r.not_dir", {"path": str(datasets_file)}))
        else:
            files.append((datasets_file, "datasets", None))
    if problems:
        raise ResultsError(problems)
    stamps: list[tuple[Path, str, dict[str, Any]]] = []
    for path, kind, verified in files:
        data = _read_json(path)
        _shape(path, isinstance(data, dict), "the top level must be a JSON object")
        tool = _tool(path, data)
        stamps.append((path, kind, tool))
        _ADD[kind](inp, path, data)
        inp.kinds.add(kind)
        inp.inputs.append({"path": str(path), "kind": kind,
                           "sha256": verified or sha256_file(path), "verified": verified is not None,
                           "tool": {k: tool.get(k) for k in ("name", "version", "ruleset")}})
    _check_versions(stamps, folders)
    if current_tool:
        versions = {t.get("version") for _, _, t in stamps}
        if versions and versions != {current_tool.get("version")}:
            inp.warnings.append(("r.other_version", {"got": ", ".join(sorted(map(str, versions))),
                                                     "now": current_tool.get("version")}))
        for path, kind, tool in stamps:
            if kind == "validate" and tool.get("ruleset") and current_tool.get("ruleset") \
                    and tool["ruleset"] != current_tool["ruleset"]:
                inp.warnings.append(("r.other_ruleset", {"path": str(path), "got": tool["ruleset"],
                                                         "now": current_tool["ruleset"]}))
    return inp


def _check_versions(stamps: list[tuple[Path, str, dict[str, Any]]], folders: list[Path]) -> None:
    problems: list[tuple[str, dict[str, Any]]] = []
    first: tuple[Path, str, dict[str, Any]] | None = None
    for stamp in stamps:
        if first is None:
            first = stamp
            continue
        (pa, _, ta), (pb, _, tb) = first, stamp
        if (ta.get("name"), ta.get("version")) != (tb.get("name"), tb.get("version")):
            problems.append(("r.mixed_version", {
                "a": str(pa), "va": f"{ta.get('name')} {ta.get('version')}",
                "b": str(pb), "vb": f"{tb.get('name')} {tb.get('version')}"}))
            break
    by_kind: dict[str, tuple[Path, str]] = {}
    for path, kind, tool in stamps:
        rs = tool.get("ruleset")
        if rs is None:
            continue
        if kind in by_kind and by_kind[kind][1] != rs:
            problems.append(("r.mixed_ruleset", {"a": str(by_kind[kind][0]), "ra": by_kind[kind][1],
                                                 "b": str(path), "rb": rs}))
        by_kind.setdefault(kind, (path, rs))
    # a manifest sealed by one version must not cover files written by another
    for folder in folders:
        mpath = folder / "manifest.json"
        if not mpath.is_file():
            continue
        try:
            mtool = json.loads(mpath.read_text(encoding="utf-8")).get("tool") or {}
        except (OSError, ValueError, AttributeError):
            continue
        for path, _, tool in stamps:
            if path.parent == folder and mtool.get("version") and tool.get("version") != mtool.get("version"):
                problems.append(("r.manifest_version", {"path": str(path), "vf": tool.get("version"),
                                                        "vm": mtool.get("version")}))
    if problems:
        raise ResultsError(problems)


def digest_bytes(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()
