"""`conformance proxy`: a transparent recording and validating reverse proxy for
HIPMessageServer traffic (HIS / LIS / PACS / EMR ↔ integration platform).

- ``forward``  the forwarding path (aiohttp, one event loop; never parses, validates or writes);
- ``worker``   the recorder process: redaction, evidence, checks, statistics, rotation, events;
- ``checks``   the checks of one exchange (the one validator for the messages and documents);
- ``handlers`` files, live console summary, findings stream;
- ``engine``   ``Proxy`` / ``ProxyThread``: the in-process API, a typed ``ProxyOutcome``;
- ``commands`` the CLI.
"""

from __future__ import annotations

from .engine import Proxy, ProxyFailed, ProxyOutcome, ProxyThread, run_command
from .options import ProxyOptions, ProxyUsage

__all__ = ["Proxy", "ProxyFailed", "ProxyOptions", "ProxyOutcome", "ProxyThread", "ProxyUsage",
           "run_command"]
