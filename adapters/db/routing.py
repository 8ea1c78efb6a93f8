"""The read side of routing: candidate locations with their levels for an order's SKUs, and the
routing knobs admins set.

Two narrow statements per request (per 1,000 SKUs): the levels (with the channel's safety
stock, lapsed holds and when a source reported them), then the locations holding them once each
(with policy, today's shipments and source terms). One wide join repeated every location column
on every level row; decoding those rows cost more than the database's work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select

from adapters.db import tables as t
from adapters.db.channel_safety import set_channel_safety
from adapters.db.engine import Database
from adapters.db.queries import (
    _LOCATION_COLUMNS,
    _joined_location,
    _live_level,
    _terms,
    _with_lapsed,
)
from adapters.db.rows import aware, location_from_row
from adapters.db.sql import chunks, insert_for
from domain.availability import Freshness
from domain.geo import BoundingBox
from domain.location import Channel, Location
from domain.ports import Pair
from domain.routing import Candidate, LocationPolicy, Network, utc_day
from domain.stock import StockLevel

s, loc, p, n = t.stock_level.c, t.location.c, t.location_policy.c, t.shipment_count.c
cs = t.channel_safety_stock.c


class SqlAlchemyRouting:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def shipping_network(
        self, skus: Sequence[str], channel: Channel, now: datetime
    ) -> Network:
        """Active locations that ship, with coordinates, holding sellable units of `skus`."""
        return await self._network(skus, channel, now, and_(
            loc.ship_enabled, loc.latitude.is_not(None), loc.longitude.is_not(None)))

    async def pickup_network(
        self, skus: Sequence[str], channel: Channel, box: BoundingBox, now: datetime
    ) -> Network:
        """Active pickup stores inside `box` (indexed range conditions) holding `skus`."""
        return await self._network(skus, channel, now, and_(
            loc.pickup_enabled, loc.latitude.between(box.min_latitude, box.max_latitude),
            or_(*(loc.longitude.between(low, high) for low, high in box.longitude_ranges))))

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
        return (location_from_row(r), _policy(location_id, r), r.shipments or 0) if r else None

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

    async def _network(
        self, skus: Sequence[str], channel: Channel, now: datetime, where: ColumnElement[bool]
    ) -> Network:
        levels: dict[str, list[StockLevel]] = {}
        reported: dict[Pair, datetime] = {}
        places: dict[str, Any] = {}
        async with self.db.reader.connect() as conn:
            for part in chunks(sorted(set(skus))):
                for r in await conn.execute(_levels(part, channel, now, where)):
                    level = _live_level(r)
                    if r.channel_safety is not None:
                        level = replace(level, channel_safety=((channel, r.channel_safety),))
                    levels.setdefault(r.location_id, []).append(level)
                    if r.src_as_of is not None:
                        reported[(r.sku, r.location_id)] = aware(r.src_as_of)
                for r in await conn.execute(_locations(part, now, where)):
                    places[r.loc_id] = r
        candidates = tuple(
            Candidate(_joined_location(r), tuple(levels[key]), _policy(key, r), r.shipments or 0)
            for key, r in places.items() if key in levels)
        terms = {key: _terms(r) for key, r in places.items() if r.src_mode is not None}
        return Network(candidates, Freshness(sources=terms, reported=reported))


# Nothing sellable on hand means no ATP whatever else is true: such rows are skipped early.
def _levels(skus: Sequence[str], channel: Channel, now: datetime,
            where: ColumnElement[bool]) -> Select[Any]:
    vl = t.vendor_level.c
    query = (
        select(s.sku, s.location_id, s.on_hand, s.reserved, s.safety_stock, s.inbound,
               s.unsellable, s.updated_at, cs.quantity.label("channel_safety"),
               vl.as_of.label("src_as_of"))
        .select_from(t.stock_level)
        .join(t.location, loc.id == s.location_id)
        .outerjoin(t.channel_safety_stock, and_(
            cs.sku == s.sku, cs.location_id == s.location_id, cs.channel == channel.value))
        .outerjoin(t.vendor_level, and_(vl.sku == s.sku, vl.location_id == s.location_id))
        .where(s.sku.in_(skus), s.on_hand > s.unsellable, loc.active, where)
    )
    return _with_lapsed(query, now, skus)


def _locations(skus: Sequence[str], now: datetime, where: ColumnElement[bool]) -> Select[Any]:
    vs = t.vendor_source.c
    holding = select(s.location_id).where(s.sku.in_(skus), s.on_hand > s.unsellable)
    return (
        select(*_LOCATION_COLUMNS, p.daily_shipment_capacity, p.priority, p.handling_cost,
               n.shipments, vs.mode.label("src_mode"), vs.max_age_s.label("src_max_age_s"),
               vs.deadline_ms.label("src_deadline_ms"))
        .select_from(t.location)
        .outerjoin(t.location_policy, p.location_id == loc.id)
        .outerjoin(t.shipment_count, and_(n.location_id == loc.id, n.day == utc_day(now)))
        .outerjoin(t.vendor_source, vs.location_id == loc.id)
        .where(loc.id.in_(holding), loc.active, where)
    )


def _policy(location_id: str, r: Any) -> LocationPolicy:
    return LocationPolicy(location_id, r.daily_shipment_capacity, r.priority or 0,
                          r.handling_cost or 0.0)
