"""perf.json as the typed ``PerfResults`` (``conformance.model.perf``, written and read through
``conformance.model.io.perf_json``): how a run starts it, keeps what an earlier run of the same
folder measured, folds the engine's events into it and closes it.

The engine and the perf.json writer fold the same events with ``fold``, so the file written
after each step is exactly the engine's state at that point."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from ..model.common import ToolStamp
from ..model.events import (
    BandMeasured,
    Event,
    PerfAborted,
    PerfPlatformReady,
    PerfStepFinished,
    ThresholdsJudged,
)
from ..model.perf import BandDefinition, PerfResults

KEPT_BANDS = "bands kept from the earlier perf.json of this folder"
KEPT_STEPS = "load steps kept from the earlier perf.json of this folder"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def header(*, tool: ToolStamp, target: dict[str, Any], profile: str, definition: Any,
           load: dict[str, Any] | None, notes: list[str]) -> PerfResults:
    """perf.json at the start of a run. ``load``: the settings of the load steps (engine, model,
    users, rates, duration_s, ramp_s, think_time_s, mix) when this run measures any; the
    settings of a part that does not run are left out of the file."""
    doc = PerfResults(
        tool=tool, target=target, profile=profile, started=now(), finished=None, complete=False,
        assessment={"id": definition.id, "path": definition.path, "sha256": definition.sha256},
        band_definitions=[BandDefinition(id=b.id, label=b.label, label_en=b.label_en,
                                         max_ms=b.max_ms) for b in definition.bands],
        notes=list(notes))
    for key, value in (load or {}).items():
        if value is not None:
            setattr(doc, key, value)
    return doc


def same_origin(old: PerfResults, doc: PerfResults) -> bool:
    """An earlier perf.json measured the same thing: same tool version, same target (the same
    endpoint, or the embedded platform both times) and profile."""
    if old.schema != doc.schema or old.tool.version != doc.tool.version:
        return False
    same = (old.target.get("endpoint") == doc.target.get("endpoint")
            or bool(old.target.get("embedded") and doc.target.get("embedded")))
    return same and old.profile == doc.profile


def keep_earlier(doc: PerfResults, old: PerfResults | None, *, bands: bool, load: bool) -> None:
    """The part this run does not measure stays as an earlier run of the folder recorded it:
    a band-only run keeps the load steps (their thresholds and settings), a load run the bands."""
    if old is None or not same_origin(old, doc):
        return
    if not bands and old.bands:
        doc.bands = list(old.bands)
        doc.notes.append(KEPT_BANDS)
    if not load and old.steps:
        doc.steps, doc.thresholds = list(old.steps), list(old.thresholds)
        for key in ("mix", "engine", "model", "users", "rates", "duration_s", "ramp_s",
                    "think_time_s", "locust"):
            setattr(doc, key, getattr(old, key))
        doc.notes.append(KEPT_STEPS)


def fold(doc: PerfResults, event: Event) -> None:
    """Apply one engine event to perf.json."""
    if isinstance(event, PerfStepFinished):
        doc.steps.append(event.step)
        if event.locust is not None:
            doc.locust = event.locust
    elif isinstance(event, BandMeasured):
        doc.bands.append(event.band)
    elif isinstance(event, ThresholdsJudged):
        doc.thresholds = list(event.thresholds)
    elif isinstance(event, PerfPlatformReady):
        doc.platform, doc.target = event.platform, event.target
    elif isinstance(event, PerfAborted):
        doc.notes.append(event.note)


def finish(doc: PerfResults) -> None:
    doc.finished = now()
    doc.complete = True
    doc.provisional = (any(b.provisional for b in doc.bands)
                       or any(t.provisional for t in doc.thresholds))


def copy(doc: PerfResults) -> PerfResults:
    """A copy whose lists a handler may grow without touching the engine's."""
    return msgspec.structs.replace(doc, bands=list(doc.bands), steps=list(doc.steps),
                                   thresholds=list(doc.thresholds), notes=list(doc.notes))
