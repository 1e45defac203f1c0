"""Validator cost in CPU instructions (valgrind callgrind): a noise-free complement to
bench_validate.py, whose wall-clock ratios swing by +-20% on shared machines.

    python benchmarks/bench_validate_instructions.py [--docs 146]

Counts the instructions of lxml parse-only, lxml parse + schema and full validation of the same
synthesized documents, each measured inside one call (valgrind --toggle-collect), after a warm-up
on *other* documents (compiled plans warm, no value repeats). Instruction ratios are not
throughput ratios: interpreted Python retires fewer instructions per cycle than libxml2, so the
wall-clock ratio is lower (about 0.6-0.75 of this one on the machines measured so far).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r'''
import functools, glob, sys
sys.path.insert(0, {root!r})
from lxml import etree
from conformance.resources import standards_dir
from conformance.validate import Validator, ValidatorOptions
folder, mode = sys.argv[1], sys.argv[2]
datas = [open(p, "rb").read() for p in sorted(glob.glob(folder + "/doc-*.xml"))]
warm = [open(p, "rb").read() for p in sorted(glob.glob(folder + "/warm-*.xml"))]
v = Validator(ValidatorOptions())
for d in warm:
    v.validate_bytes(d, "warm")
schema = etree.XMLSchema(etree.parse(str(standards_dir() / "schemas/cda/CDA.xsd")))
if mode == "parse":
    functools.reduce(lambda a, d: (etree.fromstring(d), a)[1], datas, 0)
elif mode == "schema":
    functools.reduce(lambda a, d: (schema.validate(etree.fromstring(d)), a)[1], datas, 0)
else:
    functools.reduce(lambda a, d: (v.validate_bytes(d, "x"), a)[1], datas, 0)
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=146)
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    sys.path.insert(0, str(ROOT))
    from conformance.synth import Synthesizer

    synth = Synthesizer()
    templates = synth.catalog.templates()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i in range(args.docs):
            tpl = templates[i % len(templates)]
            (folder / f"doc-{i:05d}.xml").write_bytes(synth.document_bytes(tpl, i + 1))
            (folder / f"warm-{i:05d}.xml").write_bytes(synth.document_bytes(tpl, 10**6 + i))
        child = folder / "child.py"
        child.write_text(_CHILD.format(root=str(ROOT)), encoding="utf-8")
        counts = {}
        procs = {}
        for mode in ("parse", "schema", "full"):
            procs[mode] = subprocess.Popen(
                ["valgrind", "--tool=callgrind", "--toggle-collect=functools_reduce",
                 f"--callgrind-out-file={folder / mode}.out", sys.executable, str(child),
                 str(folder), mode], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for mode, p in procs.items():
            out = p.communicate()[0]
            m = re.search(r"Collected : (\d+)", out)
            if p.returncode != 0 or not m:
                sys.exit(f"callgrind run '{mode}' failed:\n{out[-2000:]}")
            counts[mode] = int(m.group(1)) / args.docs
    print(f"corpus: {args.docs} synthesized documents")
    print(f"lxml parse-only            {counts['parse'] / 1e3:9.0f} k instructions/doc")
    print(f"lxml parse + schema        {counts['schema'] / 1e3:9.0f} k instructions/doc")
    print(f"full validation            {counts['full'] / 1e3:9.0f} k instructions/doc")
    print(f"ratio parse-only / full    {counts['parse'] / counts['full']:9.2%}   "
          "(instructions; see the docstring for how this relates to throughput)")


if __name__ == "__main__":
    main()
