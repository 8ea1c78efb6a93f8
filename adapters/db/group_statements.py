"""The statements of a reservation group (adapters/db/reservation_groups.py), two ways.

`CoreStatements` builds them with SQLAlchemy Core, for both engines: a locations read, a claim,
three reads and four writes. On PostgreSQL `DriverStatements` does the same work in two
statements:

- a round trip cost the server 100-250 us of CPU on the 2-core machine (its own and the
  kernel's), and through SQLAlchemy a statement cost about 210 us more than through the driver;
- the first claims the keys and reads the locations and the levels (joined to their reorder
  rules and safety stock), the second writes, as data-modifying CTEs. Each round trip waits
  for the event loop, busy with other requests, to come back to the group: with one server
  under load, a group of 7 trips took 12 ms (2026-12-07);
- each text is the same whatever the group's size (arrays in, `unnest` out), so asyncpg
  prepares it once per connection; texts shaped by row counts (`IN (...)`, multi-row VALUES)
  each needed a prepare of their own: one more round trip.

The decisions stay in one place (reservation_groups.py): both kinds only read and write rows.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Protocol

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import tables as t
from adapters.db.channel_safety import ChannelSafety, channel_safety
from adapters.db.posting import LedgerWriter, Posting
from adapters.db.replenishment import rules_to_check
from adapters.db.reservation_rows import (
    LOCATIONS,
    claim_statement,
    line_rows,
    reservation_row,
)
from adapters.db.rows import aware, level_from_row, location_from_row
from domain.location import Channel, Location
from domain.ports import Pair
from domain.replenishment import ReorderRule
from domain.reservation import Reservation
from domain.stock import Delta, StockLevel

r, s = t.reservation.c, t.stock_level.c
_CORE_RESERVE_MORE = (
    t.stock_level.update()
    .where(s.sku == bindparam("k_sku"), s.location_id == bindparam("k_loc"))
    .values(reserved=s.reserved + bindparam("d_reserved"), updated_at=bindparam("now"))
)


@dataclass(frozen=True, slots=True)
class Read:
    levels: dict[Pair, StockLevel]  # the stored levels asked for (rows locked on PostgreSQL)
    rules: list[ReorderRule]  # their reorder rules with no request open
    safety: dict[Pair, ChannelSafety]  # their per-channel safety stock


@dataclass(frozen=True, slots=True)
class Opened:
    claimed: set[str]  # the ids of the drafts stored (a key already taken stores nothing)
    places: dict[str, Location]  # the locations asked for, by id
    read: Read


class GroupStatements(Protocol):
    async def claim_and_read(self, drafts: Sequence[Reservation], pairs: Collection[Pair],
                             lock: bool) -> Opened:
        """Store the drafts under their idempotency keys (a key already taken stores
        nothing, after its holder commits if it is still in flight), then `read` `pairs`; and
        the drafts' locations."""

    async def read(self, pairs: Collection[Pair], lock: bool) -> Read:
        """What deciding the holds at `pairs` needs; `lock` takes the levels' rows in key
        order."""

    async def write(self, held: Sequence[Reservation], refused: Collection[str],
                    totals: Mapping[Pair, int], postings: Sequence[Posting],
                    actors: Sequence[str], now: datetime) -> list[int]:
        """The held drafts' lines, the units they add to `reserved` (`totals`), and the
        ledger rows of `postings` (holds: `reserved` alone, no bins) for `actors`; the refused
        drafts' claims removed. The ledger rows' ids, in order."""


