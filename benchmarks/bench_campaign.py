"""A region's campaign at scale: report generation for 60 institutions, and document validation
of a synthesized regional archive with the Dask engine against local --jobs.

    python benchmarks/bench_campaign.py report [--institutions 60] [--keep DIR]
    python benchmarks/bench_campaign.py validate [--documents 200000] [--institutions 40]
                                                 [--workers 2] [--keep DIR]

report: synthesizes a campaign of N hospitals (sealed run folders made through the codecs
from the fixture run — tests/campaign_fixtures.py — each with 132 documents, 15 cases, a score
and a data-quality scorecard; no assessment is run), then, each in a fresh process, builds the
report (reading every folder through RunFolder) and writes json, html and xlsx (and pdf with
--pdf). The campaign names the example city index system, so every institution is also
scored against it (--no-city: not). Prints wall time and peak resident memory (VmHWM) per
format.

validate: writes example documents once (`conformance examples`, 73 document types) and links
them (hard links: the archive costs no disk) into N institution folders up to the number of
documents asked; then validates every institution into its own run folder (validate.json, as
`campaign run` does) with `--engine dask` on one local cluster of --workers processes and with
the local engine `--jobs --workers`, in the same run, interleaved per institution. Prints
documents per second of each, their ratio, and the resident memory of this process sampled
after each institution (flat: the results stream to validate.json, nothing accumulates).
Everything lives under /tmp (or --keep), never in the repository. Not a timed test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# ---------------------------------------------------------------------------------- report
DISTRICTS = ["东城区", "西城区", "南湖区", "北山区", "高新区", "江北区", "临港区", "开发区", "滨海区",
             "青山区", "城南区", "城北区"]
LEVELS = ["三级", "四级乙等", "四级甲等", "五级乙等"]
SERVICES = ["PatientInfoRegister", "PatientInfoQuery", "DocumentRegiste", "DocumentAccess"]


def _level(total: float) -> str:
    return "五级乙等" if total >= 88 else "四级甲等" if total >= 78 else \
        "四级乙等" if total >= 68 else "三级"


def make_campaign(root: Path, n: int, year: int = 0, city: bool = False) -> None:
    """N hospitals over 12 districts; ``year`` shifts the figures (a previous campaign: 1)."""
    from tests.campaign_fixtures import synth_run, write_campaign

    insts = []
    for i in range(n):
        ident = f"h{i:03d}"
        total = max(40, min(98, 55 + (i * 7) % 40 - year * ((i % 7) - 3) * 2))
        run = {"level": _level(total), "total": total,
               "fail_services": tuple(SERVICES[: (i + year) % 3]),
               "not_met": ("3.2.2.2",) if total < 78 else (),
               "invalid_types": ("C0001", "C0002")[: (i + year) % 3],
               "quality_ratio": 0.7 + ((i + year) % 10) / 40, "seed": i}
        district = DISTRICTS[i % len(DISTRICTS)]
        insts.append({"id": ident, "name": f"{district}第{i // len(DISTRICTS) + 1}医院",
                      "kind": "hospital", "district": district,
                      "outcomes": {"emr_rating": 3 + (i % 4)}, "_run": run})
    write_campaign(root, insts, extra="city_index: city-example-2026\n" if city else "")
    for inst in insts:
        synth_run(root / "runs" / inst["id"], **inst["_run"])


CHILD = """
import sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
t0 = time.perf_counter()
from conformance.campaign.config import load
from conformance.campaign.report import build_report
from conformance.campaign.views import write
root = Path({root!r})
report = build_report(load(root), lang="zh")
t1 = time.perf_counter()
fmt = {fmt!r}
if fmt != "build":
    write(report, root, fmt, root / ("bench." + fmt), "zh")
