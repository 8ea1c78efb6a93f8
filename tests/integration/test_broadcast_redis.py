"""adapters.broadcast against a real Redis: each of broadcaster 0.3.1's measured defects
(../shared/STACK-NOTES.md) must be absent, and nothing may leak in Redis or in the loop.

Pub/sub ignores the db number, so every test uses channels under a fresh uuid prefix.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from broadcaster import Event
from broadcaster._backends.memory import MemoryBackend
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from adapters.broadcast import (
    BoundedSubscriber,
    BroadcastUnavailableError,
    RedisPubSubBackend,
    SafeBroadcast,
    StreamGap,
    SubscriberOverflowError,
    make_broadcast,
)

REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 15
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"

pytestmark = pytest.mark.redis


@pytest.fixture(scope="session")
def redis_required() -> None:
    """Skips without Redis, but fails on CI, where a missing Redis is a broken setup."""
    client = SyncRedis.from_url(REDIS_URL, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    try:
        client.ping()
    except (RedisConnectionError, OSError) as exc:
        reason = f"Redis unreachable at {REDIS_URL}: {exc!r}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    finally:
        client.close()


@pytest.fixture
async def admin(redis_required: None) -> AsyncIterator[Redis]:
    """A plain client for checks and for killing connections."""
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture(params=["memory", "redis"])
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "redis":
        request.getfixturevalue("redis_required")
    return str(request.param)


@pytest.fixture
def prefix() -> str:
    return f"test-broadcast-{uuid.uuid4().hex}"


def redis_broadcast(
    prefix: str, url: str = REDIS_URL, max_queue: int = 1000, **options: Any
) -> tuple[SafeBroadcast, RedisPubSubBackend]:
    settings: dict[str, Any] = {
        "io_timeout": 1.0,
        "backoff_initial": 0.02,
        "backoff_max": 0.2,
        "client_name": prefix,
    }
    settings.update(options)
    backend = RedisPubSubBackend(url, **settings)
    return SafeBroadcast(backend=backend, max_queue=max_queue), backend


def any_broadcast(kind: str, prefix: str, max_queue: int = 1000) -> SafeBroadcast:
    if kind == "memory":
        return make_broadcast("memory://", max_queue=max_queue)
    return redis_broadcast(prefix, max_queue=max_queue)[0]


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]], what: str, limit: float = 5.0
) -> None:
    try:
        async with asyncio.timeout(limit):
            while True:
                result = condition()
                if await result if isinstance(result, Awaitable) else result:
                    return
                await asyncio.sleep(0.005)
    except TimeoutError:
        raise AssertionError(f"timed out after {limit}s waiting for {what}") from None


async def numsub(admin: Redis, channel: str) -> int:
    [(_, count)] = await admin.pubsub_numsub(channel)
    return int(count)


async def next_event(subscriber: BoundedSubscriber, limit: float = 5.0) -> Event:
    return await asyncio.wait_for(subscriber.get(), limit)


async def clients_named(admin: Redis, name: str) -> list[dict[str, str]]:
    return [c for c in await admin.client_list() if c.get("name") == name]


async def kill_pubsub_link(admin: Redis, name: str) -> None:
    # By id: CLIENT KILL TYPE pubsub would also cut other users of the shared Redis.
    links = [c for c in await clients_named(admin, name) if int(c["sub"]) > 0]
    assert len(links) == 1, links
    assert await admin.client_kill_filter(_id=links[0]["id"]) == 1


class FlakyProxy:
    """TCP proxy to Redis. "down" drops every link and closes new ones at once (counting the
    attempts); "frozen" keeps links open but swallows all bytes, like a dead network path.
    `latency` delays every chunk in both directions."""

    def __init__(self, latency: float = 0.0) -> None:
        self.mode = "up"
        self.latency = latency
        self.refused_at: list[float] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/{REDIS_DB}"

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        if mode == "down":
            for writer in list(self._writers):
                writer.close()

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=2)  # every handler ends on EOF
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        try:
            if self.mode == "down":
                self.refused_at.append(asyncio.get_running_loop().time())
            elif self.mode == "frozen":
                while await reader.read(65536):
                    pass
            else:
                up_reader, up_writer = await asyncio.open_connection(REDIS_HOST, REDIS_PORT)
                self._writers.add(up_writer)
                await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except OSError:
            pass
        finally:
            writer.close()
            self._writers.discard(writer)
            self._handlers.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self.latency:
                    await asyncio.sleep(self.latency)
                if self.mode == "up":
                    writer.write(data)
                    await writer.drain()
        finally:
            writer.close()
            self._writers.discard(writer)


async def test_subscribe_returns_only_after_redis_confirms(admin: Redis, prefix: str) -> None:
    # With 50 ms between the backend and Redis, a subscribe() that returned before Redis had
    # processed the SUBSCRIBE shows as NUMSUB 0 to the direct admin connection.
    proxy = FlakyProxy(latency=0.05)
    url = await proxy.start()
    broadcast, _ = redis_broadcast(prefix, url)
    try:
        async with broadcast:
            for i in range(5):
                channel = f"{prefix}:ready:{i}"
                async with broadcast.subscribe(channel) as subscriber:
                    # No sleep: Redis must already count the subscription.
                    assert await numsub(admin, channel) == 1
                    assert await admin.publish(channel, f"m{i}") == 1
                    assert await next_event(subscriber) == Event(channel, f"m{i}")
                assert await numsub(admin, channel) == 0
    finally:
        await proxy.close()


async def test_fifty_concurrent_first_subscribers_all_receive_and_exit_cleanly(
    kind: str, prefix: str
) -> None:
    broadcast = any_broadcast(kind, prefix)
    channel = f"{prefix}:stampede"
    inside = 0
    all_inside = asyncio.Event()

    async def subscriber_task() -> Event:
        nonlocal inside
        async with broadcast.subscribe(channel) as subscriber:
            inside += 1
            if inside == 50:
                all_inside.set()
            return await next_event(subscriber)

    async with broadcast:
        tasks = asyncio.gather(*(subscriber_task() for _ in range(50)))
        await asyncio.wait_for(all_inside.wait(), 5)
        await broadcast.publish(channel, "hello")
        received = await asyncio.wait_for(tasks, 5)  # a KeyError on exit would surface here
        assert received == [Event(channel, "hello")] * 50
        assert broadcast._channels == {}
    if kind == "redis":
        async with Redis.from_url(REDIS_URL) as admin:
            assert await numsub(admin, channel) == 0


async def test_last_subscriber_leaving_unsubscribes_in_redis(admin: Redis, prefix: str) -> None:
    broadcast, _ = redis_broadcast(prefix)
    channel = f"{prefix}:leave"
    async with broadcast:
        async with broadcast.subscribe(channel):
            async with broadcast.subscribe(channel):
                assert await numsub(admin, channel) == 1
            assert await numsub(admin, channel) == 1
        # unsubscribe waits for Redis to confirm, so no polling is needed here
        assert await numsub(admin, channel) == 0
        assert await admin.pubsub_channels(f"{prefix}*") == []

        async with broadcast.subscribe(channel) as subscriber:
            await broadcast.publish(channel, "again")
            assert await next_event(subscriber) == Event(channel, "again")
        assert await admin.pubsub_channels(f"{prefix}*") == []

    async def no_connections_left() -> bool:
        return await clients_named(admin, prefix) == []

    await wait_until(no_connections_left, "Redis to see our connections closed")


async def test_disconnect_cancels_its_tasks_and_ends_subscribers(kind: str, prefix: str) -> None:
    broadcast = any_broadcast(kind, prefix)
    channel = f"{prefix}:tasks"
    before = asyncio.all_tasks()
    await broadcast.connect()
    assert len(asyncio.all_tasks() - before) == (2 if kind == "redis" else 1)

    received: list[Event] = []
    subscribed = asyncio.Event()

    async def subscribe_and_read() -> None:
        async with broadcast.subscribe(channel) as subscriber:
            subscribed.set()
            async for event in subscriber:
                received.append(event)

    reader = asyncio.create_task(subscribe_and_read())
    await asyncio.wait_for(subscribed.wait(), 5)
    await broadcast.publish(channel, "one")
    await wait_until(lambda: received == [Event(channel, "one")], "the event to be read")

    await broadcast.disconnect()
    await asyncio.wait_for(reader, 5)  # the subscriber's iteration ended without an error
    assert asyncio.all_tasks() == before


async def test_listener_recovers_when_its_connection_is_killed(admin: Redis, prefix: str) -> None:
    reconnects: list[int] = []
    broadcast, backend = redis_broadcast(
        prefix, backoff_initial=0.3, on_reconnect=reconnects.append
    )
    channel = f"{prefix}:kill"
    async with broadcast, broadcast.subscribe(channel) as subscriber:
        await broadcast.publish(channel, "before")
        assert await next_event(subscriber) == Event(channel, "before")
        assert backend.connected and backend.generation == 0

        for generation in (1, 2, 3):
            await kill_pubsub_link(admin, prefix)
            await wait_until(lambda: not backend.connected, "the loss to be noticed")
            gap = await next_event(subscriber)  # the marker proves re-subscription
            assert isinstance(gap, StreamGap)
            assert (gap.channel, gap.generation) == (channel, generation)
            assert backend.connected
            assert reconnects == list(range(1, generation + 1))
            assert await numsub(admin, channel) == 1
            await broadcast.publish(channel, f"after {generation}")
            assert await next_event(subscriber) == Event(channel, f"after {generation}")


async def test_leaving_while_channels_are_restored_still_ends_connected(
    admin: Redis, prefix: str
) -> None:
    proxy = FlakyProxy()
    url = await proxy.start()
    broadcast, backend = redis_broadcast(prefix, url, io_timeout=3.0)
    channel = f"{prefix}:restoring"
    try:
        async with broadcast:
            async with broadcast.subscribe(channel):
                proxy.set_mode("down")
                await wait_until(lambda: not backend.connected, "the loss to be noticed")
                proxy.latency = 0.1  # holds the re-SUBSCRIBE unconfirmed while we leave
                proxy.set_mode("up")
                await wait_until(lambda: bool(backend._resubscribing), "the re-SUBSCRIBE")
            await wait_until(lambda: backend.connected, "the link to count as restored")
            assert backend.generation == 1
            assert await numsub(admin, channel) == 0
    finally:
        await proxy.close()


async def test_outage_fails_publish_fast_backs_off_capped_and_recovers(
    admin: Redis, prefix: str
) -> None:
    proxy = FlakyProxy()
    url = await proxy.start()
    broadcast, backend = redis_broadcast(prefix, url, io_timeout=0.5, backoff_max=0.16)
    channel = f"{prefix}:outage"
    loop = asyncio.get_running_loop()
    try:
        async with broadcast, broadcast.subscribe(channel) as subscriber:
            proxy.set_mode("down")
            await wait_until(lambda: len(proxy.refused_at) >= 9, "reconnect attempts")
            assert not backend.connected
            gaps = [b - a for a, b in zip(proxy.refused_at, proxy.refused_at[1:], strict=False)]
            # Delays double from 0.02 s and are jittered down to half: from the third attempt
            # on they sit at the 0.16 s cap, so at least 0.08 s and not much above 0.16 s.
            assert all(gap >= 0.08 for gap in gaps[3:]), gaps
            assert all(gap < 0.16 + 0.3 for gap in gaps), gaps

            started = loop.time()
            with pytest.raises(BroadcastUnavailableError):
                await broadcast.publish(channel, "lost")
            assert loop.time() - started < 1.0

            proxy.set_mode("up")
            gap_marker = await next_event(subscriber)
            assert isinstance(gap_marker, StreamGap)
            assert backend.connected
            await broadcast.publish(channel, "back")
            assert await next_event(subscriber) == Event(channel, "back")
    finally:
        await proxy.close()


async def test_silent_dead_link_is_detected_and_publish_does_not_hang(
    admin: Redis, prefix: str
) -> None:
    proxy = FlakyProxy()
    url = await proxy.start()
    broadcast, backend = redis_broadcast(prefix, url, io_timeout=0.5, ping_interval=0.2)
    channel = f"{prefix}:frozen"
    loop = asyncio.get_running_loop()
    try:
        async with broadcast, broadcast.subscribe(channel) as subscriber:
            proxy.set_mode("frozen")
            started = loop.time()
            with pytest.raises(BroadcastUnavailableError):
                await broadcast.publish(channel, "into the void")
            assert loop.time() - started < 1.5
            # idle 0.2 s, PING, no answer in another 0.2 s: the link is declared dead
            await wait_until(lambda: not backend.connected, "an unanswered PING", limit=3)

            proxy.set_mode("up")
            assert isinstance(await next_event(subscriber), StreamGap)
            await broadcast.publish(channel, "thawed")
            assert await next_event(subscriber) == Event(channel, "thawed")
    finally:
        await proxy.close()


async def test_subscribe_during_outage_fails_clearly_and_leaves_nothing(
    admin: Redis, prefix: str
) -> None:
    proxy = FlakyProxy()
    url = await proxy.start()
    broadcast, backend = redis_broadcast(prefix, url, io_timeout=0.3)
    channel = f"{prefix}:early"
    try:
        async with broadcast:
            proxy.set_mode("down")
            await wait_until(lambda: len(proxy.refused_at) >= 1, "the link to drop")
            with pytest.raises(BroadcastUnavailableError):
                async with broadcast.subscribe(channel):
                    pytest.fail("subscribed without Redis")
            assert broadcast._channels == {}

            proxy.set_mode("up")
            await wait_until(lambda: backend.connected, "the link to return")
            assert await numsub(admin, channel) == 0
    finally:
        await proxy.close()


async def test_connect_to_unreachable_redis_raises(admin: Redis, prefix: str) -> None:
    proxy = FlakyProxy()
    url = await proxy.start()
    proxy.set_mode("down")
    broadcast, _ = redis_broadcast(prefix, url, io_timeout=0.5)
    try:
        with pytest.raises(BroadcastUnavailableError):
            await broadcast.connect()
    finally:
        await proxy.close()


async def test_slow_subscriber_is_cut_off_alone(kind: str, prefix: str) -> None:
    broadcast = any_broadcast(kind, prefix, max_queue=5)
    channel = f"{prefix}:slow"
    async with broadcast, broadcast.subscribe(channel) as fast:
        with pytest.raises(SubscriberOverflowError) as cut_off:
            async with broadcast.subscribe(channel) as slow:
                for i in range(6):
                    await broadcast.publish(channel, str(i))
                    # fast has it, so the dispatcher has offered it to slow as well
                    assert await next_event(fast) == Event(channel, str(i))
                    assert slow.pending() == min(i + 1, 5) or slow.overflowed
                assert slow.overflowed
                for i in range(20):
                    await broadcast.publish(channel, f"more {i}")
                    assert await next_event(fast) == Event(channel, f"more {i}")
                assert slow.pending() == 1  # only the end marker: the backlog was freed
                async for _ in slow:
                    pytest.fail("a cut-off subscriber must not see its dropped backlog")
        assert (cut_off.value.channel, cut_off.value.max_queue) == (channel, 5)
        assert len(broadcast._channels[channel].subscribers) == 1
        await broadcast.publish(channel, "still here")
        assert await next_event(fast) == Event(channel, "still here")


def test_make_broadcast_picks_a_backend_by_scheme() -> None:
    assert isinstance(make_broadcast("redis://127.0.0.1:6379/15").backend, RedisPubSubBackend)
    assert isinstance(make_broadcast("memory://").backend, MemoryBackend)
    # broadcaster's own RedisBackend must not sneak back in through the URL constructor
    assert isinstance(SafeBroadcast("rediss://example:6380").backend, RedisPubSubBackend)
    assert make_broadcast("memory://", max_queue=7).max_queue == 7
    with pytest.raises(ValueError):
        make_broadcast("kafka://localhost:9092")
    with pytest.raises(ValueError):
        make_broadcast("memory://", max_queue=0)
