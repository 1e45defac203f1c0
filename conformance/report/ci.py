"""A whole run folder as JUnit XML and SARIF, for CI: the report's export, feeding the typed
artifacts into the one JUnit writer (``junit.py``) and the one SARIF writer (``sarif.py``).

JUnit: one test case per validated document (classname = document type), per data set the
inputs held data for, per interaction check (classname = case id, name = check id, one suite per
scenario suite — as the run's junit.xml), per performance threshold, and per level of the score
(reached: pass; not reached: skipped, with the missing items; below score.json's min_level:
failure).

SARIF: every document finding at its file, line and column (validate.json and the tables of
datasets.json); every failed or errored interaction check at the recorded response it judged
(findings of response validation at their line and column in that file); failed performance
thresholds at perf.json.
"""

from __future__ import annotations

from typing import IO, Any

from ..model import Summary, ToolStamp
from ..model.folder import RunFolder
from .junit import JunitWriter
from .model import artifact
from .sarif import SarifWriter
from .views import summary_of


def _suite(command: str, tool: ToolStamp) -> str:
    return f"{command} {tool.ruleset or ''}".strip()


def write_junit(folder: RunFolder, out: IO[str], lang: str) -> None:
    with JunitWriter(out, name=f"conformance report {folder.path.name}") as junit:
        validate = artifact(folder, "validate")
        if validate is not None:
            suite = _suite("conformance validate", validate.tool)
            junit.suite(suite)
            for doc in validate.documents:
                junit.document(doc, suite)
        datasets = artifact(folder, "datasets")
        if datasets is not None:
            suite = _suite("conformance validate-dataset", datasets.tool)
            junit.suite(suite)
            for doc in datasets.documents:
                junit.document(doc, suite)
            junit.datasets(datasets.datasets, lang, suite)
        results = artifact(folder, "results")
        if results is not None:
            junit.run(results)
        perf = artifact(folder, "perf")
        if perf is not None:
            junit.perf(perf, lang)
        score = artifact(folder, "score")
        if score is not None:
            junit.score(score, lang)


def _catalog_rules() -> dict[str, Any]:
    try:
        from ..catalog import load_catalog
        return load_catalog().rules
    except Exception:  # the report must not depend on the standards data being loadable
        return {}


def write_sarif(folder: RunFolder, out: IO[str], lang: str) -> None:
    tools = folder.tools()
    tool = next(iter(tools.values()), None)
    summary = None
    with SarifWriter(out, lang, rules=_catalog_rules(), all_rules=False, tool=tool) as sarif:
        validate = artifact(folder, "validate")
        if validate is not None:
            for doc in validate.documents:
                sarif.document(doc)
            summary = Summary(**summary_of(validate.documents, validate.summary))
        datasets = artifact(folder, "datasets")
        if datasets is not None:
            for doc in datasets.documents:
                sarif.document(doc)
            sarif.datasets(datasets.datasets)
        results = artifact(folder, "results")
        if results is not None:
            sarif.run(results, folder.path)
        perf = artifact(folder, "perf")
        if perf is not None:
            sarif.thresholds(perf.thresholds, folder.file("perf"), lang)
        sarif.close(summary or Summary())

