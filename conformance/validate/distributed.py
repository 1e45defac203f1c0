"""``conformance validate --engine dask``: the same checks, partitioned over a Dask cluster.
Inputs go out in batches (a batch is validated by one worker with a validator it compiled once);
results come back in input order, so the output is identical to one process."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from ..distributed import DaskPool
from ..inputs import Task
from ..model.findings import DocumentResult
from .engine import Validator, ValidatorOptions

BATCH = 64
_VALIDATORS: dict[ValidatorOptions, Validator] = {}


def _validate_batch(batch: list[Task], options: ValidatorOptions) -> list[DocumentResult]:
    v = _VALIDATORS.get(options)
    if v is None:
        v = _VALIDATORS[options] = Validator(options)
    out = []
    for task in batch:
        doc = v.validate_task(task)
        if doc is not None:
            out.append(doc)
    return out


def _batches(tasks: list[Task], size: int) -> Iterator[list[Task]]:
    it = iter(tasks)
    while batch := list(islice(it, size)):
        yield batch


def iter_validate_dask(tasks: list[Task], options: ValidatorOptions, scheduler: str | None,
                       workers: int, batch: int = BATCH) -> Iterator[DocumentResult]:
    with DaskPool(scheduler, workers) as pool:
        for docs in pool.imap(_validate_batch, _batches(tasks, batch), options):
            yield from docs
