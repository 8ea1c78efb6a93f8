"""What subscriptions survive: a Redis restart mid-stream (on a private redis-server), a slow
consumer (cut off alone), and thousands of subscribe/unsubscribe cycles (nothing leaks, in
the server or in Redis). Also lowStock alerts published through the broadcast publisher."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import websockets
from redis.asyncio import Redis

from adapters.broadcast import make_broadcast
from adapters.broadcast.publisher import BroadcastPublisher, channel_name
from domain.events import LowStockRaised, ReplenishmentStatus
from domain.stock import StockLevel
from tests.support.cluster import MOVES, cluster, eventually, subscribed
from tests.support.server import free_port
from tests.support.services import REDIS_URL, unavailable
from tests.support.ws_client import GraphQLWS

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

EVENTS = """subscription($skus: [ID!]) {
  availabilityChanged(skus: $skus) { sequence sku level { onHand } } }"""
LEVEL = ("level { onHand reserved safetyStock inbound unsellable atp updatedAt "
         "location { id name kind latitude longitude pickupEnabled shipEnabled active } }")
# ~5 KB an event: 1,500 of them overflow any socket buffers between server and client.
HEAVY = ("subscription($skus: [ID!]) { availabilityChanged(skus: $skus) { sequence sku "
         + " ".join(f"l{i}: {LEVEL}" for i in range(12)) + " } }")


class PrivateRedis:
    """A redis-server of this test's own, to stop and start at will."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server", "not on PATH (scripts/services.sh installs it)")
        self.binary = str(binary)
        self.port = free_port()
        self.directory = directory
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.directory),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        async def answers() -> bool:
            try:
                async with Redis.from_url(self.url, socket_connect_timeout=0.5) as client:
                    return bool(await client.ping())
            except Exception:
                return False

        await eventually(answers, f"redis-server on port {self.port}")

    async def stop(self) -> None:
        assert self.proc is not None
        self.proc.terminate()
        await asyncio.wait_for(self.proc.wait(), 15)
        self.proc = None


@asynccontextmanager
async def private_redis(directory: Path) -> AsyncIterator[PrivateRedis]:
    redis = PrivateRedis(directory)
    await redis.start()
    try:
        yield redis
    finally:
        if redis.proc is not None:
            await redis.stop()


async def test_a_redis_restart_mid_stream_loses_nothing(tmp_path: Path) -> None:
    async with private_redis(tmp_path) as redis, \
            cluster(tmp_path, broadcast_url=redis.url) as two, \
            GraphQLWS.connect(two.urls[0]) as ws:
        # Given a subscriber on instance 0 and changes flowing from instance 1
        await ws.subscribe("a", EVENTS, skus=["SKU-A"])
        await subscribed(two, 0, 1)
        await two.move(1, "before", "SKU-A", "wh-1", 1)
        first = int((await ws.data("a"))["availabilityChanged"]["sequence"])
        # When Redis goes away, mutations still succeed (their publish fails, logged)
        await redis.stop()
        for i in range(3):
            await two.move(1, f"during-{i}", "SKU-A", "wh-1", 1)
        # and once Redis is back, the subscriber gets what it missed, in order, then live ones
        await redis.start()
        missed = [int((await ws.data("a", within=60))["availabilityChanged"]["sequence"])
                  for _ in range(3)]
        await two.move(1, "after", "SKU-A", "wh-1", 1)
        live = await ws.data("a")
        assert missed == sorted(missed) and missed[0] > first
        assert int(live["availabilityChanged"]["sequence"]) > missed[-1]
        assert live["availabilityChanged"]["level"]["onHand"] == 5
        assert ws.pending("a") == 0


