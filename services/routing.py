"""Use cases: pickup options near a customer, a fulfilment plan for an order, routing knobs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain import routing
from domain.errors import InvalidInputError, NotFoundError
from domain.geo import BoundingBox, GeoPoint, bounding_box, check_point, check_radius
from domain.location import Channel, Location, LocationKind
from domain.ports import StockReader
from domain.routing import FulfilmentPlan, LocationPolicy, Network, OrderLine, PickupOption
from domain.stock import StockLevel


class RoutingStore(Protocol):
    async def shipping_network(
        self, skus: Sequence[str], channel: Channel, now: datetime) -> Network: ...
    async def pickup_network(
        self, skus: Sequence[str], channel: Channel, box: BoundingBox, now: datetime
    ) -> Network: ...
    async def policy(
        self, location_id: str, now: datetime) -> tuple[Location, LocationPolicy, int] | None: ...
    async def set_policy(
        self, policy: LocationPolicy, ship_enabled: bool | None, now: datetime) -> None: ...
    async def set_channel_safety(
        self, sku: str, location_id: str, channel: Channel, quantity: int | None,
        now: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class RoutingLimits:
    max_lines: int = routing.DEFAULT_MAX_LINES
    max_pickup_options: int = 100
    exact_max_lines: int = routing.EXACT_MAX_LINES
    node_budget: int = 20_000
    # reserveRoute: how many times a plan that lost a race is made again from fresh levels.
    replan_attempts: int = 3


@dataclass(frozen=True, slots=True)
class PolicyView:
    location: Location
    policy: LocationPolicy
    shipments_today: int


@dataclass(frozen=True, slots=True)
class PolicyChange:
    """Knobs to change; None leaves one as it is (`clear_capacity` removes the daily limit)."""

    location_id: str
    ship_from_store: bool | None = None
    daily_shipment_capacity: int | None = None
    clear_capacity: bool = False
    priority: int | None = None
    handling_cost: float | None = None


async def pickup_options(
    store: RoutingStore, reader: StockReader, lines: Sequence[OrderLine], near: GeoPoint,
    radius_km: float, limit: int, channel: Channel, now: datetime, limits: RoutingLimits,
) -> list[PickupOption]:
    routing.check_lines(lines, limits.max_lines)
    origin = check_point(near.latitude, near.longitude, "near")
    radius = check_radius(radius_km)
    if not 1 <= limit <= limits.max_pickup_options:
        raise InvalidInputError(
            f"limit must be between 1 and {limits.max_pickup_options}", field="limit")
    network = await store.pickup_network(
        [ln.sku for ln in lines], channel, bounding_box(origin, radius), now)
    await check_skus(reader, lines, network)
    found = routing.sources(network.candidates, origin, channel, now, network.freshness)
    return routing.pickup_options(lines, found, radius, limit)


async def route_order(
    store: RoutingStore, reader: StockReader, lines: Sequence[OrderLine], ship_to: GeoPoint,
    channel: Channel, now: datetime, limits: RoutingLimits,
) -> FulfilmentPlan:
    routing.check_lines(lines, limits.max_lines)
    origin = check_point(ship_to.latitude, ship_to.longitude, "shipTo")
    return await plan(store, reader, lines, origin, channel, now, limits)


async def plan(
    store: RoutingStore, reader: StockReader, lines: Sequence[OrderLine], origin: GeoPoint,
    channel: Channel, now: datetime, limits: RoutingLimits,
) -> FulfilmentPlan:
    """A plan from levels read now; lines and origin already checked, SKUs checked here."""
    network = await store.shipping_network([ln.sku for ln in lines], channel, now)
    await check_skus(reader, lines, network)
    found = routing.sources(network.candidates, origin, channel, now, network.freshness)
    shippers = routing.shipping_sources(network.candidates, found)
    return routing.plan_route(lines, shippers, limits.exact_max_lines, limits.node_budget)


async def check_skus(
    reader: StockReader, lines: Sequence[OrderLine], network: Network | None = None
) -> None:
    """Unknown SKUs are bad input. A SKU the network read holds levels of is known: only the
    others are looked up (usually none, so no statement)."""
    stocked = {lv.sku for c in network.candidates for lv in c.levels} if network else set()
    unsure = {ln.sku for ln in lines} - stocked
    known = await reader.known_skus(unsure) if unsure else set()
    unknown = [(n, ln.sku) for n, ln in enumerate(lines) if ln.sku not in known | stocked]
    if unknown:
        raise InvalidInputError(
            f"unknown sku: {', '.join(sku for _, sku in unknown)}",
            field=f"lines[{unknown[0][0]}].sku")


async def location_policy(store: RoutingStore, location_id: str, now: datetime) -> PolicyView:
    found = await store.policy(location_id, now)
    if found is None:
        raise NotFoundError(f"unknown location {location_id!r}", field="locationId")
    return PolicyView(*found)


async def set_location_policy(
    store: RoutingStore, change: PolicyChange, now: datetime
) -> PolicyView:
    current = await location_policy(store, change.location_id, now)
    _check_policy(change, current.location)
    capacity = current.policy.daily_shipment_capacity
    if change.clear_capacity:
        capacity = None
    elif change.daily_shipment_capacity is not None:
        capacity = change.daily_shipment_capacity
    policy = LocationPolicy(
        change.location_id, capacity,
        current.policy.priority if change.priority is None else change.priority,
        current.policy.handling_cost if change.handling_cost is None else change.handling_cost)
    await store.set_policy(policy, change.ship_from_store, now)
    return await location_policy(store, change.location_id, now)


def _check_policy(change: PolicyChange, location: Location) -> None:
    if change.ship_from_store is not None and location.kind is not LocationKind.STORE:
        raise InvalidInputError("shipFromStore applies to stores only", field="shipFromStore")
    if change.daily_shipment_capacity is not None and change.daily_shipment_capacity < 0:
        raise InvalidInputError("dailyShipmentCapacity cannot be negative",
                                field="dailyShipmentCapacity")
    if change.priority is not None and change.priority < 0:
        raise InvalidInputError("priority cannot be negative", field="priority")
    cost = change.handling_cost
    if cost is not None and not (math.isfinite(cost) and cost >= 0):
        raise InvalidInputError("handlingCost must be a finite number, 0 or more",
                                field="handlingCost")


async def set_channel_safety_stock(
    store: RoutingStore, reader: StockReader, sku: str, location_id: str, channel: Channel,
    quantity: int | None, now: datetime,
) -> tuple[StockLevel | None, Location]:
    """Safety stock held back on `channel` only (None: back to the level's safetyStock).
    Answers the level after (None where never stocked) and its location."""
    if quantity is not None and quantity < 0:
        raise InvalidInputError("safety stock cannot be negative", field="quantity")
    if not await reader.known_skus([sku]):
        raise NotFoundError(f"unknown sku {sku!r}", field="sku")
    found = await reader.locations(ids=[location_id])
    if not found:
        raise NotFoundError(f"unknown location {location_id!r}", field="locationId")
    await store.set_channel_safety(sku, location_id, channel, quantity, now)
    level = await reader.level(sku, location_id)
    return (level[0] if level else None), found[0]
