"""Data-set check throughput and memory, against a plain csv-module read of the same file
measured in the same run.

    python benchmarks/bench_datasets.py [--rows 200000] [--jobs 2] [--memory-rows 10000000]

A 46-column table (WS445.5.2 一般手术记录, its 45 data elements + an institution column) of
synthetic rows is written once; then rows/s for:

* baseline — `csv.reader` over the file, nothing else;
* `validate-dataset`, one process;
* `validate-dataset --jobs N` (byte-range partitions in N processes);
* `validate-dataset --engine dask` on a local cluster of N worker processes;
* `quality --by 机构`, one process (the scorecard's extra record-level checks).

and each as a ratio to the baseline. With --memory-rows the table is grown to that many rows and
the peak resident memory of `validate-dataset` is measured on 1/10 of it and on all of it: the
two must be about the same (streaming, constant memory). Not a test: a measurement to report.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conformance.datasets.definitions import load_definitions  # noqa: E402
from conformance.datasets.examples import INSTITUTIONS, ExampleData  # noqa: E402
from conformance.datasets.readers import expand_sources  # noqa: E402
from conformance.datasets.runner import (  # noqa: E402
    DaskExecutor,
    PoolExecutor,
    RunOptions,
    SerialExecutor,
    merge,
    run_pipeline,
)

DATASET = "WS445.5.2"


def make_table(path: Path, rows: int) -> int:
    ex = ExampleData()
    ds = ex.defs.datasets[DATASET]
    ex.write_csv(path, ds, rows, patients=5000,
                 extra={"机构": lambda i: INSTITUTIONS[i % len(INSTITUTIONS)]},
                 defects={i: {"DE02.01.040.00": "x"} for i in range(0, rows, 1000)})
    with open(path, encoding="utf-8", newline="") as fh:
        return len(next(csv.reader(fh)))


def grow(src: Path, dst: Path, rows: int, have: int) -> None:
    """dst = src's header and its data rows repeated up to `rows` rows."""
    with open(src, "rb") as fh:
        header = fh.readline()
        body = fh.read()
    reps, rest = divmod(rows, have)
    lines = body.splitlines(keepends=True)
    with open(dst, "wb") as out:
        out.write(header)
        for _ in range(reps):
            out.write(body)
        out.writelines(lines[:rest])


def baseline(path: Path) -> tuple[int, float, float]:
    t, c = time.perf_counter(), cpu_seconds()
    n = 0
    with open(path, encoding="utf-8", newline="") as fh:
        for _ in csv.reader(fh):
            n += 1
    return n - 1, time.perf_counter() - t, cpu_seconds() - c


def cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (pool workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime


def checks(path: Path, executor, **kw) -> tuple[int, float, float]:
    """(rows, wall seconds, CPU seconds)."""
    opts = RunOptions(max_examples=20, **kw)
    srcs = expand_sources([str(path)])
    t, c = time.perf_counter(), cpu_seconds()
    rows = 0
    for _w, results in run_pipeline(srcs, opts, executor):
        p = merge(results, 20)
        rows += p.rows if p else 0
    return rows, time.perf_counter() - t, cpu_seconds() - c


def peak_rss_mb(args: list[str]) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one `conformance` run in a child process."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "conformance.cli", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return usage.ru_maxrss / 1024, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--memory-rows", type=int, default=0,
                    help="also measure peak memory on a table of this many rows (e.g. 10000000)")
    ap.add_argument("--no-dask", action="store_true")
    a = ap.parse_args()
    load_definitions()
    with tempfile.TemporaryDirectory(prefix="bench-ds-") as tmp:
        path = Path(tmp) / f"{DATASET}-bench.csv"
        t = time.perf_counter()
        ncols = make_table(path, a.rows)
        size = os.path.getsize(path)
        print(f"table: {a.rows} rows × {ncols} columns, {size / 1e6:.1f} MB "
              f"(written in {time.perf_counter() - t:.1f} s)")
        print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
        n, base, base_cpu = baseline(path)
        print(f"{'':<34} {'rows/s':>10}   {'ratio':>5}   {'rows per CPU-s':>14}   ratio")
        print(f"{'csv.reader baseline':<34} {n / base:>10,.0f}   {1:>5.2f}   {n / base_cpu:>14,.0f}"
              f"   1.00")
        results = []
        results.append(("validate-dataset, 1 process", *checks(path, SerialExecutor())))
        results.append((f"validate-dataset, --jobs {a.jobs}",
                        *checks(path, PoolExecutor(a.jobs), jobs=a.jobs)))
        if not a.no_dask:
            t = time.perf_counter()
            ex = DaskExecutor(None, a.jobs)
            start = time.perf_counter() - t
            try:
                checks(path, ex, jobs=a.jobs, engine="dask")   # warm the workers
                nd, sd, _ = checks(path, ex, jobs=a.jobs, engine="dask")
            finally:
                ex.close()
            results.append((f"validate-dataset, dask local ×{a.jobs}", nd, sd, float("nan")))
            print(f"  (dask local cluster start: {start:.1f} s, not counted; worker CPU not "
                  "measured)")
        results.append(("quality --by 机构, 1 process",
                         *checks(path, SerialExecutor(), quality=True, by="机构",
                                 now="20240601000000")))
        for label, n_, s_, c_ in results:
            assert n_ == a.rows, (label, n_)
            cpu = f"{n_ / c_:>14,.0f}   {(n_ / c_) / (n / base_cpu):.2f}" if c_ == c_ else \
                f"{'—':>14}   —"
            print(f"{label:<34} {n_ / s_:>10,.0f}   {(n_ / s_) / (n / base):>5.2f}   {cpu}")
        s1, sj = results[0][2], results[1][2]
        print(f"speed-up --jobs {a.jobs} vs 1 process (wall): {s1 / sj:.2f}×; "
              f"load average now {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        if a.memory_rows:
            big = Path(tmp) / f"{DATASET}-big.csv"
            for rows in (a.memory_rows // 10, a.memory_rows):
                grow(path, big, rows, a.rows)
                mb, secs = peak_rss_mb(["validate-dataset", str(big), "--format", "json",
                                        "--output", os.devnull])
                print(f"memory: {rows:>11,} rows ({os.path.getsize(big) / 1e9:.2f} GB): peak RSS "
                      f"{mb:,.0f} MB, {rows / secs:,.0f} rows/s ({secs:.0f} s)")


if __name__ == "__main__":
    main()
