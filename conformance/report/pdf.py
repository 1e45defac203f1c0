"""The PDF report: the HTML template in print mode, laid out by WeasyPrint (A4, running headers,
page numbers, table of contents with page numbers).

Chinese needs a CJK font known to fontconfig (scripts/bootstrap.sh installs fonts-noto-cjk);
without one the PDF would show empty boxes, so the report then carries a visible warning and the
command says so on standard error.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import IO, Any

from .html import render_html_string
from .model import ReportError


class PdfUnavailable(ReportError):
    """WeasyPrint or its system libraries (Pango) cannot be loaded."""


@cache
def cjk_fonts() -> tuple[str, ...] | None:
    """Font families fontconfig offers for Chinese (``fc-list :lang=zh family``); None when
    fontconfig's fc-list is not available (cannot tell)."""
    exe = shutil.which("fc-list")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, ":lang=zh", "family"], capture_output=True, text=True,
                             timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return tuple(sorted({line.split(",")[0].strip() for line in out.splitlines() if line.strip()}))


def font_warning() -> str | None:
    """A report phrase key (``report.<key>``) when Chinese may not render (shown in the PDF
    and on stderr), else None."""
    fonts = cjk_fonts()
    if fonts is None:
        return "fonts.unchecked"
    return None if fonts else "fonts.missing"


def _weasyprint() -> Any:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: Pango/HarfBuzz shared libraries missing
        raise PdfUnavailable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) \
            from None
    return weasyprint


def check_available() -> None:
    _weasyprint()


def render_pdf(ctx: dict[str, Any], out: IO[bytes], base_dir: Path) -> int:
    """Render the print-mode context as PDF into ``out``; returns the number of pages."""
    return html_to_pdf(render_html_string(ctx), out, base_dir)


def html_to_pdf(html: str, out: IO[bytes], base_dir: Path) -> int:
    """Lay out print-mode HTML as a PDF into ``out`` (relative links resolve against
    ``base_dir``); returns the number of pages. The one WeasyPrint entry (report, campaign)."""
    weasyprint = _weasyprint()
    # WeasyPrint reports unsupported CSS at WARNING level; the templates are ours and tested,
    # so only errors are worth a user's attention.
    log = logging.getLogger("weasyprint")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        document = weasyprint.HTML(string=html, base_url=str(base_dir.resolve()) + "/").render()
        document.write_pdf(target=out)
    except OSError as exc:  # Pango missing at render time
        raise PdfUnavailable(str(exc)) from None
    finally:
        log.setLevel(level)
    return len(document.pages)