t2 = time.perf_counter()
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
size = (root / ("bench." + fmt)).stat().st_size if fmt != "build" else 0
print(f"{{t1 - t0:.3f}} {{t2 - t1:.3f}} {{int(hwm) / 1024:.1f}} {{size}}")
"""


def bench_report(args: argparse.Namespace) -> None:
    root = Path(args.keep or tempfile.mkdtemp(prefix="bench-campaign-")) / "campaign"
    if root.exists():
        shutil.rmtree(root)
    t0 = time.perf_counter()
    make_campaign(root, args.institutions, city=not args.no_city)
    print(f"synthesized {args.institutions} institutions in {time.perf_counter() - t0:.1f} s "
          f"({sum(f.stat().st_size for f in root.rglob('*') if f.is_file()) / 1e6:.1f} MB)")
    formats = ["build", "json", "html", "xlsx"] + (["pdf"] if args.pdf else [])
    print(f"{'format':<8}{'build s':>10}{'write s':>10}{'total s':>10}{'peak MB':>10}"
          f"{'size KB':>10}")
    for fmt in formats:
        code = CHILD.format(repo=str(REPO), root=str(root), fmt=fmt)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout.split()
        build, write_s, peak, size = float(out[0]), float(out[1]), float(out[2]), int(out[3])
        print(f"{fmt:<8}{build:>10.2f}{write_s:>10.2f}{build + write_s:>10.2f}{peak:>10.1f}"
              f"{size / 1024:>10.0f}")
    if not args.keep:
        shutil.rmtree(root.parent)


# ---------------------------------------------------------------------------------- validate
def make_archive(root: Path, documents: int, institutions: int) -> list[Path]:
    seed = root / "examples"
    if not seed.exists():
        subprocess.run([sys.executable, "-m", "conformance.cli", "examples", "--out", str(seed),
                        "--count", "5"], check=True, cwd=REPO, env={**os.environ,
                                                                    "PYTHONPATH": str(REPO)},
                       stdout=subprocess.DEVNULL)
    files = sorted(seed.rglob("*.xml"))
    per = documents // institutions
    out = []
    for i in range(institutions):
        inst = root / "archive" / f"i{i:02d}"
        out.append(inst)
        if inst.exists() and sum(1 for _ in inst.iterdir()) == per:
            continue
        inst.mkdir(parents=True, exist_ok=True)
        for k in range(per):
            src = files[(i * 7 + k) % len(files)]
            dst = inst / f"{k:06d}-{src.name}"
            if not dst.exists():
                os.link(src, dst)
    return out


def bench_validate(args: argparse.Namespace) -> None:
    from conformance.distributed import DaskPool
    from conformance.model.folder import RunFolder
    from conformance.validate import api

    root = Path(args.keep or tempfile.mkdtemp(prefix="bench-archive-"))
    t0 = time.perf_counter()
    insts = make_archive(root, args.documents, args.institutions)
    total = sum(sum(1 for _ in d.iterdir()) for d in insts)
    print(f"archive: {total} documents over {len(insts)} institutions "
          f"({time.perf_counter() - t0:.1f} s to lay out)")
    runs = root / "runs"
    seconds = {"dask": 0.0, "jobs": 0.0}
    docs = {"dask": 0, "jobs": 0}
    rss: list[float] = []
    with DaskPool(None, args.workers) as pool:
        address = pool.cluster.scheduler_address
        for k, inst in enumerate(insts):
            order = ("dask", "jobs") if k % 2 == 0 else ("jobs", "dask")
            results = {}
            for engine in order:
                folder = RunFolder.create(runs / engine / inst.name)
                t = time.perf_counter()
                if engine == "dask":
                    res = api.validate_into(folder, [str(inst)], engine="dask", scheduler=address,
                                            jobs=args.workers)
                else:
                    res = api.validate_into(folder, [str(inst)], jobs=args.workers)
                seconds[engine] += time.perf_counter() - t
                docs[engine] += res.summary.documents
                results[engine] = (res.summary.documents, res.summary.valid, res.summary.errors)
                folder.forget()
            assert results["dask"] == results["jobs"], (inst, results)
            rss.append(rss_mb())
            if k % 5 == 4 or k == len(insts) - 1:
                print(f"  {k + 1:>3}/{len(insts)} institutions: dask {docs['dask'] / seconds['dask']:.0f} "
                      f"docs/s, --jobs {docs['jobs'] / seconds['jobs']:.0f} docs/s, "
                      f"RSS {rss[-1]:.0f} MB", flush=True)
    same = all((runs / "dask" / d.name / "validate.json").read_bytes().count(b'"valid": false')
               == (runs / "jobs" / d.name / "validate.json").read_bytes().count(b'"valid": false')
               for d in insts)
    tp = {e: docs[e] / seconds[e] for e in docs}
    print(f"documents: {docs['dask']} per engine; dask {tp['dask']:.0f} docs/s "
          f"({seconds['dask']:.0f} s), local --jobs {args.workers} {tp['jobs']:.0f} docs/s "
          f"({seconds['jobs']:.0f} s); ratio dask / jobs = {tp['dask'] / tp['jobs']:.2f}")
    print(f"results identical per institution (counts and invalid documents): {same}")
    quarter = max(1, len(rss) // 4)
    print(f"RSS of this process (MB) after institution 1, 25%, 50%, 75%, 100%: "
          f"{rss[0]:.0f}, {rss[quarter - 1]:.0f}, {rss[2 * quarter - 1]:.0f}, "
          f"{rss[3 * quarter - 1]:.0f}, {rss[-1]:.0f}")
    if not args.keep:
        shutil.rmtree(root)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    r = sub.add_parser("report")
    r.add_argument("--institutions", type=int, default=60)
    r.add_argument("--pdf", action="store_true")
    r.add_argument("--no-city", action="store_true", help="without the city index system")
    r.add_argument("--keep", default=None)
    v = sub.add_parser("validate")
    v.add_argument("--documents", type=int, default=200_000)
    v.add_argument("--institutions", type=int, default=40)
    v.add_argument("--workers", type=int, default=2)
    v.add_argument("--keep", default=None)
    args = ap.parse_args()
    bench_report(args) if args.what == "report" else bench_validate(args)


if __name__ == "__main__":
    main()
