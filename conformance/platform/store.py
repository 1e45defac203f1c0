"""SQLite persistence of the reference platform (stdlib sqlite3).

One connection, guarded by a lock, one transaction per request (BEGIN IMMEDIATE … COMMIT, or
ROLLBACK when anything fails): the store is never half-written, and concurrent clients are
serialised so that no update is lost. File databases use WAL; ':memory:' is supported (the one
connection is shared by the server threads, which is why it is guarded).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from ..errors import ConformanceError
from .safe import MAX_TEXT_CHARS, clip

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    entity TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, patient TEXT,
    code TEXT, xml TEXT NOT NULL, content BLOB, service TEXT, message_id TEXT, updated TEXT,
    sender TEXT,
    PRIMARY KEY (entity, key));
CREATE INDEX IF NOT EXISTS records_patient ON records (entity, patient);
CREATE TABLE IF NOT EXISTS idx (
    entity TEXT NOT NULL, value TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (entity, value, key));
CREATE TABLE IF NOT EXISTS merges (
    entity TEXT NOT NULL, merged TEXT NOT NULL, survivor TEXT NOT NULL, time TEXT,
    PRIMARY KEY (entity, merged));
CREATE TABLE IF NOT EXISTS history (
    entity TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, xml TEXT NOT NULL,
    updated TEXT, PRIMARY KEY (entity, key, version));
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT, action TEXT, interaction TEXT,
    message_id TEXT, sender TEXT, ack TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS audit_message ON audit (message_id);
CREATE TABLE IF NOT EXISTS exchanges (
    message_id TEXT NOT NULL, digest TEXT NOT NULL, action TEXT, ack TEXT, detail TEXT,
    response BLOB NOT NULL, time TEXT, PRIMARY KEY (message_id, digest));
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT, subscriber TEXT, subscription TEXT, entity TEXT,
    doc_key TEXT, patient TEXT, code TEXT, time TEXT);
"""


# Answers kept for re-sent messages (a client retrying after a timeout does so within minutes):
# a day, pruned every so many writes.
EXCHANGE_KEEP_SECONDS = 24 * 3600
EXCHANGE_PRUNE_EVERY = 1000


def now() -> str:
    return datetime.now().strftime("%Y%m%d%H%M%S")


class StoreError(ConformanceError):
    """The database cannot be opened or used."""


