"""Compatibility: the one YAML reader is ``conformance.yamlio``."""

from ..yamlio import MAX_BYTES, LineDict, LineList, load_file, load_text  # noqa: F401
from ..yamlio import YamlError as YamlProblem  # noqa: F401
