"""Routing in the database: candidate networks (the statements are in routing_reads.py) and
the routing knobs admins set (location policy, per-channel safety stock)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, select

from adapters.db import tables as t
from adapters.db.channel_safety import set_channel_safety
from adapters.db.engine import Database
from adapters.db.routing_reads import PICKUP, SHIPPING, box_params, policy, read_network
from adapters.db.rows import location_from_row
from adapters.db.sql import insert_for
from domain.geo import BoundingBox
from domain.location import Channel, Location
from domain.routing import LocationPolicy, Network, utc_day

loc, p, n = t.location.c, t.location_policy.c, t.shipment_count.c


class SqlAlchemyRouting:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def shipping_network(
        self, skus: Sequence[str], channel: Channel, now: datetime
    ) -> Network:
        """Active locations that ship, with coordinates, holding sellable units of `skus`."""
        async with self.db.reader.connect() as conn:
            return await read_network(conn, SHIPPING, skus, channel, now)

    async def pickup_network(
        self, skus: Sequence[str], channel: Channel, box: BoundingBox, now: datetime
    ) -> Network:
        """Active pickup stores inside `box` (indexed range conditions) holding `skus`."""
        async with self.db.reader.connect() as conn:
            return await read_network(conn, PICKUP, skus, channel, now, box_params(box))

    async def policy(self, location_id: str, now: datetime) -> tuple[Location, LocationPolicy,
                                                                      int] | None:
        """The location, its knobs and the shipments reserved there today (UTC)."""
        query = (select(t.location, p.daily_shipment_capacity, p.priority, p.handling_cost,
                        n.shipments)
                 .outerjoin(t.location_policy, p.location_id == loc.id)
                 .outerjoin(t.shipment_count, and_(n.location_id == loc.id, n.day == utc_day(now)))
                 .where(loc.id == location_id))
        async with self.db.reader.connect() as conn:
            r = (await conn.execute(query)).first()
        return (location_from_row(r), policy(location_id, r), r.shipments or 0) if r else None

    async def set_policy(
        self, policy: LocationPolicy, ship_enabled: bool | None, now: datetime
    ) -> None:
        row = {"location_id": policy.location_id,
               "daily_shipment_capacity": policy.daily_shipment_capacity,
               "priority": policy.priority, "handling_cost": policy.handling_cost,
               "updated_at": now}
        stmt = insert_for(self.db.dialect, t.location_policy).values(row)
        async with self.db.writer.begin() as conn:
            if ship_enabled is not None:
                await conn.execute(t.location.update().where(loc.id == policy.location_id)
                                   .values(ship_enabled=ship_enabled, updated_at=now))
            await conn.execute(stmt.on_conflict_do_update(
                index_elements=[p.location_id],
                set_={k: v for k, v in row.items() if k != "location_id"}))

    async def set_channel_safety(
        self, sku: str, location_id: str, channel: Channel, quantity: int | None, now: datetime
    ) -> None:
        async with self.db.writer.begin() as conn:
            await set_channel_safety(conn, self.db.dialect, sku, location_id, channel, quantity,
                                     now)
