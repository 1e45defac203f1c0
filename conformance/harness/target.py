"""Target platform configuration (YAML), command-line overrides, secrets and redaction.

```yaml
name: 某医院集成平台
profile: hospital
endpoint: https://hip.example/services/HIPMessageServer   # default for every service
endpoints: {PatientInfoQuery: https://.../query}          # per-service overrides
soap_version: "1.1"            # or "1.2"
action_style: english          # english | s-code | custom
action_map: {PatientInfoRegister: HIP0001}                 # with action_style custom
wrap: operation                # operation = HIPMessageServer(action, message); body = bare V3
namespace: http://www.djhealthunion.com/   # operation namespace (default: read from ?wsdl)
auth: {type: basic, username: tester, password: ${ENV:HIP_PASSWORD}}
#     {type: wsse, username: ..., password: ...}          # WS-Security UsernameToken
tls: {verify: true, ca_bundle: /path/ca.pem, client_cert: /path/cert.pem, client_key: /path/key.pem}
headers: {X-Tenant: demo}
timeouts: {connect: 5, read: 30, total: 60}   # total: the whole exchange (default: README)
rate_limit: 20                 # requests per second at most (0 = unlimited)
max_response_bytes: 20000000
```
Secrets may be written as ``${ENV:NAME}``. Every ``${ENV}`` value is a secret wherever it
appears (URL, headers, auth, TLS settings …), and so are the passwords and tokens of ``auth``,
the values of credential headers (``SECRET_HEADERS`` and names saying auth, token, secret,
password, key …) and the password and credential parameters of the endpoint URLs: none of them
is ever written to evidence, results, logs, reports or the terminal, in any encoding
(``conformance.secrets``; ``Target.redactor()``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConformanceError
from ..profiles import default_profile, profile_ids
from ..secrets import MARK, SECRET_HEADERS, Redactor, host_label, mask_url, secret_name, url_secrets
from ..yamlio import read_yaml

_ENV_RE = re.compile(r"\$\{ENV:([A-Za-z_][A-Za-z0-9_]*)\}")
REDACTED = MARK
# The whole of one exchange (connect, send, the answer's headers and body), seconds, when the
# target sets none: the read timeout bounds one read only, and a platform that drips a byte at a
# time would hold an exchange for as long as it liked. Never shorter than connect + read.
DEFAULT_TOTAL_TIMEOUT = 60.0
__all__ = ["DEFAULT_TOTAL_TIMEOUT", "REDACTED", "SECRET_HEADERS", "Target", "TargetError", "check",
           "load_target", "name_from_url"]


class TargetError(ConformanceError):
    """The target configuration cannot be used (message says what, where, how to fix)."""


@dataclass
class Target:
    name: str = "embedded"
    profile: str = field(default_factory=lambda: default_profile().id)
    endpoint: str = ""
    endpoints: dict[str, str] = field(default_factory=dict)
    soap_version: str = "1.1"
    action_style: str = "english"
    action_map: dict[str, str] = field(default_factory=dict)
    wrap: str = "operation"
    namespace: str = ""                 # operation namespace; discovered from ?wsdl when empty
    auth: dict[str, Any] = field(default_factory=dict)
    tls: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    total_timeout: float | None = None  # the whole exchange; None: ``deadline``'s default
    rate_limit: float = 0.0
    max_response_bytes: int = 20_000_000
    embedded: bool = False
    secrets: set[str] = field(default_factory=set)

    @property
    def deadline(self) -> float:
        """Seconds one exchange may take in all (``timeout-total`` beyond): ``timeouts.total``,
        else ``DEFAULT_TOTAL_TIMEOUT`` or connect + read when that is longer."""
        if self.total_timeout:
            return self.total_timeout
        return max(DEFAULT_TOTAL_TIMEOUT, self.connect_timeout + self.read_timeout)

    def url_for(self, action: str) -> str:
        return self.endpoints.get(action, self.endpoint)

    def redactor(self) -> Redactor:
        """The redaction of this target's secrets (built again when its settings changed)."""
        values = set(self.secrets)
        pairs: list[tuple[str, str]] = []
        for key, value in self.auth.items():
            if isinstance(value, str) and (key in ("password", "token") or secret_name(key)):
                values.add(value)
        if self.auth.get("type") == "basic" and self.auth.get("password"):
            pairs.append((str(self.auth.get("username", "")), str(self.auth["password"])))
        for key, value in self.tls.items():
            if isinstance(value, str) and secret_name(key):
                values.add(value)
        for name, value in self.headers.items():
            if secret_name(name):
                values.add(value)
                scheme, sep, credential = value.strip().partition(" ")
                if sep:
                    values.add(credential.strip())
        for url in [self.endpoint, *self.endpoints.values()]:
            found, basic = url_secrets(url)
            values.update(found)
            pairs += basic
        key = (frozenset(values), tuple(pairs))
        cached = self.__dict__.get("_redactor")
        if cached is None or cached[0] != key:
            cached = (key, Redactor(values, basic=pairs))
            self.__dict__["_redactor"] = cached
        return cached[1]

    def redact(self, text: str) -> str:
        return self.redactor().redact_text(text)

    def public(self) -> dict[str, Any]:
        """What may be written to results and reports (no secrets)."""
        r = self.redactor()
        return r.redact_obj({
            "name": self.name, "profile": self.profile, "endpoint": r.redact_url(self.endpoint),
            "endpoints": {k: r.redact_url(v) for k, v in self.endpoints.items()},
            "soap_version": self.soap_version, "action_style": self.action_style,
            "wrap": self.wrap, "auth": dict(self.auth),
            "tls": {k: v for k, v in self.tls.items() if k != "client_key"},
            "headers": r.redact_headers(self.headers),
            "timeouts": {"connect": self.connect_timeout, "read": self.read_timeout,
                         "total": self.deadline},
            "rate_limit": self.rate_limit, "embedded": self.embedded})


