"""Two server processes on one database, real HTTP, many clients racing for the same units:
the network never promises a unit twice, and multi-line holds stay all or nothing."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.db.engine import Database
from adapters.db.migrate import migrate
from app.container import build_services
from app.settings import Settings
from domain.movement import MovementType
from resolvers.context import Services
from tests.support.network import build_network, mv, record
from tests.support.server import running_servers

pytestmark = pytest.mark.slow

RESERVE = """mutation($input: ReserveInput!) { reserve(input: $input) { __typename
  ... on Reservation { id lines { sku location { id } quantity } }
  ... on InsufficientStock { lines { sku locationId requested available } }
  ... on InvalidInput { message field } } }"""
LEVEL = "query($sku: ID!, $loc: ID!) { stockLevel(sku: $sku, locationId: $loc) { reserved atp } }"
CLIENT_TASKS = 50
RETRIES = 3
PAIRS = [("SKU-A", "wh-1"), ("SKU-A", "store-1"), ("SKU-B", "wh-1"), ("SKU-B", "store-1")]


@asynccontextmanager
async def seeded(db_url: str, *stock: tuple[str, str, int]) -> AsyncIterator[Services]:
    db = Database(db_url, pool_size=5)
    try:
        await migrate(db)
        services = build_services(db, Settings(database_url=db_url))
        await build_network(services)
        await record(services, *(mv(MovementType.RECEIVE, s, loc, q) for s, loc, q in stock))
        yield services
    finally:
        await db.dispose()


@asynccontextmanager
async def two_servers(db_url: str, log_dir: Path) -> AsyncIterator[list[httpx.AsyncClient]]:
    env = {"DATABASE_URL": db_url, "BROADCAST_URL": "memory://", "STOCKGRAPH_RATE_LIMIT": "0"}
    limits = httpx.Limits(max_connections=CLIENT_TASKS // 2)
    async with running_servers(env, count=2, log_dir=log_dir) as urls:
        clients = [httpx.AsyncClient(base_url=u, timeout=120, limits=limits) for u in urls]
        try:
            yield clients
        finally:
            for c in clients:
                await c.aclose()


async def race(clients: list[httpx.AsyncClient], inputs: list[dict[str, Any]]
               ) -> list[dict[str, Any]]:
    """Every input sent by CLIENT_TASKS tasks split over the servers; answers in order. Like a
    real client, a request whose answer was lost (connection dropped, timeout) is sent again
    with its idempotency key: the first answer that arrives is the request's answer."""
    answers: list[dict[str, Any]] = [{} for _ in inputs]
    todo: Iterator[int] = iter(range(len(inputs)))

    async def client_task(http: httpx.AsyncClient) -> None:
        for i in todo:
            for attempt in range(1, RETRIES + 1):
                try:
                    response = await http.post(
                        "/graphql", json={"query": RESERVE, "variables": {"input": inputs[i]}})
                    break
                except httpx.TransportError:
                    if attempt == RETRIES:
                        raise
            assert response.status_code == 200, response.text
            body = response.json()
            assert "errors" not in body, body["errors"]
            answers[i] = body["data"]["reserve"]

    await asyncio.gather(*(client_task(clients[k % len(clients)]) for k in range(CLIENT_TASKS)))
    return answers


async def level(http: httpx.AsyncClient, sku: str, loc: str) -> dict[str, int]:
    body = (await http.post("/graphql", json={"query": LEVEL,
                                              "variables": {"sku": sku, "loc": loc}})).json()
    found: dict[str, int] = body["data"]["stockLevel"]
    return found


async def test_thousand_single_unit_reservations_for_hundred_units_hold_exactly_hundred(
    db_url: str, tmp_path: Path
) -> None:
    # Given 100 units of SKU-A at wh-1, and two servers on the one database
    async with seeded(db_url, ("SKU-A", "wh-1", 100)):
        pass
    inputs = [{"idempotencyKey": f"race-{i}", "orderRef": f"order-{i}",
               "lines": [{"sku": "SKU-A", "locationId": "wh-1", "quantity": 1}]}
              for i in range(1000)]
    async with two_servers(db_url, tmp_path) as clients:
        # When 1,000 single-unit reservations race over real HTTP
        answers = await race(clients, inputs)
        # Then exactly 100 hold, 900 are told there is no stock left, and ATP is 0
        assert Counter(a["__typename"] for a in answers) == {
            "Reservation": 100, "InsufficientStock": 900}
        assert all(a["lines"][0]["available"] == 0 for a in answers
                   if a["__typename"] == "InsufficientStock")
        assert await level(clients[0], "SKU-A", "wh-1") == {"reserved": 100, "atp": 0}
    async with seeded(db_url) as services:
        assert await services.reader.drift() == []


async def test_multi_line_reservations_racing_on_overlapping_levels_are_all_or_nothing(
    db_url: str, tmp_path: Path
) -> None:
    # Given 40 units at each of four levels, less than the racing carts ask for
    async with seeded(db_url, *((sku, loc, 40) for sku, loc in PAIRS)):
        pass
    rng = random.Random(4)
    carts = [rng.sample(PAIRS, rng.randint(2, 4)) for _ in range(200)]  # random line order
    inputs = [{"idempotencyKey": f"cart-{i}", "lines": [
        {"sku": sku, "locationId": loc, "quantity": 1} for sku, loc in cart]}
        for i, cart in enumerate(carts)]
    async with two_servers(db_url, tmp_path) as clients:
        # When 200 multi-line reservations race on both servers
        answers = await race(clients, inputs)
        # Then each is held whole or not at all, and every level holds what the held carts took
        kinds = Counter(a["__typename"] for a in answers)
        assert set(kinds) == {"Reservation", "InsufficientStock"}, kinds
        held = Counter(itertools.chain.from_iterable(
            cart for cart, a in zip(carts, answers, strict=True)
            if a["__typename"] == "Reservation"))
        for cart, a in zip(carts, answers, strict=True):
            if a["__typename"] == "Reservation":
                assert sorted((x["sku"], x["location"]["id"]) for x in a["lines"]) == sorted(cart)
        for sku, loc in PAIRS:
            found = await level(clients[1], sku, loc)
            assert found["reserved"] == held[(sku, loc)] <= 40
            assert found["atp"] == 40 - held[(sku, loc)]
    async with seeded(db_url) as services:
        assert await services.reader.drift() == []
