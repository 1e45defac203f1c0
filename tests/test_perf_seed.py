"""Synthetic patient bases (3.3.1.2 asks for 500,000 records): seeded patients are stored as
registered ones, loading is idempotent, and the platform's patient query stays indexed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.hl7v3.builder import MessageBuilder
from conformance.platform.engine import Platform
from conformance.platform.seed import PatientRows, count_seeded, seed_patients, seeded_key


@pytest.fixture(scope="module")
def seeded() -> Platform:
    p = Platform("hospital")
    res = seed_patients(p.store, p.services, 3000, batch=1000)
    assert (res.inserted, res.existing, res.total) == (3000, 0, 3000)
    return p


def test_a_seeded_patient_is_stored_as_a_registered_one(seeded: Platform) -> None:
    rows = PatientRows(seeded.services)
    i = 1234
    other = Platform("hospital")
    b = MessageBuilder("hospital")
    msg = b.build_request("PatientInfoRegister", {"index": i, "patient_id": seeded_key(i),
                                                  "key": seeded_key(i)})
    assert other.handle(msg, "PatientInfoRegister").ack == "AA"
    with other.store.transaction() as tx:
        registered = tx.get("patient", seeded_key(i))
        reg_idx = tx.cur.execute("SELECT value FROM idx WHERE key=?", (seeded_key(i),)).fetchall()
    with seeded.store.transaction() as tx:
        stored = tx.get("patient", seeded_key(i))
        seed_idx = tx.cur.execute("SELECT value FROM idx WHERE key=?", (seeded_key(i),)).fetchall()
    assert stored is not None and registered is not None
    assert stored["xml"] == registered["xml"]          # same record, byte for byte
    assert seed_idx == reg_idx == [(rows.values(i)["id_number"],)]


def test_seeding_is_idempotent_and_counts(seeded: Platform) -> None:
    res = seed_patients(seeded.store, seeded.services, 3000)
    assert (res.inserted, res.existing, res.total) == (0, 3000, 3000)
    res = seed_patients(seeded.store, seeded.services, 3100, batch=40)
    assert (res.inserted, res.existing, res.total) == (100, 3000, 3100)
    assert count_seeded(seeded.store, "patient", 3100) == 3100


def test_the_patient_query_is_indexed(seeded: Platform) -> None:
    """Every statement a patient query runs (by patient id and by resident ID number) searches an
    index: EXPLAIN QUERY PLAN shows no full scan of records, idx or merges."""
    b = MessageBuilder("hospital")
    rows = PatientRows(seeded.services)
    statements: list[str] = []
    conn = seeded.store.conn
    conn.set_trace_callback(statements.append)
    try:
        by_key = seeded.handle(b.build_request("PatientInfoQuery", {"key": seeded_key(2500)}),
                               "PatientInfoQuery")
        by_index = seeded.handle(b.build_request("PatientInfoQuery", {
            "by": "index", "id_number": rows.values(777)["id_number"]}), "PatientInfoQuery")
    finally:
        conn.set_trace_callback(None)
    assert by_key.ack == "AA" and seeded_key(2500) in by_key.response.decode()
    assert by_index.ack == "AA" and seeded_key(777) in by_index.response.decode()
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) >= 3
    for sql in selects:
        plan = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
        details = [row[-1] for row in plan]
        assert any(d.startswith("SEARCH") for d in details), (sql, details)
        assert not any(d.startswith("SCAN") and any(t in d for t in ("records", "idx", "merges"))
                       for d in details), (sql, details)


def test_seed_command_and_serve_option(tmp_path: Path) -> None:
    db = tmp_path / "p.sqlite"
    r = CliRunner().invoke(main, ["seed", "--db", str(db), "--patients", "250", "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert "250 new" in r.stdout and "250 in all" in r.stdout
    r = CliRunner().invoke(main, ["seed", "--db", str(db), "--patients", "250", "--lang", "en"])
    assert "0 new, 250 already there" in r.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM records WHERE entity='patient'").fetchone()[0] == 250
    r = CliRunner().invoke(main, ["seed", "--db", str(tmp_path / "no" / "dir" / "x.sqlite"),
                                  "--patients", "5"])
    assert r.exit_code == 2 and "cannot open database" in r.output
    r = CliRunner().invoke(main, ["serve", "--help"])
    assert "--seed-patients" in r.stdout


def test_the_regional_profile_seeds_residents() -> None:
    p = Platform("regional")
    res = seed_patients(p.store, p.services, 10)
    assert res.entity == "resident" and res.service == "ResidentInfoRegister" and res.total == 10
    out = p.handle(MessageBuilder("regional").build_request("ResidentInfoQuery", {"key": seeded_key(3)}),
                   "ResidentInfoQuery")
    assert out.ack == "AA"


def test_the_platform_does_not_import_perf() -> None:
    """perf depends on platform (it seeds and starts it), never the reverse: no module of
    conformance/platform imports conformance.perf, at the top or inside a function."""
    import ast

    import conformance.platform as platform_pkg

    offenders = []
    for path in sorted(Path(platform_pkg.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                name = ("." * node.level) + (node.module or "")
                if name in ("..perf", "conformance.perf") or name.startswith(("..perf.",
                                                                               "conformance.perf.")):
                    offenders.append(f"{path.name}:{node.lineno}")
            elif isinstance(node, ast.Import):
                offenders += [f"{path.name}:{node.lineno}" for a in node.names
                              if a.name.startswith("conformance.perf")]
    assert offenders == []
