"""Zero crashes on any input, every input in the output: seeded mutations of the project's own
valid documents and messages (a bounded slice of scripts/fuzz_validate.py, which runs the same
checks at scale)."""

from __future__ import annotations

import contextlib
import json
import random
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from conformance.cli import main
from scripts.fuzz_validate import problems, seeds_corpus

from .mutations import BYTE_MUTATIONS, TREE_MUTATIONS, NothingToMutate, mutate

CORPUS = seeds_corpus()


def test_the_corpus_covers_documents_and_messages() -> None:
    names = {p.suffix for p in CORPUS}
    assert names == {".xml"}
    assert sum("documents" in p.parts for p in CORPUS) == 73
    assert sum("runs" in p.parts for p in CORPUS) >= 20


def test_mutations_are_deterministic_and_change_the_document() -> None:
    data = CORPUS[0].read_bytes()
    assert mutate(data, 7) == mutate(data, 7)
    changed = sum(mutate(data, seed)[0] != data for seed in range(50))
    assert changed >= 45  # a few mutations may cancel out (e.g. setting the same value)


@pytest.mark.parametrize("op", TREE_MUTATIONS + BYTE_MUTATIONS, ids=lambda f: f.__name__)
def test_each_mutation_kind_is_survived(op, validator) -> None:
    """Every kind of damage on its own, on documents of both families and on messages."""
    picks = [CORPUS[0], CORPUS[60], CORPUS[-1]]
    for path in picks:
        for seed in range(15):
            rng = random.Random(seed)
            data = path.read_bytes()
            if op in BYTE_MUTATIONS:
                data, _ = op(rng, data)
            else:
                root = etree.fromstring(data)
                with contextlib.suppress(NothingToMutate):  # e.g. only the root left
                    op(rng, root)
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            assert problems(validator, data, str(path)) == [], (path.name, seed)


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_mixed_mutations_in_both_languages(lang, validator, validator_en) -> None:
    v = validator if lang == "zh" else validator_en
    failures = []
    for i, path in enumerate(CORPUS):
        data = path.read_bytes()
        for seed in range(i * 7, i * 7 + 6):
            mutated, done = mutate(data, seed)
            found = problems(v, mutated, str(path))
            if found:
                failures.append((path.name, seed, done, found))
    assert failures == []


def test_every_damaged_file_appears_once_in_the_output(tmp_path: Path) -> None:
    """A folder and a zip of damaged files, in parallel: each input is one document of the JSON
    report, in input order, whatever its damage (empty, binary, truncated, re-encoded)."""
    folder = tmp_path / "batch"
    folder.mkdir()
    names = []
    for i, path in enumerate(CORPUS[::4]):
        data, _ = mutate(path.read_bytes(), 1000 + i, steps=4)
        name = f"{i:03d}.xml"
        (folder / name).write_bytes(data)
        names.append(name)
    (folder / "empty.xml").write_bytes(b"")
    (folder / "binary.xml").write_bytes(bytes(range(256)) * 4)
    names += ["binary.xml", "empty.xml"]
    z = tmp_path / "batch.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for name in names:
            zf.write(folder / name, f"in-zip/{name}")
    r = CliRunner().invoke(main, ["validate", "--format", "json", "--jobs", "2", str(folder),
                                  str(z)], catch_exceptions=False)
    assert r.exit_code == 1  # damaged documents: errors found, not a usage or I/O problem
    report = json.loads(r.output)
    paths = [d["path"] for d in report["documents"]]
    expected = sorted(names)
    assert [Path(p).name for p in paths[:len(names)]] == expected
    assert [p.rpartition("/")[2] for p in paths[len(names):]] == expected
    assert report["summary"]["documents"] == 2 * len(names)
    assert not any(f["rule"] == "INTERNAL.ERROR" for d in report["documents"]
                   for f in d["findings"])


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["hospital", "regional"])
def test_damaged_requests_never_break_the_platform(profile: str) -> None:
    """Every service of the profile, two damaged requests each (a slice of
    scripts/fuzz_platform.py): an AE/AR acknowledgement or a SOAP Fault, never an internal
    error; a refused request changes nothing; a conformant one is still accepted after."""
    import requests

    from conformance.hl7v3.builder import MessageBuilder, soap_envelope, soap_headers
    from conformance.platform.server import EmbeddedPlatform
    from scripts.fuzz_platform import damaged_request, judge

    from .platform_helpers import unwrap_soap

    builder = MessageBuilder(profile)
    emb = EmbeddedPlatform(profile=profile, max_body=1024 * 1024)
    url = emb.start()
    failures = []
    try:
        with requests.Session() as session:
            for svc in builder.services.services:
                for seed in (1, 2):
                    body, done = damaged_request(builder, svc.action, seed)
                    version = "1.2" if b"http://www.w3.org/2003/05/soap-envelope" in body \
                        else "1.1"
                    before = emb.platform.store.snapshot()
                    resp = session.post(url, data=body, headers=soap_headers(version), timeout=30)
                    found = judge(resp)
                    if b'typeCode="AA"' not in resp.content and \
                            emb.platform.store.snapshot() != before:
                        found.append("refused, yet the store changed")
                    if found:
                        failures.append((svc.action, seed, done, found))
            first = builder.services.services[0].action
            ok = builder.build_request(first, {"index": 777})
            resp = session.post(url, data=soap_envelope(ok, "1.1", action=first),
                                headers=soap_headers("1.1"), timeout=30)
            kind, el = unwrap_soap(resp.content)
            assert kind == "message"
            assert el.find("{urn:hl7-org:v3}acknowledgement").get("typeCode") == "AA"
    finally:
        emb.stop()
    assert failures == []


