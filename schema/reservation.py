"""GraphQL types of reservations: inputs, the Reservation, and the ReserveResult union."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

import strawberry
from strawberry.types import Info

from domain import reservation as rules
from domain.reservation import ReservationStatus
from schema.context import GraphContext
from schema.enums import Channel
from schema.inputs import build_from_coerced
from schema.types import InvalidInput, Location

strawberry.enum(ReservationStatus)


@strawberry.input(name="ReservationLineInput")
class ReservationLineInput:
    sku: strawberry.ID
    location_id: strawberry.ID
    quantity: int


@strawberry.input(name="ReserveInput")
class ReserveInput:
    idempotency_key: strawberry.ID = strawberry.field(
        description="Made by the client; a retry with the same key returns the same "
                    "reservation and holds nothing more.")
    lines: list[ReservationLineInput] = strawberry.field(
        description="All held or none; one line per sku and location.")
    ttl_seconds: int | None = strawberry.field(
        default=900, description="Seconds until the hold expires (null: the server default).")
    channel: Channel = Channel.ONLINE
    order_ref: str | None = None

    def to_domain(self) -> rules.ReserveRequest:
        return rules.ReserveRequest(
            idempotency_key=str(self.idempotency_key),
            lines=[rules.LineRequest(str(x.sku), str(x.location_id), x.quantity)
                   for x in self.lines],
            ttl_seconds=self.ttl_seconds, channel=self.channel, order_ref=self.order_ref,
        )


build_from_coerced(ReservationLineInput)
build_from_coerced(ReserveInput, lists_of={"lines": ReservationLineInput})


@strawberry.type(name="ReservationLine")
class ReservationLine:
    sku: strawberry.ID
    quantity: int
    short_by: int = strawberry.field(
        description="Units of this hold no longer on hand (sold or lost after it was made).")
    location_id: strawberry.Private[str]

    @strawberry.field
    async def location(self, info: Info[GraphContext, None]) -> Location:
        found = await info.context.loaders.location_by_id.load(self.location_id)
        if found is None:
            raise ValueError(f"location {self.location_id!r} of a reservation line is gone")
        return Location.from_domain(found)


@strawberry.type(name="Reservation")
class Reservation:
    id: strawberry.ID
    status: ReservationStatus
    lines: list[ReservationLine]
    expires_at: datetime
    order_ref: str | None
    channel: Channel
    created_at: datetime
    short: bool = strawberry.field(
        description="Some held units are gone (reality won): re-route, then release this.")

    @classmethod
    def from_domain(cls, found: rules.Reservation, now: datetime) -> Self:
        return cls(
            id=strawberry.ID(found.id), status=found.status_at(now),
            lines=[ReservationLine(sku=strawberry.ID(x.sku), quantity=x.quantity,
                                   short_by=x.short_by, location_id=x.location_id)
                   for x in found.lines],
            expires_at=found.expires_at, order_ref=found.order_ref, channel=found.channel,
            created_at=found.created_at, short=found.short,
        )


@strawberry.type(name="ShortLine")
class ShortLine:
    sku: strawberry.ID
    location_id: strawberry.ID
    requested: int
    available: int


@strawberry.type(name="InsufficientStock")
class InsufficientStock:
    message: str
    lines: list[ShortLine]

    @classmethod
    def from_domain(cls, shortage: rules.Shortage) -> Self:
        return cls(message=shortage.message, lines=[
            ShortLine(sku=strawberry.ID(x.sku), location_id=strawberry.ID(x.location_id),
                      requested=x.requested, available=x.available)
            for x in shortage.lines])


ReserveResult = Annotated[
    Reservation | InsufficientStock | InvalidInput, strawberry.union("ReserveResult")]
