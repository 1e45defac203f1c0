"""results.json — `conformance run` (and the proxy): cases, checks, steps and exchanges."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from ...i18n import Phrase
from ..run import CaseResult, RunResults
from .base import ENCODER, ArtifactError, Codec

SCHEMA_VERSION = 1

CODEC: Codec[RunResults] = Codec(
    name="results", filename="results.json", type=RunResults, schema_version=SCHEMA_VERSION,
    title="conformance results.json",
    description="A scenario run (`conformance run`) or captured traffic (`conformance proxy`): "
                "per case its checks, steps and the recorded exchanges (request and response "
                "files in the run folder), and the counts.",
    producer="conformance run --out RUN_DIR")

load, loads, dump, dumps = CODEC.load, CODEC.loads, CODEC.dump, CODEC.dumps

CASE_DECODER = msgspec.json.Decoder(CaseResult)


def dump_case(case: CaseResult, path: Path) -> None:
    """cases/<id>.json: one finished case, written at once (an interrupted run stays consistent
    and ``--resume`` skips what is there)."""
    from ...output import open_output

    with open_output(str(path), binary=True) as fh:
        fh.write(msgspec.json.format(ENCODER.encode(case), indent=1))


def load_case(path: Path) -> CaseResult:
    data = path.read_bytes()
    try:
        return CASE_DECODER.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ArtifactError(path, Phrase("artifact.not_case", error=str(exc))) from None


def load_cases(folder: Path) -> dict[str, CaseResult]:
    """The finished cases of a run folder (a file cut short by a kill is left out: that case
    runs again)."""
    out: dict[str, CaseResult] = {}
    for p in sorted((folder / "cases").glob("*.json")):
        try:
            case = load_case(p)
        except (OSError, ArtifactError):
            continue
        out[case.id] = case
    return out


__all__ = ["CODEC", "dump_case", "json", "load", "load_case", "load_cases"]
