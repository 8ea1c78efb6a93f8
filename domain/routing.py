"""Where an order can be picked up, and from where it should ship (BOPIS, ship-from-store).

Pure rules over candidates read by an adapter: which levels may be promised (the channel's ATP
of a level `sellable_now`), pickup options, and the fulfilment plan (set cover in
domain/cover.py). docs/routing.md states the order of preferences and what is guaranteed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from domain.availability import ALWAYS_FRESH, Freshness, sellable_now
from domain.cover import Supply, cover
from domain.errors import InvalidInputError
from domain.geo import GeoPoint, haversine_km
from domain.location import Channel, Location, sells_on
from domain.stock import StockLevel

DEFAULT_MAX_LINES = 200
EXACT_MAX_LINES = 8
# Distances closer than this count as equal, so policy (handling cost, priority) decides.
DISTANCE_STEP_KM = 0.1


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class LocationPolicy:
    """Routing knobs for one location. Capacity None: no daily limit. Lower priority and
    handling cost are preferred when everything else ties."""

    location_id: str
    daily_shipment_capacity: int | None = None
    priority: int = 0
    handling_cost: float = 0.0

    def has_capacity(self, shipments_today: int) -> bool:
        cap = self.daily_shipment_capacity
        return cap is None or shipments_today < cap


@dataclass(frozen=True, slots=True)
class Candidate:
    """A location as read for one request: its levels for the order's SKUs, its policy and
    how many shipments were reserved there today (UTC)."""

    location: Location
    levels: tuple[StockLevel, ...]
    policy: LocationPolicy
    shipments_today: int = 0


@dataclass(frozen=True, slots=True)
class Network:
    """What one request read: the candidates, and what decides which levels are fresh."""

    candidates: tuple[Candidate, ...]
    freshness: Freshness = ALWAYS_FRESH


@dataclass(frozen=True, slots=True)
class LineAvailability:
    sku: str
    requested: int
    available: int


@dataclass(frozen=True, slots=True)
class PickupOption:
    location: Location
    distance_km: float
    complete: bool
    lines: tuple[LineAvailability, ...]


@dataclass(frozen=True, slots=True)
class Shipment:
    location: Location
    lines: tuple[OrderLine, ...]
    distance_km: float


@dataclass(frozen=True, slots=True)
class FulfilmentPlan:
    shipments: tuple[Shipment, ...]
    unfulfilled: tuple[OrderLine, ...]
    exact: bool = True

    @property
    def split_count(self) -> int:
        """Shipments beyond the first: 0 when the order ships whole (or not at all)."""
        return max(0, len(self.shipments) - 1)


@dataclass(frozen=True, slots=True)
class Source:
    """A candidate that may serve the order: distance and promisable units per SKU."""

    location: Location
    distance_km: float
    available: dict[str, int] = field(hash=False)
    policy: LocationPolicy


def utc_day(now: datetime) -> date:
    """The day daily shipment capacities count in."""
    return now.astimezone(UTC).date()


def check_lines(lines: Sequence[OrderLine], max_lines: int = DEFAULT_MAX_LINES) -> None:
    if not lines:
        raise InvalidInputError("an order needs at least one line", field="lines")
    if len(lines) > max_lines:
        raise InvalidInputError(
            f"an order holds at most {max_lines} lines, got {len(lines)}", field="lines")
    seen: set[str] = set()
    for n, line in enumerate(lines):
        if not line.sku.strip():
            raise InvalidInputError("sku must not be empty", field=f"lines[{n}].sku")
        if line.quantity <= 0:
            raise InvalidInputError("quantity must be positive", field=f"lines[{n}].quantity")
        if line.sku in seen:
            raise InvalidInputError(
                f"sku {line.sku!r} appears on more than one line", field=f"lines[{n}].sku")
        seen.add(line.sku)


def sources(
    candidates: Sequence[Candidate], origin: GeoPoint, channel: Channel, now: datetime,
    freshness: Freshness = ALWAYS_FRESH,
) -> list[Source]:
    """Candidates with coordinates and some promisable unit, nearest first."""
    found = []
    for c in candidates:
        loc = c.location
        if loc.latitude is None or loc.longitude is None or not sells_on(loc, channel):
            continue
        available = {}
        for lv in c.levels:
            units = lv.atp_for(channel)
            if units > 0 and sellable_now(lv, loc, now, freshness):
                available[lv.sku] = units
        if available:
            distance = haversine_km(origin, GeoPoint(loc.latitude, loc.longitude))
            found.append(Source(loc, distance, available, c.policy))
    return sorted(found, key=lambda s: (s.distance_km, s.location.id))


def pickup_options(
    lines: Sequence[OrderLine], stores: Sequence[Source], radius_km: float, limit: int
) -> list[PickupOption]:
    """Pickup stores in range holding some of the order: complete ones first, nearest first."""
    options = []
    for s in stores:
        if not s.location.pickup_enabled or s.distance_km > radius_km:
            continue
        avail = tuple(LineAvailability(ln.sku, ln.quantity, s.available.get(ln.sku, 0))
                      for ln in lines)
        if any(a.available for a in avail):
            complete = all(a.available >= a.requested for a in avail)
            options.append(PickupOption(s.location, s.distance_km, complete, avail))
    options.sort(key=lambda o: (not o.complete, o.distance_km, o.location.id))
    return options[:limit]


def shipping_sources(candidates: Sequence[Candidate], found: Sequence[Source]) -> list[Source]:
    """Of `found`, those that ship and have not reached today's shipment capacity."""
    today = {c.location.id: c.shipments_today for c in candidates}
    return [s for s in found if s.location.ship_enabled
            and s.policy.has_capacity(today.get(s.location.id, 0))]


def plan_route(
    lines: Sequence[OrderLine], shippers: Sequence[Source],
    exact_max_lines: int = EXACT_MAX_LINES, node_budget: int = 20_000,
) -> FulfilmentPlan:
    """Most units first, then fewest shipments, then shortest total distance, then lowest
    handling cost, then lowest priority; never more of a SKU from a source than it has."""
    index = {ln.sku: n for n, ln in enumerate(lines)}
    supplies = [
        Supply({index[sku]: min(units, lines[index[sku]].quantity)
                for sku, units in s.available.items() if sku in index}, _weight(s))
        for s in shippers
    ]
    picked = cover([ln.quantity for ln in lines], supplies,
                   exact=len(lines) <= exact_max_lines, node_budget=node_budget)
    chosen = [shippers[k] for k in picked.chosen]
    shipments = _allocate(lines, picked.target, chosen)
    unfulfilled = tuple(OrderLine(ln.sku, ln.quantity - t)
                        for ln, t in zip(lines, picked.target, strict=True) if t < ln.quantity)
    return FulfilmentPlan(shipments, unfulfilled, picked.exact)


def _weight(s: Source) -> tuple[float, ...]:
    return (math.floor(s.distance_km / DISTANCE_STEP_KM), s.policy.handling_cost,
            s.policy.priority)


def _allocate(
    lines: Sequence[OrderLine], target: Sequence[int], chosen: Sequence[Source]
) -> tuple[Shipment, ...]:
    """Each line's target units from the chosen sources, most preferred first."""
    per_source: list[list[OrderLine]] = [[] for _ in chosen]
    for ln, wanted in zip(lines, target, strict=True):
        for n, s in enumerate(chosen):
            take = min(wanted, s.available.get(ln.sku, 0))
            if take:
                per_source[n].append(OrderLine(ln.sku, take))
                wanted -= take
    return tuple(Shipment(s.location, tuple(got), s.distance_km)
                 for s, got in zip(chosen, per_source, strict=True) if got)
