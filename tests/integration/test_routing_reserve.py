"""reserveRoute against real SQLite and PostgreSQL: plan and hold in one step, retries, daily
shipment capacity, orders that cannot be covered, bad input, and orders racing for the last
units (for real: concurrent calls, each in its own transaction)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest

from domain.errors import InvalidInputError
from domain.geo import BoundingBox, GeoPoint
from domain.location import Channel, LocationKind
from domain.movement import MovementType
from domain.reservation import LineRequest, Reservation, ReserveRequest, Shortage
from domain.route_hold import RouteRequest
from domain.routing import Network, OrderLine
from resolvers.context import Services
from services import catalog, reservations, route_holds
from services.routing import (
    PolicyChange,
    RoutingStore,
    location_policy,
    set_channel_safety_stock,
    set_location_policy,
)
from tests.conftest import GraphQLClient
from tests.support.network import ADMIN, NOW, mv, record

K = LocationKind
HOME = GeoPoint(52.51, 13.35)
NETWORK = [  # nearest first from HOME
    ("store-near", K.STORE, 52.50, 13.30),  # ~3.6 km
    ("store-mid", K.STORE, 52.45, 13.50),  # ~12 km
    ("wh-1", K.WAREHOUSE, 52.40, 13.60),  # ~21 km
]
RESERVE = """mutation($input: ReserveOrderInput!) { reserveRoute(input: $input) {
  __typename
  ... on Reservation { id lines { sku quantity location { id } } }
  ... on InsufficientStock { lines { sku locationId requested available } }
  ... on InvalidInput { field message } } }"""


@pytest.fixture
async def net(services: Services) -> Services:
    for id, kind, lat, lon in NETWORK:
        await catalog.upsert_location(services.catalog, services.reader, catalog.LocationChange(
            id, id, kind, lat, lon, pickup_enabled=kind is K.STORE, ship_enabled=True), NOW)
    for sku in ("SKU-A", "SKU-B"):
        await catalog.upsert_sku(services.catalog, sku, sku, None, NOW)
    return services


async def stock(s: Services, location: str, sku: str, quantity: int) -> None:
    await record(s, mv(MovementType.RECEIVE, sku, location, quantity))


async def reserve_route(s: Services, key: str, store: RoutingStore | None = None,
                        allow_partial: bool = False, **units: int) -> Reservation | Shortage:
    lines = [OrderLine(sku.replace("_", "-"), q) for sku, q in units.items()]
    request = RouteRequest(key, lines, HOME, allow_partial=allow_partial)
    return await route_holds.reserve_route(
        store or s.routing, s.route_holds, s.reader, s.publisher, request, ADMIN, s.clock(),
        s.routing_limits, s.reservation_limits)


def held(outcome: Reservation | Shortage) -> list[tuple[str, str, int]]:
    assert isinstance(outcome, Reservation), outcome
    return sorted((x.location_id, x.sku, x.quantity) for x in outcome.lines)


async def reserved(s: Services, sku: str, location: str) -> tuple[int, int]:
    found = await s.reader.level(sku, location)
    assert found is not None
    return found[0].reserved, found[0].atp


async def test_the_plan_is_held_in_one_step(net: Services) -> None:
    await stock(net, "store-near", "SKU-A", 2)
    await stock(net, "store-mid", "SKU-B", 1)
    outcome = await reserve_route(net, "order-1", SKU_A=2, SKU_B=1)
    assert held(outcome) == [("store-mid", "SKU-B", 1), ("store-near", "SKU-A", 2)]
    assert await reserved(net, "SKU-A", "store-near") == (2, 0)
    assert await net.reader.drift() == []


async def test_a_retry_with_the_same_key_returns_the_same_hold_and_holds_nothing_more(
    net: Services,
) -> None:
    await stock(net, "store-near", "SKU-A", 1)
    await stock(net, "wh-1", "SKU-A", 5)
    first = await reserve_route(net, "order-1", SKU_A=1)
    again = await reserve_route(net, "order-1", SKU_A=1)
    assert isinstance(first, Reservation) and isinstance(again, Reservation)
    assert again.id == first.id and held(again) == [("store-near", "SKU-A", 1)]
    assert await reserved(net, "SKU-A", "wh-1") == (0, 5)
    with pytest.raises(InvalidInputError) as reused:
        await reserve_route(net, "order-1", SKU_A=1, SKU_B=1)
    assert reused.value.field == "idempotencyKey"


async def test_a_store_at_its_daily_capacity_is_planned_around(
    net: Services, gql: GraphQLClient
) -> None:
    await stock(net, "store-near", "SKU-A", 10)
    await stock(net, "store-mid", "SKU-A", 10)
    await gql.data('mutation { setLocationPolicy(locationId: "store-near", '
                   'dailyShipmentCapacity: 2) { dailyShipmentCapacity } }')
    places = [held(await reserve_route(net, f"order-{n}", SKU_A=1))[0][0] for n in range(4)]
    assert places == ["store-near", "store-near", "store-mid", "store-mid"]
    policy = await gql.data('{ locationPolicy(locationId: "store-near") { shipmentsToday } }')
    assert policy["locationPolicy"]["shipmentsToday"] == 2


async def test_an_order_the_network_cannot_cover_holds_nothing_unless_partial_is_allowed(
    net: Services,
) -> None:
    await stock(net, "store-near", "SKU-A", 2)
    short = await reserve_route(net, "order-1", SKU_A=3, SKU_B=1)
    assert isinstance(short, Shortage)
    assert [(x.sku, x.location_id, x.requested, x.available) for x in short.lines] == [
        ("SKU-A", "*", 3, 2), ("SKU-B", "*", 1, 0)]
    assert await reserved(net, "SKU-A", "store-near") == (0, 2)
    partial = await reserve_route(net, "order-2", allow_partial=True, SKU_A=3, SKU_B=1)
    assert held(partial) == [("store-near", "SKU-A", 2)]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "SKU-A", "quantity": 0}]}, "lines[0].quantity"),
        ({"lines": [{"sku": "SKU-A", "quantity": 1}, {"sku": "SKU-A", "quantity": 1}]},
         "lines[1].sku"),
        ({"lines": [{"sku": "NOPE", "quantity": 1}]}, "lines[0].sku"),
        ({"shipTo": {"latitude": 0, "longitude": 200}}, "shipTo.longitude"),
        ({"ttlSeconds": 0}, "ttlSeconds"),
        ({"idempotencyKey": " "}, "idempotencyKey"),
    ],
)
async def test_bad_input_is_invalid_input_naming_the_field_and_holds_nothing(
    net: Services, gql: GraphQLClient, change: dict[str, Any], field: str
) -> None:
    await stock(net, "store-near", "SKU-A", 5)
    request = {"idempotencyKey": "order-1", "lines": [{"sku": "SKU-A", "quantity": 1}],
               "shipTo": {"latitude": HOME.latitude, "longitude": HOME.longitude}, **change}
    answer = (await gql.data(RESERVE, input=request))["reserveRoute"]
    assert (answer["__typename"], answer["field"]) == ("InvalidInput", field)
    assert await reserved(net, "SKU-A", "store-near") == (0, 5)


class TogetherStore:
    """The real store; the first `parties` plans wait until all of them have read the levels,
    so that every racer plans from the same picture before anyone holds."""

    def __init__(self, real: RoutingStore, parties: int) -> None:
        self.real = real
        self.barrier = asyncio.Barrier(parties)
        self.waiting = parties

    async def shipping_network(self, skus: Sequence[str], channel: Channel,
                               now: datetime) -> Network:
        found = await self.real.shipping_network(skus, channel, now)
        if self.waiting > 0:
            self.waiting -= 1
            await asyncio.wait_for(self.barrier.wait(), timeout=30)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def pickup_network(self, skus: Sequence[str], channel: Channel, box: BoundingBox,
                             now: datetime) -> Network:
        return await self.real.pickup_network(skus, channel, box, now)


async def test_two_orders_racing_for_the_last_units_never_get_the_same_units(
    net: Services,
) -> None:
    await stock(net, "store-near", "SKU-A", 2)
    await stock(net, "wh-1", "SKU-A", 2)
    race = TogetherStore(net.routing, parties=2)
    first, second = await asyncio.gather(reserve_route(net, "order-1", race, SKU_A=2),
                                         reserve_route(net, "order-2", race, SKU_A=2))
    assert sorted([held(first), held(second)]) == [
        [("store-near", "SKU-A", 2)], [("wh-1", "SKU-A", 2)]]
    assert await reserved(net, "SKU-A", "store-near") == (2, 0)
    assert await net.reader.drift() == []


async def test_the_loser_of_a_race_with_nowhere_else_to_go_gets_insufficient_stock(
    net: Services,
) -> None:
    await stock(net, "store-near", "SKU-A", 1)
    race = TogetherStore(net.routing, parties=2)
    outcomes = await asyncio.gather(reserve_route(net, "order-1", race, SKU_A=1),
                                    reserve_route(net, "order-2", race, SKU_A=1))
    assert sorted(type(o).__name__ for o in outcomes) == ["Reservation", "Shortage"]
    assert await reserved(net, "SKU-A", "store-near") == (1, 0)


async def test_many_orders_racing_never_oversell_nor_pass_a_capacity(net: Services) -> None:
    for id, *_ in NETWORK:
        await stock(net, id, "SKU-A", 4)
    await set_location_policy(net.routing, PolicyChange("store-mid", daily_shipment_capacity=2),
                              net.clock())
    outcomes = await asyncio.gather(*(reserve_route(net, f"order-{n}", SKU_A=1)
                                      for n in range(16)))
    places = [x.location_id for o in outcomes if isinstance(o, Reservation) for x in o.lines]
    assert places.count("store-near") <= 4 and places.count("wh-1") <= 4
    assert places.count("store-mid") <= 2
    assert len(places) + sum(isinstance(o, Shortage) for o in outcomes) == 16
    for id, *_ in NETWORK:
        assert (await reserved(net, "SKU-A", id))[0] == places.count(id)
    policy = await location_policy(net.routing, "store-mid", net.clock())
    assert policy.shipments_today == places.count("store-mid")
    assert await net.reader.drift() == []


async def test_a_channel_safety_stock_binds_holds_on_that_channel_only(net: Services) -> None:
    await stock(net, "store-near", "SKU-A", 5)
    await set_channel_safety_stock(net.routing, net.reader, "SKU-A", "store-near",
                                   Channel.ONLINE, 4, net.clock())

    async def hold(key: str, channel: Channel) -> Reservation | Shortage:
        request = ReserveRequest(key, [LineRequest("SKU-A", "store-near", 2)], None, channel)
        return await reservations.reserve(net.reservations, net.reader, net.publisher, request,
                                          ADMIN, net.clock(), net.reservation_limits)

    online = await hold("online-1", Channel.ONLINE)
    assert isinstance(online, Shortage)
    assert [(x.requested, x.available) for x in online.lines] == [(2, 1)]
    assert held(await reserve_route(net, "order-1", SKU_A=1)) == [("store-near", "SKU-A", 1)]
    assert isinstance(await reserve_route(net, "order-2", SKU_A=1), Shortage)
    assert isinstance(await hold("walk-in-1", Channel.STORE), Reservation)
