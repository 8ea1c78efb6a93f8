"""The read side of routing: candidate locations with their levels for an order's SKUs, in one
statement per chunk of SKUs (levels, location, policy, today's shipments, the channel's safety
stock, source freshness and lapsed holds together), and the routing knobs admins set."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select

from adapters.db import tables as t
from adapters.db.channel_safety import set_channel_safety
from adapters.db.engine import Database
from adapters.db.queries import _joined_location, _levels_query, _live_level, _terms, _with_lapsed
from adapters.db.rows import aware, location_from_row
from adapters.db.sql import chunks, insert_for
from domain.availability import Freshness
from domain.geo import BoundingBox
from domain.location import Channel, Location
from domain.ports import Pair
from domain.routing import Candidate, LocationPolicy, Network, utc_day
from domain.source import SourceTerms
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
        reader = _Rows(channel)
        async with self.db.reader.connect() as conn:
            for part in chunks(sorted(set(skus))):
                for r in await conn.execute(_candidates(part, channel, now).where(where)):
                    reader.add(r)
        return reader.network()


def _candidates(skus: Sequence[str], channel: Channel, now: datetime) -> Select[Any]:
    return (
        _with_lapsed(_levels_query(skus), now, skus)
        .add_columns(cs.quantity.label("channel_safety"), p.daily_shipment_capacity,
                     p.priority, p.handling_cost, n.shipments)
        .outerjoin(t.channel_safety_stock, and_(
            cs.sku == s.sku, cs.location_id == s.location_id, cs.channel == channel.value))
        .outerjoin(t.location_policy, p.location_id == s.location_id)
        .outerjoin(t.shipment_count, and_(n.location_id == s.location_id, n.day == utc_day(now)))
        # Nothing sellable on hand means no ATP whatever else is true: skip those rows early.
        .where(loc.active, s.on_hand > s.unsellable)
    )


class _Rows:
    """Folds joined rows into one Candidate per location, and what their sources reported."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.locations: dict[str, tuple[Location, LocationPolicy, int]] = {}
        self.levels: dict[str, list[StockLevel]] = {}
        self.terms: dict[str, SourceTerms] = {}
        self.reported: dict[Pair, datetime] = {}

    def add(self, r: Any) -> None:
        if r.location_id not in self.locations:
            self.locations[r.location_id] = (
                _joined_location(r), _policy(r.location_id, r), r.shipments or 0)
            self.levels[r.location_id] = []
        level = _live_level(r)
        if r.channel_safety is not None:
            level = replace(level, channel_safety=((self.channel, r.channel_safety),))
        self.levels[r.location_id].append(level)
        if r.src_mode is not None:
            self.terms[r.location_id] = _terms(r)
            if r.src_as_of is not None:
                self.reported[(r.sku, r.location_id)] = aware(r.src_as_of)

    def network(self) -> Network:
        candidates = tuple(
            Candidate(location, tuple(self.levels[key]), policy, today)
            for key, (location, policy, today) in self.locations.items())
        return Network(candidates, Freshness(sources=self.terms, reported=self.reported))


def _policy(location_id: str, r: Any) -> LocationPolicy:
    return LocationPolicy(location_id, r.daily_shipment_capacity, r.priority or 0,
                          r.handling_cost or 0.0)
