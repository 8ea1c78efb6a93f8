"""Subscribers grouped by what they receive: the same topic (field and filters), the same
selection, the same caller scope. A group executes its selection once per event and every
member's socket gets the same serialized payload (wrapped in its own operation id).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError
from graphql.execution import Executor, execute_subscription_event

from app.fanout.direct import text_frame
from app.fanout.outbox import Outbox
from resolvers.operation_gate import MASKED, is_bug
from services.changes import Topic

log = logging.getLogger("stockgraph.fanout")


class Wire:
    """One WebSocket protocol's message shapes."""

    def __init__(self, data_type: str, ping: str, errors_as_list: bool) -> None:
        self.data_type = data_type
        self.ping = ping
        self.errors_as_list = errors_as_list

    def prefix(self, op_id: str) -> str:
        return f'{{"id":{json.dumps(op_id)},"type":"{self.data_type}","payload":'

    def error(self, op_id: str, errors: list[GraphQLError]) -> str:
        formatted = [e.formatted for e in errors]
        payload = formatted if self.errors_as_list else formatted[0]
        return json.dumps({"id": op_id, "type": "error", "payload": payload})


TRANSPORT_WS = Wire("next", '{"type":"ping"}', errors_as_list=True)
LEGACY_WS = Wire("data", '{"type":"ka"}', errors_as_list=False)


@dataclass(eq=False)
class Member:
    """One subscription. On a socket (`outbox`), or in-process (`queue`: the resolvers' path,
    which Strawberry then executes per subscriber)."""

    op_id: str
    topic: Topic
    floor: int = 0  # sequences at or below were delivered before (the client's after:)
    outbox: Outbox | None = None
    wire: Wire = TRANSPORT_WS
    queue: asyncio.Queue[Any] | None = None  # unbounded; cut off past `queue_limit`
    queue_limit: int = 1000
    # Called once when the hub ends the subscription (an error, or the connection cut off).
    on_end: Callable[[Member], None] | None = None
    detach: Callable[[Member], None] | None = None  # the hub's leave(), set on joining
    group: Group | None = None
    active: bool = True
    prefix: str = field(init=False)

    def __post_init__(self) -> None:
        self.prefix = self.wire.prefix(self.op_id)

    def end(self, error: GraphQLError | None) -> None:
        """Stop delivering to this member and tell its client why."""
        if not self.active:
            return
        self.active = False
        if self.queue is not None:
            self.queue.put_nowait(error or GraphQLError("subscription ended"))
        elif self.outbox is not None and error is not None:
            self.outbox.put(self.wire.error(self.op_id, [error]))
        if self.detach is not None:
            self.detach(self)
        if self.on_end is not None:
            self.on_end(self)


class Group:
    def __init__(self, key: tuple[Any, ...], topic: Topic, executor: Executor[Any] | None) -> None:
        self.key = key
        self.topic = topic
        self.executor = executor
        self.members: dict[Member, None] = {}  # insertion-ordered set
        self.executions = 0

    def publish(self, root: object, sequence: int = 0) -> None:
        """Send `root` (the event, as the subscription field returns it) to every member
        that has not had `sequence` yet. The selection runs once, whatever the member count."""
        payload: str | None = None
        frames: dict[str, bytes] = {}  # most members share an operation id, hence a frame
        for member in list(self.members):
            if sequence and sequence <= member.floor:
                continue
            if member.queue is not None:
                self._offer(member, root)
                continue
            if payload is None:
                payload = self.render(root)
            frame = frames.get(member.prefix)
            if frame is None:
                frame = frames[member.prefix] = text_frame(member.prefix + payload + "}")
            assert member.outbox is not None
            member.outbox.put_frame(member.prefix + payload + "}", frame)

    def send_to(self, member: Member, root: object) -> None:
        """One member only (its replay or its first value)."""
        if member.queue is not None:
            self._offer(member, root)
        elif member.outbox is not None:
            member.outbox.put(member.prefix + self.render(root) + "}")

    def render(self, root: object) -> str:
        assert self.executor is not None, "in-process groups never render"
        self.executions += 1
        result = execute_subscription_event(self.executor.build_per_event_executor(root))
        if inspect.isawaitable(result):  # subscription types resolve without I/O
            raise TypeError("a subscription selection needed an await; not supported")
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [_masked(e) for e in result.errors]
        return json.dumps(payload, separators=(",", ":"))

    def _offer(self, member: Member, root: object) -> None:
        assert member.queue is not None
        if member.queue.qsize() >= member.queue_limit:
            member.end(GraphQLError(
                f"more than {member.queue_limit} events waiting: cut off",
                extensions={"code": "SLOW_CONSUMER"}))
        else:
            member.queue.put_nowait(root)


def _masked(error: GraphQLError) -> dict[str, Any]:
    formatted = dict(error.formatted)
    if not is_bug(error):
        return formatted
    log.error("subscription event failed", exc_info=error.original_error)
    return {**formatted, "message": MASKED}
