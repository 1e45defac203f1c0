"""How data-set tables are read and where the work runs: what a request (``DatasetOptions``, the
command's and the pipeline's words) and a resolved run (``RunOptions``, what workers get) share."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ReadOptions:
    lang: str = "zh"
    encoding: str | None = None          # CSV / JSON: None = detected (BOM, UTF-8, else GB 18030)
    delimiter: str | None = None         # CSV: None = detected
    sheet: str | None = None             # XLSX: only this sheet
    header_rows: int | None = None       # XLSX: None = from the merged cells
    jobs: int = 1
    engine: str = "local"                # local | dask
    scheduler: str | None = None         # dask scheduler address
    profiles: tuple[str, ...] = ()       # --profile: preferred when headers match equally
