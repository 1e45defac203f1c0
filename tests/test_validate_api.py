"""The validator as an engine: events in input order, validate.json written into a run folder
through the codec (valid against the shipped schema), the outcome's exit code."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from conformance.model.events import DocumentValidated, ValidationFinished, ValidationStarted
from conformance.model.folder import RunFolder
from conformance.model.io.schemas import shipped
from conformance.resources import test_cases_dir as cases_root
from conformance.validate import Validator, ValidatorOptions, api

DOCS = cases_root() / "documents" / "wst500"
BAD = Path(__file__).parent / "fixtures" / "bad"


def test_events_come_in_input_order() -> None:
    paths = [str(DOCS / sorted(p.name for p in DOCS.glob("*.xml"))[i]) for i in (0, 1)]
    events = list(api.execute(api.plan(paths), Validator(ValidatorOptions())))
    assert isinstance(events[0], ValidationStarted) and events[0].inputs == 2
    assert [e.document.path for e in events[1:3] if isinstance(e, DocumentValidated)] == paths
    assert isinstance(events[-1], ValidationFinished) and events[-1].summary.documents == 2


def test_validate_into_a_run_folder(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    bad = str(BAD / "not-well-formed.xml")
    outcome = api.validate_into(folder, [str(DOCS), bad], lang="en")
    assert outcome.exit_code == 1 and outcome.summary.invalid >= 1
    result = folder.validate
    assert result is not None and len(result.documents) == outcome.summary.documents
    assert result.tool.ruleset and result.lang == "en"
    jsonschema.validate(json.loads((tmp_path / "validate.json").read_text()), shipped("validate"))


def test_no_input_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(api.NoInput):
        api.plan([str(tmp_path)])


@pytest.mark.slow
def test_the_dask_engine_gives_the_results_of_one_process(tmp_path: Path) -> None:
    from conformance.model.events import drain

    paths = [str(DOCS), str(BAD)]
    tasks = api.plan(paths)
    validator = Validator(ValidatorOptions(lang="en"))
    local = drain(api.execute(tasks, validator), [])
    docs: list = []

    class Collect:
        def handle(self, event: object) -> None:
            if isinstance(event, DocumentValidated):
                docs.append(event.document.to_record())

    dask_last = drain(api.execute(tasks, validator, 2, engine="dask"), [Collect()])
    assert dask_last.summary == local.summary
    one = [d.to_record() for d in validator.iter_validate(tasks)]
    assert docs == one
