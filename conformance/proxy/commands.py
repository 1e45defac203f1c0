"""`conformance proxy`: builds the options, picks the handlers, runs the capture and maps the
outcome to an exit code (0; 1 findings at --fail-on or the command failed; 2 usage)."""

from __future__ import annotations

import asyncio
import re
import sys
from typing import Any

import click

from ..cliopts import lang_option, tls_listen_options
from ..errors import ConformanceError
from ..i18n import t
from ..model.folder import RunFolder
from . import options as O

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgKMG]?)(i?[bB])?\s*$")
_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhSMH]?)\s*$")


class Size(click.ParamType):
    name = "BYTES"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int):
            return value
        m = _SIZE.match(str(value))
        if not m:
            self.fail(f"{value!r} is not a size (e.g. 10485760, 512K, 10M, 1G)", param, ctx)
        mult = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[m.group(2).lower()]
        return int(float(m.group(1)) * mult)


class Duration(click.ParamType):
    name = "SECONDS"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        if isinstance(value, int | float):
            return float(value)
        m = _TIME.match(str(value))
        if not m:
            self.fail(f"{value!r} is not a duration (e.g. 90, 90s, 10m, 2h)", param, ctx)
        return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2).lower()]


def register(main: click.Group) -> None:
    main.add_command(proxy_command)


@click.command("proxy", context_settings={"allow_interspersed_args": False})
@click.option("--upstream", required=True, metavar="URL",
              help="The platform's HIPMessageServer endpoint, e.g. "
                   "http://platform.example/services/HIPMessageServer.")
@click.option("--listen", "listen", default="127.0.0.1:8088", show_default=True,
              metavar="HOST:PORT", help="Where systems send instead (port 0: a free one).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Run folder (default runs/<timestamp>-proxy/).")
@click.option("--profile", default=None, help="Profile (standards/profiles/): its service "
              "catalog and assessment bands (default: the default profile).")
@click.option("--assessment", default=None, metavar="ID|FILE",
              help="Assessment definition whose 3.3 bands place response times "
                   "(default: the profile's).")
@tls_listen_options("Listen with TLS: certificate chain (PEM).",
                    "Listen with TLS: private key (PEM).")
@click.option("--ca", type=click.Path(dir_okay=False), default=None,
              help="https upstream: verify it with this CA bundle (PEM).")
@click.option("--client-cert", type=click.Path(dir_okay=False), default=None,
              help="https upstream: present this client certificate (PEM; may hold the key).")
@click.option("--client-key", type=click.Path(dir_okay=False), default=None,
              help="https upstream: the client certificate's key (PEM).")
@click.option("--insecure", is_flag=True, help="https upstream: do not verify its certificate.")
@click.option("--max-body", type=Size(), default=O.DEFAULT_MAX_BODY, show_default=True,
              help="Bytes of each body recorded and validated (bodies are always forwarded "
                   "whole; beyond this one is recorded cut and not validated).")
@click.option("--keep", type=click.IntRange(1), default=O.DEFAULT_KEEP, show_default=True,
              help="Exchanges whose evidence stays in the folder (older ones without "
                   "findings rotate out first; all stay counted).")
@click.option("--keep-bytes", type=Size(), default=O.DEFAULT_KEEP_BYTES, show_default=True,
              help="Evidence bytes kept in the folder at most.")
@click.option("--backlog", type=click.IntRange(0), default=O.DEFAULT_BACKLOG,
              show_default=True, help="Exchanges waiting for the validator at most (beyond: "
                                      "recorded, counted as unvalidated).")
@click.option("--timeout", type=Duration(), default=O.DEFAULT_TIMEOUT, show_default=True,
              help="Seconds the upstream has for its whole answer (then 504).")
@click.option("--connect-timeout", type=Duration(), default=O.DEFAULT_CONNECT_TIMEOUT,
              show_default=True, help="Seconds to connect to the upstream (then 504).")
