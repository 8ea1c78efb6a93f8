"""Subscriptions across two real server processes sharing PostgreSQL and Redis: subscribers on
one instance, mutations on the other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.cluster import Cluster, cluster, eventually, subscribed
from tests.support.ws_client import LEGACY_WS, GraphQLWS

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

EVENTS = """subscription($skus: [ID!], $locs: [ID!], $after: String) {
  availabilityChanged(skus: $skus, locationIds: $locs, after: $after) {
    sequence sku cause networkAtp location { id } level { onHand atp location { id } } } }"""
NETWORK = """subscription($sku: ID!) { networkAvailability(sku: $sku) { sku atp onHand } }"""


@pytest.fixture
async def two(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with cluster(tmp_path) as found:
        yield found


async def test_changes_on_one_instance_reach_a_subscriber_on_the_other_in_order(
    two: Cluster,
) -> None:
    async with GraphQLWS.connect(two.urls[0]) as ws:
        # Given a subscriber on instance 0 to SKU-A at any location
        await ws.subscribe("a", EVENTS, skus=["SKU-A"])
        await subscribed(two, 0, 1)
        # When instance 1 records five receipts of SKU-A and one of SKU-B, concurrently
        await asyncio.gather(
            *(two.move(1, f"in-{i}", "SKU-A", "wh-1", 10) for i in range(5)),
            two.move(1, "b-1", "SKU-B", "wh-1", 4))
        # Then the subscriber gets the five SKU-A changes only, in sequence order
        got = [(await ws.data("a"))["availabilityChanged"] for _ in range(5)]
        sequences = [int(e["sequence"]) for e in got]
        assert sequences == sorted(sequences) and len(set(sequences)) == 5
        assert {e["sku"] for e in got} == {"SKU-A"}
        # and the last one carries the level and network ATP that include every receipt
        assert got[-1]["level"]["onHand"] == 50 and got[-1]["networkAtp"] == 50
        await two.move(1, "b-2", "SKU-B", "wh-1", 1)
        await two.move(1, "a-last", "SKU-A", "store-1", 1)
        last = (await ws.data("a"))["availabilityChanged"]
        assert last["location"]["id"] == "store-1"  # SKU-B never arrived in between
    # Each event went out as a ready-made frame, written straight to the socket
    assert (await two.debug(0))["direct_writes"] >= 6


async def test_location_filter_and_sku_filter_combine(two: Cluster) -> None:
    async with GraphQLWS.connect(two.urls[0]) as ws:
        await ws.subscribe("s1", EVENTS, locs=["store-1"])
        await ws.subscribe("both", EVENTS, skus=["SKU-B"], locs=["store-1"])
        await subscribed(two, 0, 2)
        for event_id, sku, location in [("f1", "SKU-A", "wh-1"), ("f2", "SKU-A", "store-1"),
                                        ("f3", "SKU-B", "store-2"), ("f4", "SKU-B", "store-1")]:
            await two.move(1, event_id, sku, location, 2)
        got = [(await ws.data("s1"))["availabilityChanged"] for _ in range(2)]
        assert [e["sku"] for e in got] == [
            "SKU-A", "SKU-B"]
        only = (await ws.data("both"))["availabilityChanged"]
        assert (only["sku"], only["location"]["id"]) == ("SKU-B", "store-1")
        assert ws.pending("s1") == 0 and ws.pending("both") == 0


async def test_network_availability_sends_the_current_value_then_each_change(
    two: Cluster,
) -> None:
    await two.move(1, "open", "SKU-C", "wh-1", 7)
    async with GraphQLWS.connect(two.urls[0]) as ws:
        await ws.subscribe("n", NETWORK, sku="SKU-C")
        first = (await ws.data("n"))["networkAvailability"]
        assert first == {"sku": "SKU-C", "atp": 7, "onHand": 7}
        await two.move(1, "more", "SKU-C", "wh-1", 3)
        assert (await ws.data("n"))["networkAvailability"]["atp"] == 10


async def test_resume_after_a_disconnect_replays_the_missed_changes_then_goes_live(
    two: Cluster,
) -> None:
    async with GraphQLWS.connect(two.urls[0]) as ws:
        await ws.subscribe("r", EVENTS, skus=["SKU-A"])
        await subscribed(two, 0, 1)
        await two.move(1, "seen", "SKU-A", "wh-1", 1)
        last_seen = (await ws.data("r"))["availabilityChanged"]["sequence"]
    # While the client is away, three changes happen (one on an unwatched SKU)
    await two.move(1, "miss-1", "SKU-A", "wh-1", 2)
    await two.move(1, "miss-x", "SKU-B", "wh-1", 2)
    await two.move(1, "miss-2", "SKU-A", "store-1", 3)
    # When it comes back (to the other instance) with after: the last sequence it saw
    async with GraphQLWS.connect(two.urls[1]) as ws:
        await ws.subscribe("r", EVENTS, skus=["SKU-A"], after=last_seen)
        replayed = [(await ws.data("r"))["availabilityChanged"] for _ in range(2)]
        await two.move(0, "live", "SKU-A", "wh-1", 4)
        live = (await ws.data("r"))["availabilityChanged"]
    # Then it gets exactly the two it missed, in order, then the live one: no gap, no repeat
    sequences = [int(e["sequence"]) for e in [*replayed, live]]
    assert sequences == sorted(set(sequences)) and sequences[0] > int(last_seen)
    assert [e["location"]["id"] for e in replayed] == ["wh-1", "store-1"]
    assert ws.pending("r") == 0


async def test_legacy_graphql_ws_clients_get_data_and_keepalives(tmp_path: Path) -> None:
    async with cluster(tmp_path, count=1, STOCKGRAPH_WS_KEEPALIVE="0.2") as one, \
            GraphQLWS.connect(one.urls[0], protocol=LEGACY_WS) as ws:
        await ws.subscribe("1", NETWORK, sku="SKU-A")
        assert (await ws.data("1"))["networkAvailability"]["atp"] == 0
        await one.move(0, "legacy", "SKU-A", "wh-1", 5)
        assert (await ws.data("1"))["networkAvailability"]["atp"] == 5
        await ws.complete("1")
        assert (await ws.next("1"))["type"] == "complete"
        await eventually(lambda: ws.pings >= 2, "two `ka` messages (every 0.2 s)")


async def test_a_compressed_connection_gets_its_events_through_the_ordinary_send(
    tmp_path: Path,
) -> None:
    async with cluster(tmp_path, count=1, STOCKGRAPH_WS_COMPRESSION="true") as one, \
            GraphQLWS.connect(one.urls[0], compression="deflate") as ws:
        assert ws.conn.protocol.extensions  # permessage-deflate negotiated
        await ws.subscribe("1", EVENTS, skus=["SKU-A"])
        await subscribed(one, 0, 1)
        await one.move(0, "zipped", "SKU-A", "wh-1", 5)
        event = (await ws.data("1"))["availabilityChanged"]
        assert (event["sku"], event["level"]["onHand"]) == ("SKU-A", 5)
        # A shared uncompressed frame would be garbage to this client: none was written
        assert (await one.debug(0))["direct_writes"] == 0