class CoreStatements:
    def __init__(self, conn: AsyncConnection, dialect: str) -> None:
        self.conn, self.dialect = conn, dialect

    async def claim_and_read(self, drafts: Sequence[Reservation], pairs: Collection[Pair],
                             lock: bool) -> Opened:
        places = {row.id: location_from_row(row) for row in await self.conn.execute(
            LOCATIONS, {"ids": _location_ids(drafts)})}
        rows = await self.conn.execute(claim_statement(self.dialect),
                                       [reservation_row(d) for d in drafts])
        return Opened(set(rows.scalars()), places, await self.read(pairs, lock))

    async def read(self, pairs: Collection[Pair], lock: bool) -> Read:
        rules = await rules_to_check(self.conn, self.dialect, pairs)
        levels = await LedgerWriter(self.conn, self.dialect, "", datetime.min).levels(pairs, lock)
        safety = await channel_safety(self.conn, sorted({sku for sku, _ in pairs}))
        return Read(levels, rules, safety)

    async def write(self, held: Sequence[Reservation], refused: Collection[str],
                    totals: Mapping[Pair, int], postings: Sequence[Posting],
                    actors: Sequence[str], now: datetime) -> list[int]:
        if refused:
            await self.conn.execute(t.reservation.delete().where(r.id.in_(sorted(refused))))
        lines = [row for d in held for row in line_rows(d)]
        if lines:
            await self.conn.execute(t.reservation_line.insert(), lines)
        if totals:  # the rows are locked (or the writer is alone): add what was held
            await self.conn.execute(_CORE_RESERVE_MORE, [
                {"k_sku": sku, "k_loc": loc, "d_reserved": q, "now": now}
                for (sku, loc), q in sorted(totals.items())])
        writer = LedgerWriter(self.conn, self.dialect, "", now)
        return await writer.entries(postings, actors=actors)


