"""The Subscription root (API.md). Over WebSocket /graphql these three fields are served by the
per-process fan-out hub (app/fanout), which runs each distinct selection once per event for
all its subscribers; these resolvers are the same subscriptions for any other transport
(one execution per subscriber), through the `changes` stream on the context.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from domain.errors import DomainError
from resolvers.context import Context
from resolvers.errors import user_error
from schema.enums import Channel
from schema.subscription import AvailabilityEvent, LowStockAlert
from schema.types import NetworkAvailability
from services.changes import AVAILABILITY, LOW_STOCK, NETWORK, StreamRequest, Topic


@strawberry.type
class Subscription:
    @strawberry.subscription(description=(
        "Every change to a level (movement, reservation, release, expiry, commit, vendor "
        "level), in sequence order. With `after`, the changes recorded since that sequence "
        "come first, then live ones, with no gap and no repeat."))
    async def availability_changed(
        self, info: Info[Context, None], skus: list[strawberry.ID] | None = None,
        location_ids: list[strawberry.ID] | None = None, after: str | None = None,
        channel: Channel = Channel.ONLINE,
    ) -> AsyncGenerator[AvailabilityEvent, None]:
        request = StreamRequest(Topic(AVAILABILITY, _ids(skus), _ids(location_ids), channel),
                                after)
        async for event in _stream(info, request):
            yield event

    @strawberry.subscription(description=(
        "The SKU's network availability now, then again after every change to it."))
    async def network_availability(
        self, info: Info[Context, None], sku: strawberry.ID, channel: Channel = Channel.ONLINE,
    ) -> AsyncGenerator[NetworkAvailability, None]:
        request = StreamRequest(Topic(NETWORK, frozenset({str(sku)}), None, channel))
        async for event in _stream(info, request):
            yield event

    @strawberry.subscription(description=(
        "Replenishment requests as they open, with the level that raised them (live only)."))
    async def low_stock(
        self, info: Info[Context, None], location_ids: list[strawberry.ID] | None = None,
    ) -> AsyncGenerator[LowStockAlert, None]:
        request = StreamRequest(Topic(LOW_STOCK, None, _ids(location_ids)))
        async for event in _stream(info, request):
            yield event


def _ids(values: list[strawberry.ID] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(str(v) for v in values)


async def _stream(info: Info[Context, None], request: StreamRequest) -> AsyncIterator[Any]:
    changes = info.context.changes
    if changes is None:
        raise GraphQLError("subscriptions are not available on this server")
    try:
        opened = await changes.open(request, info.context.caller)
    except DomainError as exc:
        raise user_error(exc) from exc
    async with opened as events:
        async for event in events:
            yield event
