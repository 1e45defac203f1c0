"""quality.json — the data-quality scorecard of one institution's data-set exports."""

from __future__ import annotations

from ..quality import QualityResults
from .base import Codec

SCHEMA_VERSION = 1

CODEC: Codec[QualityResults] = Codec(
    name="quality", filename="quality.json", type=QualityResults, schema_version=SCHEMA_VERSION,
    title="conformance quality.json",
    description="The data-quality scorecard of one institution's data-set exports (written "
                "into its run folder by `conformance campaign run`): the six governance "
                "dimensions and the four EMR-rating data-quality coefficients as numerator / "
                "denominator, per data set and overall, and the problem list with examples.",
    producer="conformance campaign run CAMPAIGN_DIR")

load, loads, dump, dumps = CODEC.load, CODEC.loads, CODEC.dump, CODEC.dumps
