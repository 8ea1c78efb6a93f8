"""Root fields for sources of reported levels: vendor pushes and source configuration."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from domain.errors import DomainError, NotFoundError
from domain.source import SourceMode, SourceUnavailableError, VendorScopeError
from resolvers.context import Context
from resolvers.errors import user_error
from schema.sources import (
    VendorLevelInput,
    VendorPushResult,
    VendorSourceInput,
    VendorSourceType,
)
from services import sources


@strawberry.type
class SourcesQuery:
    @strawberry.field(description="Every configured source of reported levels (admin).")
    async def vendor_sources(self, info: Info[Context, None]) -> list[VendorSourceType]:
        refresher = info.context.services.sources
        found = await refresher.deps.store.sources()
        locations = {loc.id: loc for loc in await info.context.services.reader.locations(
            ids=[s.location_id for s in found])}
        return [
            VendorSourceType.from_domain(s, locations[s.location_id],
                                         refresher.deps.feed.circuit(s.location_id),
                                         refresher.last_error.get(s.location_id))
            for s in found if s.location_id in locations
        ]


@strawberry.type
class SourcesMutation:
    @strawberry.mutation(description="A dropship vendor reports its levels; each bad line is "
                                     "rejected on its own.")
    async def push_vendor_levels(
        self, info: Info[Context, None], vendor_id: strawberry.ID, levels: list[VendorLevelInput]
    ) -> VendorPushResult:
        s = info.context.services
        try:
            done = await sources.push_vendor_levels(
                s.sources.deps, str(vendor_id), [ln.to_domain() for ln in levels],
                info.context.caller, s.clock())
        except VendorScopeError as exc:
            raise GraphQLError(exc.message, extensions={"code": "FORBIDDEN"}) from exc
        except DomainError as exc:
            raise user_error(exc) from exc
        return VendorPushResult(accepted=done.accepted, rejected=done.rejected)

    @strawberry.mutation(description="Set where a location's levels come from (admin).")
    async def set_vendor_source(
        self, info: Info[Context, None], input: VendorSourceInput
    ) -> VendorSourceType:
        s = info.context.services
        source = input.to_domain()
        try:
            location = await sources.set_vendor_source(s.sources.deps, source, s.clock())
        except DomainError as exc:
            raise user_error(exc) from exc
        return VendorSourceType.from_domain(
            source, location, s.sources.deps.feed.circuit(source.location_id), None)

    @strawberry.mutation(description="Read a pull source's whole listing now (admin).")
    async def refresh_vendor_source(
        self, info: Info[Context, None], location_id: strawberry.ID
    ) -> VendorPushResult:
        refresher = info.context.services.sources
        found = await refresher.deps.store.sources([str(location_id)])
        if not found or found[0].mode is not SourceMode.PULL:
            raise user_error(NotFoundError(f"no pull source for {str(location_id)!r}",
                                           field="locationId"))
        try:
            done = await refresher.poll(found[0])
        except SourceUnavailableError as exc:
            raise GraphQLError(f"source unavailable: {exc.reason}",
                               extensions={"code": "SOURCE_UNAVAILABLE"}) from exc
        return VendorPushResult(accepted=done.accepted, rejected=done.rejected)
