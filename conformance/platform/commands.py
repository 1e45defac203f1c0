"""CLI: `conformance serve` and `conformance standards services`."""

from __future__ import annotations

import json
import sys

import click

from ..catalog import CatalogError
from ..cliopts import format_option, lang_option, tls_listen_options
from ..i18n import t
from ..profiles import profile_ids

PROFILE = click.Choice(profile_ids())


@click.command("serve")
@click.option("--profile", type=PROFILE, default="hospital", show_default=True,
              help="Which platform to be: hospital (医院) or regional (区域).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port (0 = any free port).")
@click.option("--db", default="conformance-platform.sqlite", show_default=True,
              help="SQLite database file; ':memory:' keeps everything in memory.")
@click.option("--faults", default="", metavar="SPEC",
              help="Inject defects, e.g. "
                   "seed=7,slow=0.1:2s,wrong-ack=0.05,drop=0.02,bad-schema=0.05,http500=0.02")
@click.option("--threads", type=click.IntRange(1, 256), default=16, show_default=True,
              help="Worker threads.")
@click.option("--max-body", type=click.IntRange(1024), default=10 * 1024 * 1024, show_default=True,
              help="Largest request body accepted (bytes).")
@click.option("--request-timeout", type=click.FloatRange(0.5), default=20.0, show_default=True,
              metavar="SECONDS",
              help="Time a client has to send a request's headers and body (plus 1 s per 64 KiB "
                   "received); a slower one is disconnected.")
@click.option("--auth", "auth_kind", type=click.Choice(["basic", "wsse", "any"]), default=None,
              help="Require credentials on SOAP requests: HTTP Basic, WS-Security UsernameToken, "
                   "or either (default with --username: any).")
@click.option("--username", default=None, help="The user name clients must send.")
@click.option("--password", default=None, metavar="SECRET",
              help="The password clients must send; write '${ENV:NAME}' (quoted) to read it from "
                   "the environment instead of the command line. Never logged.")
@tls_listen_options("Serve HTTPS with this certificate chain (PEM).",
                    "The certificate's private key (PEM), unless it is in --tls-cert.")
@lang_option("Language of acknowledgement texts and faults.")
@click.option("--seed-patients", type=click.IntRange(0), default=0, show_default=True,
              help="First make sure the store holds this many synthetic patients (bulk load; "
                   "idempotent), e.g. 500000 for 3.3.1.2.")
def serve_cmd(profile: str, host: str, port: int, db: str, faults: str, threads: int, max_body: int,
              request_timeout: float, auth_kind: str | None, username: str | None,
              password: str | None, tls_cert: str | None, tls_key: str | None, lang: str,
              seed_patients: int) -> None:
    """运行参考平台（SOAP 1.1/1.2，WSDL 见 ?wsdl）。Run the reference platform.

    The SOAP endpoint is http://HOST:PORT/ and the WSDL http://HOST:PORT/?wsdl. The operation is
    HIPMessageServer(action, message); the bare HL7 V3 message is also accepted as the SOAP body.
    Ctrl-C or SIGTERM stops it. With --auth, SOAP requests need credentials (HTTP 401 and a
    SOAP Fault without them); with --tls-cert it serves HTTPS. Exposed beyond this machine
    (--host other than loopback) without them, it says so on stderr.
    """
    from .auth import Auth, SecretError, expand_env, exposure_warnings, tls_context
    from .faults import FaultInjector, FaultSpecError
    from .server import serve
    from .store import StoreError

    try:
        FaultInjector(faults)
    except FaultSpecError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    auth = None
    if auth_kind or username is not None or password is not None:
        if not username or password is None:
            raise click.UsageError(t("platform.auth_needs_user", lang))
        try:
            secret, from_env = expand_env(password, "--password")
        except SecretError as exc:
            raise click.BadParameter(str(exc), param_hint="--password") from None
        if not from_env:
            click.echo(t("platform.password_visible", lang, option="--password"), err=True)
        auth = Auth(auth_kind or "any", username, secret)
    tls = None
    if tls_key and not tls_cert:
        raise click.UsageError(t("platform.tls_key_needs_cert", lang))
    if tls_cert:
        try:
            tls = tls_context(tls_cert, tls_key)
        except SecretError as exc:
            raise click.BadParameter(str(exc), param_hint="--tls-cert") from None
    for warning in exposure_warnings(host, auth, tls is not None, lang):
        click.echo(warning, err=True)
    try:
        serve(profile, host=host, port=port, db=db, faults=faults, lang=lang, threads=threads,
              max_body=max_body, seed_patients=seed_patients, request_timeout=request_timeout,
              auth=auth, tls=tls)
    except CatalogError as exc:
        click.echo(t("err.catalog", lang, msg=exc.render(lang)), err=True)
        sys.exit(2)
    except StoreError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    except OSError as exc:
        click.echo(t("platform.cannot_listen", lang, host=host, port=port, msg=exc), err=True)
        sys.exit(2)


@click.command("services")
@click.option("--profile", type=PROFILE, default="hospital", show_default=True)
@format_option("text", "json", default="text")
@lang_option()
def services_cmd(profile: str, fmt: str, lang: str) -> None:
    """List the interaction services of a platform profile (交互服务目录)."""
    from ..hl7v3.services import load_services

    try:
        cat = load_services(profile)
    except CatalogError as exc:
        click.echo(t("err.catalog", lang, msg=exc.render(lang)), err=True)
        sys.exit(2)
    rows = [s.summary() for s in cat.services]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    prov = t("provisional", lang)
    for c in cat.citations(lang):  # provenance from the catalog (standards/sources.yaml)
        click.echo(t("platform.cites", lang, text=c["text"]))
    for s in cat.services:
        level = f"{s.level or '-'}({prov})" if s.level_status == "provisional" else (s.level or "-")
        flag = f"  [{prov}]" if s.provisional else ""
        click.echo(f"{s.order:>3} {s.action:<34} {(s.s_code or '-'):<6} {s.request_root:<18} → "
                   f"{s.response_root:<18} {level:<12} {s.display_name(lang)}{flag}")
    click.echo(t("platform.services_count", lang, n=len(rows)))


def register(main: click.Group) -> None:
    main.add_command(serve_cmd)
    standards = main.commands.get("standards")
    if isinstance(standards, click.Group):
        standards.add_command(services_cmd)
