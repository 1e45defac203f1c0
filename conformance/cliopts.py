"""The command-line options every command spells the same way, written once: the output
language, the output format, writing to a file, local/Dask parallelism and listening with TLS.
Each package's ``commands.py`` stacks these with its own options (click decorators)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from .i18n import DEFAULT_LANG, LANGS

F = TypeVar("F", bound=Callable[..., Any])
LANG = click.Choice(list(LANGS))


def stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Several click options as one decorator, in the order they are written."""
    def apply(f: F) -> F:
        for d in reversed(decorators):
            f = d(f)
        return f
    return apply


def lang_option(help: str = "Language of the output: zh (简体中文, default) or en.") -> Callable[[F], F]:
    return click.option("--lang", type=LANG, default=DEFAULT_LANG, show_default=True, help=help)


def format_option(*choices: str, default: str = "text",
                  help: str = "Output format.") -> Callable[[F], F]:
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=default,
                        show_default=True, help=help)


def output_option() -> Callable[[F], F]:
    return click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
                        help="Write the report to FILE (atomically) instead of standard output.")


def parallel_options(jobs_help: str, engine_help: str, scheduler_help: str) -> Callable[[F], F]:
    """--jobs / --engine local|dask / --scheduler: one machine's processes or a Dask cluster."""
    return stack(
        click.option("--jobs", "-j", type=click.IntRange(0, 256), default=1, show_default=True,
                     help=jobs_help),
        click.option("--engine", type=click.Choice(["local", "dask"]), default="local",
                     show_default=True, help=engine_help),
        click.option("--scheduler", default=None, metavar="ADDRESS", help=scheduler_help))


def tls_listen_options(cert_help: str, key_help: str) -> Callable[[F], F]:
    """--tls-cert / --tls-key: a server of ours (serve, proxy) listening with TLS."""
    return stack(
        click.option("--tls-cert", type=click.Path(dir_okay=False), default=None, help=cert_help),
        click.option("--tls-key", type=click.Path(dir_okay=False), default=None, help=key_help))