class Store:
    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self.lock = threading.RLock()
        try:
            self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                        timeout=30)
            if path != ":memory:":
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from None

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.lock:
            cur = self.conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(cur)
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")

    def counts(self) -> dict[str, int]:
        with self.lock:
            rows = self.conn.execute("SELECT entity, COUNT(*) FROM records GROUP BY entity").fetchall()
        return {e: n for e, n in rows}

    def bulk_insert(self, records: Sequence[tuple[Any, ...]],
                    index_rows: Sequence[tuple[str, str, str]] = ()) -> int:
        """Insert many records and their secondary ids in ONE transaction (executemany), keeping
        the keys that already exist (INSERT OR IGNORE: loading twice is harmless). ``records``
        are full rows in column order (entity, key, version, patient, code, xml, content, service,
        message_id, updated, sender); ``index_rows`` are (entity, value, key). Returns how many
        records were new. Used to seed large synthetic bases (``conformance seed``)."""
        with self.lock:
            cur = self.conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                before = self.conn.total_changes
                cur.executemany(
                    "INSERT OR IGNORE INTO records (entity, key, version, patient, code, xml, content, "
                    "service, message_id, updated, sender) VALUES (?,?,?,?,?,?,?,?,?,?,?)", records)
                inserted = self.conn.total_changes - before
                cur.executemany("INSERT OR IGNORE INTO idx VALUES (?,?,?)", index_rows)
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
        return inserted

    def exchange(self, message_id: str, digest: str) -> dict[str, Any] | None:
        """The answer already given to this message (same id, same content), read outside a
        transaction: a quick look before the work of a request; the transaction that would
        apply it looks again (Tx.exchange), so two concurrent retries never both apply."""
        with self.lock:
            return _exchange(self.conn.cursor(), message_id, digest)

    def snapshot(self) -> list[tuple[Any, ...]]:
        """Everything stored except the audit trail (tests compare snapshots)."""
        with self.lock:
            out = []
            for table in ("records", "idx", "merges", "history", "notifications"):
                out.extend((table, *r) for r in self.conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3"))
            return out


class Tx:
    """Operations inside one transaction."""

    def __init__(self, cur: sqlite3.Cursor) -> None:
        self.cur = cur

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        self.cur.execute("SAVEPOINT op")
        try:
            yield
        except BaseException:
            self.cur.execute("ROLLBACK TO op")
            self.cur.execute("RELEASE op")
            raise
        else:
            self.cur.execute("RELEASE op")

    # ---------------------------------------------------------------- records
    def resolve(self, entity: str, key: str) -> str:
        """Follow merges to the surviving key (chains included, cycles stopped)."""
        seen = {key}
        while True:
            row = self.cur.execute("SELECT survivor FROM merges WHERE entity=? AND merged=?",
                                   (entity, key)).fetchone()
            if row is None or row[0] in seen:
                return key
            key = row[0]
            seen.add(key)

    def get(self, entity: str, key: str) -> dict[str, Any] | None:
        key = self.resolve(entity, key)
        row = self.cur.execute(
            "SELECT key, version, patient, code, xml, content, updated FROM records "
            "WHERE entity=? AND key=?", (entity, key)).fetchone()
        if row is None:
            return None
        return dict(zip(("key", "version", "patient", "code", "xml", "content", "updated"), row,
                        strict=True))

    def exists(self, entity: str, key: str) -> bool:
        return self.get(entity, key) is not None

    def insert(self, entity: str, key: str, xml: str, *, patient: str | None, code: str | None,
               content: bytes | None, service: str, message_id: str, sender: str = "") -> None:
        self.cur.execute(
            "INSERT INTO records (entity, key, version, patient, code, xml, content, service, "
            "message_id, updated, sender) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (entity, key, 1, patient, code, xml, content, service, message_id, now(), sender))
        self.cur.execute("INSERT INTO history VALUES (?,?,?,?,?)", (entity, key, 1, xml, now()))

    def replace(self, entity: str, key: str, xml: str, *, patient: str | None, code: str | None,
                content: bytes | None, service: str, message_id: str, sender: str = "") -> int:
        key = self.resolve(entity, key)
        row = self.cur.execute("SELECT version FROM records WHERE entity=? AND key=?",
                               (entity, key)).fetchone()
        version = (row[0] if row else 0) + 1
        self.cur.execute(
            "INSERT OR REPLACE INTO records (entity, key, version, patient, code, xml, content, "
            "service, message_id, updated, sender) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (entity, key, version, patient, code, xml, content, service, message_id, now(), sender))
        self.cur.execute("INSERT INTO history VALUES (?,?,?,?,?)", (entity, key, version, xml, now()))
        return version

    def by_patient(self, entity: str, patient: str, code: str | None = None,
                   limit: int = 100) -> list[dict[str, Any]]:
        sql = ("SELECT key, version, patient, code, xml, content, updated FROM records "
               "WHERE entity=? AND patient=?")
        args: list[Any] = [entity, patient]
        if code:
            sql += " AND code=?"
            args.append(code)
        rows = self.cur.execute(sql + " ORDER BY updated, key LIMIT ?", (*args, limit)).fetchall()
        return [dict(zip(("key", "version", "patient", "code", "xml", "content", "updated"), r,
                         strict=True)) for r in rows]

    def merge(self, entity: str, survivor: str, merged: str) -> None:
        self.cur.execute("INSERT OR REPLACE INTO merges VALUES (?,?,?,?)", (entity, merged, survivor, now()))
        # records that belonged to the merged identity now belong to the survivor
        self.cur.execute("UPDATE records SET patient=? WHERE patient=?", (survivor, merged))

    # ---------------------------------------------------------------- secondary ids
    def index(self, entity: str, value: str, key: str) -> None:
        self.cur.execute("INSERT OR IGNORE INTO idx VALUES (?,?,?)", (entity, value, key))

    def lookup(self, entity: str, value: str) -> list[str]:
        rows = self.cur.execute("SELECT key FROM idx WHERE entity=? AND value=? ORDER BY key",
                                (entity, value)).fetchall()
        out: list[str] = []
        for (k,) in rows:
            r = self.resolve(entity, k)
            if r not in out:
                out.append(r)
        return out

    # ---------------------------------------------------------------- answered messages
    def exchange(self, message_id: str, digest: str) -> dict[str, Any] | None:
        return _exchange(self.cur, message_id, digest)

    def record_exchange(self, message_id: str, digest: str, action: str, ack: str, detail: str,
                        response: bytes) -> None:
        """Keep the answer given to a write request, so that re-sending the identical message
        (what a client does after a timeout) gets the same answer instead of being applied
        again. Keyed by message id and content digest: a different message reusing the id is
        processed as usual."""
        self.cur.execute("INSERT OR IGNORE INTO exchanges (message_id, digest, action, ack, detail, "
                         "response, time) VALUES (?,?,?,?,?,?,?)",
                         (_col(message_id), digest, _col(action), _col(ack), _col(detail), response,
                          now()))
        if (self.cur.lastrowid or 0) % EXCHANGE_PRUNE_EVERY == 0:  # bounded: retries come soon
            cutoff = (datetime.now() - timedelta(seconds=EXCHANGE_KEEP_SECONDS)).strftime(
                "%Y%m%d%H%M%S")
            self.cur.execute("DELETE FROM exchanges WHERE time < ?", (cutoff,))

    # ---------------------------------------------------------------- audit and notifications
    def audit(self, action: str, interaction: str, message_id: str, sender: str, ack: str,
              detail: str) -> None:
        self.cur.execute("INSERT INTO audit (time, action, interaction, message_id, sender, ack, "
                         "detail) VALUES (?,?,?,?,?,?,?)",
                         (now(), _col(action), _col(interaction), _col(message_id), _col(sender),
                          _col(ack), _col(detail)))

    def audit_events(self, *, message_id: str | None = None, sender: str | None = None,
                     limit: int = 100) -> list[dict[str, Any]]:
        if message_id:
            rows = self.cur.execute("SELECT * FROM audit WHERE message_id=? ORDER BY id LIMIT ?",
                                    (message_id, limit)).fetchall()
        else:
            rows = self.cur.execute("SELECT * FROM audit WHERE sender=? ORDER BY id DESC LIMIT ?",
                                    (sender or "", limit)).fetchall()
        cols = ("id", "time", "action", "interaction", "message_id", "sender", "ack", "detail")
        return [dict(zip(cols, r, strict=True)) for r in rows]

    def notify(self, subscriber: str, subscription: str, entity: str, doc_key: str, patient: str,
               code: str | None) -> None:
        self.cur.execute("INSERT INTO notifications (subscriber, subscription, entity, doc_key, "
                         "patient, code, time) VALUES (?,?,?,?,?,?,?)",
                         (subscriber, subscription, entity, doc_key, patient, code, now()))

    def notifications(self, subscriber: str, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.cur.execute("SELECT id, subscription, entity, doc_key, patient, code, time FROM "
                                "notifications WHERE subscriber=? ORDER BY id LIMIT ?",
                                (subscriber, limit)).fetchall()
        cols = ("id", "subscription", "entity", "doc_key", "patient", "code", "time")
        return [dict(zip(cols, r, strict=True)) for r in rows]

    def subscriptions_for(self, patient: str) -> list[dict[str, Any]]:
        rows = self.cur.execute("SELECT key, code, sender FROM records WHERE "
                                "entity='subscription' AND patient=?", (patient,)).fetchall()
        return [{"key": k, "code": c, "sender": snd} for k, c, snd in rows]


def _col(value: str | None) -> str:
    """A text column of the audit trail or of a kept answer: bounded and escaped whatever the
    caller passes (the engine has bounded identifiers tighter already: this leaves them as they
    are, so they still match the lookups by message id)."""
    return clip(value, MAX_TEXT_CHARS)


def _exchange(cur: sqlite3.Cursor, message_id: str, digest: str) -> dict[str, Any] | None:
    row = cur.execute("SELECT action, ack, detail, response FROM exchanges WHERE message_id=? AND "
                      "digest=?", (message_id, digest)).fetchone()
    if row is None:
        return None
    return dict(zip(("action", "ack", "detail", "response"), row, strict=True))
