"""Two server processes on one database, fifty sales racing over real HTTP across a reorder
point: exactly one replenishment request opens, and the two instances' webhook senders,
racing for the same outbox row, post it once."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from adapters.db.engine import Database
from adapters.db.migrate import migrate
from app.container import build_services
from app.settings import Settings
from domain.events import ReplenishmentStatus
from domain.movement import MovementType
from domain.replenishment import ReorderRule
from domain.webhook import DeliveryStatus
from services.replenishment import set_reorder_rule
from tests.support.network import NOW, build_network, mv, record
from tests.support.server import running_servers
from tests.support.webhook_receiver import Receiver, listening, until, webhook_env

pytestmark = pytest.mark.slow

SALE = """mutation($m: MovementInput!) { recordMovement(movement: $m) { status error } }"""
SALES = 50


async def test_fifty_sales_racing_across_the_point_open_exactly_one_request(db_url: str) -> None:
    # Given 60 units of SKU-A at store-1 and a rule: reorder at 55, up to 100
    db = Database(db_url, pool_size=5)
    try:
        await migrate(db)
        services = build_services(db, Settings(database_url=db_url))
        await build_network(services)
        await record(services, mv(MovementType.RECEIVE, "SKU-A", "store-1", 60))
        await set_reorder_rule(services.replenishment, ReorderRule("SKU-A", "store-1", 55, 100),
                               NOW)
        receiver = Receiver()
        env = {"DATABASE_URL": db_url, "BROADCAST_URL": "memory://",
               "STOCKGRAPH_RATE_LIMIT": "0", **webhook_env(receiver)}
        async with listening(receiver), running_servers(env, count=2) as urls:
            clients = [httpx.AsyncClient(base_url=u, timeout=120) for u in urls]
            try:
                # When 50 single-unit sales race, split over the two servers
                answers = await asyncio.gather(*(
                    clients[i % 2].post("/graphql", json={"query": SALE, "variables": {"m": {
                        "eventId": f"race-sale-{i}", "type": "SALE", "sku": "SKU-A",
                        "locationId": "store-1", "quantity": 1}}})
                    for i in range(SALES)))
            finally:
                for c in clients:
                    await c.aclose()
            bodies = [a.json() for a in answers]
            assert [b.get("errors") or b["data"]["recordMovement"]["status"]
                    for b in bodies] == ["APPLIED"] * SALES
            # Then exactly one request opened, for what was due when the position reached
            # the point (55: up to 100, 45 units), though 46 of the sales left it at or below
            [request] = await services.replenishment.store.requests(None, None, None, 10)
            assert (request.status, request.quantity, request.position) == (
                ReplenishmentStatus.OPEN, 45, 55)
            level = await services.reader.level("SKU-A", "store-1")
            assert level is not None and level[0].on_hand == 10

            async def delivered() -> bool:
                found = await services.replenishment.outbox.deliveries(None, 10)
                return [d.status for d in found] == [DeliveryStatus.DELIVERED]

            # And both instances' senders raced for its one delivery: it was posted once
            await until(delivered, "the request's delivery DELIVERED")
            assert receiver.posts == {request.id: 1}
        assert await services.reader.drift() == []
    finally:
        await db.dispose()
