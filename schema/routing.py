"""GraphQL types of routing: order lines and points in, pickup options and fulfilment plans out,
and the routing knobs admins set."""

from __future__ import annotations

from typing import Self

import strawberry

from domain import routing as rules
from domain.geo import GeoPoint
from domain.location import Location as DomainLocation
from domain.route_hold import RouteRequest
from domain.stock import StockLevel as DomainStockLevel
from schema.enums import Channel
from schema.types import Location


@strawberry.input(name="OrderLineInput")
class OrderLineInput:
    sku: strawberry.ID
    quantity: int

    @staticmethod
    def to_domain(lines: list[OrderLineInput]) -> list[rules.OrderLine]:
        return [rules.OrderLine(str(x.sku), x.quantity) for x in lines]


@strawberry.input(name="GeoPointInput")
class GeoPointInput:
    latitude: float
    longitude: float

    def to_domain(self) -> GeoPoint:
        return GeoPoint(self.latitude, self.longitude)


@strawberry.input(name="ReserveOrderInput")
class ReserveOrderInput:
    idempotency_key: strawberry.ID = strawberry.field(
        description="Made by the client; a retry with the same key returns the same "
                    "reservation and holds nothing more.")
    lines: list[OrderLineInput]
    ship_to: GeoPointInput
    ttl_seconds: int | None = strawberry.field(
        default=900, description="Seconds until the hold expires (null: the server default).")
    channel: Channel = Channel.ONLINE
    order_ref: str | None = None
    allow_partial: bool = strawberry.field(
        default=False, description="Hold what the network can cover and leave the rest; by "
                                   "default an order that cannot be covered whole holds "
                                   "nothing (InsufficientStock, locationId \"*\").")

    def to_domain(self) -> RouteRequest:
        return RouteRequest(
            str(self.idempotency_key), OrderLineInput.to_domain(self.lines),
            self.ship_to.to_domain(), self.ttl_seconds, self.channel, self.order_ref,
            self.allow_partial)


@strawberry.type(name="OrderLine")
class OrderLine:
    sku: strawberry.ID
    quantity: int

    @classmethod
    def from_domain(cls, line: rules.OrderLine) -> Self:
        return cls(sku=strawberry.ID(line.sku), quantity=line.quantity)


@strawberry.type(name="LineAvailability")
class LineAvailability:
    sku: strawberry.ID
    requested: int
    available: int = strawberry.field(description="ATP of the SKU at this store.")


@strawberry.type(name="PickupOption")
class PickupOption:
    location: Location
    distance_km: float
    complete: bool = strawberry.field(description="Every line can be picked up here.")
    lines: list[LineAvailability]

    @classmethod
    def from_domain(cls, option: rules.PickupOption) -> Self:
        return cls(
            location=Location.from_domain(option.location), distance_km=option.distance_km,
            complete=option.complete,
            lines=[LineAvailability(sku=strawberry.ID(x.sku), requested=x.requested,
                                    available=x.available) for x in option.lines])


@strawberry.type(name="Shipment")
class Shipment:
    location: Location
    lines: list[OrderLine]
    distance_km: float


@strawberry.type(name="FulfilmentPlan")
class FulfilmentPlan:
    shipments: list[Shipment] = strawberry.field(description="Nearest first.")
    unfulfilled: list[OrderLine] = strawberry.field(
        description="Units no shipping location can promise now.")
    split_count: int = strawberry.field(
        description="Shipments beyond the first: 0 when the order ships whole (or not at all).")
    exact: bool = strawberry.field(
        description="The plan is proven to use the fewest shipments (then the shortest total "
                    "distance); false when it was planned greedily (see docs/routing.md).")

    @classmethod
    def from_domain(cls, plan: rules.FulfilmentPlan) -> Self:
        return cls(
            shipments=[Shipment(location=Location.from_domain(s.location),
                                lines=[OrderLine.from_domain(x) for x in s.lines],
                                distance_km=s.distance_km) for s in plan.shipments],
            unfulfilled=[OrderLine.from_domain(x) for x in plan.unfulfilled],
            split_count=plan.split_count, exact=plan.exact)


@strawberry.type(name="LocationPolicy")
class LocationPolicy:
    location: Location
    ship_from_store: bool = strawberry.field(
        description="The location ships to customers (its shipEnabled).")
    daily_shipment_capacity: int | None = strawberry.field(
        description="Shipments reserveRoute may reserve here per UTC day; null: no limit.")
    priority: int = strawberry.field(description="Lower is preferred when all else ties.")
    handling_cost: float = strawberry.field(
        description="Per shipment; lower is preferred when distances tie.")
    shipments_today: int = strawberry.field(
        description="Shipments reserved here by reserveRoute this UTC day.")

    @classmethod
    def from_domain(cls, location: DomainLocation, policy: rules.LocationPolicy,
                    shipments_today: int) -> Self:
        return cls(location=Location.from_domain(location),
                   ship_from_store=location.ship_enabled,
                   daily_shipment_capacity=policy.daily_shipment_capacity,
                   priority=policy.priority, handling_cost=policy.handling_cost,
                   shipments_today=shipments_today)


@strawberry.type(name="ChannelSafetyStock")
class ChannelSafetyStock:
    sku: strawberry.ID
    location: Location
    channel: Channel
    quantity: int | None = strawberry.field(
        description="Held back on this channel only; null: the level's safetyStock applies.")
    atp: int = strawberry.field(description="ATP on this channel.")

    @classmethod
    def from_domain(cls, level: DomainStockLevel | None, location: DomainLocation, sku: str,
                    channel: Channel) -> Self:
        found = level or DomainStockLevel(sku, location.id)
        override = next((q for ch, q in found.channel_safety if ch is channel), None)
        return cls(sku=strawberry.ID(sku), location=Location.from_domain(location),
                   channel=channel, quantity=override, atp=found.atp_for(channel))
