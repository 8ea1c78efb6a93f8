"""pickupOptions, routeOrder and the routing knobs against real SQLite and PostgreSQL, over
GraphQL, on a small network around Berlin whose right answers are known."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from adapters.db.engine import Database
from domain.errors import InvalidInputError
from domain.geo import GeoPoint
from domain.location import Channel, LocationKind
from domain.movement import MovementType
from domain.routing import OrderLine
from resolvers.context import Services
from services import catalog, routing
from tests.conftest import GraphQLClient
from tests.support.network import ADMIN, NOW, mv, record

K = LocationKind
HOME = {"latitude": 52.51, "longitude": 13.35}  # Berlin-Mitte
NETWORK = [  # id, kind, latitude, longitude, pickup, ship; distance from HOME
    ("wh-1", K.WAREHOUSE, 52.40, 13.60, False, True),  # ~21 km
    ("store-near", K.STORE, 52.50, 13.30, True, True),  # ~3.6 km
    ("store-mid", K.STORE, 52.45, 13.50, True, True),  # ~12 km
    ("store-noship", K.STORE, 52.52, 13.36, True, False),  # ~1.3 km, pickup only
    ("store-far", K.STORE, 53.55, 9.99, True, True),  # ~255 km (Hamburg)
    ("vendor-1", K.DROPSHIP_VENDOR, 52.60, 13.40, False, True),  # ~10 km
]
SKUS = ["SKU-A", "SKU-B", "SKU-C", "SKU-D"]

PICKUP = """query($lines: [OrderLineInput!]!, $near: GeoPointInput!, $radius: Float, $limit: Int) {
  pickupOptions(lines: $lines, near: $near, radiusKm: $radius, limit: $limit) {
    location { id } distanceKm complete lines { sku requested available } } }"""
ROUTE = """query($lines: [OrderLineInput!]!, $to: GeoPointInput!) {
  routeOrder(lines: $lines, shipTo: $to) {
    shipments { location { id } lines { sku quantity } distanceKm }
    unfulfilled { sku quantity } splitCount exact } }"""


@pytest.fixture
async def net(services: Services) -> Services:
    for id, kind, lat, lon, pickup, ship in NETWORK:
        await catalog.upsert_location(services.catalog, services.reader, catalog.LocationChange(
            id, id, kind, lat, lon, pickup_enabled=pickup, ship_enabled=ship), NOW)
    for sku in SKUS:
        await catalog.upsert_sku(services.catalog, sku, sku, None, NOW)
    return services


async def stock(s: Services, location: str, **units: int) -> None:
    await record(s, *(mv(MovementType.RECEIVE, sku.replace("_", "-"), location, q)
                      for sku, q in units.items()))


def order(**units: int) -> list[dict[str, Any]]:
    return [{"sku": sku.replace("_", "-"), "quantity": q} for sku, q in units.items()]


def shipments(plan: dict[str, Any]) -> list[tuple[str, dict[str, int]]]:
    return [(s["location"]["id"], {x["sku"]: x["quantity"] for x in s["lines"]})
            for s in plan["shipments"]]


async def test_pickup_lists_complete_stores_before_partial_ones_nearest_first(
    net: Services, gql: GraphQLClient
) -> None:
    await stock(net, "store-near", SKU_A=5)
    await stock(net, "store-mid", SKU_A=2, SKU_B=1)
    await stock(net, "store-noship", SKU_A=1, SKU_B=4)
    await stock(net, "store-far", SKU_A=9, SKU_B=9)
    await stock(net, "wh-1", SKU_A=50, SKU_B=50)
    data = await gql.data(PICKUP, lines=order(SKU_A=2, SKU_B=1), near=HOME)
    options = data["pickupOptions"]
    assert [(o["location"]["id"], o["complete"]) for o in options] == [
        ("store-mid", True), ("store-noship", False), ("store-near", False)]
    assert options[2]["lines"] == [{"sku": "SKU-A", "requested": 2, "available": 5},
                                   {"sku": "SKU-B", "requested": 1, "available": 0}]
    assert options[0]["distanceKm"] == pytest.approx(12.3, abs=0.5)
    limited = await gql.data(PICKUP, lines=order(SKU_A=2, SKU_B=1), near=HOME, radius=300,
                             limit=2)
    assert [o["location"]["id"] for o in limited["pickupOptions"]] == ["store-mid", "store-far"]


async def test_pickup_shows_atp_after_safety_stock_and_holds_never_raw_on_hand(
    net: Services, gql: GraphQLClient
) -> None:
    await stock(net, "store-near", SKU_A=5)
    await catalog.set_safety_stock(net.ledger, net.publisher, "SKU-A", "store-near", 2,
                                   ADMIN, NOW)
    held = await gql.data("""mutation { reserve(input: {idempotencyKey: "cart-1",
        lines: [{sku: "SKU-A", locationId: "store-near", quantity: 1}]}) { __typename } }""")
    assert held["reserve"]["__typename"] == "Reservation"
    data = await gql.data(PICKUP, lines=order(SKU_A=3), near=HOME)
    [option] = data["pickupOptions"]
    assert (option["complete"], option["lines"][0]["available"]) == (False, 2)


async def test_one_shipment_from_the_warehouse_beats_two_from_nearer_stores(
    net: Services, gql: GraphQLClient
) -> None:
    await stock(net, "store-near", SKU_A=5)
    await stock(net, "store-mid", SKU_B=5)
    await stock(net, "wh-1", SKU_A=1, SKU_B=1)
    plan = (await gql.data(ROUTE, lines=order(SKU_A=1, SKU_B=1), to=HOME))["routeOrder"]
    assert shipments(plan) == [("wh-1", {"SKU-A": 1, "SKU-B": 1})]
    assert (plan["splitCount"], plan["unfulfilled"], plan["exact"]) == (0, [], True)


async def test_an_order_split_when_no_location_holds_it_whole(
    net: Services, gql: GraphQLClient
) -> None:
    await stock(net, "store-near", SKU_A=5, SKU_C=1)
    await stock(net, "store-mid", SKU_B=5)
    await stock(net, "store-noship", SKU_A=5, SKU_B=5)  # nearest, but does not ship
    await stock(net, "store-far", SKU_A=9)
    plan = (await gql.data(ROUTE, lines=order(SKU_A=2, SKU_B=1, SKU_D=4), to=HOME))["routeOrder"]
    assert shipments(plan) == [("store-near", {"SKU-A": 2}), ("store-mid", {"SKU-B": 1})]
    assert plan["splitCount"] == 1
    assert plan["unfulfilled"] == [{"sku": "SKU-D", "quantity": 4}]


async def test_priority_breaks_a_tie_between_equally_distant_locations(
    net: Services, gql: GraphQLClient
) -> None:
    for id in ("twin-1", "twin-2"):
        await catalog.upsert_location(net.catalog, net.reader, catalog.LocationChange(
            id, id, K.STORE, 52.30, 13.35, pickup_enabled=True, ship_enabled=True), NOW)
        await stock(net, id, SKU_A=3)
    await gql.data('mutation { setLocationPolicy(locationId: "twin-1", priority: 5) '
                   '{ priority } }')
    plan = (await gql.data(ROUTE, lines=order(SKU_A=1), to=HOME))["routeOrder"]
    assert shipments(plan) == [("twin-2", {"SKU-A": 1})]
    await gql.data('mutation { setLocationPolicy(locationId: "twin-2", handlingCost: 2.5) '
                   '{ handlingCost } }')
    plan = (await gql.data(ROUTE, lines=order(SKU_A=1), to=HOME))["routeOrder"]
    assert shipments(plan) == [("twin-1", {"SKU-A": 1})]


async def test_turning_ship_from_store_off_takes_the_store_out_of_plans(
    net: Services, gql: GraphQLClient
) -> None:
    await stock(net, "store-near", SKU_A=5)
    await stock(net, "wh-1", SKU_A=5)
    data = await gql.data('mutation { setLocationPolicy(locationId: "store-near", '
                          'shipFromStore: false, dailyShipmentCapacity: 40) { shipFromStore '
                          'dailyShipmentCapacity priority handlingCost shipmentsToday '
                          'location { shipEnabled } } }')
    assert data["setLocationPolicy"] == {
        "shipFromStore": False, "dailyShipmentCapacity": 40, "priority": 0,
        "handlingCost": 0.0, "shipmentsToday": 0, "location": {"shipEnabled": False}}
    plan = (await gql.data(ROUTE, lines=order(SKU_A=1), to=HOME))["routeOrder"]
    assert shipments(plan) == [("wh-1", {"SKU-A": 1})]
    cleared = await gql.data('mutation { setLocationPolicy(locationId: "store-near", '
                             'dailyShipmentCapacity: null) { dailyShipmentCapacity } }')
    assert cleared["setLocationPolicy"]["dailyShipmentCapacity"] is None


async def test_channel_safety_stock_binds_online_plans_and_availability_only(
    net: Services, gql: GraphQLClient
) -> None:
    await stock(net, "store-near", SKU_A=5)
    await stock(net, "wh-1", SKU_A=5)
    set_online = await gql.data('mutation { setChannelSafetyStock(sku: "SKU-A", '
                                'locationId: "store-near", channel: ONLINE, quantity: 4) '
                                '{ quantity atp channel } }')
    assert set_online["setChannelSafetyStock"] == {"quantity": 4, "atp": 1, "channel": "ONLINE"}
    plan = (await gql.data(ROUTE, lines=order(SKU_A=2), to=HOME))["routeOrder"]
    assert shipments(plan) == [("wh-1", {"SKU-A": 2})]
    query = ('query($c: Channel!) { availability(sku: "SKU-A", channel: $c) '
             '{ atp levels { location { id } safetyStock atp } } }')
    online = (await gql.data(query, c="ONLINE"))["availability"]
    walk_in = (await gql.data(query, c="STORE"))["availability"]
    assert (online["atp"], walk_in["atp"]) == (1 + 5, 5)
    assert {"location": {"id": "store-near"}, "safetyStock": 4, "atp": 1} in online["levels"]


async def test_a_stale_vendor_level_is_not_routed(net: Services, gql: GraphQLClient) -> None:
    await stock(net, "wh-1", SKU_A=5)
    await gql.data('mutation { setVendorSource(input: {locationId: "vendor-1", mode: PUSH, '
                   'maxAgeSeconds: 3600}) { mode } }')
    push = ('mutation($at: DateTime!) { pushVendorLevels(vendorId: "vendor-1", '
            'levels: [{sku: "SKU-A", available: 7, asOf: $at}]) { accepted rejected } }')
    now = net.clock()
    await gql.data(push, at=(now - timedelta(hours=2)).isoformat())
    plan = (await gql.data(ROUTE, lines=order(SKU_A=1), to=HOME))["routeOrder"]
    assert shipments(plan) == [("wh-1", {"SKU-A": 1})]
    await gql.data(push, at=(now - timedelta(minutes=5)).isoformat())
    plan = (await gql.data(ROUTE, lines=order(SKU_A=1), to=HOME))["routeOrder"]
    assert shipments(plan) == [("vendor-1", {"SKU-A": 1})]


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": order(SKU_A=1) + order(SKU_A=2)}, "lines[1].sku"),
        ({"lines": order(SKU_A=0)}, "lines[0].quantity"),
        ({"lines": order(SKU_A=1, SKU_B=-1)}, "lines[1].quantity"),
        ({"lines": order(SKU_A=1, NOPE=1)}, "lines[1].sku"),
        ({"lines": [{"sku": f"S{n}", "quantity": 1} for n in range(201)]}, "lines"),
        ({"near": {"latitude": 91, "longitude": 0}}, "near.latitude"),
        ({"near": {"latitude": 0, "longitude": -180.5}}, "near.longitude"),
        ({"radius": -1}, "radiusKm"),
        ({"limit": 0}, "limit"),
    ],
)
async def test_bad_pickup_input_is_a_graphql_error_naming_the_field(
    net: Services, gql: GraphQLClient, variables: dict[str, Any], field: str
) -> None:
    body = await gql(PICKUP, **{"lines": order(SKU_A=1), "near": HOME, **variables})
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert body["data"] is None


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": order(SKU_C=1, NOPE=2)}, "lines[1].sku"),
        ({"to": {"latitude": -90.01, "longitude": 0}}, "shipTo.latitude"),
    ],
)
async def test_bad_route_input_is_a_graphql_error_naming_the_field(
    net: Services, gql: GraphQLClient, variables: dict[str, Any], field: str
) -> None:
    body = await gql(ROUTE, **{"lines": order(SKU_A=1), "to": HOME, **variables})
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_the_line_limit_is_configurable(net: Services) -> None:
    limits = routing.RoutingLimits(max_lines=2)
    lines = [OrderLine(s, 1) for s in SKUS[:3]]
    with pytest.raises(InvalidInputError, match="at most 2 lines"):
        await routing.route_order(net.routing, net.reader, lines, GeoPoint(52.5, 13.4),
                                  Channel.ONLINE, NOW, limits)


@contextmanager
def counted_selects(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    engine = db.reader.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_a_plan_reads_the_network_in_two_statements_whatever_its_size(
    net: Services, database: Database
) -> None:
    for id, *_ in NETWORK:
        await stock(net, id, SKU_A=3, SKU_B=3, SKU_C=3)
    lines = [OrderLine(s, 2) for s in SKUS[:3]]
    with counted_selects(database) as seen:
        plan = await routing.route_order(net.routing, net.reader, lines, GeoPoint(52.5, 13.4),
                                         Channel.ONLINE, NOW, net.routing_limits)
        await routing.pickup_options(net.routing, net.reader, lines, GeoPoint(52.5, 13.4), 50,
                                     10, Channel.ONLINE, NOW, net.routing_limits)
    assert len(plan.shipments) == 1 and plan.unfulfilled == ()
    assert len(seen) == 4  # per request: the levels, then their locations once each
    with counted_selects(database) as seen:
        plan = await routing.route_order(net.routing, net.reader, [OrderLine("SKU-D", 1)],
                                         GeoPoint(52.5, 13.4), Channel.ONLINE, NOW,
                                         net.routing_limits)
    assert plan.unfulfilled == (OrderLine("SKU-D", 1),)
    # A SKU stocked nowhere: no locations to read, one statement to tell it from an unknown one
    assert len(seen) == 2
