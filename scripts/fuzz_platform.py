"""Mutation fuzzing of the embedded reference platform: bad requests never break it.

    python scripts/fuzz_platform.py [--profile hospital|regional] [--per-service 20] [--seed 0]

Builds the conformant request of every service of the profile, damages it (tests/mutations.py:
tree-level defects of the HL7 V3 message, then byte-level damage of the SOAP request one time in
five), posts it to an embedded platform (in this process, on a free loopback port) and checks
each answer:

- an HTTP answer (no reset connection), with a status the platform documents (200, 400, 413,
  415, 500 only for injected faults, never here);
- a SOAP message or a SOAP Fault, never an internal error ("Internal platform error");
- when the answer is a message, an acknowledgement AA, AE or AR;
- an answer other than AA (AE, AR, a Fault) leaves the store exactly as it was.

At the end the platform must still answer a conformant request with AA. Exits 1 on any failure;
a failure replays with `--only ACTION:SEED`.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time
from pathlib import Path

import requests
from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from conformance.hl7v3.builder import MessageBuilder, soap_envelope, soap_headers  # noqa: E402
from conformance.platform.server import EmbeddedPlatform  # noqa: E402
from tests.mutations import BYTE_MUTATIONS, mutate  # noqa: E402
from tests.platform_helpers import unwrap_soap  # noqa: E402

H = "{urn:hl7-org:v3}"
STATUSES = {200, 400, 413, 415}
INTERNAL = ("Internal platform error", "平台内部错误")


def damaged_request(builder: MessageBuilder, action: str, seed: int) -> tuple[bytes, list[str]]:
    message = builder.build_request(action, {"index": seed % 50 + 1})
    mutated, done = mutate(message, seed)
    rng = random.Random(seed * 7919 + 1)
    try:
        body = soap_envelope(mutated, rng.choice(["1.1", "1.2"]), action=action)
    except Exception:  # a message the envelope builder cannot embed (e.g. truncated bytes)
        body = mutated
    if rng.random() < 0.2:
        body, what = rng.choice(BYTE_MUTATIONS)(rng, body)
        done.append(f"envelope: {what}")
    return body, done


OUTCOMES: collections.Counter[str] = collections.Counter()


def judge(resp: requests.Response) -> list[str]:
    out = []
    if resp.status_code not in STATUSES:
        out.append(f"HTTP {resp.status_code}")
    text = resp.content.decode("utf-8", "replace")
    if any(s in text for s in INTERNAL):
        out.append("internal error: " + text[:300])
        return out
    try:
        kind, el = unwrap_soap(resp.content)
    except Exception as exc:
        return out + [f"answer is not SOAP ({type(exc).__name__}: {exc}): {text[:200]}"]
    if kind == "message":
        ack = el.find(f"{H}acknowledgement")
        code = ack.get("typeCode") if ack is not None else None
        if code not in ("AA", "AE", "AR"):
            out.append(f"message without an AA/AE/AR acknowledgement ({code})")
        OUTCOMES[f"{resp.status_code} {code}"] += 1
    elif kind == "fault":
        OUTCOMES[f"{resp.status_code} fault"] += 1
    else:
        out.append(f"answer is {kind}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="hospital", choices=["hospital", "regional"])
    ap.add_argument("--per-service", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", help="replay one case: ACTION:SEED")
    args = ap.parse_args()

    builder = MessageBuilder(args.profile)
    emb = EmbeddedPlatform(profile=args.profile, max_body=1024 * 1024)
    url = emb.start()
    session = requests.Session()
    failures = cases = 0
    t0 = time.perf_counter()
    try:
        if args.only:
            action, _, seed = args.only.rpartition(":")
            plan = [(action, int(seed))]
        else:
            plan = [(svc.action, seed) for svc in builder.services.services
                    for seed in range(args.seed, args.seed + args.per_service)]
        for action, seed in plan:
            body, done = damaged_request(builder, action, seed)
            version = "1.2" if b"http://www.w3.org/2003/05/soap-envelope" in body else "1.1"
            cases += 1
            before = emb.platform.store.snapshot()
            try:
                resp = session.post(url, data=body, headers=soap_headers(version), timeout=30)
                found = judge(resp)
            except requests.RequestException as exc:
                found = [f"no HTTP answer: {type(exc).__name__}: {exc}"]
            else:
                if b'typeCode="AA"' not in resp.content and \
                        emb.platform.store.snapshot() != before:
                    found.append("refused, yet the store changed")
            if found:
                failures += 1
                print(f"FAIL {action}:{seed}  ({'; '.join(done)})")
                for f in found:
                    print("    " + f)
        # still healthy: a conformant request is accepted
        ok = builder.build_request(plan[0][0] if args.only else "PatientInfoRegister"
                                   if args.profile == "hospital" else
                                   builder.services.services[0].action, {"index": 999})
        resp = session.post(url, data=soap_envelope(ok, "1.1", action=None),
                            headers=soap_headers("1.1"), timeout=30)
        kind, el = unwrap_soap(resp.content)
        ack = el.find(f"{H}acknowledgement") if kind == "message" else None
        if ack is None or ack.get("typeCode") != "AA":
            failures += 1
            print("FAIL: after the run a conformant request is not accepted: "
                  + etree.tostring(el, encoding="unicode")[:300])
    finally:
        emb.stop()
    dt = time.perf_counter() - t0
    print(f"{cases} damaged requests to {len({a for a, _ in plan})} services "
          f"({args.profile}), {failures} failing, {cases / dt:.0f} requests/s")
    print("answers: " + ", ".join(f"{k} x{n}" for k, n in sorted(OUTCOMES.items())))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
