"""Routing root fields: pickup options, fulfilment plans, and the knobs that steer them.

Queries answer bad input with a GraphQL error naming the field (extensions.field)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.errors import DomainError, InvalidInputError
from domain.reservation import Shortage
from resolvers.context import Context
from resolvers.errors import user_error
from schema.enums import Channel
from schema.reservation import InsufficientStock, Reservation, ReserveResult
from schema.routing import (
    ChannelSafetyStock,
    FulfilmentPlan,
    GeoPointInput,
    LocationPolicy,
    OrderLineInput,
    PickupOption,
    ReserveOrderInput,
)
from schema.types import InvalidInput
from services import route_holds, routing


@strawberry.type
class RoutingQuery:
    @strawberry.field(description="Pickup stores within radiusKm holding some of the order: "
                                  "complete ones first, nearest first.")
    async def pickup_options(
        self, info: Info[Context, None], lines: list[OrderLineInput], near: GeoPointInput,
        radius_km: float | None = 50, limit: int | None = 10,
        channel: Channel = Channel.ONLINE,
    ) -> list[PickupOption]:
        s = info.context.services
        try:
            found = await routing.pickup_options(
                s.routing, s.reader, OrderLineInput.to_domain(lines), near.to_domain(),
                50 if radius_km is None else radius_km, 10 if limit is None else limit,
                channel, s.clock(), s.routing_limits)
        except DomainError as exc:
            raise user_error(exc) from exc
        return [PickupOption.from_domain(o) for o in found]

    @strawberry.field(description="Shipments from shipping locations: the most units, then "
                                  "the fewest shipments, then the shortest total distance.")
    async def route_order(
        self, info: Info[Context, None], lines: list[OrderLineInput], ship_to: GeoPointInput,
        channel: Channel = Channel.ONLINE,
    ) -> FulfilmentPlan:
        s = info.context.services
        try:
            plan = await routing.route_order(
                s.routing, s.reader, OrderLineInput.to_domain(lines), ship_to.to_domain(),
                channel, s.clock(), s.routing_limits)
        except DomainError as exc:
            raise user_error(exc) from exc
        return FulfilmentPlan.from_domain(plan)

    @strawberry.field(description="A location's routing knobs (admin).")
    async def location_policy(
        self, info: Info[Context, None], location_id: strawberry.ID
    ) -> LocationPolicy:
        s = info.context.services
        try:
            view = await routing.location_policy(s.routing, str(location_id), s.clock())
        except DomainError as exc:
            raise user_error(exc) from exc
        return LocationPolicy.from_domain(view.location, view.policy, view.shipments_today)


@strawberry.type
class RoutingMutation:
    @strawberry.mutation(description="Route an order and hold the plan in one step: a "
                                     "Reservation, or InsufficientStock holding nothing.")
    async def reserve_route(
        self, info: Info[Context, None], input: ReserveOrderInput
    ) -> ReserveResult:
        s, now = info.context.services, info.context.services.clock()
        try:
            outcome = await route_holds.reserve_route(
                s.routing, s.route_holds, s.reader, s.publisher, input.to_domain(),
                info.context.caller, now, s.routing_limits, s.reservation_limits)
        except InvalidInputError as exc:
            return InvalidInput(message=exc.message, field=exc.field)
        if isinstance(outcome, Shortage):
            return InsufficientStock.from_domain(outcome)
        return Reservation.from_domain(outcome, now)

    @strawberry.mutation(description="Set a location's routing knobs (admin); omitted "
                                     "arguments stay, dailyShipmentCapacity null removes the "
                                     "limit.")
    async def set_location_policy(
        self, info: Info[Context, None], location_id: strawberry.ID,
        ship_from_store: bool | None = None,
        daily_shipment_capacity: int | None = strawberry.UNSET,
        priority: int | None = None, handling_cost: float | None = None,
    ) -> LocationPolicy:
        s = info.context.services
        change = routing.PolicyChange(
            str(location_id), ship_from_store,
            daily_shipment_capacity if isinstance(daily_shipment_capacity, int) else None,
            clear_capacity=daily_shipment_capacity is None, priority=priority,
            handling_cost=handling_cost)
        try:
            view = await routing.set_location_policy(s.routing, change, s.clock())
        except DomainError as exc:
            raise user_error(exc) from exc
        return LocationPolicy.from_domain(view.location, view.policy, view.shipments_today)

    @strawberry.mutation(description="Safety stock held back on one channel only (admin); "
                                     "null quantity: the level's safetyStock applies again.")
    async def set_channel_safety_stock(
        self, info: Info[Context, None], sku: strawberry.ID, location_id: strawberry.ID,
        channel: Channel, quantity: int | None,
    ) -> ChannelSafetyStock:
        s = info.context.services
        try:
            level, location = await routing.set_channel_safety_stock(
                s.routing, s.reader, str(sku), str(location_id), channel, quantity, s.clock())
        except DomainError as exc:
            raise user_error(exc) from exc
        return ChannelSafetyStock.from_domain(level, location, str(sku), channel)
