"""Recording movements over GraphQL on both engines: each bad movement is a REJECTED result
with a reason, a malformed request or an oversized batch is a GraphQL error, and none of
them changes a level or answers with an internal error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.conftest import GraphQLClient
from tests.integration.test_graphql_reads import LOCATIONS, UPSERT_LOCATION, UPSERT_SKU

ONE = """mutation($m: MovementInput!) {
  recordMovement(movement: $m) { eventId status error level { sku onHand inbound atp } } }"""
MANY = """mutation($m: [MovementInput!]!) {
  recordMovements(movements: $m) { eventId status error } }"""
LEVEL = """query($s: ID!, $l: ID!) { stockLevel(sku: $s, locationId: $l) {
  onHand inbound unsellable } }"""
INT_MAX = 2**31 - 1
_events = iter(range(1_000_000))


def movement(type: str, q: int, sku: str = "SKU-A", loc: str = "wh-1",
             **extra: Any) -> dict[str, Any]:
    return {"eventId": f"mv-{next(_events)}", "type": type, "sku": sku, "locationId": loc,
            "quantity": q, **extra}


async def given_network(gql: GraphQLClient) -> GraphQLClient:
    for loc in LOCATIONS:
        await gql.data(UPSERT_LOCATION, l=loc)
    await gql.data(UPSERT_SKU, s={"sku": "SKU-A"})
    await gql.data(ONE, m=movement("RECEIVE", 10))
    return gql


@pytest.fixture
async def net(gql: GraphQLClient) -> GraphQLClient:
    return await given_network(gql)


@pytest.fixture
async def small_batches(db_url: str) -> AsyncIterator[GraphQLClient]:
    """An app configured with STOCKGRAPH_MAX_BATCH_SIZE=3."""
    app = create_app(Settings(database_url=db_url, broadcast_url="memory://", max_batch_size=3))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield await given_network(GraphQLClient(http))


async def wh1(gql: GraphQLClient) -> dict[str, int]:
    level: dict[str, int] = (await gql.data(LEVEL, s="SKU-A", l="wh-1"))["stockLevel"]
    return level


async def test_a_movement_applies_once_and_its_replay_is_a_duplicate(net: GraphQLClient) -> None:
    sale = movement("SALE", 3, occurredAt="2026-01-05T10:00:00+01:00", deviceId="till-4")
    first = (await net.data(ONE, m=sale))["recordMovement"]
    again = (await net.data(ONE, m=sale))["recordMovement"]
    assert (first["status"], first["error"], first["level"]) == (
        "APPLIED", None, {"sku": "SKU-A", "onHand": 7, "inbound": 0, "atp": 7})
    assert (again["status"], again["level"]["onHand"]) == ("DUPLICATE", 7)
    assert (await wh1(net))["onHand"] == 7


@pytest.mark.parametrize(("bad", "reason"), [
    (movement("RECEIVE", 0), "must be positive"),
    (movement("SALE", -1), "must be positive"),
    (movement("COUNT", -1), "cannot be negative"),
    (movement("ADJUST", -11), "below zero"),
    (movement("RECEIVE", 1, sku="NOPE"), "unknown sku 'NOPE'"),
    (movement("RECEIVE", 1, loc="nowhere"), "unknown location 'nowhere'"),
    (movement("SHIP", 11), "only 10 sellable"),
    (movement("TRANSFER_OUT", 1, toLocationId="wh-1"), "own location"),
    (movement("TRANSFER_OUT", 1, toLocationId="nowhere"), "unknown location 'nowhere'"),
    (movement("TRANSFER_OUT", 1), "needs toLocationId"),
    (movement("MOVE", 1, bin="A-1", toBin="B-1"), "holds only 0"),
    (movement("RECEIVE", 1, occurredAt="2026-01-05T10:00:00"), "needs a UTC offset"),
    (movement("RECEIVE", 1, occurredAt="2999-01-01T00:00:00Z"), "in the future"),
    (movement("RECEIVE", INT_MAX), "too large"),
])
async def test_a_bad_movement_is_rejected_with_its_reason_and_changes_nothing(
    net: GraphQLClient, bad: dict[str, Any], reason: str
) -> None:
    before = await wh1(net)
    [result] = (await net.data(MANY, m=[bad]))["recordMovements"]
    assert (result["eventId"], result["status"]) == (bad["eventId"], "REJECTED")
    assert reason in result["error"]
    assert await wh1(net) == before
    # ... and the level sheet of a location it named stays as it was: never stocked.
    assert (await net.data(LEVEL, s="SKU-A", l="store-1"))["stockLevel"] is None


async def test_levels_may_not_grow_past_what_a_client_can_read(net: GraphQLClient) -> None:
    to_the_top = movement("RECEIVE", INT_MAX - 10)
    assert (await net.data(ONE, m=to_the_top))["recordMovement"]["status"] == "APPLIED"
    [over] = (await net.data(MANY, m=[movement("RETURN", 1)]))["recordMovements"]
    transfer = movement("TRANSFER_OUT", 5, loc="wh-1", toLocationId="store-1")
    assert (await net.data(ONE, m=transfer))["recordMovement"]["status"] == "APPLIED"
    assert over["status"] == "REJECTED" and "too large" in over["error"]
    assert (await wh1(net))["onHand"] == INT_MAX - 5


@pytest.mark.parametrize("occurred_at", ["yesterday", "2026-13-45T00:00:00Z", "", 20260105])
async def test_a_malformed_date_is_a_graphql_error_and_records_nothing(
    net: GraphQLClient, occurred_at: object
) -> None:
    before = await wh1(net)
    for query, value in ((ONE, movement("SALE", 1, occurredAt=occurred_at)),
                         (MANY, [movement("SALE", 1, occurredAt=occurred_at)])):
        body = await net(query, m=value)
        [error] = body["errors"]
        assert "Unexpected error" not in error["message"]
        assert "occurredAt" in error["message"]
        assert body.get("data") is None
    assert await wh1(net) == before


async def test_a_quantity_beyond_graphql_int_is_a_graphql_error(net: GraphQLClient) -> None:
    body = await net(ONE, m=movement("RECEIVE", 2**31))
    assert "Int cannot represent" in body["errors"][0]["message"]
    assert (await wh1(net))["onHand"] == 10


async def test_a_batch_over_the_configured_maximum_is_refused_whole(
    small_batches: GraphQLClient,
) -> None:
    four = [movement("SALE", 1) for _ in range(4)]
    response = await small_batches.http.post("/graphql", json={"query": MANY,
                                                               "variables": {"m": four}})
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "BAD_USER_INPUT", "movements")
    assert "at most 3" in error["message"]
    assert (await wh1(small_batches))["onHand"] == 10
    three = (await small_batches.data(MANY, m=four[:3]))["recordMovements"]
    assert [r["status"] for r in three] == ["APPLIED"] * 3
    assert (await wh1(small_batches))["onHand"] == 7


@pytest.mark.parametrize(("query", "variables"), [
    (MANY, {"m": [movement("RECEIVE", 1, reference="PO\u00001")]}),
    (ONE, {"m": movement("RECEIVE", 1, sku="SKU\u0000A")}),
    ('mutation { recordMovement(movement: {eventId: "e\\u0000", type: RECEIVE, sku: "SKU-A", '
     'locationId: "wh-1", quantity: 1}) { status } }', {}),
    ('{ availability(sku: "SKU-A\\u0000") { atp } }', {}),
    ("mutation($l: LocationInput!) { upsertLocation(input: $l) { id } }",
     {"l": {"id": "wh-1", "name": "Warehouse\u0000One", "kind": "WAREHOUSE"}}),
])
async def test_text_holding_a_nul_character_is_bad_input_and_changes_nothing(
    net: GraphQLClient, query: str, variables: dict[str, Any]
) -> None:
    before = await wh1(net)
    body = await net(query, **variables)
    [error] = body["errors"]
    assert (error["extensions"]["code"], error["message"]) == (
        "BAD_USER_INPUT", "text may not contain the NUL character (U+0000)")
    assert body.get("data") is None
    assert await wh1(net) == before
    assert (await net.data('{ locations(kind: WAREHOUSE) { name } }'))["locations"] == [
        {"name": "Warehouse One"}]
