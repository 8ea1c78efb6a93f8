"""The statements routing reads candidates with: built once, executed with parameters.

Two narrow statements per request (per 1,000 SKUs or locations): the levels (with the
channel's safety stock, lapsed holds and when a source reported them), then the locations they
were found at, once each, by id (with policy, today's shipments and source terms). A single
wide join repeated every location column on every level row, and decoding those rows cost more
than the database's work; building the statements per request cost several ms of SQLAlchemy
expression work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    String,
    and_,
    bindparam,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import tables as t
from adapters.db.queries import NOW as _NOW
from adapters.db.queries import SKUS as _SKUS
from adapters.db.queries import _source_terms, _with_lapsed
from adapters.db.rows import aware
from adapters.db.sql import chunks
from domain.availability import Freshness
from domain.geo import BoundingBox
from domain.location import Channel, Location, LocationKind
from domain.ports import Pair
from domain.routing import Candidate, LocationPolicy, Network, utc_day
from domain.source import SourceTerms
from domain.stock import StockLevel

s, loc, p, n = t.stock_level.c, t.location.c, t.location_policy.c, t.shipment_count.c
cs, vl, vs = t.channel_safety_stock.c, t.vendor_level.c, t.vendor_source.c


class Reads(NamedTuple):
    levels: Select[Any]
    locations: Select[Any]


def _levels(where: ColumnElement[bool]) -> Select[Any]:
    query = (
        select(s.sku, s.location_id, s.on_hand, s.reserved, s.safety_stock, s.inbound,
               s.unsellable, s.updated_at, cs.quantity.label("channel_safety"),
               vl.as_of.label("src_as_of"))
        .select_from(t.stock_level)
        .join(t.location, loc.id == s.location_id)
        .outerjoin(t.channel_safety_stock, and_(
            cs.sku == s.sku, cs.location_id == s.location_id,
            cs.channel == bindparam("channel", type_=String)))
        .outerjoin(t.vendor_level, and_(vl.sku == s.sku, vl.location_id == s.location_id))
        # Nothing sellable on hand means no ATP whatever else is true: skip such rows early.
        .where(s.sku.in_(_SKUS), s.on_hand > s.unsellable, loc.active, where)
    )
    # The parameters stand in for the values `_with_lapsed` is written for.
    return _with_lapsed(query, cast(datetime, _NOW), cast(Sequence[str], _SKUS))


def _locations(where: ColumnElement[bool]) -> Select[Any]:
    """The locations the levels were found at (their ids), so the cost follows them."""
    return (
        select(loc.id, loc.name, loc.kind, loc.latitude, loc.longitude, loc.pickup_enabled,
               loc.ship_enabled, loc.active, p.daily_shipment_capacity, p.priority, p.handling_cost,
               n.shipments, vs.mode.label("src_mode"), vs.max_age_s.label("src_max_age_s"),
               vs.deadline_ms.label("src_deadline_ms"))
        .select_from(t.location)
        .outerjoin(t.location_policy, p.location_id == loc.id)
        .outerjoin(t.shipment_count, and_(
            n.location_id == loc.id, n.day == bindparam("day", type_=Date)))
        .outerjoin(t.vendor_source, vs.location_id == loc.id)
        .where(loc.id.in_(bindparam("ids", expanding=True)), loc.active, where)
    )


def _reads(where: ColumnElement[bool]) -> Reads:
    return Reads(_levels(where), _locations(where))


SHIPPING = _reads(and_(loc.ship_enabled, loc.latitude.is_not(None), loc.longitude.is_not(None)))
# A box is one longitude range, or two across the antimeridian (the second empty otherwise).
PICKUP = _reads(and_(
    loc.pickup_enabled, loc.latitude.between(bindparam("lat_lo"), bindparam("lat_hi")),
    or_(loc.longitude.between(bindparam("lon1_lo"), bindparam("lon1_hi")),
        loc.longitude.between(bindparam("lon2_lo"), bindparam("lon2_hi")))))


def box_params(box: BoundingBox) -> dict[str, float]:
    (lo1, hi1), (lo2, hi2) = (*box.longitude_ranges, (1.0, 0.0))[:2]
    return {"lat_lo": box.min_latitude, "lat_hi": box.max_latitude, "lon1_lo": lo1,
            "lon1_hi": hi1, "lon2_lo": lo2, "lon2_hi": hi2}


async def read_network(
    conn: AsyncConnection, reads: Reads, skus: Sequence[str], channel: Channel, now: datetime,
    extra: Mapping[str, object] | None = None,
) -> Network:
    """Rows are read by position (named access costs a lookup per column, ~3x per row)."""
    # Two reads, no writes: no transaction needed (each sees committed data).
    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
    levels: dict[str, list[StockLevel]] = {}
    reported: dict[Pair, datetime] = {}
    places: dict[str, Sequence[Any]] = {}
    for part in chunks(sorted(set(skus))):
        params = {"skus": list(part), "now": now, "channel": channel.value, **(extra or {})}
        for (sku, location_id, on_hand, reserved, safety, inbound, unsellable, updated_at,
             own_safety, as_of, lapsed) in await conn.execute(reads.levels, params):
            # As every level read: holds past expiresAt are not reserved any more.
            level = StockLevel(sku, location_id, on_hand, reserved - (lapsed or 0), safety,
                               inbound, unsellable, aware(updated_at),
                               () if own_safety is None else ((channel, own_safety),))
            levels.setdefault(location_id, []).append(level)
            if as_of is not None:
                reported[(sku, location_id)] = aware(as_of)
    for ids in chunks(sorted(levels)):
        params = {"ids": list(ids), "day": utc_day(now), **(extra or {})}
        for r in await conn.execute(reads.locations, params):
            places[r[0]] = r
    return _network(levels, reported, places)


def _network(levels: Mapping[str, list[StockLevel]], reported: Mapping[Pair, datetime],
             places: Mapping[str, Sequence[Any]]) -> Network:
    candidates = []
    terms: dict[str, SourceTerms] = {}
    for key, (_, name, kind, lat, lon, pickup, ship, active, capacity, priority, cost, today,
              mode, max_age_s, deadline_ms) in places.items():
        if key not in levels:
            continue
        location = Location(key, name, LocationKind(kind), lat, lon, pickup, ship, active)
        knobs = LocationPolicy(key, capacity, priority or 0, cost or 0.0)
        candidates.append(Candidate(location, tuple(levels[key]), knobs, today or 0))
        if mode is not None:
            terms[key] = _source_terms(mode, max_age_s, deadline_ms)
    return Network(tuple(candidates), Freshness(sources=terms, reported=reported))


def policy(location_id: str, r: Any) -> LocationPolicy:
    return LocationPolicy(location_id, r.daily_shipment_capacity, r.priority or 0,
                          r.handling_cost or 0.0)
