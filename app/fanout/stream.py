"""Subscriptions started outside the fan-out WebSocket handlers (Strawberry runs the resolvers
of resolvers/subscription.py, one execution per event per subscriber): the hub delivers their
events through a queue. Also the checks every subscription passes before it joins."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from graphql import GraphQLError

from app.fanout.group import Member
from app.fanout.hub import Hub
from domain.access import Caller
from services.changes import AVAILABILITY, ChangeReader, StreamRequest, parse_cursor


async def checked(reader: ChangeReader, request: StreamRequest) -> int | None:
    """The resume cursor of a valid request; DomainError for a bad filter or cursor."""
    topic = request.topic
    after = parse_cursor(request.after) if topic.field == AVAILABILITY else None
    await reader.check_filter(topic.skus, topic.locations)
    return after


class InProcessChanges:
    """The ChangeStream (services/changes.py) on the context, backed by the hub."""

    def __init__(self, hub: Hub, reader: ChangeReader, queue_limit: int) -> None:
        self.hub = hub
        self.reader = reader
        self.queue_limit = queue_limit

    async def open(self, request: StreamRequest, caller: Caller
                   ) -> Any:  # AbstractAsyncContextManager[AsyncIterator[Any]]
        after = await checked(self.reader, request)
        member = Member("", request.topic, floor=after or 0, queue=asyncio.Queue(),
                        queue_limit=self.queue_limit)
        return self._events(member, after)

    @asynccontextmanager
    async def _events(self, member: Member, after: int | None
                      ) -> AsyncIterator[AsyncIterator[Any]]:
        self.hub.join(member, (member.topic, "in-process"), None, after)
        try:
            yield _drain(member)
        finally:
            self.hub.leave(member)


async def _drain(member: Member) -> AsyncIterator[Any]:
    assert member.queue is not None
    while True:
        item = await member.queue.get()
        if isinstance(item, GraphQLError):
            raise item
        yield item
