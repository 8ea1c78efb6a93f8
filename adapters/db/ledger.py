"""The ledger's write side: one transaction per batch, level and ledger rows together."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import datetime
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import replenishment
from adapters.db import tables as t
from adapters.db.engine import Database
from adapters.db.rows import level_from_row, location_from_row
from adapters.db.sql import (
    add_to_rows,
    chunks,
    execute_many,
    insert_ids,
    is_retryable,
    one_of,
    pairs_in,
)
from domain.events import StockChanged
from domain.location import Location
from domain.movement import Effect, Movement, on_hand_set_to
from domain.ports import BatchKeys, LedgerBatch, Pair
from domain.source import SourceMode
from domain.stock import Delta, StockLevel

T = TypeVar("T")
MAX_ATTEMPTS = 5
_sqlite_turns: WeakKeyDictionary[Database, asyncio.Lock] = WeakKeyDictionary()


def _writer_turn(db: Database) -> AbstractAsyncContextManager[object]:
    """SQLite admits one writer at a time; the others poll in its busy handler with sleeps
    growing to 100 ms, which is not fair: with 8 concurrent writers some waited 10 s (p99
    6.9 s). Queued here (FIFO) this process's ledger writers wait at most their turn (p99
    2.5 s on the same loaded machine, docs/benchmarks.md). Other processes still meet at the
    database's lock (BEGIN IMMEDIATE), which is what keeps the ledger correct."""
    if not db.is_sqlite:
        return nullcontext()
    return _sqlite_turns.setdefault(db, asyncio.Lock())


class SqlAlchemyLedger:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def apply(
        self, keys: BatchKeys, actor: str, now: datetime, decide: Callable[[LedgerBatch], T]
    ) -> tuple[T, list[StockChanged]]:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async with _writer_turn(self.db), self.db.writer.begin() as conn:
                    batch = await _load(conn, keys, actor, now, self.db.dialect)
                    result = decide(batch)
                    changes = await batch.flush(conn, self.db.dialect)
                return result, changes
            except Exception as exc:
                if attempt == MAX_ATTEMPTS or not is_retryable(exc):
                    raise
                await asyncio.sleep(0.005 * attempt)
        raise AssertionError("unreachable")


class SqlAlchemyBatch:
    """Implements `LedgerBatch` over rows loaded at the start of the transaction."""

    def __init__(self, actor: str, now: datetime) -> None:
        self.actor = actor
        self.now = now
        self.locations: dict[str, Location] = {}
        self.source_modes: dict[str, SourceMode] = {}
        self.skus: set[str] = set()
        self.levels: dict[Pair, StockLevel] = {}
        self.stored: set[Pair] = set()
        self.bin_levels: dict[Pair, dict[str, int]] = {}
        self.stored_bins: set[tuple[str, str, str]] = set()
        self.fingerprints: dict[str, str] = {}
        self._movements: list[dict[str, Any]] = []
        self._entries: list[dict[str, Any]] = []
        self._after: list[StockLevel] = []

    # StockView
    def location(self, location_id: str) -> Location | None:
        return self.locations.get(location_id)

    def sku_exists(self, sku: str) -> bool:
        return sku in self.skus

    def level(self, sku: str, location_id: str) -> StockLevel:
        return self.levels.get((sku, location_id)) or StockLevel(sku, location_id)

    def existing_level(self, sku: str, location_id: str) -> StockLevel | None:
        return self.levels.get((sku, location_id))

    def bins(self, sku: str, location_id: str) -> Mapping[str, int]:
        return self.bin_levels.get((sku, location_id), {})

    def source_mode(self, location_id: str) -> SourceMode | None:
        return self.source_modes.get(location_id)

    # LedgerBatch
    def recorded_fingerprint(self, event_id: str) -> str | None:
        return self.fingerprints.get(event_id)

    def record(self, m: Movement, fingerprint: str, effects: Sequence[Effect]) -> None:
        self.fingerprints[m.event_id] = fingerprint
        self._movements.append(_movement_row(m, fingerprint, self.actor, self.now))
        for effect in effects:
            self._change(effect.sku, effect.location_id, effect.delta, m.type.value,
                         m.event_id, effect.bins, m.occurred_at)

    def set_safety_stock(self, sku: str, location_id: str, quantity: int) -> None:
        level = self.level(sku, location_id)
        self.levels[(sku, location_id)] = StockLevel(
            sku, location_id, level.on_hand, level.reserved, quantity, level.inbound,
            level.unsellable, level.updated_at,
        )
        self._change(sku, location_id, Delta(), "SAFETY_STOCK", None, {}, None)

    def set_on_hand(
        self, sku: str, location_id: str, quantity: int, cause: str, source_id: str | None,
        occurred_at: datetime | None = None,
    ) -> bool:
        """Make on hand `quantity` (a level another system reports); False when it already is."""
        effect = on_hand_set_to(self.level(sku, location_id), self.bins(sku, location_id),
                                quantity)
        if effect.delta.is_zero:
            return False
        self._change(sku, location_id, effect.delta, cause, source_id, effect.bins, occurred_at)
        return True

    def _change(
        self, sku: str, location_id: str, delta: Delta, cause: str, source_id: str | None,
        bins: Mapping[str, int], occurred_at: datetime | None,
    ) -> None:
        key = (sku, location_id)
        after = self.level(sku, location_id).apply(delta, self.now)
        self.levels[key] = after
        held = self.bin_levels.setdefault(key, {})
        for b, q in bins.items():
            held[b] = held.get(b, 0) + q
        self._after.append(after)
        self._entries.append({
            "cause": cause, "source_id": source_id, "sku": sku, "location_id": location_id,
            "d_on_hand": delta.on_hand, "d_reserved": delta.reserved,
            "d_inbound": delta.inbound, "d_unsellable": delta.unsellable,
            "bins": {b: q for b, q in bins.items() if q}, "recorded_at": self.now,
            "occurred_at": occurred_at or self.now, "actor": self.actor,
        })

    async def flush(self, conn: AsyncConnection, dialect: str) -> list[StockChanged]:
        if not self._entries:
            return []
        if self._movements:
            await execute_many(conn, t.movement.insert(), self._movements)
        ids = await insert_ids(conn, dialect, t.ledger_entry, self._entries)
        await self._write_levels(conn, dialect)
        await self._write_bins(conn, dialect)
        changes = [
            StockChanged(seq, after, entry["cause"], entry["occurred_at"])
            for seq, after, entry in zip(ids, self._after, self._entries, strict=True)
        ]
        # Receipts fulfil the requests they name; levels that fell raise theirs (same commit).
        return await replenishment.on_batch_written(
            conn, dialect, self.now, changes, self._entries, self._movements)

    async def _write_levels(self, conn: AsyncConnection, dialect: str) -> None:
        totals: dict[Pair, Delta] = {}
        for e in self._entries:
            key = (e["sku"], e["location_id"])
            totals[key] = totals.get(key, Delta()) + Delta(
                e["d_on_hand"], e["d_reserved"], e["d_inbound"], e["d_unsellable"])
        rows = [
            {"sku": k[0], "location_id": k[1], "on_hand": d.on_hand, "reserved": d.reserved,
             "inbound": d.inbound, "unsellable": d.unsellable,
             "safety_stock": self.level(*k).safety_stock, "updated_at": self.now}
            for k, d in sorted(totals.items())
        ]
        await add_to_rows(conn, dialect, t.stock_level, ("sku", "location_id"),
                          ("on_hand", "reserved", "inbound", "unsellable"),
                          ("safety_stock", "updated_at"), rows, self.stored)

    async def _write_bins(self, conn: AsyncConnection, dialect: str) -> None:
        totals: dict[tuple[str, str, str], int] = {}
        for e in self._entries:
            for b, q in e["bins"].items():
                key = (e["sku"], e["location_id"], b)
                totals[key] = totals.get(key, 0) + q
        rows = [{"sku": s, "location_id": loc, "bin": b, "quantity": q}
                for (s, loc, b), q in sorted(totals.items()) if q]
        await add_to_rows(conn, dialect, t.bin_level, ("sku", "location_id", "bin"),
                          ("quantity",), (), rows, self.stored_bins)


