"""broadcaster's Broadcast with bounded subscriber queues and race-free first subscribers.

Broadcast.subscribe checks for a channel, awaits the backend, then assigns the subscriber set,
so concurrent first subscribers overwrite each other; and its queues are unbounded. Here each
channel has a lock held across the backend's subscribe and unsubscribe, and a subscriber whose
queue fills is cut off alone with SubscriberOverflowError. Both hold for every backend.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlparse

from broadcaster import Broadcast, BroadcastBackend, Event
from broadcaster._base import Subscriber, Unsubscribed

from adapters.broadcast.redis_backend import RedisPubSubBackend

logger = logging.getLogger(__name__)

REDIS_SCHEMES = ("redis", "rediss")


class SubscriberOverflowError(Exception):
    """The subscriber fell `max_queue` events behind and was dropped; its backlog is freed.
    Resubscribe and replay from the ledger."""

    def __init__(self, channel: str, max_queue: int) -> None:
        super().__init__(f"subscriber to {channel!r} fell {max_queue} events behind; cut off")
        self.channel = channel
        self.max_queue = max_queue


class BoundedSubscriber(Subscriber):
    """Iterates like broadcaster's Subscriber; ends with SubscriberOverflowError if cut off."""

    def __init__(self, channel: str, max_queue: int) -> None:
        super().__init__(asyncio.Queue(maxsize=max_queue))
        self.channel = channel
        self.max_queue = max_queue
        self.overflowed = False

    def pending(self) -> int:
        return self._queue.qsize()

    async def get(self) -> Event:
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)  # later calls end the same way
            if self.overflowed:
                raise SubscriberOverflowError(self.channel, self.max_queue)
            raise Unsubscribed()
        return item

    async def __aiter__(self) -> AsyncGenerator[Event, None]:
        try:
            while True:
                yield await self.get()
        except Unsubscribed:
            return

    def _offer(self, event: Event) -> bool:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            return False
        return True

    def _close(self, *, overflowed: bool = False) -> None:
        self.overflowed = self.overflowed or overflowed
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)


@dataclass(eq=False)
class _Channel:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    subscribers: set[BoundedSubscriber] = field(default_factory=set)
    backend_subscribed: bool = False
    users: int = 0  # subscribe() calls holding this entry, active or still waiting


class SafeBroadcast(Broadcast):
    """Same public API as broadcaster's Broadcast, plus `max_queue` per subscriber."""

    def __init__(
        self,
        url: str | None = None,
        *,
        backend: BroadcastBackend | None = None,
        max_queue: int = 1000,
    ) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        super().__init__(url, backend=backend)
        self.max_queue = max_queue
        self._channels: dict[str, _Channel] = {}
        self._dispatch_task: asyncio.Task[None] | None = None

    @property
    def backend(self) -> BroadcastBackend:
        return self._backend

    def _create_backend(self, url: str) -> BroadcastBackend:
        if urlparse(url).scheme in REDIS_SCHEMES:
            return RedisPubSubBackend(url)
        return super()._create_backend(url)

    async def connect(self) -> None:
        await self._backend.connect()
        self._dispatch_task = asyncio.create_task(self._listener(), name="broadcast-dispatch")

    async def disconnect(self) -> None:
        task, self._dispatch_task = self._dispatch_task, None
        error: BaseException | None = None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
            error = None if task.cancelled() else task.exception()
        try:
            await self._backend.disconnect()
        finally:
            # Woken only now, so their unsubscribe on the way out finds the backend closed.
            for state in self._channels.values():
                for subscriber in state.subscribers:
                    subscriber._close()
        if error is not None:
            raise error

    async def _listener(self) -> None:
        while True:
            event = await self._backend.next_published()
            state = self._channels.get(event.channel)
            if state is None:
                continue
            # No await while delivering: a slow subscriber must not hold up the others.
            for subscriber in list(state.subscribers):
                if not subscriber._offer(event):
                    state.subscribers.discard(subscriber)
                    subscriber._close(overflowed=True)
                    logger.warning(
                        "subscriber to %r cut off after %d unread events",
                        event.channel,
                        self.max_queue,
                    )

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[BoundedSubscriber]:
        state = self._channels.setdefault(channel, _Channel())
        state.users += 1
        subscriber = BoundedSubscriber(channel, self.max_queue)
        try:
            async with state.lock:
                # Registered before the backend is awaited, so nothing published after the
                # subscription is confirmed can miss this subscriber.
                state.subscribers.add(subscriber)
                if not state.backend_subscribed:
                    await self._backend.subscribe(channel)
                    state.backend_subscribed = True
            yield subscriber
        finally:
            state.subscribers.discard(subscriber)
            subscriber._close()
            try:
                if not state.subscribers and state.backend_subscribed:
                    async with state.lock:
                        if not state.subscribers and state.backend_subscribed:
                            state.backend_subscribed = False
                            await self._backend.unsubscribe(channel)
            finally:
                state.users -= 1
                if state.users == 0:
                    del self._channels[channel]


def make_broadcast(
    url: str,
    max_queue: int = 1000,
    *,
    on_reconnect: Callable[[int], object] | None = None,
) -> SafeBroadcast:
    """memory:// (one process) or redis:// / rediss:// through RedisPubSubBackend.
    `on_reconnect` only applies to Redis: memory:// never loses its link."""
    scheme = urlparse(url).scheme
    if scheme in REDIS_SCHEMES:
        backend = RedisPubSubBackend(url, on_reconnect=on_reconnect)
        return SafeBroadcast(backend=backend, max_queue=max_queue)
    if scheme == "memory":
        return SafeBroadcast(url, max_queue=max_queue)
    raise ValueError(f"unsupported broadcast URL scheme {scheme!r}; use memory:// or redis://")
