"""Real server processes sharing one database and one broadcast, for subscription tests:
a fresh PostgreSQL database (migrated and seeded with the small network before the servers
start) and a Redis channel prefix of the test's own (pub/sub ignores db numbers)."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

from adapters.db.engine import Database
from adapters.db.migrate import migrate
from app.container import build_services
from app.settings import Settings
from tests.support import server as server_support
from tests.support.network import build_network
from tests.support.server import running_servers
from tests.support.services import REDIS_URL, fresh_pg_database, unavailable

# Two servers importing at once on a busy 2-core machine can take longer than the default 30 s.
START_TIMEOUT = 120.0
MOVE = """mutation($m: MovementInput!) { recordMovement(movement: $m) { status error } }"""
MOVES = """mutation($ms: [MovementInput!]!) { recordMovements(movements: $ms) { status } }"""


@dataclass
class Cluster:
    urls: list[str]
    prefix: str
    database_url: str
    headers: dict[str, str]

    async def gql(self, server: int, query: str, **variables: Any) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.urls[server], timeout=60,
                                     headers=self.headers) as http:
            response = await http.post("/graphql", json={"query": query, "variables": variables})
        body: dict[str, Any] = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    async def move(self, server: int, event_id: str, sku: str, location: str, quantity: int,
                   kind: str = "RECEIVE") -> None:
        found = await self.gql(server, MOVE, m={
            "eventId": event_id, "type": kind, "sku": sku, "locationId": location,
            "quantity": quantity})
        assert found["recordMovement"]["status"] == "APPLIED", found

    async def debug(self, server: int) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.urls[server], headers=self.headers) as http:
            response = await http.get("/debug/subscriptions")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found


async def redis_or_skip(url: str = REDIS_URL) -> None:
    client = Redis.from_url(url, socket_connect_timeout=5)
    try:
        await client.ping()
    except (OSError, ConnectionError) as exc:
        unavailable("Redis", exc)
    except Exception as exc:  # redis-py's own ConnectionError is not an OSError
        unavailable("Redis", exc)
    finally:
        await client.aclose()


@asynccontextmanager
async def _database(logs: Path, engine: str) -> AsyncIterator[str]:
    if engine == "sqlite":
        yield f"sqlite+aiosqlite:///{logs / 'stockgraph.db'}"
    else:
        async with fresh_pg_database() as url:
            yield url


@asynccontextmanager
async def cluster(logs: Path, count: int = 2, broadcast_url: str = REDIS_URL,
                  headers: dict[str, str] | None = None, engine: str = "postgresql",
                  **env: str) -> AsyncIterator[Cluster]:
    """`count` servers over one fresh database (`engine`) and `broadcast_url`."""
    if broadcast_url.startswith("redis"):
        await redis_or_skip(broadcast_url)
    async with _database(logs, engine) as url:
        db = Database(url, pool_size=2)
        try:
            await migrate(db)
            await build_network(build_services(db, Settings(database_url=url)))
        finally:
            await db.dispose()
        prefix = f"test-subscriptions-{uuid.uuid4().hex[:12]}:"
        settings = {"DATABASE_URL": url, "BROADCAST_URL": broadcast_url,
                    "STOCKGRAPH_BROADCAST_CHANNEL_PREFIX": prefix,
                    "STOCKGRAPH_MIGRATE_AT_START": "false", "STOCKGRAPH_VENDOR_POLLER": "false",
                    **env}
        server_support.START_TIMEOUT = max(server_support.START_TIMEOUT, START_TIMEOUT)
        async with running_servers(settings, count, logs) as urls:
            yield Cluster(urls, prefix, url, headers or {})


async def eventually(check: Callable[[], bool | Awaitable[bool]], what: str,
                     limit: float = 30.0) -> None:
    """Poll `check` until it holds; fail naming `what` after `limit` seconds."""
    try:
        async with asyncio.timeout(limit):
            while True:
                found = check()
                if await found if inspect.isawaitable(found) else found:
                    return
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out after {limit}s waiting for {what}") from None


async def subscribed(c: Cluster, server: int, count: int) -> None:
    """Wait until `server` holds `count` subscriptions (a join completes asynchronously)."""

    async def holds() -> bool:
        return int((await c.debug(server))["subscriptions"]) >= count

    await eventually(holds, f"{count} subscriptions on server {server}")