@pytest.mark.slow
def test_messages_carried_as_text_in_soap(validator) -> None:
    """Damaged messages sent as the text of HIPMessageServer/message (escaped and CDATA): the
    carried message is validated and every finding placed in the file."""
    from scripts.fuzz_validate import bare_message, soap_text

    failures = []
    rules: set[str] = set()
    for i, path in enumerate(CORPUS[::3]):
        for seed in (i, i + 1):
            mutated, done = mutate(bare_message(path.read_bytes()), seed)
            data = soap_text(mutated, cdata=bool(seed % 2))
            found = problems(validator, data, str(path))
            if found:
                failures.append((path.name, seed, done, found))
            rules |= {f.rule for f in validator.validate_bytes(data, "x.xml").findings}
    assert failures == []
    # the carried messages were really validated, not just refused
    assert {"V3.ROOT_UNKNOWN", "V3.SOAP_NO_MESSAGE"} < rules
    assert any(r.startswith("V3.") and r not in ("V3.ROOT_UNKNOWN", "V3.SOAP_NO_MESSAGE")
               for r in rules)


def test_minified_documents_get_the_findings_of_the_indented_ones(validator) -> None:
    """Documents written on one line (code that builds XML by concatenation): each finding is
    on the element it is about (the findings of the same document indented, where every
    element has a line of its own), its line and column at that element's own start tag."""
    from scripts.fuzz_validate import _byte_damaged, minify, twin_problems

    failures = []
    schema_findings = 0
    for i, path in enumerate(CORPUS[::4]):
        original = minify(path.read_bytes())
        for seed in (i, i + 100):
            mutated, done = mutate(original, seed, steps=3)
            found = problems(validator, mutated, str(path))
            if not _byte_damaged(done):
                found += twin_problems(validator, mutated, str(path))
                schema_findings += sum(f.rule == "SCHEMA.INVALID" for f in
                                       validator.validate_bytes(mutated, "x").findings)
            if found:
                failures.append((path.name, seed, done, found))
    assert failures == []
    assert schema_findings >= 20  # the slice did put schema errors on one-line documents


def test_documents_carried_in_registrations(validator) -> None:
    """Damaged documents carried base64-encoded in a 电子病历文档注册 message, bare and as SOAP
    text: each finding of the document is placed at the carrying attribute, its path in the
    document after the arrow."""
    from scripts.fuzz_validate import registration, soap_text

    failures = []
    arrows = 0
    for i, path in enumerate([p for p in CORPUS if "documents" in p.parts][::9]):
        mutated, done = mutate(path.read_bytes(), i)
        for data in (registration(mutated, i), soap_text(registration(mutated, i), bool(i % 2))):
            found = problems(validator, data, str(path))
            if found:
                failures.append((path.name, i, done, found))
            arrows += sum(" → /ClinicalDocument" in (f.xpath or "")
                          for f in validator.validate_bytes(data, "x").findings)
    assert failures == []
    assert arrows >= 10
