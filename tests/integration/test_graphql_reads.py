"""The read graph over GraphQL on both engines: availability per channel as API.md defines it,
stock levels, locations, and the reference-data mutations that feed them, including the bad
input each one refuses with a clear error while changing nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import GraphQLClient

LEVEL = "sku location { id } onHand reserved safetyStock inbound unsellable atp"
AVAILABILITY = f"sku atp onHand reserved levels {{ {LEVEL} }} sources {{ location {{ id }} fresh }}"
LOCATIONS = [
    {"id": "wh-1", "name": "Warehouse One", "kind": "WAREHOUSE", "shipEnabled": True,
     "latitude": 52.52, "longitude": 13.40},
    {"id": "store-1", "name": "Store One", "kind": "STORE", "pickupEnabled": True},
    {"id": "store-2", "name": "Store Two", "kind": "STORE"},  # neither ships nor offers pickup
    {"id": "vendor-1", "name": "Vendor One", "kind": "DROPSHIP_VENDOR", "shipEnabled": True},
]
UPSERT_LOCATION = "mutation($l: LocationInput!) { upsertLocation(input: $l) { id name } }"
UPSERT_SKU = "mutation($s: SkuInput!) { upsertSku(input: $s) { sku } }"
SAFETY = """mutation($sku: ID!, $loc: ID!, $q: Int!) {
  setSafetyStock(sku: $sku, locationId: $loc, quantity: $q) { safetyStock atp } }"""
RECORD = """mutation($m: [MovementInput!]!) {
  recordMovements(movements: $m) { eventId status error level { onHand atp } } }"""
AVAILABILITY_OF = f"""query($sku: ID!, $ch: Channel! = ONLINE) {{
  availability(sku: $sku, channel: $ch) {{ {AVAILABILITY} }} }}"""
_events = iter(range(1_000_000))


def receive(sku: str, loc: str, q: int, type: str = "RECEIVE") -> dict[str, Any]:
    return {"eventId": f"gq-{next(_events)}", "type": type, "sku": sku, "locationId": loc,
            "quantity": q}


@pytest.fixture
async def net(gql: GraphQLClient) -> GraphQLClient:
    """SKU-A: wh-1 10 on hand with safety stock 2, store-1 5 with 1 damaged, store-2 7,
    vendor-1 4. SKU-B: 1 at wh-1 under a safety stock of 5. SKU-C: stocked nowhere."""
    for loc in LOCATIONS:
        await gql.data(UPSERT_LOCATION, l=loc)
    for sku in ("SKU-A", "SKU-B", "SKU-C"):
        await gql.data(UPSERT_SKU, s={"sku": sku, "name": f"Product {sku}"})
    await gql.data(RECORD, m=[
        receive("SKU-A", "wh-1", 10), receive("SKU-A", "store-1", 5),
        receive("SKU-A", "store-2", 7), receive("SKU-A", "vendor-1", 4),
        receive("SKU-A", "store-1", 1, "DAMAGE"), receive("SKU-B", "wh-1", 1),
    ])
    await gql.data(SAFETY, sku="SKU-A", loc="wh-1", q=2)
    await gql.data(SAFETY, sku="SKU-B", loc="wh-1", q=5)
    return gql


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    """The one error of a refused request: a clear message, never an internal one."""
    [error] = body["errors"]
    assert "Unexpected error" not in error["message"], error
    return dict(error)


def by_location(availability: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    return {lv["location"]["id"]: (lv["onHand"], lv["safetyStock"], lv["unsellable"], lv["atp"])
            for lv in availability["levels"]}


async def test_online_availability_sums_the_locations_that_sell_online(net: GraphQLClient) -> None:
    a = (await net.data(AVAILABILITY_OF, sku="SKU-A"))["availability"]
    # store-2 neither ships nor offers pickup: its 7 units are not for sale online.
    assert by_location(a) == {"wh-1": (10, 2, 0, 8), "store-1": (5, 0, 1, 4),
                              "vendor-1": (4, 0, 0, 4)}
    assert (a["sku"], a["atp"], a["onHand"], a["reserved"]) == ("SKU-A", 8 + 4 + 4, 19, 0)
    assert a["sources"] == [{"location": {"id": "vendor-1"}, "fresh": True}]


async def test_store_channel_availability_counts_stores_only(net: GraphQLClient) -> None:
    a = (await net.data(AVAILABILITY_OF, sku="SKU-A", ch="STORE"))["availability"]
    assert by_location(a) == {"store-1": (5, 0, 1, 4), "store-2": (7, 0, 0, 7)}
    assert (a["atp"], a["onHand"], a["sources"]) == (11, 12, [])


async def test_safety_stock_above_on_hand_gives_zero_never_negative(net: GraphQLClient) -> None:
    a = (await net.data(AVAILABILITY_OF, sku="SKU-B"))["availability"]
    assert by_location(a) == {"wh-1": (1, 5, 0, 0)}
    assert a["atp"] == 0


async def test_availabilities_answer_in_the_order_asked(net: GraphQLClient) -> None:
    data = await net.data(
        f"query($s: [ID!]!) {{ availabilities(skus: $s) {{ {AVAILABILITY} }} }}",
        s=["SKU-C", "SKU-A", "SKU-B", "SKU-A"])
    found = [(a["sku"], a["atp"], len(a["levels"])) for a in data["availabilities"]]
    assert found == [("SKU-C", 0, 0), ("SKU-A", 16, 3), ("SKU-B", 0, 1), ("SKU-A", 16, 3)]


@pytest.mark.parametrize("query", [
    '{ availability(sku: "NOPE") { atp } }',
    '{ availabilities(skus: ["SKU-A", "NOPE"]) { atp } }',
])
async def test_an_unknown_sku_is_not_found(net: GraphQLClient, query: str) -> None:
    body = await net(query)
    error = error_of(body)
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert "NOPE" in error["message"]
    assert body["data"] is None


async def test_stock_level_of_one_sku_at_one_location(net: GraphQLClient) -> None:
    query = f"query($s: ID!, $l: ID!) {{ stockLevel(sku: $s, locationId: $l) {{ {LEVEL} }} }}"
    level = (await net.data(query, s="SKU-A", l="store-1"))["stockLevel"]
    assert level == {"sku": "SKU-A", "location": {"id": "store-1"}, "onHand": 5, "reserved": 0,
                     "safetyStock": 0, "inbound": 0, "unsellable": 1, "atp": 4}
    assert (await net.data(query, s="SKU-C", l="wh-1"))["stockLevel"] is None


async def test_locations_filtered_by_kind(net: GraphQLClient) -> None:
    query = "query($k: LocationKind) { locations(kind: $k) { id kind active } }"
    stores = (await net.data(query, k="STORE"))["locations"]
    assert [(s["id"], s["kind"]) for s in stores] == [("store-1", "STORE"), ("store-2", "STORE")]
    everything = (await net.data(query))["locations"]
    assert sorted(loc["id"] for loc in everything) == ["store-1", "store-2", "vendor-1", "wh-1"]


async def test_upsert_location_updates_in_place(net: GraphQLClient) -> None:
    await net.data(UPSERT_LOCATION, l={**LOCATIONS[2], "name": "Store Two (new)",
                                       "shipEnabled": True})
    a = (await net.data(AVAILABILITY_OF, sku="SKU-A"))["availability"]
    assert "store-2" in by_location(a)  # now it ships: its units sell online
    query = '{ locations(kind: STORE) { id name shipEnabled pickupEnabled } }'
    assert (await net.data(query))["locations"][1] == {
        "id": "store-2", "name": "Store Two (new)", "shipEnabled": True, "pickupEnabled": False}


async def test_availability_sees_locations_changed_since_it_last_read_them(
    net: GraphQLClient
) -> None:
    # The levels read shares one Location object per identical location row between reads:
    # a changed row must give the changed location, never the one read before.
    query = '{ availability(sku: "SKU-A") { levels { location { id name pickupEnabled } } } }'

    async def seen() -> dict[str, tuple[str, bool]]:
        levels = (await net.data(query))["availability"]["levels"]
        return {lv["location"]["id"]: (lv["location"]["name"], lv["location"]["pickupEnabled"])
                for lv in levels}

    assert await seen() == {"wh-1": ("Warehouse One", False), "store-1": ("Store One", True),
                            "vendor-1": ("Vendor One", False)}
    await net.data(UPSERT_LOCATION, l={**LOCATIONS[1], "name": "Store One (moved)"})
    await net.data(UPSERT_LOCATION, l={**LOCATIONS[2], "pickupEnabled": True})
    assert await seen() == {"wh-1": ("Warehouse One", False),
                            "store-1": ("Store One (moved)", True),
                            "store-2": ("Store Two", True), "vendor-1": ("Vendor One", False)}


async def test_availability_sees_levels_changed_since_it_last_read_them(
    net: GraphQLClient
) -> None:
    # Decoded level rows are shared between reads while the row is the same: a changed
    # level must be read as changed.
    before = (await net.data(AVAILABILITY_OF, sku="SKU-A"))["availability"]
    await net.data(RECORD, m=[receive("SKU-A", "wh-1", 3, "SALE")])
    await net.data(SAFETY, sku="SKU-A", loc="store-1", q=1)
    after = (await net.data(AVAILABILITY_OF, sku="SKU-A"))["availability"]
    assert by_location(before) == {"wh-1": (10, 2, 0, 8), "store-1": (5, 0, 1, 4),
                                   "vendor-1": (4, 0, 0, 4)}
    assert by_location(after) == {"wh-1": (7, 2, 0, 5), "store-1": (5, 1, 1, 3),
                                  "vendor-1": (4, 0, 0, 4)}
    assert (before["atp"], after["atp"]) == (16, 12)


async def test_a_sku_unknown_then_added_is_known(net: GraphQLClient) -> None:
    # Known SKUs are remembered (they are never deleted); unknown ones must not be.
    query = '{ availability(sku: "SKU-NEW") { atp levels { atp } } }'
    assert error_of(await net(query))["extensions"]["code"] == "NOT_FOUND"
    await net.data(UPSERT_SKU, s={"sku": "SKU-NEW", "name": "New"})
    assert (await net.data(query))["availability"] == {"atp": 0, "levels": []}


@pytest.mark.parametrize(("change", "field"), [
    ({"name": "  "}, "name"),
    ({"name": "n" * 201}, "name"),
    ({"latitude": 95.0, "longitude": 10.0}, "latitude"),
    ({"latitude": 10.0, "longitude": -181.0}, "longitude"),
    ({"latitude": None, "longitude": 10.0}, "latitude"),
    ({"id": " padded "}, "id"),
])
async def test_bad_location_is_refused_and_nothing_stored(
    net: GraphQLClient, change: dict[str, Any], field: str
) -> None:
    query = "{ locations { id name latitude longitude } }"
    before = await net.data(query)
    for base in ({**LOCATIONS[0]}, {"id": "wh-new", "name": "New", "kind": "WAREHOUSE"}):
        error = error_of(await net(UPSERT_LOCATION, l={**base, **change}))
        assert (error["extensions"]["code"], error["extensions"]["field"]) == (
            "BAD_USER_INPUT", field)
    assert await net.data(query) == before


async def test_upsert_sku_makes_it_known_with_nothing_in_stock(net: GraphQLClient) -> None:
    assert (await net.data(UPSERT_SKU, s={"sku": "SKU-NEW", "barcodes": ["4006381333931"]})) == {
        "upsertSku": {"sku": "SKU-NEW"}}
    a = (await net.data(AVAILABILITY_OF, sku="SKU-NEW"))["availability"]
    assert (a["atp"], a["levels"]) == (0, [])


@pytest.mark.parametrize(("sku", "field"), [
    ({"sku": ""}, "sku"),
    ({"sku": "S" * 201}, "sku"),
    ({"sku": "SKU-X", "name": "n" * 201}, "name"),
    ({"sku": "SKU-X", "barcodes": [""]}, "barcodes"),
])
async def test_bad_sku_is_refused_and_nothing_stored(
    net: GraphQLClient, sku: dict[str, Any], field: str
) -> None:
    error = error_of(await net(UPSERT_SKU, s=sku))
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", field)
    assert error_of(await net('{ availability(sku: "SKU-X") { atp } }'))["extensions"][
        "code"] == "NOT_FOUND"


async def test_safety_stock_lowers_atp_and_cannot_be_negative(net: GraphQLClient) -> None:
    assert (await net.data(SAFETY, sku="SKU-A", loc="store-2", q=3))["setSafetyStock"] == {
        "safetyStock": 3, "atp": 4}
    error = error_of(await net(SAFETY, sku="SKU-A", loc="store-2", q=-1))
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "BAD_USER_INPUT", "quantity")
    for sku, loc in (("NOPE", "store-2"), ("SKU-A", "nowhere")):
        assert error_of(await net(SAFETY, sku=sku, loc=loc, q=1))["extensions"][
            "code"] == "NOT_FOUND"
    a = (await net.data(AVAILABILITY_OF, sku="SKU-A", ch="STORE"))["availability"]
    assert by_location(a)["store-2"] == (7, 3, 0, 4)