def _expand(value: Any, where: str, secrets: set[str]) -> Any:
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in os.environ:
                raise TargetError(f"{where}: environment variable {name} is not set "
                                  f"(referenced as ${{ENV:{name}}})")
            secrets.add(os.environ[name])
            return os.environ[name]
        return _ENV_RE.sub(sub, value)
    if isinstance(value, dict):
        return {k: _expand(v, f"{where}.{k}", secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, where, secrets) for v in value]
    return value


_KEYS = {"name", "profile", "endpoint", "namespace", "endpoints", "soap_version", "action_style",
         "action_map", "wrap", "auth", "tls", "headers", "timeouts", "rate_limit", "max_response_bytes"}


def load_target(path: str | os.PathLike[str]) -> Target:
    p = Path(path)
    data = read_yaml(p, TargetError) or {}
    if not isinstance(data, dict):
        raise TargetError(f"{p}: expected a mapping of settings")
    unknown = set(data) - _KEYS
    if unknown:
        raise TargetError(f"{p}: unknown setting(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    secrets: set[str] = set()
    data = _expand(data, str(p), secrets)
    t = Target(secrets=secrets)
    for key in ("name", "profile", "endpoint", "soap_version", "action_style", "wrap",
                "namespace"):
        if key in data:
            setattr(t, key, str(data[key]))
    t.endpoints = {str(k): str(v) for k, v in (data.get("endpoints") or {}).items()}
    t.action_map = {str(k): str(v) for k, v in (data.get("action_map") or {}).items()}
    t.auth = dict(data.get("auth") or {})
    t.tls = dict(data.get("tls") or {})
    t.headers = {str(k): str(v) for k, v in (data.get("headers") or {}).items()}
    timeouts = data.get("timeouts") or {}
    if not isinstance(timeouts, dict) or set(timeouts) - {"connect", "read", "total"}:
        raise TargetError(f"{p}: timeouts takes connect, read and total (seconds)")
    try:
        t.connect_timeout = float(timeouts.get("connect", t.connect_timeout))
        t.read_timeout = float(timeouts.get("read", t.read_timeout))
        if timeouts.get("total") is not None:
            t.total_timeout = float(timeouts["total"])
    except (TypeError, ValueError):
        raise TargetError(f"{p}: timeouts: connect, read and total are numbers of seconds, "
                          f"found {dict(timeouts)}") from None
    t.rate_limit = float(data.get("rate_limit", 0) or 0)
    t.max_response_bytes = int(data.get("max_response_bytes", t.max_response_bytes))
    check(t, str(p))
    return t


def make_target(url: str | None = None, config: str | os.PathLike[str] | None = None,
                profile: str | None = None, *, soap_version: str | None = None,
                timeout: float | None = None, total_timeout: float | None = None) -> Target:
    """The target a command was given: a configuration file and/or an endpoint URL, else the
    embedded reference platform; options given on the command line win over the file."""
    target = load_target(config) if config else Target()
    if url:
        target.endpoint = url
        target.embedded = False
        if not config:
            target.name = name_from_url(url)
    elif not config:
        target.embedded = True
        target.name = "embedded"
    if profile:
        target.profile = profile
    if soap_version:
        target.soap_version = soap_version
    if timeout:
        target.read_timeout = timeout
    if total_timeout:
        target.total_timeout = total_timeout
    check(target, str(config) if config else "--target")
    return target


def name_from_url(url: str) -> str:
    """A target's name when only its URL is given: host and port (never its credentials)."""
    return host_label(url) or mask_url(url)


def check(t: Target, where: str) -> None:
    for name, value in (("connect", t.connect_timeout), ("read", t.read_timeout),
                        ("total", t.total_timeout)):
        if value is not None and not value > 0:
            raise TargetError(f"{where}: timeouts.{name} must be a positive number of seconds, "
                              f"found {value:g}")
    if t.soap_version not in ("1.1", "1.2"):
        raise TargetError(f"{where}: soap_version must be 1.1 or 1.2, found {t.soap_version!r}")
    if t.action_style not in ("english", "s-code", "custom"):
        raise TargetError(f"{where}: action_style must be english, s-code or custom")
    if t.action_style == "custom" and not t.action_map:
        raise TargetError(f"{where}: action_style custom needs an action_map")
    if t.wrap not in ("operation", "body"):
        raise TargetError(f"{where}: wrap must be operation or body")
    if t.profile not in profile_ids():
        raise TargetError(f"{where}: profile must be one of {', '.join(profile_ids())}")
    if t.auth and t.auth.get("type") not in ("basic", "wsse"):
        raise TargetError(f"{where}: auth.type must be basic or wsse")
    if not t.embedded and not (t.endpoint or t.endpoints):
        raise TargetError(f"{where}: no endpoint configured")
    if t.endpoint and not re.match(r"^https?://", t.endpoint):
        raise TargetError(f"{where}: endpoint must be an http:// or https:// URL, "
                          f"found {t.endpoint!r}")
