"""Compatibility: the findings model lives in ``conformance.model.findings``."""

from .model.findings import (  # noqa: F401
    LAYERS,
    SEVERITIES,
    DocumentRecord,
    DocumentResult,
    Finding,
    Summary,
)
