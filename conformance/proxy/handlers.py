"""The handlers of a capture: the files (evidence, results.json, manifest), the live console
summary and the findings stream. They run in the recorder process (the CLI picks them; they
travel there pickled, so they hold no open resources before their first event)."""

from __future__ import annotations

import contextlib
import queue
import shutil
import sys
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..i18n import t
from ..model import Status
from ..model.events import (
    Event,
    EvidenceRotated,
    ExchangeCaptured,
    ExchangeChecked,
    ProxyFinished,
    ProxyStarted,
    ResultsCheckpoint,
    TrafficUpdated,
)
from ..model.folder import RunFolder
from ..model.traffic import Traffic

SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


class FilesHandler:
    """Evidence files as exchanges arrive, removed when rotated out; results.json at every
    checkpoint and at the end (atomically); the manifest sealed at the end. The files are
    written by one thread of their own, in the order of the events, so that a slow disk holds
    up neither the events nor the validator (at most ``pending`` operations wait; beyond, the
    recorder waits for the disk)."""

    def __init__(self, run_dir: str | Path, pending: int = 10_000) -> None:
        self.run_dir = str(run_dir)
        self.pending = pending
        self._folder: RunFolder | None = None
        self._dirs: set[Path] = set()
        self._queue: queue.Queue[tuple[Any, ...] | None] | None = None
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"run_dir": self.run_dir, "pending": self.pending}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["run_dir"], state["pending"])  # type: ignore[misc]

    @property
    def folder(self) -> RunFolder:
        if self._folder is None:
            self._folder = RunFolder(self.run_dir)
        return self._folder

    def handle(self, event: Event) -> None:
        if isinstance(event, ExchangeCaptured):
            ex = event.exchange
            for rel, body in ((ex.request_file, event.request_body),
                              (ex.response_file, event.response_body)):
                if rel:
                    self._put(("write", rel, body))
        elif isinstance(event, EvidenceRotated):
            self._put(("unlink", event.files))
        elif isinstance(event, ResultsCheckpoint):
            self._put(("results", event.results))
        elif isinstance(event, ProxyFinished):
            self._put(("results", event.results))
            self._put(("seal", event.results.tool))
            self.close()

    def _put(self, op: tuple[Any, ...]) -> None:
        if self._queue is None:
            self._queue = queue.Queue(self.pending)
            self._thread = threading.Thread(target=self._run, name="proxy-files", daemon=True)
            self._thread.start()
        self._queue.put(op)

    def close(self) -> None:
        """Wait until everything is written (re-raises a failure of the writer)."""
        if self._queue is not None and self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._queue = self._thread = None
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        assert self._queue is not None
        q = self._queue
        while (op := q.get()) is not None:
            try:
                self._do(op)
            except BaseException as exc:  # kept for close(); the capture goes on
                self.error = self.error or exc

    def _do(self, op: tuple[Any, ...]) -> None:
        kind = op[0]
        root = self.folder.path
        if kind == "write":
            path = root / op[1]
            if path.parent not in self._dirs:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._dirs.add(path.parent)
            path.write_bytes(op[2])
        elif kind == "unlink":
            for rel in op[1]:
                with contextlib.suppress(OSError):
                    (root / rel).unlink()
        elif kind == "results":
            self.folder.write("results", op[1])
        elif kind == "seal":
            for d in sorted(self._dirs, reverse=True):   # hours rotated away entirely
                with contextlib.suppress(OSError):
                    d.rmdir()
            self.folder.seal(op[1])


@dataclass
class Console:
    """The terminal both console handlers write to; on a terminal the live summary is a block
    redrawn in place, and a finding printed in between first clears it."""

    stream_name: str = "stderr"
    tty: bool | None = None
    block: int = field(default=0, init=False)

    @property
    def out(self) -> IO[str]:
        return getattr(sys, self.stream_name)

    @property
    def is_tty(self) -> bool:
        if self.tty is None:
            self.tty = self.out.isatty()
        return self.tty

    def clear_block(self) -> None:
        if self.block and self.is_tty:
            self.out.write(f"\x1b[{self.block}F\x1b[J")
        self.block = 0

    def line(self, text: str) -> None:
        self.clear_block()
        self.out.write(text + "\n")
        self.out.flush()

    def draw(self, lines: list[str]) -> None:
        self.clear_block()
        if self.is_tty:  # one terminal row per line, or the redraw would miss wrapped rows
            width = max(20, shutil.get_terminal_size().columns - 1)
            lines = [ln if _cells(ln) <= width else _cut(ln, width) for ln in lines]
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()
        self.block = len(lines) if self.is_tty else 0


