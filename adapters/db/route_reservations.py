"""reserveRoute's write: a plan's holds and its shipments counted against each location's daily
capacity, in ONE transaction. Holds are taken by the reservations adapter's conditional updates
(the same code `reserve` runs); a count that would pass a capacity rolls everything back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import tables as t
from adapters.db.engine import Database
from adapters.db.reservation_rows import load_reservation
from adapters.db.reservations import SqlAlchemyReservations, _Refused
from adapters.db.sql import insert_for
from domain.events import StockChanged
from domain.reservation import Reservation, Shortage
from domain.route_hold import CapacityReached

n, p = t.shipment_count.c, t.location_policy.c


class _Full(Exception):
    def __init__(self, location_ids: Sequence[str]) -> None:
        super().__init__(", ".join(location_ids))
        self.location_ids = tuple(location_ids)


class SqlAlchemyRouteHolds:
    def __init__(self, db: Database, reservations: SqlAlchemyReservations) -> None:
        self.db = db
        self.reservations = reservations

    async def by_key(self, idempotency_key: str) -> Reservation | None:
        async with self.db.reader.connect() as conn:
            return await load_reservation(conn, t.reservation.c.idempotency_key == idempotency_key)

    async def reserve_route(
        self, draft: Reservation, location_ids: Sequence[str], day: date
    ) -> tuple[Reservation | Shortage | CapacityReached, list[StockChanged]]:
        """Hold `draft` and count one shipment per location in `location_ids` on `day`, or do
        neither. A known idempotency key answers the reservation stored under it, uncounted."""

        async def work(conn: AsyncConnection) -> tuple[Reservation | Shortage,
                                                       list[StockChanged]]:
            outcome, changes = await self.reservations._reserve(conn, draft)
            if isinstance(outcome, Reservation) and outcome.id == draft.id:
                full = await _count_shipments(conn, self.db.dialect, location_ids, day)
                if full:
                    raise _Full(full)
            return outcome, changes

        try:
            return await self.reservations._transaction(work)
        except _Refused as refused:
            return refused.shortage, []
        except _Full as full:
            return CapacityReached(full.location_ids), []


async def _count_shipments(
    conn: AsyncConnection, dialect: str, location_ids: Sequence[str], day: date
) -> list[str]:
    """+1 shipment per location unless that passes its capacity; the locations that were full.
    Rows are touched in id order, after the level rows, like every other transaction here."""
    full = []
    for location_id in sorted(set(location_ids)):
        await conn.execute(
            insert_for(dialect, t.shipment_count)
            .values(location_id=location_id, day=day, shipments=0)
            .on_conflict_do_nothing(index_elements=[n.location_id, n.day]))
        capacity = (select(p.daily_shipment_capacity)
                    .where(p.location_id == location_id).scalar_subquery())
        counted = (await conn.execute(
            t.shipment_count.update()
            .where(n.location_id == location_id, n.day == day,
                   or_(capacity.is_(None), n.shipments < capacity))
            .values(shipments=n.shipments + 1).returning(n.shipments))).first()
        if counted is None:
            full.append(location_id)
    return full
