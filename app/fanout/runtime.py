"""The subscription machinery of one process, built in the app's lifespan and kept on
`app.state.fanout`: the broadcast, the hub and its feeders, the connections."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from graphql.execution import Executor
from strawberry.schema import Schema

from adapters.broadcast import BroadcastUnavailableError, SafeBroadcast, make_broadcast
from adapters.broadcast.publisher import BroadcastPublisher, channel_name
from adapters.db.engine import Database
from adapters.db.ledger_feed import SqlAlchemyLedgerFeed
from app.fanout.connections import Connections, keeping_alive
from app.fanout.direct import DirectWriter
from app.fanout.hub import Hub, HubLimits
from app.fanout.listener import Listener, tail_checks
from app.fanout.prepare import prepare
from app.fanout.stream import InProcessChanges, checked
from app.settings import Settings
from domain.location import Channel, Location
from resolvers.context import Context, Services
from services.changes import AVAILABILITY, LOW_STOCK, ChangeReader, StreamRequest, Topic

log = logging.getLogger("stockgraph.fanout")


@dataclass(frozen=True)
class GroupKey:
    key: tuple[Any, ...]
    executor: Executor[Any]


class Fanout:
    def __init__(self, schema: Schema, settings: Settings, hub: Hub, reader: ChangeReader,
                 listener: Listener) -> None:
        self.schema = schema
        self.max_tokens = settings.max_query_tokens
        self.hub = hub
        self.reader = reader
        self.listener = listener
        self.connections = Connections(settings.subscription_send_queue)
        self.changes = InProcessChanges(hub, reader, settings.subscription_send_queue)

    @staticmethod
    def of(context: Context) -> Fanout:
        found: Fanout = context.request.app.state.fanout
        return found

    async def prepare(self, payload: dict[str, Any], context: Context
                      ) -> tuple[StreamRequest, GroupKey] | list[GraphQLError] | None:
        prepared = await prepare(self.schema, payload.get("query"), payload.get("variables"),
                                 payload.get("operationName"), context, self.max_tokens)
        if prepared is None or isinstance(prepared, list):
            return prepared
        request = request_for(prepared.field, prepared.arguments)
        caller = context.caller
        key = (request.topic, prepared.signature, caller.role, caller.locations)
        return request, GroupKey(key, prepared.executor)

    async def check(self, request: StreamRequest) -> int | None:
        return await checked(self.reader, request)

    def stats(self) -> dict[str, Any]:
        hub = self.hub
        return {
            "connections": len(self.connections.outboxes),
            "subscriptions": hub.members(),
            "groups": len(hub.groups),
            "cursor": hub.cursor,
            "broadcast_subscribed": self.listener.subscribed,
            "cut_off": self.connections.cut_off,
            "backlogged": sum(1 for o in self.connections.outboxes if o.backlog),
            "tasks": len(asyncio.all_tasks()),
            "rss_kib": _rss_kib(),
            "last_delivery": hub.last_delivery,
            "direct_writes": DirectWriter.written, "direct_declined": DirectWriter.declined,
            **hub.counts,
        }


def _rss_kib() -> int | None:
    """This process's resident memory (Linux), for the benchmark's memory per subscriber."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def request_for(field: str, args: dict[str, Any]) -> StreamRequest:
    def ids(name: str) -> frozenset[str] | None:
        value = args.get(name)
        return None if value is None else frozenset(str(v) for v in value)

    channel = args.get("channel") or Channel.ONLINE
    if field == AVAILABILITY:
        return StreamRequest(Topic(field, ids("skus"), ids("locationIds"), channel),
                             args.get("after"))
    if field == LOW_STOCK:
        return StreamRequest(Topic(field, None, ids("locationIds")))
    return StreamRequest(Topic(field, frozenset({str(args["sku"])}), None, channel))


def build_broadcast(settings: Settings) -> tuple[SafeBroadcast, BroadcastPublisher]:
    broadcast = make_broadcast(settings.broadcast_url, settings.broadcast_max_queue)
    return broadcast, BroadcastPublisher(broadcast, settings.broadcast_channel_prefix)


@contextlib.asynccontextmanager
async def connected(broadcast: SafeBroadcast) -> AsyncIterator[SafeBroadcast]:
    """Connect, or keep trying in the background: queries and mutations do not wait for
    Redis (publishes fail fast and are logged; subscribers catch up from the ledger)."""

    async def keep_trying() -> None:
        delay = 0.5
        while True:
            await asyncio.sleep(delay)
            try:
                await broadcast.connect()
                log.info("broadcast connected")
                return
            except BroadcastUnavailableError as exc:
                log.info("broadcast still unavailable: %s", exc)
                delay = min(delay * 2, 5.0)

    retry: asyncio.Task[None] | None = None
    try:
        await broadcast.connect()
    except BroadcastUnavailableError as exc:
        log.warning("broadcast unavailable at start (%s); serving without it meanwhile", exc)
        retry = asyncio.create_task(keep_trying(), name="broadcast-connect")
    try:
        yield broadcast
    finally:
        if retry is not None:
            retry.cancel()
            await asyncio.wait([retry])
        await broadcast.disconnect()


@contextlib.asynccontextmanager
async def serving(schema: Schema, settings: Settings, db: Database, services: Services,
                  broadcast: SafeBroadcast) -> AsyncIterator[Fanout]:
    """The hub and its feeders running, for as long as the block runs."""
    deps = services.sources.deps
    reader = ChangeReader(deps.reader, deps.vendor_max_age, services.clock)

    async def locations(ids: Collection[str]) -> list[Location]:
        return await services.reader.locations(ids=ids)

    hub = Hub(SqlAlchemyLedgerFeed(db), reader, locations,
              HubLimits(max_replay=settings.subscription_max_replay))
    listener = Listener(broadcast, channel_name(settings.broadcast_channel_prefix), hub)
    fanout = Fanout(schema, settings, hub, reader, listener)
    tasks = [asyncio.create_task(hub.run(), name="subscription-hub"),
             asyncio.create_task(listener.listen(), name="subscription-listener"),
             asyncio.create_task(tail_checks(hub, settings.subscription_tail_check_seconds),
                                 name="subscription-tail-check")]
    try:
        async with keeping_alive(fanout.connections, settings.ws_keepalive_seconds):
            yield fanout
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
