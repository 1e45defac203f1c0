"""What a capture runs with (the CLI builds it; ``assess`` or a test can too), and the checks on
it that run before anything listens."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import ConformanceError

MiB = 1024 * 1024
DEFAULT_MAX_BODY = 10 * MiB          # the reference platform's own request limit
DEFAULT_KEEP = 10_000                # exchanges whose evidence stays in the folder
DEFAULT_KEEP_BYTES = 1024 * MiB      # evidence bytes kept at most
DEFAULT_BACKLOG = 1000               # exchanges waiting for the validator at most
DEFAULT_TIMEOUT = 60.0               # the upstream's whole answer, seconds
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_DRAIN = 5.0                  # after Ctrl-C / SIGTERM: validating what waits, seconds
FAIL_ON = ("error", "warning", "never")


class ProxyUsage(ConformanceError):
    """Options that cannot be used (what, and how to fix it): exit code 2."""


@dataclass
class ProxyOptions:
    upstream: str
    listen_host: str = "127.0.0.1"
    listen_port: int = 8088
    profile: str | None = None              # None: the default profile (standards/profiles/)
    assessment: str | None = None           # the definition whose 3.3 bands are used
    lang: str = "zh"
    max_body: int = DEFAULT_MAX_BODY
    keep: int = DEFAULT_KEEP
    keep_bytes: int = DEFAULT_KEEP_BYTES
    backlog: int = DEFAULT_BACKLOG
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    drain_timeout: float = DEFAULT_DRAIN
    tls_cert: str | None = None             # listen with TLS (certificate chain, PEM)
    tls_key: str | None = None
    ca: str | None = None                   # verify the upstream with this CA bundle
    client_cert: str | None = None          # present this certificate to the upstream
    client_key: str | None = None
    insecure: bool = False                  # do not verify the upstream's certificate
    fail_on: str = "error"
    duration: float | None = None
    live_interval: float = 1.0
    validate_delay: float = 0.0             # tests: make the validator slow on purpose
    extra: dict[str, str] = field(default_factory=dict)

    # ------------------------------------------------------------------ derived
    @property
    def upstream_parts(self) -> tuple[str, str, str]:
        """(origin, path, scheme) of the upstream URL; credentials in it are kept for the
        request but never recorded."""
        p = urlsplit(self.upstream)
        return f"{p.scheme}://{p.netloc}", p.path or "/", p.scheme

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    def check(self) -> None:
        """Refuse what cannot work, all problems at once."""
        problems = []
        p = urlsplit(self.upstream)
        if p.scheme not in ("http", "https") or not p.hostname:
            problems.append(f"--upstream must be an http:// or https:// URL, found "
                            f"{self.upstream!r}")
        if not 0 <= self.listen_port <= 65535:
            problems.append(f"--listen: port {self.listen_port} is not a TCP port")
        if self.fail_on not in FAIL_ON:
            problems.append(f"--fail-on must be one of {', '.join(FAIL_ON)}")
        if bool(self.tls_cert) != bool(self.tls_key):
            problems.append("--tls-cert and --tls-key go together (the listening certificate "
                            "and its private key, PEM)")
        if self.client_key and not self.client_cert:
            problems.append("--client-key needs --client-cert")
        for opt, value in (("--tls-cert", self.tls_cert), ("--tls-key", self.tls_key),
                           ("--ca", self.ca), ("--client-cert", self.client_cert),
                           ("--client-key", self.client_key)):
            if value and not Path(value).is_file():
                problems.append(f"{opt}: {value} is not a readable file")
        if (self.ca or self.client_cert or self.insecure) and p.scheme != "https":
            problems.append("--ca, --client-cert and --insecure are for an https:// upstream")
        for name, value in (("--max-body", self.max_body), ("--keep", self.keep),
                            ("--keep-bytes", self.keep_bytes)):
            if value < 1:
                problems.append(f"{name} must be at least 1")
        if self.backlog < 0:
            problems.append("--backlog must be 0 or more")
        if self.timeout <= 0 or self.connect_timeout <= 0:
            problems.append("--timeout and --connect-timeout must be positive")
        if problems:
            raise ProxyUsage("\n".join(problems))

    def server_ssl(self) -> ssl.SSLContext | None:
        if not self.tls_cert:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            ctx.load_cert_chain(self.tls_cert, self.tls_key)
        except (ssl.SSLError, OSError) as exc:
            raise ProxyUsage(f"--tls-cert/--tls-key: cannot load the certificate and key "
                             f"({exc})") from None
        return ctx

    def client_ssl(self) -> ssl.SSLContext | bool:
        if self.upstream_parts[2] != "https":
            return True
        ctx = ssl.create_default_context(cafile=self.ca) if self.ca else \
            ssl.create_default_context()
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.client_cert:
            try:
                ctx.load_cert_chain(self.client_cert, self.client_key)
            except (ssl.SSLError, OSError) as exc:
                raise ProxyUsage(f"--client-cert/--client-key: cannot load ({exc})") from None
        return ctx


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (IPv6 as ``[::1]:8088``)."""
    text = value.strip()
    host, port = "127.0.0.1", text
    if text.startswith("["):
        end = text.find("]")
        host, port = text[1:end], text[end + 2:]
    elif ":" in text:
        host, _, port = text.rpartition(":")
        host = host or "0.0.0.0"
    try:
        return host, int(port)
    except ValueError:
        raise ProxyUsage(f"--listen: expected HOST:PORT (e.g. 127.0.0.1:8088), found "
                         f"{value!r}") from None


def env_url(opts: ProxyOptions, host: str, port: int) -> str:
    """The URL systems use instead of the upstream's: same path, the proxy's host and port."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"{opts.scheme}://{shown}:{port}{opts.upstream_parts[1]}"


__all__ = ["FAIL_ON", "ProxyOptions", "ProxyUsage", "env_url", "os", "parse_listen"]
