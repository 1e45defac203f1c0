"""datasets.json — `conformance validate-dataset --format json`: the tables and documents
checked (the validate.json shape) and one verdict per data set."""

from __future__ import annotations

from ..datasets import DatasetsResults
from .base import Codec

SCHEMA_VERSION = 1

CODEC: Codec[DatasetsResults] = Codec(
    name="datasets", filename="datasets.json", type=DatasetsResults,
    schema_version=SCHEMA_VERSION, title="conformance datasets.json",
    description="Data-set conformance (`conformance validate-dataset`): per table or document "
                "its findings (row = line, field = column), and per data set the verdict "
                "完全覆盖且符合 / 部分符合 / 无此数据 with element coverage and format conformance.",
    producer="conformance validate-dataset --format json -o RUN_DIR/datasets.json EXPORTS",
    indent=0)

load, loads, dump, dumps = CODEC.load, CODEC.loads, CODEC.dump, CODEC.dumps