async def _load(
    conn: AsyncConnection, keys: BatchKeys, actor: str, now: datetime, dialect: str
) -> SqlAlchemyBatch:
    batch = SqlAlchemyBatch(actor, now)
    pairs = sorted(keys.pairs)
    skus = sorted(keys.skus | {s for s, _ in pairs})
    loc_ids = sorted(keys.location_ids | {loc for _, loc in pairs})
    for part in chunks(sorted(keys.event_ids)):
        rows = await conn.execute(select(t.movement.c.event_id, t.movement.c.fingerprint)
                                  .where(one_of(dialect, t.movement.c.event_id, part)))
        batch.fingerprints.update({r.event_id: r.fingerprint for r in rows})
    for part in chunks(skus):
        rows = await conn.execute(select(t.sku.c.sku).where(one_of(dialect, t.sku.c.sku, part)))
        batch.skus.update(r.sku for r in rows)
    for part in chunks(loc_ids):
        rows = await conn.execute(
            select(t.location, t.vendor_source.c.mode.label("source_mode"))
            .outerjoin(t.vendor_source, t.vendor_source.c.location_id == t.location.c.id)
            .where(one_of(dialect, t.location.c.id, part)))
        for r in rows:
            batch.locations[r.id] = location_from_row(r)
            if r.source_mode is not None:
                batch.source_modes[r.id] = SourceMode(r.source_mode)
    lc = t.stock_level.c
    for pair_part in chunks(pairs):
        query = (select(t.stock_level)
                 .where(pairs_in(dialect, lc.sku, lc.location_id, pair_part))
                 .order_by(lc.sku, lc.location_id))
        # Row locks in key order: concurrent batches on PostgreSQL queue instead of deadlocking.
        # (SQLite writers already hold the database's write lock.)
        rows = await conn.execute(query if dialect == "sqlite" else query.with_for_update())
        for r in rows:
            batch.levels[(r.sku, r.location_id)] = level_from_row(r)
            batch.stored.add((r.sku, r.location_id))
        bc = t.bin_level.c
        rows = await conn.execute(select(t.bin_level)
                                  .where(pairs_in(dialect, bc.sku, bc.location_id, pair_part)))
        for r in rows:
            batch.bin_levels.setdefault((r.sku, r.location_id), {})[r.bin] = r.quantity
            batch.stored_bins.add((r.sku, r.location_id, r.bin))
    return batch


def _movement_row(m: Movement, fingerprint: str, actor: str, now: datetime) -> dict[str, Any]:
    return {
        "event_id": m.event_id, "fingerprint": fingerprint, "type": m.type.value, "sku": m.sku,
        "location_id": m.location_id, "to_location_id": m.to_location_id, "bin": m.bin,
        "to_bin": m.to_bin, "quantity": m.quantity, "occurred_at": m.occurred_at,
        "recorded_at": now, "reference": m.reference, "device_id": m.device_id, "actor": actor,
    }