class _Record(asyncpg.Record):  # type: ignore[misc]
    """Rows read by column name as attributes, as SQLAlchemy's are (the row mappers take both)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


# The levels at (sku, location) pairs given as two arrays, each with its reorder rule if no
# request is open for it, and its per-channel safety stock as two arrays.
def _levels(skus: str, locations: str, where: str = "") -> str:
    return (
        "SELECT s.sku, s.location_id, s.on_hand, s.reserved, s.safety_stock, s.inbound,"
        " s.unsellable, s.updated_at, rr.reorder_point, rr.target_level, rr.fixed_quantity,"
        " rr.supplier, rr.source_location_id, rr.updated_at AS rule_updated_at,"
        " array(SELECT c.channel FROM channel_safety_stock c WHERE c.sku = s.sku"
        " AND c.location_id = s.location_id ORDER BY c.channel) AS safety_channels,"
        " array(SELECT c.quantity FROM channel_safety_stock c WHERE c.sku = s.sku"
        " AND c.location_id = s.location_id ORDER BY c.channel) AS safety_quantities"
        " FROM stock_level s LEFT JOIN reorder_rule rr ON rr.sku = s.sku"
        " AND rr.location_id = s.location_id AND NOT EXISTS (SELECT 1 FROM"
        " replenishment_request rq WHERE rq.sku = rr.sku AND rq.location_id = rr.location_id"
        " AND rq.status = 'OPEN')"
        f" WHERE (s.sku, s.location_id) IN (SELECT * FROM unnest({skus}::text[],"
        f" {locations}::text[])){where} ORDER BY s.sku, s.location_id")


_READ = _levels("$1", "$2")
_CLAIM = (
    "INSERT INTO reservation (id, idempotency_key, fingerprint, status, channel, order_ref,"
    " actor, created_at, expires_at)"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
    " $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[])"
    " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id")
# The claim, the levels and the locations in one statement: one row per level, or one row of
# NULL level columns when there is none. The levels wait for the claim (the one-time filter on
# `claimed`), so that, as when they were two statements, a group takes no level's lock while
# it waits for a racing twin's key.
_OPEN = (
    f"WITH claimed AS ({_CLAIM}), levels AS MATERIALIZED ("
    + _levels("$10", "$11", " AND (SELECT count(*) FROM claimed) >= 0") + "{lock})"
    " SELECT array(SELECT id FROM claimed) AS claimed,"
    " array(SELECT l FROM location l WHERE l.id = ANY($12::text[])) AS places, v.*"
    " FROM (VALUES (0)) AS one(x) LEFT JOIN levels v ON true ORDER BY v.sku, v.location_id")
_LOCK = " FOR UPDATE OF s"
_OPEN_TEXTS = {True: _OPEN.format(lock=_LOCK), False: _OPEN.format(lock="")}
# One statement for the writes. Ledger ids come from the sequence in the order the SELECT gives
# the rows (ORDER BY n): sorted, they are the postings' in order (as SQLAlchemy's own sorted
# RETURNING relies on for PostgreSQL).
_WRITE = (
    "WITH unclaimed AS (DELETE FROM reservation WHERE id = ANY($1::text[])),"
    " lines AS (INSERT INTO reservation_line (reservation_id, sku, location_id, quantity,"
    " short_by, status, expires_at) SELECT * FROM unnest($2::text[], $3::text[], $4::text[],"
    " $5::int[], $6::int[], $7::text[], $8::timestamptz[])),"
    " more AS (UPDATE stock_level s SET reserved = s.reserved + k.d, updated_at = $12"
    " FROM unnest($9::text[], $10::text[], $11::int[]) AS k(sku, location_id, d)"
    " WHERE s.sku = k.sku AND s.location_id = k.location_id)"
    " INSERT INTO ledger_entry (cause, source_id, sku, location_id, d_on_hand, d_reserved,"
    " d_inbound, d_unsellable, bins, occurred_at, recorded_at, actor)"
    " SELECT k.cause, k.source_id, k.sku, k.location_id, 0, k.d, 0, 0, '{}'::json, $12, $12,"
    " k.actor FROM unnest($13::text[], $14::text[], $15::text[], $16::text[], $17::int[],"
    " $18::text[]) WITH ORDINALITY AS k(cause, source_id, sku, location_id, d, actor, n)"
    " ORDER BY k.n RETURNING id")
_LINE_COLUMNS = ("reservation_id", "sku", "location_id", "quantity", "short_by", "status",
                 "expires_at")
_CLAIM_COLUMNS = ("id", "idempotency_key", "fingerprint", "status", "channel", "order_ref",
                  "actor", "created_at", "expires_at")


class DriverStatements:
    """The same work on PostgreSQL in fewer round trips, on the asyncpg connection under
    `conn`, inside the transaction already begun there (adapters/db/engine.py
    KeptConnection)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self._raw: Any = None

    async def claim_and_read(self, drafts: Sequence[Reservation], pairs: Collection[Pair],
                             lock: bool) -> Opened:
        rows = [reservation_row(d) for d in drafts]
        ordered = sorted(pairs)
        args = (*([row[c] for row in rows] for c in _CLAIM_COLUMNS),
                [a for a, _ in ordered], [b for _, b in ordered], _location_ids(drafts))
        found = await self.raw().fetch(_OPEN_TEXTS[lock], *args, record_class=_Record)
        places = {x["id"]: location_from_row(SimpleNamespace(**x)) for x in found[0].places}
        return Opened(set(found[0].claimed), places,
                      _read_rows([x for x in found if x.sku is not None]))

    async def read(self, pairs: Collection[Pair], lock: bool) -> Read:
        ordered = sorted(pairs)
        rows = await self.raw().fetch(_READ + (_LOCK if lock else ""),
                                      [a for a, _ in ordered], [b for _, b in ordered],
                                      record_class=_Record)
        return _read_rows(rows)

    async def write(self, held: Sequence[Reservation], refused: Collection[str],
                    totals: Mapping[Pair, int], postings: Sequence[Posting],
                    actors: Sequence[str], now: datetime) -> list[int]:
        assert all(not p.effect.bins and p.effect.delta == Delta(reserved=p.effect.delta.reserved)
                   for p in postings), "holds change `reserved` alone"
        lines = [row for d in held for row in line_rows(d)]
        ordered = sorted(totals.items())
        found = await self.raw().fetch(
            _WRITE, sorted(refused), *([row[c] for row in lines] for c in _LINE_COLUMNS),
            [sku for (sku, _), _ in ordered], [loc for (_, loc), _ in ordered],
            [q for _, q in ordered], now,
            [p.cause for p in postings], [p.source_id for p in postings],
            [p.effect.sku for p in postings], [p.effect.location_id for p in postings],
            [p.effect.delta.reserved for p in postings], list(actors))
        return sorted(x[0] for x in found)

    def raw(self) -> Any:
        if self._raw is None:
            raw = self.conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]
            assert raw is not None and raw.is_in_transaction(), "begin the transaction first"
            self._raw = raw
        return self._raw


def _read_rows(rows: Sequence[Any]) -> Read:
    found = Read({}, [], {})
    for x in rows:
        pair = (x.sku, x.location_id)
        found.levels[pair] = level_from_row(x)
        if x.reorder_point is not None:
            found.rules.append(ReorderRule(
                x.sku, x.location_id, x.reorder_point, x.target_level, x.fixed_quantity,
                x.supplier, x.source_location_id, aware(x.rule_updated_at)))
        if x.safety_channels:
            found.safety[pair] = tuple(zip(map(Channel, x.safety_channels),
                                           x.safety_quantities, strict=True))
    return found


def _location_ids(drafts: Sequence[Reservation]) -> list[str]:
    return sorted({x.location_id for d in drafts for x in d.lines})
