"""Every WebSocket connection of this process that has been acknowledged: its outbox, for the
hub's deliveries and for the keep-alive pings (one task for all connections, not one each)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from app.fanout.direct import DirectWriter
from app.fanout.group import Wire
from app.fanout.outbox import Outbox


class Connections:
    def __init__(self, send_queue: int) -> None:
        self.send_queue = send_queue
        self.outboxes: set[Outbox] = set()
        self.cut_off = 0
        self.pings = 0

    def connect(
        self, send: Callable[[str], Coroutine[Any, Any, None]],
        close: Callable[[int, str], Coroutine[Any, Any, None]], wire: Wire,
        on_gone: Callable[[Outbox], None], direct: DirectWriter | None = None,
    ) -> Outbox:
        def gone(outbox: Outbox) -> None:
            if outbox.cut_off:
                self.cut_off += 1
            on_gone(outbox)

        outbox = Outbox(send, close, self.send_queue, wire.ping, gone, direct)
        self.outboxes.add(outbox)
        return outbox

    async def disconnect(self, outbox: Outbox) -> None:
        self.outboxes.discard(outbox)
        await outbox.aclose()

    def ping_all(self) -> None:
        for outbox in list(self.outboxes):
            outbox.put(outbox.ping)
        self.pings += 1


@contextlib.asynccontextmanager
async def keeping_alive(connections: Connections, interval: float) -> AsyncIterator[None]:
    """graphql-transport-ws `ping` / graphql-ws `ka` to every connection every `interval`
    seconds (0: never). Strawberry sends none on graphql-transport-ws."""
    if interval <= 0:
        yield
        return

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            connections.ping_all()

    task = asyncio.create_task(loop(), name="ws-keepalive")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.wait([task])
