"""Reservations in the database. A hold is one conditional update per line (atp >= quantity,
checked and applied by the database in one statement), in (sku, location) order inside one
transaction, so no unit is promised twice whichever instance serves the request.

Reservations arriving while one is being held wait and are then held together, in one
transaction (adapters/db/reservation_groups.py): same outcome as one after the other."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import tables as t
from adapters.db.engine import Database, KeptConnection
from adapters.db.group_commit import GroupCommit
from adapters.db.posting import LedgerWriter, Posting
from adapters.db.replenishment import raise_requests, rules_to_check
from adapters.db.reservation_groups import Asked, Outcome, hold_group
from adapters.db.reservation_rows import (
    LOCATIONS,
    claim_statement,
    line_rows,
    load_reservation,
    reservation_row,
    shortage,
)
from adapters.db.rows import level_from_row, location_from_row
from adapters.db.shortfalls import at_pairs, refresh_marks
from adapters.db.sql import is_retryable
from domain import reservation as rules
from domain.access import SYSTEM_CALLER
from domain.events import StockChanged
from domain.location import Channel, Location
from domain.movement import Effect
from domain.ports import Pair
from domain.reservation import Reservation, ReservationLine, ReservationStatus, Shortage
from domain.stock import Delta, StockLevel

T = TypeVar("T")
log = logging.getLogger("stockgraph.reservations")
MAX_ATTEMPTS = 5
# Lines per group: enough to amortise a commit, few enough that a group's lock is brief.
GROUP_LINES = 64
ACTIVE = ReservationStatus.ACTIVE.value
r, ln, s = t.reservation.c, t.reservation_line.c, t.stock_level.c

# The safety stock on the reservation's channel (StockLevel.atp_for): its own if set.
_cs = t.channel_safety_stock.c
_SAFETY = func.coalesce(
    select(_cs.quantity).where(_cs.sku == s.sku, _cs.location_id == s.location_id,
                               _cs.channel == bindparam("channel")).scalar_subquery(),
    s.safety_stock)
# atp >= q (the rule of domain.stock.atp), tested and applied in one statement.
_HOLD = (
    t.stock_level.update()
    .where(s.sku == bindparam("k_sku"), s.location_id == bindparam("k_loc"),
           s.on_hand - s.reserved - _SAFETY - s.unsellable >= bindparam("q"))
    .values(reserved=s.reserved + bindparam("q"), updated_at=bindparam("now"))
    .returning(*t.stock_level.c)
)


class _Refused(Exception):
    """Rolls the transaction back and carries the answer out of it."""

    def __init__(self, shortage: Shortage) -> None:
        super().__init__(shortage.message)
        self.shortage = shortage


class SqlAlchemyReservations:
    def __init__(self, db: Database) -> None:
        self.db = db
        # SQLite has one writer at a time and its busy handler is not fair: waiters poll with
        # growing sleeps, and under load one can starve past the busy timeout. Queueing this
        # process's writers (FIFO) leaves one waiter per process. Correctness does not rest on
        # it: BEGIN IMMEDIATE and the conditional updates hold across processes.
        self._turn: contextlib.AbstractAsyncContextManager[object] = (
            asyncio.Lock() if db.is_sqlite else contextlib.nullcontext())
        # PostgreSQL: groups run one at a time, each on the connection the last one used.
        self._kept = None if db.is_sqlite else db.keep()
        self.groups: GroupCommit[Asked, Outcome] = GroupCommit(
            self._hold_group, key=lambda a: a.draft.idempotency_key,
            size=lambda a: len(a.draft.lines), limit=GROUP_LINES)

    async def reserve(
        self, draft: Reservation, admit: Callable[[Mapping[str, Location]], None]
    ) -> Outcome:
        return await self.groups.submit(Asked(draft, admit))

    async def _hold_group(self, group: list[Asked]) -> list[Outcome | BaseException]:
        """On SQLite a group of one runs the statements of one reservation (they are fewer; on
        PostgreSQL the group's are fewer still, adapters/db/group_statements.py); a group
        that fails as a whole is retried one reservation at a time, so that an error reaches
        only the caller it belongs to."""
        if len(group) > 1 or not self.db.is_sqlite:
            try:
                return list(await self._transaction(lambda conn: hold_group(
                    conn, self.db.dialect, not self.db.is_sqlite, group, self._expire_overdue),
                    self._kept))
            except Exception:
                log.warning("a group of %d reservations failed; holding them one at a time",
                            len(group), exc_info=True)
        return [await self._hold_one(a) for a in group]

    async def _hold_one(self, asked: Asked) -> Outcome | BaseException:
        try:
            return await self._transaction(
                lambda conn: self._reserve(conn, asked.draft, asked.admit))
        except _Refused as refused:
            return refused.shortage, []
        except Exception as exc:
            return exc

    async def release(
        self, reservation_id: str, actor: str, now: datetime
    ) -> tuple[Reservation, list[StockChanged]]:
        async def work(conn: AsyncConnection) -> tuple[Reservation, list[StockChanged]]:
            found = await self._finish(conn, reservation_id, ReservationStatus.RELEASED, now)
            give_back = [Posting(rules.RELEASE, found.id, e) for e in rules.give_back(found)]
            writer = LedgerWriter(conn, self.db.dialect, actor, now)
            changes = await writer.post(give_back)
            changes += await refresh_marks(writer, {(x.sku, x.location_id) for x in found.lines})
            return found, changes

        return await self._transaction(work)

    async def commit(
        self, reservation_id: str, actor: str, now: datetime
    ) -> tuple[Reservation, list[StockChanged]]:
        async def work(conn: AsyncConnection) -> tuple[Reservation, list[StockChanged]]:
            found = await self._finish(conn, reservation_id, ReservationStatus.COMMITTED, now)
            writer = LedgerWriter(conn, self.db.dialect, actor, now)
            pairs = {(x.sku, x.location_id) for x in found.lines}
            levels = await writer.levels(pairs, lock=not self.db.is_sqlite)
            bins = await writer.bins(pairs)
            effects = rules.commit_effects(found, levels, bins)
            return found, await writer.post([Posting(rules.COMMIT, found.id, e) for e in effects])

        return await self._transaction(work)

    async def get(self, reservation_id: str) -> Reservation | None:
        async with self.db.reader.connect() as conn:
            return await load_reservation(conn, r.id == reservation_id)

    async def expire_due(self, now: datetime, limit: int) -> tuple[int, list[StockChanged]]:
        async def work(conn: AsyncConnection) -> tuple[int, list[StockChanged]]:
            query = (select(r.id).where(r.status == ACTIVE, r.expires_at <= now)
                     .order_by(r.expires_at).limit(limit))
            if not self.db.is_sqlite:  # sweepers on other instances take the other rows
                query = query.with_for_update(skip_locked=True)
            ids = list((await conn.execute(query)).scalars())
            return len(ids), await self._expire(conn, ids, now)

        return await self._transaction(work)

    async def refresh_shortfalls(
        self, pairs: Collection[Pair], actor: str, now: datetime
    ) -> list[StockChanged]:
        if not pairs:
            return []

        async def work(conn: AsyncConnection) -> list[StockChanged]:
            writer = LedgerWriter(conn, self.db.dialect, actor, now)
            return await refresh_marks(writer, set(pairs), lock=not self.db.is_sqlite)

        return await self._transaction(work)

    async def _transaction(self, work: Callable[[AsyncConnection], Awaitable[T]],
                           kept: KeptConnection | None = None) -> T:
        """One transaction (on `kept`, if given); retried when the database asks (deadlock,
        serialization), and on a fresh connection when the kept one turns out to be gone
        (a group is safe to run again: its claims answer for whatever did commit)."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async with self._begin(kept) as conn:
                    return await work(conn)
            except Exception as exc:
                gone = kept is not None and kept.lost(exc)
                if attempt == MAX_ATTEMPTS or not (gone or is_retryable(exc)):
                    raise
                await asyncio.sleep(0.005 * attempt)
        raise AssertionError("unreachable")

    @contextlib.asynccontextmanager
    async def _begin(self, kept: KeptConnection | None) -> AsyncIterator[AsyncConnection]:
        if kept is not None:  # the next group, if one waits, begins with this one's commit
            async with kept.begin(more=lambda: self.groups.waiting > 0) as conn:
                yield conn
            return
        async with self._turn, self.db.writer.begin() as conn:
            yield conn

    async def _reserve(
        self, conn: AsyncConnection, draft: Reservation,
        admit: Callable[[Mapping[str, Location]], None] | None = None,
    ) -> tuple[Reservation | Shortage, list[StockChanged]]:
        """The hold itself, in a transaction the caller opened (reserveRoute adds to it)."""
        if admit is not None:
            wanted = sorted({x.location_id for x in draft.lines})
            admit({row.id: location_from_row(row) for row in await conn.execute(
                LOCATIONS, {"ids": wanted})})
        stored = await self._claim(conn, draft)
        if stored is not None:
            return stored, []
        now = draft.created_at
        # Read before the holds: on PostgreSQL a held level stays locked until commit, and a
        # hot level's queue moves one round trip faster for each statement left after them.
        reorder = await rules_to_check(conn, self.db.dialect,
                                     {(x.sku, x.location_id) for x in draft.lines})
        held, short = await _hold(conn, draft.lines, now, draft.channel)
        changes: list[StockChanged] = []
        if short:  # lapsed holds may be in the way: give them back, then try those lines again
            changes = await self._expire_overdue(conn, [(x.sku, x.location_id) for x in short],
                                                 now)
            if changes:
                again, short = await _hold(conn, short, now, draft.channel)
                held |= again
        writer = LedgerWriter(conn, self.db.dialect, draft.actor, now)
        if short:
            raise _Refused(await shortage(writer, short, draft.channel))
        # Ledger rows after the holds: a transaction queued on a hot level does not yet hold
        # ledger_entry, so subscriptions waiting for in-flight ledger writers do not wait on it.
        sequences = await writer.entries([
            Posting(rules.RESERVE, draft.id,
                    Effect(x.sku, x.location_id, Delta(reserved=x.quantity)))
            for x in draft.lines])
        # Every held level's position fell: a replenishment request may be due (same commit).
        return draft, await raise_requests(conn, self.db.dialect, now, changes + [
            StockChanged(seq, held[(x.sku, x.location_id)], rules.RESERVE, now)
            for seq, x in zip(sequences, draft.lines, strict=True)], held.keys(), reorder)

    async def _claim(self, conn: AsyncConnection, draft: Reservation) -> Reservation | None:
        """Store `draft` and its lines under its idempotency key, or answer the reservation
        already stored under that key (a racing twin waits here until the first commits)."""
        claim = claim_statement(self.db.dialect)
        if (await conn.execute(claim, reservation_row(draft))).first() is None:
            found = await load_reservation(conn, r.idempotency_key == draft.idempotency_key)
            assert found is not None, "a conflicting key is visible once its holder commits"
            return found
        await conn.execute(t.reservation_line.insert(), line_rows(draft))
        return None

    async def _finish(self, conn: AsyncConnection, reservation_id: str,
                      status: ReservationStatus, now: datetime) -> Reservation:
        """ACTIVE -> `status`, conditionally: of two callers racing, one wins, one is told why."""
        done = (await conn.execute(
            t.reservation.update()
            .where(r.id == reservation_id, r.status == ACTIVE, r.expires_at > now)
            .values(status=status.value, finished_at=now).returning(r.id))).first()
        if done is None:
            action = "commit" if status is ReservationStatus.COMMITTED else "release"
            found = await load_reservation(conn, r.id == reservation_id)
            raise rules.refuse_finish(found, reservation_id, action, now)
        await conn.execute(t.reservation_line.update()
                           .where(ln.reservation_id == reservation_id)
                           .values(status=status.value))
        found = await load_reservation(conn, r.id == reservation_id)
        assert found is not None
        return found

    async def _expire_overdue(
        self, conn: AsyncConnection, pairs: Sequence[Pair], now: datetime
    ) -> list[StockChanged]:
        """Give back the holds at `pairs` that are past expiresAt."""
        query = (select(ln.reservation_id).distinct()
                 .where(ln.status == ACTIVE, ln.expires_at <= now, at_pairs(pairs)))
        ids = sorted((await conn.execute(query)).scalars())
        return await self._expire(conn, ids, now) if ids else []

    async def _expire(
        self, conn: AsyncConnection, ids: Sequence[str], now: datetime
    ) -> list[StockChanged]:
        if not ids:
            return []
        # Only rows still ACTIVE turn EXPIRED: two sweepers never both give units back.
        done = sorted((await conn.execute(
            t.reservation.update()
            .where(r.id.in_(ids), r.status == ACTIVE, r.expires_at <= now)
            .values(status=ReservationStatus.EXPIRED.value, finished_at=now)
            .returning(r.id))).scalars())
        if not done:
            return []
        lines = (await conn.execute(
            t.reservation_line.update().where(ln.reservation_id.in_(done))
            .values(status=ReservationStatus.EXPIRED.value)
            .returning(ln.reservation_id, ln.sku, ln.location_id, ln.quantity))).all()
        writer = LedgerWriter(conn, self.db.dialect, SYSTEM_CALLER.name, now)
        changes = await writer.post([
            Posting(rules.EXPIRE, x.reservation_id,
                    Effect(x.sku, x.location_id, Delta(reserved=-x.quantity)))
            for x in sorted(lines, key=lambda x: (x.sku, x.location_id, x.reservation_id))])
        return changes + await refresh_marks(writer, {(x.sku, x.location_id) for x in lines})


async def _hold(
    conn: AsyncConnection, lines: Sequence[ReservationLine], now: datetime, channel: Channel
) -> tuple[dict[Pair, StockLevel], list[ReservationLine]]:
    """The conditional update per line, in lock order: the levels held, and the short lines."""
    held: dict[Pair, StockLevel] = {}
    short: list[ReservationLine] = []
    for x in lines:
        row = (await conn.execute(_HOLD, {"k_sku": x.sku, "k_loc": x.location_id,
                                          "q": x.quantity, "now": now,
                                          "channel": channel.value})).first()
        if row is None:
            short.append(x)
        else:
            held[(x.sku, x.location_id)] = level_from_row(row)
    return held, short
