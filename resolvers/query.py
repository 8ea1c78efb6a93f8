"""The Query root."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.errors import InvalidInputError, NotFoundError
from resolvers.context import Context
from resolvers.errors import user_error
from schema.enums import Channel, LocationKind
from schema.types import Location, NetworkAvailability, StockLevel

MAX_SKUS_PER_QUERY = 500


@strawberry.type
class Query:
    @strawberry.field(description="ATP for one SKU across the network, per location too.")
    async def availability(
        self, info: Info[Context, None], sku: strawberry.ID, channel: Channel = Channel.ONLINE
    ) -> NetworkAvailability:
        return (await _availabilities(info, [sku], channel))[0]

    @strawberry.field
    async def availabilities(
        self, info: Info[Context, None], skus: list[strawberry.ID],
        channel: Channel = Channel.ONLINE,
    ) -> list[NetworkAvailability]:
        return await _availabilities(info, skus, channel)

    @strawberry.field(description="Null where the SKU was never stocked at the location.")
    async def stock_level(
        self, info: Info[Context, None], sku: strawberry.ID, location_id: strawberry.ID
    ) -> StockLevel | None:
        found = await info.context.services.reader.level(str(sku), str(location_id))
        return StockLevel.from_domain(*found) if found else None

    @strawberry.field
    async def locations(
        self, info: Info[Context, None], kind: LocationKind | None = None
    ) -> list[Location]:
        return [Location.from_domain(loc)
                for loc in await info.context.services.reader.locations(kind=kind)]


async def _availabilities(
    info: Info[Context, None], skus: list[strawberry.ID], channel: Channel
) -> list[NetworkAvailability]:
    wanted = [str(s) for s in skus]
    try:
        if len(wanted) > MAX_SKUS_PER_QUERY:
            raise InvalidInputError(f"ask for at most {MAX_SKUS_PER_QUERY} skus", field="skus")
        unknown = set(wanted) - await info.context.services.reader.known_skus(wanted)
        if unknown:
            raise NotFoundError(f"unknown sku: {', '.join(sorted(unknown))}", field="sku")
    except (InvalidInputError, NotFoundError) as exc:
        raise user_error(exc) from exc
    found = await info.context.loaders.availability.load_many([(s, channel) for s in wanted])
    return [NetworkAvailability.from_domain(na) for na in found]