async def test_a_slow_consumer_is_cut_off_and_the_others_get_everything(
    tmp_path: Path,
) -> None:
    # (No client pings: a pong queued behind megabytes of events would time out.)
    async with cluster(tmp_path, count=1, broadcast_url="memory://", engine="sqlite",
                       STOCKGRAPH_SUBSCRIPTION_SEND_QUEUE="20") as one, \
            GraphQLWS.connect(one.urls[0], ping_interval=None) as fast:
        # Given a subscriber that stops reading (a tiny receive window, a tiny client queue)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        port = int(one.urls[0].rsplit(":", 1)[1])
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        async with websockets.connect(
                one.urls[0].replace("http", "ws") + "/graphql", sock=sock,
                subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                compression=None, max_queue=4, ping_interval=None) as slow:
            await slow.send('{"type": "connection_init"}')
            await slow.recv()
            await slow.send('{"id": "s", "type": "subscribe", "payload": {"query": '
                            + _json(HEAVY) + ', "variables": {"skus": ["SKU-A"]}}}')
            await fast.subscribe("f", HEAVY, skus=["SKU-A"])
            await subscribed(one, 0, 2)
            # When 1,500 changes happen at once
            moves = [{"eventId": f"bulk-{i}", "type": "RECEIVE", "sku": "SKU-A",
                      "locationId": "wh-1", "quantity": 1} for i in range(1500)]
            await one.gql(0, MOVES, ms=moves)
            # Then the reading subscriber gets every one of them, in order
            got = [int((await fast.data("f"))["availabilityChanged"]["sequence"])
                   for _ in range(1500)]
            assert got == sorted(got) and len(set(got)) == 1500
            assert (await one.debug(0))["cut_off"] == 1
            # and the slow one, once it reads again, finds an error and the socket closed
            received = []
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    received.append(_load(await asyncio.wait_for(slow.recv(), 30)))
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
            assert received[-1]["type"] == "error"
            assert received[-1]["payload"][0]["extensions"]["code"] == "SLOW_CONSUMER"
            assert len(received) < 1500
        stats = await one.debug(0)
        assert stats["subscriptions"] == 1 and stats["connections"] == 1


async def test_subscribing_and_leaving_a_thousand_times_leaks_nothing(tmp_path: Path) -> None:
    async with cluster(tmp_path, count=1) as one:
        baseline = await one.debug(0)
        channel = channel_name(one.prefix)

        async def cycle(n: int) -> None:
            async with GraphQLWS.connect(one.urls[0]) as ws:
                for i in range(10):
                    await ws.subscribe(f"{n}-{i}", EVENTS, skus=["SKU-A", "SKU-B"][: i % 2 + 1])
                await ws.subscribe("net", "subscription { networkAvailability(sku: \"SKU-C\")"
                                          " { atp } }")
                await ws.data("net")
                for i in range(0, 10, 2):
                    await ws.complete(f"{n}-{i}")  # half completed, half left to the disconnect

        for batch in range(10):
            await asyncio.gather(*(cycle(batch * 10 + n) for n in range(10)))

        async def all_gone() -> bool:
            stats = await one.debug(0)
            return (stats["connections"], stats["subscriptions"], stats["groups"]) == (
                0, 0, 0) and stats["tasks"] <= baseline["tasks"]

        await eventually(all_gone, "no connection, subscription, group or extra task left")
        async with Redis.from_url(REDIS_URL) as admin:
            [(_, count)] = await admin.pubsub_numsub(channel)
        assert count == 1  # the server's one subscription, whatever its subscribers did


async def test_low_stock_alerts_reach_the_subscribers_of_their_location(tmp_path: Path) -> None:
    async with cluster(tmp_path, count=1) as one, GraphQLWS.connect(one.urls[0]) as ws:
        await ws.subscribe("low", 'subscription { lowStock(locationIds: ["store-1"]) { '
                                  "request { id sku quantity status location { id } } "
                                  "level { onHand } } }")
        await subscribed(one, 0, 1)
        broadcast = make_broadcast(REDIS_URL)
        async with broadcast:
            publisher = BroadcastPublisher(broadcast, one.prefix)
            now = datetime.now(UTC)
            await publisher.publish_low_stock([
                _alert("req-elsewhere", "store-2", now), _alert("req-1", "store-1", now)])
        alert = (await ws.data("low"))["lowStock"]
        assert alert == {"request": {"id": "req-1", "sku": "SKU-A", "quantity": 18,
                                     "status": "OPEN", "location": {"id": "store-1"}},
                         "level": {"onHand": 2}}
        assert ws.pending("low") == 0


def _alert(request_id: str, location: str, now: datetime) -> LowStockRaised:
    return LowStockRaised(request_id, "SKU-A", location, 18, ReplenishmentStatus.OPEN, now,
                          StockLevel("SKU-A", location, on_hand=2, updated_at=now))


def _json(text: str) -> str:
    import json

    return json.dumps(text)


def _load(raw: str | bytes) -> dict[str, object]:
    import json

    found: dict[str, object] = json.loads(raw)
    return found
