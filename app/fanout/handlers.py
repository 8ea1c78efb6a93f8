"""Strawberry's WebSocket protocol handlers, with subscriptions to availabilityChanged,
networkAvailability and lowStock handed to the hub instead of one task and one execution per
subscriber. Everything else (connection_init and its access check, ping/pong, queries and
mutations over the socket, malformed messages and their close codes) is Strawberry's.
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    CompleteMessage,
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage as LegacyInitMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage, StopMessage

from app.fanout.direct import DirectWriter
from app.fanout.group import LEGACY_WS, TRANSPORT_WS, Member, Wire
from app.fanout.outbox import SLOW_CONSUMER, SLOW_CONSUMER_CLOSE, Outbox
from app.fanout.runtime import Fanout
from domain.errors import DomainError
from resolvers.context import Context
from resolvers.errors import user_error

log = logging.getLogger("stockgraph.fanout")


class _Streams:
    """The fan-out subscriptions of one connection."""

    def __init__(self, fanout: Fanout, wire: Wire, websocket: Any) -> None:
        self.fanout = fanout
        self.wire = wire
        self.websocket = websocket  # strawberry's adapter; `.ws` is Starlette's WebSocket
        self.members: dict[str, Member] = {}
        self.outbox: Outbox | None = None

    def open(self) -> None:
        if self.outbox is None:
            ws = self.websocket.ws
            self.outbox = self.fanout.connections.connect(
                ws.send_text, self.websocket.close, self.wire, self._gone,
                DirectWriter.of(ws.scope))

    async def start(self, op_id: str, message: dict[str, Any], context: Context) -> bool:
        """False: not ours, Strawberry's handler takes it."""
        prepared = await self.fanout.prepare(message, context)
        if prepared is None:
            return False
        assert self.outbox is not None
        if isinstance(prepared, list):
            self.outbox.put(self.wire.error(op_id, prepared))
            return True
        request, key = prepared
        try:
            after = await self.fanout.check(request)
        except DomainError as exc:
            self.outbox.put(self.wire.error(op_id, [user_error(exc)]))
            return True
        except Exception:  # e.g. the database busy: this operation fails, not the socket
            log.exception("could not start subscription %r", op_id)
            self.outbox.put(self.wire.error(op_id, [GraphQLError(
                "could not start this subscription now; retry", extensions={
                    "code": "UNAVAILABLE"})]))
            return True
        member = Member(op_id, request.topic, floor=after or 0, outbox=self.outbox,
                        wire=self.wire, on_end=self._forget)
        self.members[op_id] = member
        self.fanout.hub.join(member, key.key, key.executor, after)
        return True

    def stop(self, op_id: str) -> bool:
        member = self.members.pop(op_id, None)
        if member is None:
            return False
        self.fanout.hub.leave(member)
        return True

    async def close(self) -> None:
        for member in list(self.members.values()):
            self.fanout.hub.leave(member)
        self.members.clear()
        if self.outbox is not None:
            await self.fanout.connections.disconnect(self.outbox)

    def _forget(self, member: Member) -> None:
        if self.members.get(member.op_id) is member:
            del self.members[member.op_id]

    def _gone(self, outbox: Outbox) -> None:
        members = list(self.members.values())
        for member in members:
            member.end(None)
        if outbox.cut_off:
            error = GraphQLError(
                f"this connection fell more than {outbox.limit} messages behind and was cut "
                "off; reconnect and resume with availabilityChanged(after:)",
                extensions={"code": SLOW_CONSUMER})
            outbox.cut_off_with([self.wire.error(m.op_id, [error]) for m in members],
                                SLOW_CONSUMER_CLOSE, "subscriber too slow")


class FanoutTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.streams = _Streams(Fanout.of(self.context), TRANSPORT_WS, self.websocket)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        # Strawberry keeps the cancelled timeout task (with its traceback and frames) for the
        # connection's life: about 1 KiB per idle subscriber.
        self.connection_init_timeout_task = None
        if self.connection_acknowledged:
            self.streams.open()

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        op_id, payload = message["id"], message["payload"]
        if not isinstance(payload, dict) or not isinstance(op_id, str):
            await self.handle_invalid_message("Failed to parse message")
            return
        if not self.connection_acknowledged or op_id in self.operations:
            await super().handle_subscribe(message)  # 4401 / 4409, as Strawberry answers
            return
        if op_id in self.streams.members:
            await self.websocket.close(4409, f"Subscriber for {op_id} already exists")
            return
        if self._at_limit():
            await self.send_message({"id": op_id, "type": "error",
                                     "payload": [GraphQLError("Subscription limit reached")
                                                 .formatted]})
            return
        if not await self.streams.start(op_id, dict(payload), self.context):
            await super().handle_subscribe(message)

    async def handle_complete(self, message: CompleteMessage) -> None:
        if not self.streams.stop(message["id"]):
            await super().handle_complete(message)

    async def shutdown(self) -> None:
        await self.streams.close()
        await super().shutdown()

    def _at_limit(self) -> bool:
        limit = self.max_subscriptions_per_connection
        return limit is not None and len(self.operations) + len(self.streams.members) >= limit


class FanoutWSHandler(BaseGraphQLWSHandler[Context, None]):
    """Legacy graphql-ws (subscriptions-transport-ws)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.streams = _Streams(Fanout.of(self.context), LEGACY_WS, self.websocket)

    async def handle_connection_init(self, message: LegacyInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged:
            self.streams.open()

    async def handle_start(self, message: StartMessage) -> None:
        op_id, payload = message.get("id"), message.get("payload")
        if not self.connection_acknowledged:
            await super().handle_start(message)  # closes 4401
            return
        if not isinstance(op_id, str) or not isinstance(payload, dict) \
                or not isinstance(payload.get("query"), str):
            await self.send_message({"type": "error", "id": op_id, "payload": {
                "message": "start needs an id and a payload with a query"}})
            return
        self.streams.stop(op_id)  # graphql-ws: a start with a live id replaces it
        if op_id in self.tasks:
            await self.cleanup_operation(op_id)
        limit = self.max_subscriptions_per_connection
        if limit is not None and len(self.tasks) + len(self.streams.members) >= limit:
            await self.send_message({"type": "error", "id": op_id,
                                     "payload": {"message": "Subscription limit reached"}})
            return
        if not await self.streams.start(op_id, dict(payload), self.context):
            await super().handle_start(message)

    async def handle_stop(self, message: StopMessage) -> None:
        if self.streams.stop(message["id"]):
            await self.send_message({"type": "complete", "id": message["id"]})
        else:
            await super().handle_stop(message)

    async def cleanup(self) -> None:
        await self.streams.close()
        await super().cleanup()
