"""The WebSocket protocols around subscriptions, against a real server: out-of-protocol
messages get the protocol's close code or an error for that operation only, queries and
mutations still run over the socket, keep-alive pings, and access control."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from domain.access import Role
from tests.support.auth import KEYS, write_keys_file
from tests.support.cluster import Cluster, cluster, eventually
from tests.support.ws_client import GraphQLWS

NETWORK = """subscription($sku: ID!) { networkAvailability(sku: $sku) { sku atp } }"""
EVENTS = """subscription($skus: [ID!], $after: String) {
  availabilityChanged(skus: $skus, after: $after) { sequence sku } }"""


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with cluster(tmp_path, count=1, broadcast_url="memory://", engine="sqlite",
                       STOCKGRAPH_WS_KEEPALIVE="0.2") as one:
        yield one


async def test_subscribe_before_connection_init_is_closed_4401(server: Cluster) -> None:
    async with GraphQLWS.connect(server.urls[0], init=False) as ws:
        await ws.subscribe("1", NETWORK, sku="SKU-A")
        assert (await ws.close_code())[0] == 4401


async def test_a_duplicate_operation_id_is_closed_4409(server: Cluster) -> None:
    async with GraphQLWS.connect(server.urls[0]) as ws:
        await ws.subscribe("same", NETWORK, sku="SKU-A")
        await ws.data("same")
        await ws.subscribe("same", NETWORK, sku="SKU-B")
        assert (await ws.close_code())[0] == 4409


async def test_invalid_json_is_closed_4400_and_other_sockets_carry_on(server: Cluster) -> None:
    async with GraphQLWS.connect(server.urls[0]) as bystander, \
            GraphQLWS.connect(server.urls[0]) as ws:
        await bystander.subscribe("n", NETWORK, sku="SKU-A")
        await bystander.data("n")
        await ws.send("{not json")
        assert (await ws.close_code())[0] == 4400
        await server.move(0, "after-bad-json", "SKU-A", "wh-1", 2)
        assert (await bystander.data("n"))["networkAvailability"]["atp"] == 2


async def test_bad_arguments_fail_that_operation_only(server: Cluster) -> None:
    async with GraphQLWS.connect(server.urls[0]) as ws:
        await ws.subscribe("good", NETWORK, sku="SKU-A")
        await ws.data("good")
        await ws.subscribe("typo", EVENTS, skus=["SKU-A", "SKU-NOPE"])
        await ws.subscribe("cursor", EVENTS, after="yesterday")
        await ws.subscribe("invalid", "subscription { availabilityChanged { nope } }")
        typo, cursor, invalid = [await ws.next(i) for i in ("typo", "cursor", "invalid")]
        assert typo["type"] == "error" and typo["payload"][0]["extensions"]["code"] == "NOT_FOUND"
        assert "SKU-NOPE" in typo["payload"][0]["message"]
        assert cursor["payload"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}
        assert invalid["type"] == "error" and "nope" in invalid["payload"][0]["message"]
        # The failed ids are free again, and the good subscription still delivers
        await ws.subscribe("typo", EVENTS, skus=["SKU-A"])
        await server.move(0, "still-live", "SKU-A", "wh-1", 1)
        assert (await ws.data("good"))["networkAvailability"]["atp"] == 1
        assert (await ws.data("typo"))["availabilityChanged"]["sku"] == "SKU-A"


async def test_queries_and_mutations_still_run_over_the_socket(server: Cluster) -> None:
    async with GraphQLWS.connect(server.urls[0]) as ws:
        await ws.subscribe("q", "{ locations { id } }")
        assert {x["id"] for x in (await ws.data("q"))["locations"]} >= {"wh-1", "store-1"}
        assert (await ws.next("q"))["type"] == "complete"
        await ws.subscribe("m", 'mutation { recordMovement(movement: {eventId: "ws-1", '
                                'type: RECEIVE, sku: "SKU-B", locationId: "wh-1", quantity: 3})'
                                " { status } }")
        assert (await ws.data("m"))["recordMovement"]["status"] == "APPLIED"


async def test_the_server_sends_keepalive_pings(server: Cluster) -> None:
    async with GraphQLWS.connect(server.urls[0]) as ws:
        await ws.subscribe("n", NETWORK, sku="SKU-A")
        await ws.data("n")
        # every 0.2 s (STOCKGRAPH_WS_KEEPALIVE); the client answers each with a pong
        await eventually(lambda: ws.pings >= 3, "three pings")
        assert not ws.closed.done()


async def test_keys_and_roles_apply_to_subscriptions(tmp_path: Path) -> None:
    keys = write_keys_file(tmp_path)
    async with cluster(tmp_path, count=1, broadcast_url="memory://", engine="sqlite",
                       headers={"Authorization": f"Bearer {KEYS[Role.ADMIN].secret}"},
                       STOCKGRAPH_API_KEYS_FILE=str(keys)) as one:
        async with GraphQLWS.connect(one.urls[0], init=False) as refused:
            await refused.send({"type": "connection_init",
                                "payload": {"authorization": "Bearer not-a-key"}})
            assert (await refused.close_code())[0] == 4403
        storefront = f"Bearer {KEYS[Role.STOREFRONT].secret}"
        vendor = f"Bearer {KEYS[Role.VENDOR].secret}"
        associate = f"Bearer {KEYS[Role.ASSOCIATE].secret}"
        async with GraphQLWS.connect(one.urls[0], storefront) as shop, \
                GraphQLWS.connect(one.urls[0], vendor) as third_party, \
                GraphQLWS.connect(one.urls[0], associate) as tablet:
            await shop.subscribe("n", NETWORK, sku="SKU-A")
            assert (await shop.data("n"))["networkAvailability"]["sku"] == "SKU-A"
            await third_party.subscribe("n", NETWORK, sku="SKU-A")
            denied = await third_party.next("n")
            assert denied["payload"][0]["extensions"]["code"] == "FORBIDDEN"
            await tablet.subscribe("low", 'subscription { lowStock(locationIds: ["store-2"]) '
                                          "{ request { id } } }")
            assert (await tablet.next("low"))["payload"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_query_sent_again_over_the_same_socket_reads_the_stock_as_it_is_now(
    server: Cluster,
) -> None:
    query = '{ availability(sku: "SKU-A") { atp } }'
    async with GraphQLWS.connect(server.urls[0]) as ws:
        await ws.subscribe("before", query)
        before = (await ws.data("before"))["availability"]["atp"]
        await server.move(0, "between-queries", "SKU-A", "wh-1", 3)
        await ws.subscribe("after", query)
        # One context serves every operation of a socket: nothing read may be kept between them
        assert (await ws.data("after"))["availability"]["atp"] == before + 3
