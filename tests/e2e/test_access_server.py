"""Abuse against a real server: a depth bomb, an alias bomb, an oversized body and a flood of
requests are each refused (by status code and error, not by timing), and the server goes on
serving other keys. And it will not start open on a public address."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.access import Role
from tests.support.auth import OTHER_ASSOCIATE, Key, Server, bearer, keyed_server
from tests.support.server import STOCKGRAPH

pytestmark = pytest.mark.slow

AVAILABILITY = '{ availability(sku: "SKU-A") { atp } }'


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    # Defaults everywhere but the rate: bursts of 10, then one request per 100 s.
    async with keyed_server(tmp_path, STOCKGRAPH_RATE_LIMIT="0.01",
                            STOCKGRAPH_RATE_LIMIT_BURST="10") as s:
        yield s


@pytest.fixture
async def http(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        yield client


async def post(http: httpx.AsyncClient, key: Key | Role, query: str, **extra: Any
               ) -> httpx.Response:
    return await http.post("/graphql", json={"query": query, **extra}, headers=bearer(key))


async def others_still_served(http: httpx.AsyncClient) -> None:
    response = await post(http, OTHER_ASSOCIATE, AVAILABILITY)
    assert response.status_code == 200 and response.json()["data"]["availability"]["atp"] == 0


async def test_a_depth_bomb_is_refused(http: httpx.AsyncClient) -> None:
    bomb = "{ " + "availability(sku: \"SKU-A\") { " * 200 + "atp" + " }" * 200 + " }"
    response = await post(http, Role.STOREFRONT, bomb)
    assert response.status_code == 200 and response.json()["errors"]
    assert "nested too deeply" in response.json()["errors"][0]["message"]
    deep = "{ " + "availability(sku: \"SKU-A\") { " * 20 + "atp" + " }" * 20 + " }"
    response = await post(http, Role.STOREFRONT, deep)
    assert response.json()["errors"][0]["extensions"]["measure"] == "depth"
    await others_still_served(http)


async def test_an_alias_bomb_is_refused(http: httpx.AsyncClient) -> None:
    bomb = "{ " + " ".join(f'a{i}: availability(sku: "SKU-A") {{ atp }}'
                           for i in range(5000)) + " }"
    response = await post(http, Role.STOREFRONT, bomb)
    assert response.status_code == 200 and "data" not in response.json()
    assert "tokens" in response.json()["errors"][0]["message"]
    smaller = "{ " + " ".join(f'a{i}: availability(sku: "SKU-A") {{ atp }}'
                              for i in range(500)) + " }"
    response = await post(http, Role.STOREFRONT, smaller)
    assert response.json()["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX", "measure": "aliases", "value": 500, "limit": 100}
    await others_still_served(http)


async def test_an_oversized_body_is_refused_with_413(http: httpx.AsyncClient) -> None:
    response = await post(http, Role.ADMIN, AVAILABILITY, padding="x" * (5 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    await others_still_served(http)


async def test_a_flood_gets_429_with_retry_after_and_others_are_served(
    http: httpx.AsyncClient,
) -> None:
    flood = await asyncio.gather(*(post(http, Role.ROUTER, AVAILABILITY) for _ in range(60)))
    statuses = [r.status_code for r in flood]
    assert statuses.count(200) == 10 and statuses.count(429) == 50
    refused = next(r for r in flood if r.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    await others_still_served(http)


async def test_without_keys_it_refuses_to_start_on_a_public_address(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "STOCKGRAPH_API_KEYS_FILE"}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    proc = await asyncio.create_subprocess_exec(
        STOCKGRAPH, "serve", "--host", "0.0.0.0", "--port", "0", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 2
    assert b"refusing to start" in err and b"STOCKGRAPH_API_KEYS_FILE" in err