@click.option("--duration", type=Duration(), default=None,
              help="Stop after this long (e.g. 90s, 10m, 8h); default: until Ctrl-C.")
@click.option("--fail-on", type=click.Choice(O.FAIL_ON), default="error", show_default=True,
              help="Exit 1 when the captured traffic has findings of this severity or worse.")
@click.option("--findings", "stream", type=click.Choice(["error", "warning", "info", "none"]),
              default="warning", show_default=True,
              help="Stream findings of this severity or worse while they are found.")
@click.option("--live/--no-live", default=True, show_default=True,
              help="Live summary (redrawn on a terminal, a line every 10 s otherwise).")
@lang_option()
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def proxy_command(upstream: str, listen: str, out_dir: str | None, profile: str | None,
                  assessment: str | None, tls_cert: str | None, tls_key: str | None,
                  ca: str | None, client_cert: str | None, client_key: str | None,
                  insecure: bool, max_body: int, keep: int, keep_bytes: int, backlog: int,
                  timeout: float, connect_timeout: float, duration: float | None,
                  fail_on: str, stream: str, live: bool, lang: str,
                  command: tuple[str, ...]) -> None:
    """记录并校验接口流量的透明反向代理。A recording, validating reverse proxy.

    Put it between HIS / LIS / PACS / EMR and the integration platform: every exchange is
    forwarded unchanged, recorded in a run folder and checked. Without COMMAND it runs until
    Ctrl-C (or --duration); with `-- COMMAND ARGS…` it runs the command with
    CONFORMANCE_PROXY_URL set and stops when it ends (a CI gate).
    """
    from ..profiles import ProfileError, get_profile
    from .engine import Proxy, run_command
    from .handlers import Console, FilesHandler, FindingsStream, LiveSummary

    def usage(msg: str) -> None:
        click.echo(t("err.input", lang, msg=msg), err=True)
        sys.exit(2)

    try:
        host, port = O.parse_listen(listen)
        prof = get_profile(profile)
        opts = O.ProxyOptions(
            upstream=upstream, listen_host=host, listen_port=port, profile=prof.id,
            assessment=assessment, lang=lang, max_body=max_body, keep=keep,
            keep_bytes=keep_bytes, backlog=backlog, timeout=timeout,
            connect_timeout=connect_timeout, tls_cert=tls_cert, tls_key=tls_key, ca=ca,
            client_cert=client_cert, client_key=client_key, insecure=insecure,
            fail_on=fail_on, duration=duration)
        opts.check()
    except (O.ProxyUsage, ProfileError) as exc:
        usage(str(exc))
    folder = RunFolder(out_dir) if out_dir else RunFolder.create(target_name="proxy")
    console = Console()
    handlers: list[Any] = [FilesHandler(folder.path), LiveSummary(console, lang, live=live)]
    if stream != "none":
        handlers.append(FindingsStream(console, lang, min_severity=stream))
    cmd = list(command) or None
    proxy = Proxy(opts, folder, handlers)

    async def go() -> Any:
        until = (lambda url: run_command(cmd, url)) if cmd else None
        return await proxy.run(until, command=cmd, signals=True)

    try:
        outcome = asyncio.run(go())
    except ConformanceError as exc:
        usage(str(exc))
    if outcome.problem:
        click.echo(t("proxy.problem", lang, msg=outcome.problem), err=True)
        sys.exit(2)
    if cmd is not None:
        click.echo(t("proxy.gate.command", lang, code=outcome.command_exit,
                     command=" ".join(cmd)), err=True)
    if fail_on != "never":
        n = outcome.findings_at(fail_on)
        level = t(f"severity.{fail_on}", lang)
        click.echo(t("proxy.gate.fail", lang, n=n, level=level) if n else
                   t("proxy.gate.ok", lang, level=level), err=True)
    sys.exit(outcome.exit_code(fail_on))
