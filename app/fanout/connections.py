"""Every WebSocket connection of this process that has been acknowledged: its outbox, for the
hub's deliveries and for the keep-alive pings (one task for all connections, not one each)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from app.fanout.direct import DirectWriter
from app.fanout.group import Wire
from app.fanout.outbox import Outbox


class Connections:
    def __init__(self, send_queue: int) -> None:
        self.send_queue = send_queue
        self.outboxes: dict[Outbox, int] = {}  # each with its number, which picks its ping slice
        self.cut_off = 0
        self.pings = 0
        self._numbers = itertools.count()

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
        self.outboxes[outbox] = next(self._numbers)
        return outbox

    async def disconnect(self, outbox: Outbox) -> None:
        self.outboxes.pop(outbox, None)
        await outbox.aclose()

    def ping_slice(self, k: int, slices: int) -> None:
        """A ping to the connections of slice `k` of `slices` (each connection is in one, by its
        number); `pings` counts whole rounds."""
        for outbox, number in list(self.outboxes.items()):
            if number % slices == k:
                outbox.put(outbox.ping)
        if k == slices - 1:
            self.pings += 1


# The pings of one interval go out in this many slices, spread over it. All at once, 10,000
# subscribers' pings (and their pongs) took the process 0.5-0.7 s every interval: a change
# delivered meanwhile waited that long (docs/benchmarks.md, subscriptions).
PING_SLICES = 64


@contextlib.asynccontextmanager
async def keeping_alive(connections: Connections, interval: float) -> AsyncIterator[None]:
    """graphql-transport-ws `ping` / graphql-ws `ka` to every connection every `interval`
    seconds (0: never), a slice of the connections at a time. Strawberry sends none on
    graphql-transport-ws."""
    if interval <= 0:
        yield
        return

    async def loop() -> None:
        for tick in itertools.count():
            await asyncio.sleep(interval / PING_SLICES)
            connections.ping_slice(tick % PING_SLICES, PING_SLICES)

    task = asyncio.create_task(loop(), name="ws-keepalive")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.wait([task])
