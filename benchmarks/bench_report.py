"""Report rendering for a big run: 10,000 findings and 5,000 recorded exchanges.

    python benchmarks/bench_report.py [--findings 10000] [--exchanges 5000] [--keep DIR]

Builds a synthetic run folder (validate.json with --findings findings over 2,000 documents,
results.json with --exchanges exchanges whose bodies are files in evidence/ — 1% of the
responses are 200 KiB, beyond the HTML inline cap — plus the fixture perf.json and score.json),
then measures, each in a fresh process: loading the run (the baseline: reading and decoding the
typed artifacts the report is made from, ``report.model.open_run``), rendering HTML, rendering
PDF, and JSON/JUnit/SARIF. Prints wall time, peak resident memory (VmHWM), output size, and the
ratios to the load baseline measured in the same run. Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
FIXTURE = REPO / "tests" / "fixtures" / "runs" / "current"
RULES = [("WST500.HEADER.REALM_CODE", "error", "template"), ("DT.TS_FORMAT", "error", "datatype"),
         ("VOCAB.VALUE_SET_MISMATCH", "error", "vocabulary"), ("SCHEMA.INVALID", "error", "schema"),
         ("WST500.SECTION.MISSING", "warning", "template"), ("VOCAB.DISPLAY_NAME_MISMATCH",
                                                              "warning", "vocabulary"),
         ("DT.ID_NUMBER_CHECK_DIGIT", "error", "datatype"), ("WST483.SECTION.UNKNOWN", "info",
                                                             "template")]


def peak_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_run(folder: Path, n_findings: int, n_exchanges: int) -> None:
    folder.mkdir(parents=True)
    docs = []
    per_doc = 5
    for i in range(max(1, n_findings // per_doc)):
        findings = []
        for k in range(per_doc):
            rule, sev, layer = RULES[(i + k) % len(RULES)]
            line = 10 + k * 7
            findings.append({
                "rule": rule, "severity": sev, "layer": layer,
                "message": f"第 {k + 1} 个问题：值 {i}-{k} 不符合要求（期望 CN）。",
                "xpath": f"/ClinicalDocument/component[1]/structuredBody[1]/component[{k + 1}]"
                         f"/section[1]/entry[{i % 9 + 1}]/observation[1]/value[1]/@code",
                "line": line, "column": 13, "expected": "CN", "actual": f"X{k}",
                "source": "WS/T 500.4-2016 西药处方", "provisional": k == 4,
                "snippet": f'<value xsi:type="CD" code="X{k}" codeSystem="2.16.156.10011.2.3.1.{k}"'
                           f' displayName="示例{i}"/>'})
        docs.append({"path": f"submission/{i // 100:03d}/EMR-SD-04-西药处方-患者{i:05d}-T01-001.xml",
                     "document_type": f"C{(i % 53) + 1:04d}", "document_name": "西药处方",
                     "valid": False, "layers": {"parse": "ran", "schema": "ran"},
                     "findings": findings})
    (folder / "validate.json").write_text(json.dumps({
        "tool": {"name": "conformance", "version": "0.1.0", "ruleset": "bench"},
        "documents": docs, "summary": {}}, ensure_ascii=False), encoding="utf-8")
    ev = folder / "evidence"
    per_case = 5
    cases = []
    entries = [f'<entry><observation><code code="DE04.50.{j:03d}.00" displayName="检验项目{j}"/>'
               f'<value value="{j}"/></observation></entry>' for j in range(60)]
    big = "".join(entries) * 36  # ~200 KiB
    for c in range(max(1, n_exchanges // per_case)):
        cid = f"EMR-PL-{c % 81 + 1:02d}-服务{c:04d}-T01"
        (ev / cid).mkdir(parents=True)
        exchanges = []
        for x in range(per_case):
            n = c * per_case + x
            req = (f'<?xml version="1.0"?><PRPA_IN201311UV02 xmlns="urn:hl7-org:v3"><id extension='
                   f'"MSG{n}"/><controlActProcess>{"".join(entries[: 15 + (n % 7) * 3])}'
                   f"</controlActProcess></PRPA_IN201311UV02>")
            resp = (f'<?xml version="1.0"?><MCCI_IN000002UV01 xmlns="urn:hl7-org:v3"><acknowledgement '
                    f'typeCode="{"AE" if c % 10 == 0 else "AA"}"/>'
                    f"{big if n % 100 == 0 else ''.join(entries[: 25 + (n % 5) * 4])}</MCCI_IN000002UV01>")
            (ev / cid / f"{x:02d}.request.xml").write_text(req, encoding="utf-8")
            (ev / cid / f"{x:02d}.response.xml").write_text(resp, encoding="utf-8")
            exchanges.append({"url": "http://127.0.0.1:8089/hip", "action": "PatientInfoRegister",
                              "soap_version": "1.1", "status": 200, "duration_ms": 20.0 + x,
                              "started": "2026-11-20T10:30:00+08:00",
                              "request_headers": {"Content-Type": "text/xml"},
                              "response_headers": {"Content-Type": "text/xml"},
                              "request_file": f"evidence/{cid}/{x:02d}.request.xml",
                              "response_file": f"evidence/{cid}/{x:02d}.response.xml"})
        fail = c % 10 == 0
        cases.append({"id": cid, "service": f"Service{c % 81:02d}", "kind": "positive",
                      "result": "fail" if fail else "pass",
                      "checks": [{"id": "ack_code", "result": "fail" if fail else "pass",
                                  "message": "应为 AA" if fail else "ok"}],
                      "exchanges": exchanges})
    (folder / "results.json").write_text(json.dumps({
        "tool": {"name": "conformance", "version": "0.1.0", "ruleset": "bench"},
        "target": {"name": "bench", "endpoint": "http://127.0.0.1:8089/hip"},
        "profile": "hospital", "cases": cases}, ensure_ascii=False), encoding="utf-8")
    for name in ("perf.json", "score.json"):
        shutil.copy(FIXTURE / name, folder / name)


def measure(run_dir: str, what: str, out_dir: str) -> None:
    """Runs in a child process: do one thing, print {seconds, peak_mb, ...} as JSON."""
    t0 = time.perf_counter()
    info: dict[str, object] = {}
    if what == "load":
        from conformance.report.model import open_run
        open_run(run_dir)
    else:
        from conformance.report.render import render_reports
        fmt = what
        target = str(Path(out_dir) / {"html": "r.html", "pdf": "r.pdf", "json": "r.json",
                                      "junit": "r.xml", "sarif": "r.sarif"}[fmt])
        outcome = render_reports(run_dir, [fmt], "zh", outputs={fmt: target})
        info["seconds"] = time.perf_counter() - t0
        info["peak_mb"] = peak_mb()  # before this script reads the output back
        info["bytes"] = os.path.getsize(target)
        if fmt == "pdf":
            info["pages"] = outcome.pdf_pages
        if fmt == "html":
            page = Path(target).read_text(encoding="utf-8")
            info["inlined_bodies"] = page.count('<pre class="code xml">')
            info["previews"] = page.count("报文较大，仅显示开头")
            info["links_only"] = page.count("报告内嵌内容已达上限")
    info.setdefault("seconds", time.perf_counter() - t0)
    info.setdefault("peak_mb", peak_mb())
    print(json.dumps(info))


def child(run_dir: Path, what: str, out_dir: Path) -> dict[str, float]:
    proc = subprocess.run([sys.executable, __file__, "--measure", what, str(run_dir), str(out_dir)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        measure(sys.argv[3], sys.argv[2], sys.argv[4])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--findings", type=int, default=10_000)
    ap.add_argument("--exchanges", type=int, default=5_000)
    ap.add_argument("--keep", default=None, help="build the run folder here and keep it")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-report-"))
    try:
        run = Path(args.keep) if args.keep else tmp / "run"
        if run.exists():
            shutil.rmtree(run)
        t0 = time.perf_counter()
        make_run(run, args.findings, args.exchanges)
        size = sum(p.stat().st_size for p in run.rglob("*") if p.is_file())
        print(f"run folder: {args.findings} findings, {args.exchanges} exchanges, "
              f"{size / 2**20:.1f} MiB on disk (built in {time.perf_counter() - t0:.1f} s)")
        base = child(run, "load", tmp)
        print(f"{'baseline: load typed artifacts':34} {base['seconds']:7.2f} s   "
              f"peak {base['peak_mb']:7.1f} MiB")
        for what in ("html", "pdf", "json", "junit", "sarif"):
            r = child(run, what, tmp)
            extra = ""
            if what == "html":
                extra = (f"  {r['bytes'] / 2**20:.1f} MiB; bodies: {r['inlined_bodies']} inlined, "
                         f"{r['previews']} too big (preview + link), {r['links_only']} link only "
                         "(inline budget spent)")
            elif what == "pdf":
                extra = f"  {r['bytes'] / 2**20:.1f} MiB, {r['pages']} pages (capped extract)"
            else:
                extra = f"  {r['bytes'] / 2**20:.1f} MiB"
            print(f"{'render ' + what:34} {r['seconds']:7.2f} s   peak {r['peak_mb']:7.1f} MiB"
                  f"   x{r['seconds'] / base['seconds']:.1f} time, "
                  f"x{r['peak_mb'] / base['peak_mb']:.1f} memory of the baseline{extra}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
