"""Per-connection sending: bounded, in order, and without a task per message or per socket.

The hub hands the same serialized text to thousands of sockets per change. Most sockets are
writable, and uvicorn then writes a message to the transport without ever suspending, so
each send is started eagerly, in the hub's own task (`start_eagerly`). Only a send that has
to wait (the socket's buffers are full: a slow reader) gets a task, and later messages for
that socket queue behind it, up to `limit`. Past that the connection is cut off: its backlog
is dropped, each of its subscriptions is told why, and the socket is closed. Other sockets
never wait for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

from app.fanout.direct import DirectWriter

log = logging.getLogger("stockgraph.fanout")

SLOW_CONSUMER_CLOSE = 4400  # graphql-transport-ws has no code of its own for this
SLOW_CONSUMER = "SLOW_CONSUMER"


class _Rest:
    """Awaiting this finishes a coroutine that `start_eagerly` left suspended."""

    __slots__ = ("_coro", "_yielded")

    def __init__(self, coro: Coroutine[Any, Any, None], yielded: Any) -> None:
        self._coro = coro
        self._yielded = yielded

    def __await__(self) -> Generator[Any, Any, None]:
        yielded = self._yielded
        while True:
            try:
                value = yield yielded  # the awaiting task waits on what the coroutine awaited
            except BaseException as exc:
                try:
                    yielded = self._coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    yielded = self._coro.send(value)
                except StopIteration:
                    return


def start_eagerly(coro: Coroutine[Any, Any, None]) -> Awaitable[None] | None:
    """Run `coro` in the current task until it first suspends. None if it finished; else an
    awaitable for the rest, to be awaited by exactly one task. Exceptions raise here."""
    try:
        yielded = coro.send(None)
    except StopIteration:
        return None
    return _Rest(coro, yielded)


class Outbox:
    def __init__(
        self, send: Callable[[str], Coroutine[Any, Any, None]],
        close: Callable[[int, str], Awaitable[None]], limit: int, ping: str,
        on_gone: Callable[[Outbox], None], direct: DirectWriter | None = None,
    ) -> None:
        self.direct = direct
        self._send = send
        self._close = close
        self.limit = limit
        self.ping = ping
        self._on_gone = on_gone
        self._backlog: deque[str] | None = None  # made when needed: most sockets never wait
        self._drainer: asyncio.Task[None] | None = None
        self._closing: tuple[int, str] | None = None
        self.open = True
        self.cut_off = False

    @property
    def backlog(self) -> int:
        return len(self._backlog) if self._backlog is not None else 0

    def put_frame(self, text: str, frame: bytes) -> None:
        """`text`, given also as its encoded frame for the fast path (app/fanout/direct.py)."""
        direct = self.direct
        if direct is not None and self.open and self._drainer is None and direct.write(frame):
            return
        self.put(text)

    def put(self, text: str) -> None:
        if not self.open:
            return
        if self._drainer is not None:
            if self._backlog is None:
                self._backlog = deque()
            if len(self._backlog) >= self.limit:
                self._cut(f"more than {self.limit} messages waiting for this connection")
            else:
                self._backlog.append(text)
            return
        try:
            rest = start_eagerly(self._send(text))
        except Exception:  # the client is gone; its handler cleans up when its read ends
            self._gone()
            return
        if rest is not None:
            self._drainer = asyncio.create_task(self._drain(rest), name="ws-outbox-drain")

    def cut_off_with(self, last: list[str], code: int, reason: str) -> None:
        """Drop the backlog; send `last`, then close with `code` once the socket drains."""
        self._backlog = deque(last)
        self._closing = (code, reason)
        self.open = False
        if self._drainer is None:
            self._drainer = asyncio.create_task(self._drain(None), name="ws-outbox-close")

    async def aclose(self) -> None:
        """Stop sending (the connection is ending); waits for a drain task to finish."""
        self.open = False
        self._backlog = None
        drainer = self._drainer
        if drainer is not None and not drainer.done():
            drainer.cancel()
            await asyncio.wait([drainer])

    def _cut(self, why: str) -> None:
        self.cut_off = True
        self.open = False
        log.warning("cutting off a slow WebSocket subscriber: %s", why)
        self._on_gone(self)  # the hub drops its subscriptions and queues their errors

    def _gone(self) -> None:
        self.open = False
        self._backlog = None
        self._on_gone(self)

    async def _drain(self, first: Awaitable[None] | None) -> None:
        try:
            if first is not None:
                await first
            while self._backlog:
                await self._send(self._backlog.popleft())
            if self._closing is not None:
                await self._close(*self._closing)
        except asyncio.CancelledError:
            raise
        except Exception:
            self._gone()
        finally:
            self._drainer = None
