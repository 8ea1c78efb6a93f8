"""The read behind ABC classification: units each SKU moved out over a window, with its cost."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, or_, select

from adapters.db import tables as t
from adapters.db.engine import Database
from domain.abc import Outflow
from domain.movement import MovementType
from domain.reservation import COMMIT

# Ledger causes that take units out of a location to a customer or another location. A
# committed reservation's units ship (COMMIT); the movements do the same by hand.
OUTBOUND = (MovementType.SALE.value, MovementType.SHIP.value,
            MovementType.TRANSFER_OUT.value, COMMIT)
e, lv, k = t.ledger_entry.c, t.stock_level.c, t.sku.c


class SqlAlchemyOutflows:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def outflows(
        self, location_id: str | None, since: datetime, until: datetime
    ) -> list[Outflow]:
        """Every SKU stocked there (anywhere, without a location) or moved out of it in
        [since, until], with the units moved out; SKUs that moved nothing count 0."""
        where = [e.cause.in_(OUTBOUND), e.d_on_hand < 0, e.occurred_at >= since,
                 e.occurred_at <= until]
        if location_id is not None:
            where.append(e.location_id == location_id)
        moved = (select(e.sku, func.sum(-e.d_on_hand).label("units"))
                 .where(*where).group_by(e.sku).subquery())
        stocked = select(lv.sku).where(lv.sku == k.sku)
        if location_id is not None:
            stocked = stocked.where(lv.location_id == location_id)
        query = (select(k.sku, k.unit_cost, func.coalesce(moved.c.units, 0).label("units"))
                 .outerjoin(moved, moved.c.sku == k.sku)
                 .where(or_(moved.c.units.is_not(None), exists(stocked)))
                 .order_by(k.sku))
        async with self.db.reader.connect() as conn:
            return [Outflow(r.sku, int(r.units), r.unit_cost)
                    for r in await conn.execute(query)]
