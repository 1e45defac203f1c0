"""Human-readable console output (zh-CN by default)."""

from __future__ import annotations

from typing import IO, Any

import click

from ..i18n import t
from ..model.findings import DocumentResult, Summary
from ..output import printable

_COLORS = {"error": "red", "warning": "yellow", "info": "cyan"}


class TextReporter:
    # info findings printed even without --show-info (what the tool decided about the input)
    always_shown: frozenset[str] = frozenset()

    def __init__(self, out: IO[str], lang: str, show_info: bool = False,
                 color: bool = False) -> None:
        self.out, self.lang, self.show_info, self.color = out, lang, show_info, color

    def _s(self, text: str, **style: Any) -> str:
        return click.style(text, **style) if self.color else text

    def start(self, meta: dict[str, Any]) -> None:
        tool = meta.get("tool") or {}
        head = " ".join(str(tool[k]) for k in ("name", "version") if tool.get(k))
        if tool.get("ruleset"):
            head += f" · {t('ruleset', self.lang)} {tool['ruleset']}"
        self.out.write((head or "conformance") + "\n")

    def document(self, doc: DocumentResult) -> None:
        mark = self._s("✔", fg="green") if doc.valid else self._s("✘", fg="red")
        kind = (f"{doc.document_type} {doc.document_name}" if doc.document_type
                else t("doc.unknown_type", self.lang))
        counts = t("counts", self.lang, errors=doc.errors, warnings=doc.warnings)
        self.out.write(f"{mark} {printable(doc.path)}  [{printable(kind)}]  {counts}\n")
        hidden = 0
        for f in doc.findings:
            if f.severity == "info" and not self.show_info and f.rule not in self.always_shown:
                hidden += 1
                continue
            sev = self._s(t(f"severity.{f.severity}", self.lang), fg=_COLORS[f.severity])
            where = f"{f.line}:{f.column or 1}" if f.line else "-"
            self.out.write(f"    {sev} {f.rule}  {where}  {printable(f.xpath or '')}\n")
            self.out.write(f"        {printable(f.message)}\n")
        if hidden:
            self.out.write(f"    {t('infos_hidden', self.lang, n=hidden)}\n")

    def finish(self, summary: Summary) -> None:
        self.out.write(t("summary", self.lang, **summary.to_dict()) + "\n")
