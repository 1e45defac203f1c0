"""score.json — `conformance score`: items, totals, the level and the gaps."""

from __future__ import annotations

from ..score import Score
from .base import Codec

SCHEMA_VERSION = 1

CODEC: Codec[Score] = Codec(
    name="score", filename="score.json", type=Score, schema_version=SCHEMA_VERSION,
    title="conformance score.json",
    description="A score against an index system (`conformance score`): per indicator its "
                "status, points and evidence; dimension and sub-index totals; the level reached "
                "(provisional where the level rule is); the gap to each higher level.",
    producer="conformance score --results RUN_DIR --out RUN_DIR")

load, loads, dump, dumps = CODEC.load, CODEC.loads, CODEC.dump, CODEC.dumps
