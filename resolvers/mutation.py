"""The Mutation root."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.errors import DomainError
from resolvers.context import Context
from resolvers.errors import forbidden, user_error
from schema.inputs import LocationInput, MovementInput, SkuInput
from schema.types import Location, MovementResult, Product, StockLevel
from services import catalog
from services.movements import FORBIDDEN_REASON, MovementOutcome, record_movements


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create or update a location (admin).")
    async def upsert_location(self, info: Info[Context, None], input: LocationInput) -> Location:
        s = info.context.services
        change = catalog.LocationChange(
            id=str(input.id), name=input.name, kind=input.kind, latitude=input.latitude,
            longitude=input.longitude, pickup_enabled=input.pickup_enabled,
            ship_enabled=input.ship_enabled, active=input.active,
        )
        try:
            return Location.from_domain(
                await catalog.upsert_location(s.catalog, s.reader, change, s.clock()))
        except DomainError as exc:
            raise user_error(exc) from exc

    @strawberry.mutation(description="Create or update a SKU (admin).")
    async def upsert_sku(self, info: Info[Context, None], input: SkuInput) -> Product:
        s = info.context.services
        try:
            sku = await catalog.upsert_sku(
                s.catalog, str(input.sku), input.name, input.barcodes, s.clock(),
                input.unit_cost)
        except DomainError as exc:
            raise user_error(exc) from exc
        return Product(sku=strawberry.ID(sku))

    @strawberry.mutation
    async def set_safety_stock(
        self, info: Info[Context, None], sku: strawberry.ID, location_id: strawberry.ID,
        quantity: int,
    ) -> StockLevel:
        s = info.context.services
        try:
            level, location = await catalog.set_safety_stock(
                s.ledger, s.publisher, str(sku), str(location_id), quantity,
                info.context.caller, s.clock())
        except DomainError as exc:
            raise user_error(exc) from exc
        return StockLevel.from_domain(level, location)

    @strawberry.mutation(description="Record one scanned movement; replays are no-ops.")
    async def record_movement(
        self, info: Info[Context, None], movement: MovementInput
    ) -> MovementResult:
        [result] = await _record(info, [movement])
        if result.error and result.error.startswith(FORBIDDEN_REASON):
            raise forbidden(result.error.removeprefix(FORBIDDEN_REASON))
        return result

    @strawberry.mutation(description="Record a batch; each movement is applied or rejected "
                                     "on its own, in order.")
    async def record_movements(
        self, info: Info[Context, None], movements: list[MovementInput]
    ) -> list[MovementResult]:
        return await _record(info, movements)


async def _record(info: Info[Context, None], inputs: list[MovementInput]) -> list[MovementResult]:
    s = info.context.services
    try:
        outcomes = await record_movements(
            s.ledger, s.publisher, [i.to_domain() for i in inputs], info.context.caller,
            s.clock(), s.limits, holds=s.reservations)
    except DomainError as exc:
        raise user_error(exc) from exc
    return [_result(o) for o in outcomes]


def _result(o: MovementOutcome) -> MovementResult:
    level = StockLevel.from_domain(o.level, o.location) if o.level and o.location else None
    return MovementResult(
        event_id=strawberry.ID(o.event_id), status=o.status, error=o.error, level=level)
