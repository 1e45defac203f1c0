"""perf.json — `conformance perf`: response-time bands (3.3), load steps, thresholds."""

from __future__ import annotations

from ..perf import PerfResults
from .base import Codec

SCHEMA_VERSION = 1

CODEC: Codec[PerfResults] = Codec(
    name="perf", filename="perf.json", type=PerfResults, schema_version=SCHEMA_VERSION,
    title="conformance perf.json",
    description="Platform performance measured by `conformance perf`: the assessment's 3.3 "
                "response-time bands (median of sequential samples), load steps (closed or "
                "open model: throughput, latency percentiles in ms, errors by kind, generator "
                "self-monitoring, one point per second) and thresholds.",
    producer="conformance perf --out RUN_DIR")

load, loads, dump, dumps = CODEC.load, CODEC.loads, CODEC.dump, CODEC.dumps
