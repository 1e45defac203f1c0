"""Validation time as documents grow: it must stay linear in the number of elements.

    python benchmarks/bench_validate_scaling.py [--sizes 0,100,1000,5000,20000]

Takes the conformant 西药处方 (C0004) example, appends N copies of its entries (a long
prescription or order list), and prints for each size the full-validation time per element and
its ratio to lxml parse-only on the same bytes, both measured in the same run. A time per
element that climbs with N while the ratio to parse-only falls is a super-linear step (it found
one: libxml2's //@attr/.. selections, 63 us per element at 8 MB, now replaced on large
documents; and locating findings among thousands of siblings, 317 us per finding at 16,000,
now indexed once per document); a climb shared with parse-only (the ratio holds) is the
memory hierarchy.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from conformance.validate import Validator, ValidatorOptions  # noqa: E402

H = "{urn:hl7-org:v3}"
DE_SYSTEM = "2.16.156.10011.2.2.1"


def document(extra: int, findings: bool = False) -> bytes:
    """C0004 with `extra` more entries; with `findings`, each added entry names an unknown data
    element (one finding per entry, to be located among thousands of siblings)."""
    src = next((ROOT / "test_cases" / "documents" / "wst500").glob("EMR-SD-04-*.xml"))
    root = etree.fromstring(src.read_bytes())
    sec = root.find(f".//{H}section")
    entries = sec.findall(f"{H}entry")
    for i in range(extra):
        entry = copy.deepcopy(entries[i % len(entries)])
        if findings:
            code = next(el for el in entry.iter() if el.get("codeSystem") == DE_SYSTEM)
            code.set("code", f"DE99.99.{i % 1000:03d}.00")
        sec.append(entry)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def best(fn, budget: float = 1.0) -> float:
    """Best time of fn() over repeated calls within about `budget` seconds (at least 3)."""
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < budget:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 200:
            break
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="0,100,1000,5000,20000")
    args = ap.parse_args()
    v = Validator(ValidatorOptions())
    first = None
    print(f"{'entries':>8} {'KiB':>7} {'elements':>9} {'us/element':>11} {'vs smallest':>12} "
          f"{'full/parse-only':>16} {'us/element, a finding per entry':>32}")
    for extra in (int(x) for x in args.sizes.split(",")):
        data = document(extra)
        n = sum(1 for _ in etree.fromstring(data).iter())
        v.validate_bytes(data, "warm.xml")
        t_full = best(lambda data=data: v.validate_bytes(data, "doc.xml"))
        t_parse = best(lambda data=data: etree.fromstring(data))
        bad = document(extra, findings=True)
        t_bad = best(lambda bad=bad: v.validate_bytes(bad, "bad.xml"))
        per = t_full / n * 1e6
        first = first or per
        print(f"{extra:8d} {len(data) // 1024:7d} {n:9d} {per:11.2f} {per / first:11.2f}x "
              f"{t_parse / t_full:15.1%} {t_bad / n * 1e6:32.2f}")


if __name__ == "__main__":
    main()
