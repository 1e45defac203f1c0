"""Bulk-load synthetic patients into the reference platform's store (3.3.1.2 is measured on a
base of at least 500,000 patient records).

A seeded patient is stored exactly as if it had been registered over the interface: the record
is the person element of the profile's register message (the catalog's write/add service of the
person entity, e.g. PatientInfoRegister or ResidentInfoRegister) rendered by the message builder,
with its business key and its secondary ids (resident ID number) in the index table. Only the
per-patient values differ, so the message is rendered ONCE with sentinel values and every row is
filled in by string formatting — no template rendering or XML parsing per row — and written with
``executemany`` in large transactions (``Store.bulk_insert``). Seeding is idempotent: keys that
already exist are kept, so re-running with the same count is quick and harmless.

Seeded keys are ``PS`` + 9 digits (``seeded_key(i)``), apart from the ``P`` + 8 digits keys the
builder gives registered test patients; they carry no history row (history records changes
received over the interface; an update of a seeded patient gets version 2 as usual).
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from ..errors import ConformanceError
from ..hl7v3.builder import MessageBuilder
from ..hl7v3.services import Service, ServiceCatalog
from .store import Store, now

SEED_PREFIX = "PS"
SEED_SENDER = "conformance-seed"
_SENTINELS = {"key": "@@KEY@@", "name": "@@NAME@@", "gender": "@@GENDER@@",
              "gender_name": "@@GENDERNAME@@", "birth": "@@BIRTH@@", "id_number": "@@IDNUMBER@@",
              "phone": "@@PHONE@@"}


_SPECIAL = re.compile(r'[&<>"]')


class SeedError(ConformanceError):
    """The catalog has no usable register service for the person entity."""


def _attr(value: str) -> str:
    """Escape for an attribute value as lxml serialises it (most values need nothing)."""
    if _SPECIAL.search(value):
        return escape(value, {'"': "&quot;"})
    return value


def seeded_key(i: int) -> str:
    """The business key of the i-th seeded patient (i >= 1)."""
    return f"{SEED_PREFIX}{i:09d}"


def register_service(services: ServiceCatalog) -> Service:
    """The write/add service that registers the profile's person entity (catalog data)."""
    for svc in services.services:
        person = str(svc.vars.get("patient_entity") or "")
        if svc.kind == "write" and svc.op == "add" and person and svc.entity == person \
                and svc.record is not None and svc.key is not None:
            return svc
    raise SeedError(f"profile {services.profile}: no register (write/add) service for the person "
                    "entity in the service catalog")


@dataclass(slots=True)
class SeedResult:
    entity: str
    service: str
    requested: int
    inserted: int
    existing: int
    seconds: float
    total: int           # person records in the store afterwards

    def to_dict(self) -> dict[str, Any]:
        return {"entity": self.entity, "service": self.service, "requested": self.requested,
                "inserted": self.inserted, "existing": self.existing,
                "seconds": round(self.seconds, 3), "total": self.total}


class PatientRows:
    """Makes store rows for seeded patient i, from one rendering of the register message."""

    def __init__(self, services: ServiceCatalog, builder: MessageBuilder | None = None) -> None:
        self.services = services
        self.svc = register_service(services)
        self.builder = builder or MessageBuilder(services.profile, services)
        s = _SENTINELS
        person = {"name": s["name"], "gender": s["gender"], "gender_name": s["gender_name"],
                  "birth": s["birth"], "id_number": s["id_number"], "phone": s["phone"],
                  "address": self.builder.person(1)["address"]}
        message = self.builder.build_request(self.svc, {"index": 1, "patient_id": s["key"],
                                                        "key": s["key"], "patient": person})
        root = etree.fromstring(message)
        found = self.svc.record(root)
        if not found:
            raise SeedError(f"{self.svc.action}: the register message has no record at "
                            f"{self.svc.record_path}")
        if self.svc.key.value(root) != s["key"]:
            raise SeedError(f"{self.svc.action}: the key path does not hold the patient id")
        # as the platform stores it (engine.Platform._write): a copy of the record element
        xml = etree.tostring(copy.deepcopy(found[0]), encoding="unicode")
        for name in ("key", "name", "id_number"):
            if s[name] not in xml:
                raise SeedError(f"{self.svc.action}: the stored record would not carry the {name}")
        fmt = xml.replace("{", "{{").replace("}", "}}")
        for name, token in s.items():
            fmt = fmt.replace(token, "{" + name + "}")
        self.fmt = fmt
        # which secondary ids (index specs) the record gets, as a function of the sentinels
        inverse = {v: k for k, v in s.items()}
        self.index_fields: list[str] = []
        for spec in self.svc.index:
            value = spec.value(root)
            if value in inverse:
                self.index_fields.append(inverse[value])
        child = found[0].find("{urn:hl7-org:v3}code")
        self.code = (child.get("code") or None) if child is not None else None
        self.entity = self.svc.entity

    def values(self, i: int) -> dict[str, str]:
        """The same person the message builder makes for index i (builder.person)."""
        p = self.builder.person(i)
        return {"key": seeded_key(i), "name": p["name"], "gender": p["gender"],
                "gender_name": p["gender_name"], "birth": p["birth"], "id_number": p["id_number"],
                "phone": p["phone"]}

    def rows(self, i: int, stamp: str) -> tuple[tuple[Any, ...], list[tuple[str, str, str]]]:
        v = self.values(i)
        xml = self.fmt.format(**{k: _attr(x) for k, x in v.items()})
        record = (self.entity, v["key"], 1, None, self.code, xml, None, self.svc.action, "seed",
                  stamp, SEED_SENDER)
        return record, [(self.entity, v[f], v["key"]) for f in self.index_fields]


def count_seeded(store: Store, entity: str, n: int, start: int = 1) -> int:
    """How many of the keys seeded_key(start) … seeded_key(start + n - 1) exist (indexed range)."""
    with store.transaction() as tx:
        row = tx.cur.execute("SELECT COUNT(*) FROM records WHERE entity=? AND key BETWEEN ? AND ?",
                             (entity, seeded_key(start), seeded_key(start + n - 1))).fetchone()
    return int(row[0])


def count_entity(store: Store, entity: str) -> int:
    with store.transaction() as tx:
        return int(tx.cur.execute("SELECT COUNT(*) FROM records WHERE entity=?",
                                  (entity,)).fetchone()[0])


def seed_patients(store: Store, services: ServiceCatalog, n: int, *, start: int = 1,
                  batch: int = 50_000, progress: Callable[[int, int], None] | None = None) -> SeedResult:
    """Make sure patients seeded_key(start) … seeded_key(start + n - 1) are in the store."""
    t0 = time.perf_counter()
    rows = PatientRows(services)
    existing = count_seeded(store, rows.entity, n, start) if n > 0 else 0
    inserted = 0
    if n > 0 and existing < n:
        stamp = now()
        done = 0
        for lo in range(start, start + n, batch):
            hi = min(start + n, lo + batch)
            records, index = [], []
            for i in range(lo, hi):
                rec, idx = rows.rows(i, stamp)
                records.append(rec)
                index.extend(idx)
            inserted += store.bulk_insert(records, index)
            done += hi - lo
            if progress is not None:
                progress(done, n)
    return SeedResult(rows.entity, rows.svc.action, n, inserted, existing,
                      time.perf_counter() - t0, count_entity(store, rows.entity))
