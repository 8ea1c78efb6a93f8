"""Use case: route an order and hold it in one step (reserveRoute).

The plan is made from levels read now, then held with the reservations' conditional updates.
Two orders racing for the last units can both be planned at the same store, but only one hold
succeeds there; the other is planned again from fresh levels (a bounded number of times) and
lands elsewhere, or gets InsufficientStock. A store whose shipments for the day reach its
capacity is counted in the same transaction as the holds, so it is never over-promised either.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from domain import reservation as reservations
from domain import route_hold as rules
from domain import routing as plans
from domain.access import Caller
from domain.events import StockChanged
from domain.geo import check_point
from domain.ports import ChangePublisher, StockReader
from domain.reservation import Reservation, ReservationLimits, Shortage
from domain.route_hold import CapacityReached, RouteRequest
from services.routing import RoutingLimits, RoutingStore, plan


class RouteHolds(Protocol):
    async def by_key(self, idempotency_key: str) -> Reservation | None: ...
    async def reserve_route(
        self, draft: Reservation, location_ids: Sequence[str], day: date
    ) -> tuple[Reservation | Shortage | CapacityReached, list[StockChanged]]: ...


async def reserve_route(
    store: RoutingStore, holds: RouteHolds, reader: StockReader, publisher: ChangePublisher,
    request: RouteRequest, caller: Caller, now: datetime, limits: RoutingLimits,
    reservation_limits: ReservationLimits,
) -> Reservation | Shortage:
    """A Reservation holding the order's plan, or a Shortage; nothing is held on a Shortage.
    Raises InvalidInputError for bad input (before anything is read or held)."""
    plans.check_lines(request.lines, limits.max_lines)
    origin = check_point(request.ship_to.latitude, request.ship_to.longitude, "shipTo")
    reservations.new_reservation(rules.envelope(request), "check", caller.name, now,
                                 reservation_limits)
    found = await holds.by_key(request.idempotency_key)
    if found is not None:
        return rules.check_replay(found, request)
    refusal: Shortage | None = None
    for _ in range(limits.replan_attempts):
        planned = await plan(store, reader, request.lines, origin, request.channel, now, limits)
        short = rules.uncovered(request, planned)
        if short is not None:
            return short
        draft = reservations.new_reservation(
            rules.reserve_request(request, planned), str(uuid.uuid4()), caller.name, now,
            reservation_limits)
        outcome, changes = await holds.reserve_route(
            draft, [s.location.id for s in planned.shipments], plans.utc_day(now))
        await publisher.publish(changes)
        if isinstance(outcome, Reservation):
            return outcome if outcome.id == draft.id else rules.check_replay(outcome, request)
        refusal = (rules.capacity_shortage(planned, outcome)
                   if isinstance(outcome, CapacityReached) else outcome)
    assert refusal is not None, "replan_attempts must be at least 1"
    return refusal