def _cells(text: str) -> int:
    """Terminal columns of a text (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cut(text: str, width: int) -> str:
    out, used = [], 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def _ms(value: float | None) -> str:
    return "-" if value is None else (f"{value:.0f}" if value >= 100 else f"{value:.1f}")


def _acks(acks: dict[str, int]) -> str:
    order = ["AA", "AE", "AR", "Fault"]
    keys = order + sorted(k for k in acks if k not in order)
    return " ".join(f"{k} {acks[k]}" for k in keys if acks.get(k))


def summary_lines(traffic: Traffic, lang: str, rows: int | None = 12) -> list[str]:
    """The summary table: totals, then exchanges per service."""
    tr = traffic
    f = tr.findings
    lines = [t("proxy.live.total", lang, n=tr.exchanges, acks=_acks(tr.acks) or "-",
               errors=f.get("error", 0), warnings=f.get("warning", 0),
               p50=_ms(tr.latency.p50_ms), p95=_ms(tr.latency.p95_ms),
               p99=_ms(tr.latency.p99_ms), unvalidated=tr.unvalidated)]
    head = t("proxy.live.head", lang)
    lines.append(head)
    services = sorted(tr.services, key=lambda s: -s.exchanges)
    shown = services if rows is None else services[:rows]
    for s in shown:
        name = (s.name_en if lang == "en" else s.name) or ""
        label = f"{s.service} {name}".strip()
        if len(label) > 34:
            label = label[:33] + "…"
        bands = " ".join(f"{b.label_en if lang == 'en' and b.label_en else b.label}:"
                         f"{s.bands[b.id]}" for b in tr.band_definitions if s.bands.get(b.id))
        lines.append(f"  {label:<34} {s.exchanges:>6} {_acks(s.acks) or '-':<22} "
                     f"{s.findings.get('error', 0):>5} {s.findings.get('warning', 0):>5} "
                     f"{_ms(s.latency.p50_ms):>7} {_ms(s.latency.p95_ms):>7} "
                     f"{_ms(s.latency.p99_ms):>7}  {bands}")
    if rows is not None and len(services) > rows:
        lines.append(t("proxy.live.more", lang, n=len(services) - rows))
    return lines


class LiveSummary:
    """The running summary (redrawn about once a second on a terminal, a line every
    ``every`` seconds otherwise) and the closing tables."""

    def __init__(self, console: Console, lang: str = "zh", live: bool = True,
                 every: float = 10.0) -> None:
        self.console, self.lang, self.live, self.every = console, lang, live, every
        self._last = 0.0
        self._last_n = -1
        self.run_dir = "-"

    def handle(self, event: Event) -> None:
        lang = self.lang
        if isinstance(event, ProxyStarted):
            self.run_dir = event.run_dir
            self.console.line(t("proxy.started", lang, listen=event.listen,
                                upstream=event.upstream, profile=event.profile,
                                run_dir=event.run_dir))
        elif isinstance(event, TrafficUpdated) and self.live:
            tr = event.traffic
            if self.console.is_tty:
                if tr.exchanges != self._last_n:
                    self.console.draw(summary_lines(tr, lang))
                    self._last_n = tr.exchanges
            elif tr.exchanges != self._last_n and time.monotonic() - self._last >= self.every:
                self._last = time.monotonic()
                self._last_n = tr.exchanges
                self.console.line(summary_lines(tr, lang, rows=0)[0])
        elif isinstance(event, ProxyFinished):
            res = event.results
            tr = res.traffic
            if not isinstance(tr, Traffic):
                return
            self.console.clear_block()
            out = summary_lines(tr, lang, rows=None)
            cov = tr.coverage
            if cov is not None:
                out.append(t("proxy.coverage", lang, seen=cov.seen, total=cov.total,
                             catalog=cov.catalog))
            if tr.unvalidated or tr.lost or tr.too_large:
                out.append(t("proxy.unvalidated", lang, n=tr.unvalidated, lost=tr.lost,
                             large=tr.too_large))
            if tr.rotated:
                out.append(t("proxy.rotated", lang, n=tr.rotated, kept=tr.recorded))
            if event.interrupted:
                out.append(t("proxy.interrupted", lang, n=tr.in_flight))
            top = [r for r in tr.rules if r.severity in ("error", "warning")][:10]
            if top:
                out.append(t("proxy.top_rules", lang))
                out += [f"  {r.rule:<32} {t(f'severity.{r.severity}', lang):<4} {r.count:>6}  "
                        f"{r.message[:90]}" for r in top]
            out.append(t("proxy.folder", lang, path=self.run_dir))
            for line in out:
                self.console.line(line)


class FindingsStream:
    """Findings as exchanges are judged, at ``min_severity`` or worse: the first ``per_rule``
    of each (service, rule), then a note that the rest are only in the folder."""

    def __init__(self, console: Console, lang: str = "zh", min_severity: str = "warning",
                 per_rule: int = 3) -> None:
        self.console, self.lang = console, lang
        self.rank = SEVERITY_RANK.get(min_severity, 1)
        self.per_rule = per_rule
        self._seen: dict[tuple[str, str], int] = {}

    def handle(self, event: Event) -> None:
        if not isinstance(event, ExchangeChecked) or event.result is Status.PASS:
            return
        lang = self.lang
        svc = event.service or "-"
        for c in event.checks:
            if c.result is Status.ERROR and not c.findings:
                self._say((svc, f"check:{c.id}"), t("proxy.finding.check", lang, id=event.id,
                                                     service=svc, check=c.id, message=c.message))
            for f in c.findings:
                if SEVERITY_RANK.get(f.severity, 2) > self.rank:
                    continue
                self._say((svc, f.rule), t("proxy.finding", lang, id=event.id, service=svc,
                                           check=c.id, severity=t(f"severity.{f.severity}", lang),
                                           rule=f.rule, message=f.message))

    def _say(self, key: tuple[str, str], text: str) -> None:
        n = self._seen.get(key, 0) + 1
        self._seen[key] = n
        if n <= self.per_rule:
            self.console.line(text)
        elif n == self.per_rule + 1:
            self.console.line(t("proxy.finding.muted", self.lang, service=key[0],
                                rule=key[1].removeprefix("check:")))
