"""Captured traffic (`conformance proxy`): per-service statistics of the exchanges that passed
through the proxy, as results.json ``traffic`` holds them.

Counts cover every exchange seen, also those whose evidence was rotated out of the folder or
that were left unvalidated; latencies are milliseconds from the request's arrival at the proxy
to the last byte of the answer; ``bands`` count responses per 3.3 response-time band of the
assessment definition (``band_definitions``)."""

from __future__ import annotations

import msgspec

from .common import UNSET, Record, UnsetType
from .perf import BandDefinition


class Latency(Record, kw_only=True):
    count: int = 0
    mean_ms: float | None = None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None


class RuleCount(Record, kw_only=True):
    """How often a rule was found (findings of the validator and of the exchange checks)."""

    rule: str
    severity: str
    count: int = 0
    exchanges: int = 0                       # exchanges with at least one such finding
    message: str = ""                        # the first occurrence's message
    provisional: bool = False


class ServiceTraffic(Record, kw_only=True):
    """One service (identified from the HIPMessageServer action, the SOAP action or the root of
    the HL7 V3 message); ``service`` is ``-`` for exchanges no catalog service fits."""

    service: str
    name: str | None = None
    name_en: str | None = None
    s_code: str | None = None
    in_catalog: bool = True
    exchanges: int = 0
    validated: int = 0
    unvalidated: int = 0                     # left unvalidated: the validator could not keep up
    too_large: int = 0                       # a body above --max-body: recorded cut, not validated
    acks: dict[str, int] = {}                # AA / AE / AR / CA … / Fault / none
    http: dict[str, int] = {}                # status code → count
    errors: dict[str, int] = {}              # upstream failures by kind (refused, timeout …)
    findings: dict[str, int] = {}            # severity → count
    failing: int = 0                         # exchanges with a failing check
    rules: list[RuleCount] = []
    latency: Latency = msgspec.field(default_factory=Latency)
    bands: dict[str, int] = {}               # band id → responses in it


class Coverage(Record, kw_only=True):
    """Which services of the profile's catalog were seen at all."""

    catalog: str                             # the catalog file (standards/services/<profile>.yaml)
    total: int = 0
    seen: int = 0
    seen_services: list[str] = []
    unseen_services: list[str] = []


class Caps(Record, kw_only=True):
    """The limits the capture ran with (README: "Caps and rotation")."""

    max_body: int
    keep: int
    keep_bytes: int
    backlog: int


class Traffic(Record, kw_only=True):
    """results.json ``traffic`` of a proxy run."""

    listen: str
    upstream: str
    exchanges: int = 0                       # every exchange that passed through
    soap: int = 0                            # of which SOAP / HL7 V3 exchanges (not GET ?wsdl …)
    recorded: int = 0                        # with their evidence in the folder now
    rotated: int = 0                         # evidence removed by rotation (still counted)
    validated: int = 0
    unvalidated: int = 0                     # left unvalidated (overload) — never hidden
    too_large: int = 0
    lost: int = 0                            # could not be handed to the recorder at all
    in_flight: int = 0                       # cut off by the end of the capture
    failing: int = 0
    findings: dict[str, int] = {}            # severity → count
    acks: dict[str, int] = {}
    http: dict[str, int] = {}
    errors: dict[str, int] = {}
    rules: list[RuleCount] = []
    latency: Latency = msgspec.field(default_factory=Latency)
    band_definitions: list[BandDefinition] = []
    bands: dict[str, int] = {}
    bands_source: str | None = None          # the assessment definition they come from
    services: list[ServiceTraffic] = []
    coverage: Coverage | None = None
    caps: Caps | UnsetType = UNSET
    fail_on: str = "error"
    command: list[str] | UnsetType = UNSET   # the command of a CI gate (-- COMMAND)
    command_exit: int | None | UnsetType = UNSET
