"""Holding a routed order (reserveRoute): the reservation a plan asks for, the answer when the
network cannot cover the order, and what counts as a retry of an earlier call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.errors import InvalidInputError
from domain.geo import GeoPoint
from domain.location import Channel
from domain.reservation import LineRequest, Reservation, ReserveRequest, Shortage, ShortLine
from domain.routing import FulfilmentPlan, OrderLine

# ShortLine.locationId of a line the whole network cannot cover.
ANYWHERE = "*"


@dataclass(frozen=True, slots=True)
class RouteRequest:
    idempotency_key: str
    lines: Sequence[OrderLine]
    ship_to: GeoPoint
    ttl_seconds: int | None = None
    channel: Channel = Channel.ONLINE
    order_ref: str | None = None
    # Hold what can be covered and leave the rest, instead of refusing the whole order.
    allow_partial: bool = False


@dataclass(frozen=True, slots=True)
class CapacityReached:
    """The plan's holds were refused because these locations reached their daily capacity."""

    location_ids: tuple[str, ...]


def reserve_request(request: RouteRequest, plan: FulfilmentPlan) -> ReserveRequest:
    """The reservation that holds `plan`: one line per shipment and SKU."""
    return ReserveRequest(
        request.idempotency_key,
        [LineRequest(x.sku, s.location.id, x.quantity) for s in plan.shipments for x in s.lines],
        request.ttl_seconds, request.channel, request.order_ref)


def envelope(request: RouteRequest) -> ReserveRequest:
    """A reservation request with the order's own lines, to check key, ttl and orderRef
    before anything is read."""
    return ReserveRequest(
        request.idempotency_key, [LineRequest(x.sku, ANYWHERE, x.quantity) for x in request.lines],
        request.ttl_seconds, request.channel, request.order_ref)


def uncovered(request: RouteRequest, plan: FulfilmentPlan) -> Shortage | None:
    """The refusal for a plan that cannot be held: nothing to hold, or some units uncovered
    while the caller did not allow a partial hold."""
    if plan.shipments and (request.allow_partial or not plan.unfulfilled):
        return None
    missing = {x.sku: x.quantity for x in plan.unfulfilled}
    return Shortage(tuple(
        ShortLine(x.sku, ANYWHERE, x.quantity, x.quantity - missing[x.sku])
        for x in request.lines if x.sku in missing))


def capacity_shortage(plan: FulfilmentPlan, full: CapacityReached) -> Shortage:
    """Lines planned at locations that reached their daily capacity: none of it available."""
    return Shortage(tuple(
        ShortLine(x.sku, s.location.id, x.quantity, 0)
        for s in plan.shipments if s.location.id in full.location_ids for x in s.lines))


def check_replay(found: Reservation, request: RouteRequest) -> Reservation:
    """An earlier reserveRoute with this key held the order's units of its SKUs (at most
    those, when partial holds are allowed) on the same channel; anything else means the key
    was used for another order."""
    wanted = {x.sku: x.quantity for x in request.lines}
    held: dict[str, int] = {}
    for line in found.lines:
        held[line.sku] = held.get(line.sku, 0) + line.quantity
    fits = (all(sku in wanted and q <= wanted[sku] for sku, q in held.items())
            if request.allow_partial else held == wanted)
    if found.channel is request.channel and fits:
        return found
    raise InvalidInputError(
        f"idempotencyKey {request.idempotency_key!r} was already used for another order",
        field="idempotencyKey")
