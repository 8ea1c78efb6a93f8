"""The purchasing system's webhook, end to end: stockgraph server processes, a real receiver on
loopback, a durable outbox in between. Each request reaches the receiver exactly once across
the receiver's outage and a restart of stockgraph; a receiver that refuses (4xx) is not tried
forever, and an admin's retry delivers once it accepts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from adapters.db.engine import Database
from adapters.db.migrate import migrate
from app.container import build_services
from app.settings import Settings
from domain.movement import MovementType
from domain.replenishment import ReorderRule
from domain.webhook import Delivery, DeliveryStatus
from resolvers.context import Services
from services.replenishment import set_reorder_rule
from tests.support.network import NOW, build_network, mv, record
from tests.support.server import running_servers
from tests.support.webhook_receiver import Receiver, listening, until, webhook_env

pytestmark = pytest.mark.slow

SALE = """mutation($m: MovementInput!) { recordMovement(movement: $m) { status error } }"""
SKUS = ("SKU-A", "SKU-B", "SKU-C")


@asynccontextmanager
async def seeded(db_url: str) -> AsyncIterator[Services]:
    """store-1 holds 10 of each SKU, with a rule: reorder at 5, up to 30."""
    db = Database(db_url, pool_size=5)
    try:
        await migrate(db)
        services = build_services(db, Settings(database_url=db_url))
        await build_network(services)
        await record(services, *(mv(MovementType.RECEIVE, sku, "store-1", 10) for sku in SKUS))
        for sku in SKUS:
            await set_reorder_rule(services.replenishment,
                                   ReorderRule(sku, "store-1", 5, 30), NOW)
        yield services
    finally:
        await db.dispose()


async def sell(url: str, sku: str, q: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        body = (await http.post("/graphql", json={"query": SALE, "variables": {"m": {
            "eventId": f"sale-{sku}-{q}", "type": "SALE", "sku": sku, "locationId": "store-1",
            "quantity": q}}})).json()
    assert body["data"]["recordMovement"]["status"] == "APPLIED", body


async def deliveries(services: Services) -> list[Delivery]:
    return await services.replenishment.outbox.deliveries(None, 100)


async def test_each_request_is_delivered_once_across_an_outage_and_a_restart(
    db_url: str
) -> None:
    receiver = Receiver()
    async with seeded(db_url) as services:
        env = {"DATABASE_URL": db_url, "BROADCAST_URL": "memory://", **webhook_env(receiver)}
        # Given the purchasing system is down (nothing listens on its port)
        async with running_servers(env) as [url]:
            # When three sales raise three requests
            for sku in SKUS:
                await sell(url, sku, 6)

            async def tried_twice_each() -> bool:
                found = await deliveries(services)
                return len(found) == 3 and all(d.attempts >= 2 for d in found)

            # Then the sender keeps trying (with backoff), and nothing is delivered
            await until(tried_twice_each, "two failed attempts per delivery")
        # And stockgraph stops before any delivery (a deploy), and starts again while the
        # receiver is up but still failing (503)
        assert {d.status for d in await deliveries(services)} == {DeliveryStatus.PENDING}
        receiver.answer = 503
        async with listening(receiver), running_servers(env):

            async def seen_failing() -> bool:
                return all(receiver.posts[d.idempotency_key] >= 1
                           for d in await deliveries(services))

            await until(seen_failing, "a 503 answered to every delivery after the restart")
            assert sum(receiver.accepted.values()) == 0
            # When it recovers
            receiver.answer = 200

            async def all_delivered() -> bool:
                return {d.status for d in await deliveries(services)} == {
                    DeliveryStatus.DELIVERED}

            await until(all_delivered, "every delivery DELIVERED")
        # Then it accepted each request exactly once, signed, with the request's id as key
        requests = await services.replenishment.store.requests(None, None, None, 10)
        assert set(receiver.accepted) == {r.id for r in requests} and len(requests) == 3
        assert set(receiver.accepted.values()) == {1}
        assert receiver.bad_signatures == 0
        assert {b["request"]["sku"]: b["request"]["quantity"]
                for b in receiver.bodies.values()} == {sku: 26 for sku in SKUS}


async def test_a_refusing_receiver_parks_the_delivery_and_an_admin_retry_delivers_it(
    db_url: str
) -> None:
    receiver = Receiver(answer=422)
    async with seeded(db_url) as services:
        env = {"DATABASE_URL": db_url, "BROADCAST_URL": "memory://",
               **webhook_env(receiver, STOCKGRAPH_WEBHOOK_MAX_REJECTIONS="3")}
        async with listening(receiver), running_servers(env) as [url], \
                httpx.AsyncClient(base_url=url, timeout=30) as http:
            # Given a receiver that refuses the request itself (422)
            await sell(url, "SKU-A", 5)

            async def parked() -> bool:
                [d] = await deliveries(services)
                return d.status is DeliveryStatus.FAILED

            # Then after three refusals the delivery is parked FAILED, visible to admins
            await until(parked, "the delivery parked FAILED")
            listed = (await http.post("/graphql", json={"query": """{ webhookDeliveries {
                id idempotencyKey status attempts rejections lastStatusCode lastError } }"""}
                                      )).json()["data"]["webhookDeliveries"]
            [failed] = listed
            assert (failed["status"], failed["attempts"], failed["rejections"],
                    failed["lastStatusCode"]) == ("FAILED", 3, 3, 422)
            assert failed["lastError"].startswith("HTTP 422: ")
            assert "told to answer 422" in failed["lastError"]
            assert sum(receiver.posts.values()) == 3
            # When the receiver is fixed and an admin retries it
            receiver.answer = 200
            retried = (await http.post("/graphql", json={
                "query": "mutation($id: ID!) { retryWebhookDelivery(id: $id) { status } }",
                "variables": {"id": failed["id"]}})).json()["data"]["retryWebhookDelivery"]
            assert retried == {"status": "PENDING"}

            async def delivered() -> bool:
                [d] = await deliveries(services)
                return d.status is DeliveryStatus.DELIVERED

            await until(delivered, "the retried delivery DELIVERED")
            # Then it arrives once: three refusals while refused, none while parked, one accepted
            assert receiver.accepted == {failed["idempotencyKey"]: 1}
            assert sum(receiver.posts.values()) == 4
            again = (await http.post("/graphql", json={
                "query": "mutation($id: ID!) { retryWebhookDelivery(id: $id) { status } }",
                "variables": {"id": failed["id"]}})).json()["errors"][0]
            assert again["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
