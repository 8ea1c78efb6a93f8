"""Postings: ledger entries and the level and bin changes they explain, written inside a
transaction someone else opened (reservations post several kinds in one transaction)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import tables as t
from adapters.db.rows import level_from_row
from adapters.db.sql import add_to_rows, chunks
from domain.events import StockChanged
from domain.movement import Effect
from domain.ports import Pair
from domain.stock import Delta, StockLevel

s = t.stock_level.c
_ADD = (
    t.stock_level.update()
    .where(s.sku == bindparam("k_sku"), s.location_id == bindparam("k_loc"))
    .values(on_hand=s.on_hand + bindparam("d_on_hand"),
            reserved=s.reserved + bindparam("d_reserved"), updated_at=bindparam("now"))
    .returning(*t.stock_level.c)
)


@dataclass(frozen=True, slots=True)
class Posting:
    cause: str
    source_id: str
    effect: Effect


class LedgerWriter:
    def __init__(self, conn: AsyncConnection, dialect: str, actor: str, now: datetime) -> None:
        self.conn = conn
        self.dialect = dialect
        self.actor = actor
        self.now = now
        self._stored_bins: set[tuple[str, str, str]] = set()

    async def levels(self, pairs: Collection[Pair], lock: bool) -> dict[Pair, StockLevel]:
        """Stored levels at `pairs`; `lock` takes their rows in key order (PostgreSQL)."""
        found: dict[Pair, StockLevel] = {}
        for part in chunks(sorted(pairs)):
            query = (select(t.stock_level).where(tuple_(s.sku, s.location_id).in_(part))
                     .order_by(s.sku, s.location_id))
            for row in await self.conn.execute(query.with_for_update() if lock else query):
                found[(row.sku, row.location_id)] = level_from_row(row)
        return found

    async def bins(self, pairs: Collection[Pair]) -> dict[Pair, dict[str, int]]:
        b = t.bin_level.c
        found: dict[Pair, dict[str, int]] = {}
        for part in chunks(sorted(pairs)):
            rows = await self.conn.execute(
                select(t.bin_level).where(tuple_(b.sku, b.location_id).in_(part)))
            for row in rows:
                found.setdefault((row.sku, row.location_id), {})[row.bin] = row.quantity
                self._stored_bins.add((row.sku, row.location_id, row.bin))
        return found

    async def entries(self, postings: Sequence[Posting],
                      actors: Sequence[str] | None = None) -> list[int]:
        """The ledger rows alone; their ids are the changes' sequence numbers. `actors`: whom
        each posting is for, when not all are this writer's actor (a group of reservations)."""
        if not postings:
            return []
        rows = [{
            "cause": p.cause, "source_id": p.source_id, "sku": p.effect.sku,
            "location_id": p.effect.location_id, "d_on_hand": p.effect.delta.on_hand,
            "d_reserved": p.effect.delta.reserved, "d_inbound": p.effect.delta.inbound,
            "d_unsellable": p.effect.delta.unsellable, "bins": dict(p.effect.bins),
            "occurred_at": self.now, "recorded_at": self.now, "actor": self.actor,
        } for p in postings]
        if actors is not None:
            for row, actor in zip(rows, actors, strict=True):
                row["actor"] = actor
        ids = await self.conn.execute(
            t.ledger_entry.insert().returning(t.ledger_entry.c.id, sort_by_parameter_order=True),
            rows)
        return list(ids.scalars())

    async def post(self, postings: Sequence[Posting]) -> list[StockChanged]:
        """Ledger rows, then each level's on-hand and reserved change (in key order), then bins."""
        if not postings:
            return []
        assert all(not (p.effect.delta.inbound or p.effect.delta.unsellable) for p in postings)
        sequences = await self.entries(postings)
        totals: dict[Pair, Delta] = {}
        for p in postings:
            pair = (p.effect.sku, p.effect.location_id)
            totals[pair] = totals.get(pair, Delta()) + p.effect.delta
        after: dict[Pair, StockLevel] = {}
        for (sku, loc), d in sorted(totals.items()):
            row = (await self.conn.execute(_ADD, {
                "k_sku": sku, "k_loc": loc, "d_on_hand": d.on_hand, "d_reserved": d.reserved,
                "now": self.now})).one()
            after[(sku, loc)] = level_from_row(row)
        await self._post_bins(postings)
        return [StockChanged(seq, after[(p.effect.sku, p.effect.location_id)], p.cause, self.now)
                for seq, p in zip(sequences, postings, strict=True)]

    async def _post_bins(self, postings: Sequence[Posting]) -> None:
        totals: dict[tuple[str, str, str], int] = {}
        for p in postings:
            for b, q in p.effect.bins.items():
                key = (p.effect.sku, p.effect.location_id, b)
                totals[key] = totals.get(key, 0) + q
        rows = [{"sku": sku, "location_id": loc, "bin": b, "quantity": q}
                for (sku, loc, b), q in sorted(totals.items()) if q]
        if rows:
            await add_to_rows(self.conn, self.dialect, t.bin_level, ("sku", "location_id", "bin"),
                              ("quantity",), (), rows, self._stored_bins)
