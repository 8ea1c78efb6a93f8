"""Reservation root fields: hold stock for a cart or an order, release it, commit it.

Expected refusals are results, not errors: InsufficientStock, or InvalidInput (bad input, an
idempotency key reused for other lines, an unknown, expired, released or committed id)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import strawberry
from strawberry.types import Info

from domain.errors import InvalidInputError
from domain.reservation import Reservation as DomainReservation
from domain.reservation import Shortage
from resolvers.context import Context
from schema.reservation import InsufficientStock, Reservation, ReserveInput, ReserveResult
from schema.types import InvalidInput
from services import reservations


@strawberry.type
class ReservationQuery:
    @strawberry.field(description="Null where no reservation has this id.")
    async def reservation(self, info: Info[Context, None], id: strawberry.ID) -> Reservation | None:
        s = info.context.services
        found = await s.reservations.get(str(id))
        return Reservation.from_domain(found, s.clock()) if found else None


@strawberry.type
class ReservationMutation:
    @strawberry.mutation(description="Hold stock for a cart or an order: every line or none.")
    async def reserve(self, info: Info[Context, None], input: ReserveInput) -> ReserveResult:
        s, caller = info.context.services, info.context.caller
        return await _answer(s.clock(), lambda now: reservations.reserve(
            s.reservations, s.reader, s.publisher, input.to_domain(), caller, now,
            s.reservation_limits))

    @strawberry.mutation(description="Give the held units back.")
    async def release_reservation(self, info: Info[Context, None], id: strawberry.ID
                                  ) -> ReserveResult:
        s, caller = info.context.services, info.context.caller
        return await _answer(s.clock(), lambda now: reservations.release(
            s.reservations, s.publisher, str(id), caller, now))

    @strawberry.mutation(description="The reserved units ship: onHand and reserved go down.")
    async def commit_reservation(self, info: Info[Context, None], id: strawberry.ID
                                 ) -> ReserveResult:
        s, caller = info.context.services, info.context.caller
        return await _answer(s.clock(), lambda now: reservations.commit(
            s.reservations, s.publisher, str(id), caller, now))


async def _answer(
    now: datetime, use_case: Callable[[datetime], Awaitable[DomainReservation | Shortage]]
) -> ReserveResult:
    try:
        outcome = await use_case(now)
    except InvalidInputError as exc:
        return InvalidInput(message=exc.message, field=exc.field)
    if isinstance(outcome, Shortage):
        return InsufficientStock.from_domain(outcome)
    return Reservation.from_domain(outcome, now)
