"""The full hospital scenario suite against the embedded reference platform: wall time, and the
harness's own overhead per exchange (wall time minus the time spent waiting for answers).

    python benchmarks/bench_run.py [--profile hospital] [--jobs 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="hospital")
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--profile",
                               args.profile, "--jobs", str(args.jobs), "--out", str(out),
                               "--no-progress"], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        d = json.loads((out / "results.json").read_text(encoding="utf-8"))
        exchanges = [e for c in d["cases"] for e in c["exchanges"]]
        waiting = sum(e["duration_ms"] for e in exchanges) / 1000
        cases_wall = sum(c["duration_ms"] for c in d["cases"]) / 1000
    s = d["summary"]
    print(f"profile {args.profile}, --jobs {args.jobs}: {s['cases']} cases "
          f"({s['pass']} pass, {s['fail']} fail, {s['error']} error), {len(exchanges)} exchanges, "
          f"{s['checks']['pass'] + s['checks']['fail']} checks; exit {proc.returncode}")
    print(f"wall time (process start to exit)      {wall:8.2f} s")
    print(f"time in cases                          {cases_wall:8.2f} s")
    print(f"waiting for the platform (sum)         {waiting:8.2f} s")
    n = max(1, len(exchanges))
    print(f"harness overhead per exchange          {(cases_wall - waiting) / n * 1000:8.2f} ms "
          "(build request, record evidence, run checks incl. response validation)")
    print(f"platform time per exchange             {waiting / n * 1000:8.2f} ms")


if __name__ == "__main__":
    main()
