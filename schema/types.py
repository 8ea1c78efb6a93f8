"""GraphQL object types and their `from_domain` mappers. No I/O beyond context loaders."""

from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry
from strawberry.types import Info

from domain import availability as av
from domain.location import Location as DomainLocation
from domain.stock import StockLevel as DomainStockLevel
from schema.context import GraphContext
from schema.enums import Channel, LocationKind, MovementStatus


@strawberry.federation.type(keys=["id"], name="Location")
class Location:
    id: strawberry.ID
    name: str
    kind: LocationKind
    latitude: float | None
    longitude: float | None
    pickup_enabled: bool = strawberry.field(description="Buy online, pick up here (BOPIS).")
    ship_enabled: bool = strawberry.field(
        description="Ships to customers (ship-from-store for stores).")
    active: bool

    @classmethod
    def from_domain(cls, loc: DomainLocation) -> Self:
        return cls(
            id=strawberry.ID(loc.id), name=loc.name, kind=loc.kind, latitude=loc.latitude,
            longitude=loc.longitude, pickup_enabled=loc.pickup_enabled,
            ship_enabled=loc.ship_enabled, active=loc.active,
        )

    @classmethod
    async def resolve_reference(
        cls, info: Info[GraphContext, None], id: strawberry.ID
    ) -> Self | None:
        found = await info.context.loaders.location_by_id.load(str(id))
        return cls.from_domain(found) if found else None


@strawberry.type(name="StockLevel")
class StockLevel:
    sku: strawberry.ID
    location: Location
    on_hand: int
    reserved: int
    safety_stock: int
    inbound: int
    unsellable: int
    atp: int = strawberry.field(
        description="max(0, onHand - reserved - safetyStock - unsellable)")
    updated_at: datetime

    @classmethod
    def from_domain(cls, lv: DomainStockLevel, loc: DomainLocation) -> Self:
        return cls(
            sku=strawberry.ID(lv.sku), location=Location.from_domain(loc), on_hand=lv.on_hand,
            reserved=lv.reserved, safety_stock=lv.safety_stock, inbound=lv.inbound,
            unsellable=lv.unsellable, atp=lv.atp,
            updated_at=lv.updated_at or datetime.fromtimestamp(0).astimezone(),
        )


@strawberry.type(name="SourceStatus")
class SourceStatus:
    location: Location
    fresh: bool
    as_of: datetime | None
    error: str | None


def _counted_levels(root: NetworkAvailability) -> list[StockLevel]:
    return [StockLevel.from_domain(level, location) for level, location in root.counted]


@strawberry.type(name="NetworkAvailability")
class NetworkAvailability:
    sku: strawberry.ID
    atp: int
    on_hand: int
    reserved: int
    # The counted levels become GraphQL objects only when `levels` is asked for: a query for
    # the totals (or the sources) of a SKU held at 1,200 locations would otherwise build 2,400.
    levels: list[StockLevel] = strawberry.field(
        resolver=_counted_levels,
        description="One entry per location counted on the asked channel.")
    sources: list[SourceStatus]
    as_of: datetime
    counted: strawberry.Private[list[av.LevelAt]]

    @classmethod
    def from_domain(cls, na: av.NetworkAvailability) -> Self:
        return cls(
            sku=strawberry.ID(na.sku), atp=na.atp, on_hand=na.on_hand, reserved=na.reserved,
            sources=[
                SourceStatus(location=Location.from_domain(s.location), fresh=s.fresh,
                             as_of=s.as_of, error=s.error)
                for s in na.sources
            ],
            as_of=na.as_of, counted=na.levels,
        )


@strawberry.federation.type(keys=["sku"], name="Product")
class Product:
    sku: strawberry.ID

    @strawberry.field
    async def availability(
        self, info: Info[GraphContext, None], channel: Channel = Channel.ONLINE
    ) -> NetworkAvailability:
        found = await info.context.loaders.availability.load((str(self.sku), channel))
        return NetworkAvailability.from_domain(found)

    @classmethod
    def resolve_reference(cls, sku: strawberry.ID) -> Self:
        # Availability is loaded lazily (and batched) only when the supergraph asks for it.
        return cls(sku=sku)


@strawberry.type(name="MovementResult")
class MovementResult:
    event_id: strawberry.ID
    status: MovementStatus
    error: str | None
    level: StockLevel | None


@strawberry.type(name="InvalidInput")
class InvalidInput:
    message: str
    field: str | None
