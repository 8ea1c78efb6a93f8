"""Redis pub/sub backend for encode's broadcaster, replacing its RedisBackend.

It owns one raw RESP2 connection for pub/sub instead of redis-py's PubSub, whose hidden
reconnect and re-subscribe would hide exactly the outages the application has to replay.
subscribe() returns once Redis has acknowledged the SUBSCRIBE, a lost link is re-opened with
capped exponential backoff, every channel is re-subscribed, and each channel's stream then
carries a StreamGap marker ahead of any newer message. See ../shared/STACK-NOTES.md.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

from broadcaster import BroadcastBackend, Event
from redis import asyncio as aioredis
from redis.asyncio.connection import AbstractConnection, Connection, parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# Builtin TimeoutError (asyncio.timeout) is an OSError; redis-py's own errors are not.
LINK_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)


class BroadcastUnavailableError(Exception):
    """Redis did not answer in time: the publish or subscribe did not happen."""


class StreamGap(Event):
    """Queued on a channel after its subscription was lost and restored, ahead of any newer
    message. Whatever was published in between is gone: replay from the ledger."""

    def __init__(self, channel: str, generation: int) -> None:
        super().__init__(channel=channel, message="")
        self.generation = generation

    def __repr__(self) -> str:
        return f"StreamGap(channel={self.channel!r}, generation={self.generation})"


class RedisPubSubBackend(BroadcastBackend):
    """Use as `SafeBroadcast(backend=RedisPubSubBackend(url))`.

    `connected` is true while every wanted channel is subscribed on a live link. `generation`
    counts links re-opened after a loss; `on_reconnect(generation)` runs once a re-opened link
    has all its channels back. One subscribe() per channel until its unsubscribe(), as
    Broadcast does.
    """

    def __init__(
        self,
        url: str,
        *,
        io_timeout: float = 2.0,
        ping_interval: float = 5.0,
        backoff_initial: float = 0.05,
        backoff_max: float = 5.0,
        client_name: str = "stockgraph-broadcast",
        on_reconnect: Callable[[int], object] | None = None,
    ) -> None:
        # BroadcastBackend.__init__ only raises NotImplementedError.
        self._url = url
        self._io_timeout = io_timeout
        self._ping_interval = ping_interval
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._backoff = backoff_initial
        self._client_name = client_name
        self._on_reconnect = on_reconnect
        self._channels: set[str] = set()
        self._resubscribing: set[str] = set()
        self._acks: dict[tuple[bytes, str], set[asyncio.Future[None]]] = {}
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._conn: AbstractConnection | None = None
        self._connected = False
        self._publisher: aioredis.Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self.generation = 0

    @property
    def connected(self) -> bool:
        return self._connected

    async def connect(self) -> None:
        self._events = asyncio.Queue()
        self._publisher = aioredis.Redis.from_url(
            self._url,
            socket_connect_timeout=self._io_timeout,
            socket_timeout=self._io_timeout,
            retry=Retry(NoBackoff(), 1),  # one retry replaces a pooled link Redis has dropped
            client_name=self._client_name,
        )
        try:
            conn = await self._open()
        except LINK_ERRORS as exc:
            await self._publisher.aclose()
            self._publisher = None
            raise BroadcastUnavailableError("cannot connect to Redis for pub/sub") from exc
        self._mark_live()
        self._task = asyncio.create_task(self._run(conn), name="redis-pubsub-listener")

    async def disconnect(self) -> None:
        self._link_down()  # from here on, unsubscribe() and subscribe() leave the link alone
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        for key in list(self._acks):
            self._settle(key, BroadcastUnavailableError("broadcast backend disconnected"))
        self._channels.clear()
        self._resubscribing.clear()
        if self._publisher is not None:
            await self._publisher.aclose()
            self._publisher = None

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)
        try:
            # If the link is down, the listener's re-subscribe on reconnect confirms it.
            await self._confirmed(b"subscribe", channel, always_wait=True)
        except BaseException:
            self._channels.discard(channel)
            raise

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        try:
            await self._confirmed(b"unsubscribe", channel, always_wait=False)
        except BroadcastUnavailableError as exc:
            # Not raised into the subscriber's exit; a leftover subscription is dropped by
            # the listener when its next message arrives, or with the link.
            logger.warning("%s", exc)

    async def publish(self, channel: str, message: Any) -> None:
        if self._publisher is None:
            raise RuntimeError("publish() before connect()")
        try:
            async with asyncio.timeout(self._io_timeout):
                await self._publisher.publish(channel, message)
        except LINK_ERRORS as exc:
            raise BroadcastUnavailableError(
                f"publish to {channel!r} failed: Redis unreachable ({exc!r})"
            ) from exc

    async def next_published(self) -> Event:
        return await self._events.get()

    async def _confirmed(self, kind: bytes, channel: str, *, always_wait: bool) -> None:
        """Send SUBSCRIBE/UNSUBSCRIBE on the live link and wait for Redis to confirm it."""
        conn = self._conn
        live = conn is not None and conn.is_connected
        if not live and not always_wait:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self._acks.setdefault((kind, channel), set())
        waiters.add(future)
        try:
            async with asyncio.timeout(self._io_timeout):
                if conn is not None and live:
                    await self._send(conn, kind.decode().upper(), channel)
                await future
        except TimeoutError as exc:
            raise BroadcastUnavailableError(
                f"Redis did not confirm {kind.decode()} {channel!r} within {self._io_timeout}s"
            ) from exc
        finally:
            waiters.discard(future)
            if not waiters and self._acks.get((kind, channel)) is waiters:
                del self._acks[(kind, channel)]

    async def _send(self, conn: AbstractConnection, *args: str) -> None:
        try:
            await conn.send_command(*args, check_health=False)
        except LINK_ERRORS:
            logger.debug("send %s failed; the listener reconnects", args[0], exc_info=True)

    def _settle(self, key: tuple[bytes, str], error: BaseException | None = None) -> None:
        for future in self._acks.pop(key, ()):
            if future.done():
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

    async def _open(self) -> AbstractConnection:
        options: dict[str, Any] = dict(parse_url(self._url))
        connection_class = options.pop("connection_class", Connection)
        options.setdefault("client_name", self._client_name)
        options.update(
            protocol=2,  # pub/sub frames as plain arrays, not RESP3 pushes
            socket_connect_timeout=self._io_timeout,
            # With a socket_timeout (redis-py 8 defaults to 5 s) every write runs in its own
            # task, which can reorder SUBSCRIBE/UNSUBSCRIBE and race a disconnect. Reads here
            # always pass their own timeout, and the PING check catches a dead link.
            socket_timeout=None,
            retry=Retry(NoBackoff(), 0),
        )
        conn: AbstractConnection = connection_class(**options)
        try:
            async with asyncio.timeout(self._io_timeout):
                await conn.connect()  # type: ignore[no-untyped-call]  # untyped in redis-py
            # Channels subscribed from now on are sent by subscribe() itself; earlier ones are
            # in this snapshot. No await between the two lines keeps that split exact.
            self._conn = conn
            self._resubscribing = set(self._channels)
            if self._resubscribing:
                await conn.send_command("SUBSCRIBE", *self._resubscribing, check_health=False)
        except BaseException:
            self._conn = None
            await conn.disconnect(nowait=True)
            raise
        return conn

    async def _run(self, conn: AbstractConnection | None) -> None:
        try:
            while True:
                try:
                    if conn is None:
                        conn = await self._open()
                        self.generation += 1
                        if not self._resubscribing:
                            self._mark_live()
                    await self._read(conn)
                except LINK_ERRORS as exc:
                    what = "link lost" if conn else "reconnect failed"
                    level = logging.WARNING if conn else logging.INFO
                    logger.log(level, "Redis pub/sub %s: %s: %s", what, type(exc).__name__, exc)
                except Exception:
                    logger.exception("Redis pub/sub listener failed; reconnecting")
                self._link_down()
                if conn is not None:
                    await conn.disconnect(nowait=True)
                    conn = None
                # Jitter spreads the reconnects of many instances after a Redis restart.
                await asyncio.sleep(self._backoff * random.uniform(0.5, 1.0))
                self._backoff = min(self._backoff * 2, self._backoff_max)
        finally:
            self._link_down()
            if conn is not None:
                await conn.disconnect(nowait=True)

    async def _read(self, conn: AbstractConnection) -> None:
        awaiting_pong = False
        while True:
            frame = await conn.read_response(timeout=self._ping_interval)
            if frame is None:
                # Idle: a silently dead link (no RST) shows only as a PING left unanswered.
                if awaiting_pong:
                    raise RedisConnectionError("Redis did not answer PING")
                await conn.send_command("PING", check_health=False)
                awaiting_pong = True
                continue
            awaiting_pong = False
            if isinstance(frame, list) and len(frame) >= 2:
                channel = frame[1].decode(errors="replace")
                await self._handle(conn, frame[0], channel, frame[2:])

    async def _handle(
        self, conn: AbstractConnection, kind: bytes, channel: str, rest: list[Any]
    ) -> None:
        if kind == b"message":
            if channel in self._channels:
                message = rest[0].decode(errors="replace")
                self._events.put_nowait(Event(channel=channel, message=message))
            else:  # left over from an unsubscribe that was cancelled before it was sent
                await self._send(conn, "UNSUBSCRIBE", channel)
        elif kind == b"subscribe":
            resubscribed = channel in self._resubscribing
            self._resubscribing.discard(channel)
            if channel not in self._channels:
                await self._send(conn, "UNSUBSCRIBE", channel)
            elif resubscribed:
                self._events.put_nowait(StreamGap(channel, self.generation))
            self._settle((kind, channel))
            if resubscribed and not self._resubscribing:
                self._mark_live()
        elif kind == b"unsubscribe":
            self._settle((kind, channel))

    def _mark_live(self) -> None:
        self._connected = True
        self._backoff = self._backoff_initial
        if self.generation == 0:
            return
        logger.info("Redis pub/sub link restored (generation %d)", self.generation)
        if self._on_reconnect is not None:
            try:
                self._on_reconnect(self.generation)
            except Exception:
                logger.exception("on_reconnect callback failed")

    def _link_down(self) -> None:
        self._connected = False
        self._conn = None
        # An UNSUBSCRIBE needs no confirmation once the link, and the subscription, is gone.
        for key in [key for key in self._acks if key[0] == b"unsubscribe"]:
            self._settle(key)
