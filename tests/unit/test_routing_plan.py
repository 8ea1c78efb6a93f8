"""Pickup options and fulfilment plans (domain/routing.py) on hand-built networks whose right
answers are known. Coordinates lie along the equator: 0.01 degree of longitude ~ 1.11 km."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.availability import Freshness
from domain.errors import InvalidInputError
from domain.geo import GeoPoint
from domain.location import Channel, Location, LocationKind
from domain.routing import (
    Candidate,
    FulfilmentPlan,
    LocationPolicy,
    OrderLine,
    check_lines,
    pickup_options,
    plan_route,
    shipping_sources,
    sources,
)
from domain.stock import StockLevel

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOME = GeoPoint(0, 0)
K = LocationKind


def place(id: str, km_east: float, kind: LocationKind = K.STORE, pickup: bool = True,
          ship: bool = True) -> Location:
    return Location(id, id, kind, 0.0, km_east / 111.195, pickup_enabled=pickup,
                    ship_enabled=ship)


def at(location: Location, stock: dict[str, int], safety: int = 0, shipments_today: int = 0,
       updated_at: datetime = NOW, **policy: float) -> Candidate:
    levels = tuple(StockLevel(sku, location.id, on_hand=q, safety_stock=safety,
                              updated_at=updated_at) for sku, q in stock.items())
    knobs = LocationPolicy(location.id, **policy)  # type: ignore[arg-type]
    return Candidate(location, levels, knobs, shipments_today)


def lines(**wanted: int) -> list[OrderLine]:
    return [OrderLine(sku, q) for sku, q in wanted.items()]


def route(order: list[OrderLine], *candidates: Candidate,
          freshness: Freshness = Freshness(), exact_max_lines: int = 8) -> FulfilmentPlan:
    found = sources(candidates, HOME, Channel.ONLINE, NOW, freshness)
    return plan_route(order, shipping_sources(candidates, found), exact_max_lines)


def summary(plan: FulfilmentPlan) -> list[tuple[str, dict[str, int]]]:
    return [(s.location.id, {ln.sku: ln.quantity for ln in s.lines}) for s in plan.shipments]


def test_one_shipment_from_afar_beats_two_from_nearby() -> None:
    far = at(place("far-wh", 300, K.WAREHOUSE), {"A": 1, "B": 1})
    plan = route(lines(A=1, B=1), at(place("near-a", 1), {"A": 5}),
                 at(place("near-b", 2), {"B": 5}), far)
    assert summary(plan) == [("far-wh", {"A": 1, "B": 1})]
    assert (plan.split_count, plan.unfulfilled, plan.exact) == (0, (), True)


def test_an_order_no_location_holds_whole_is_split_over_the_nearest_pair() -> None:
    plan = route(lines(A=2, B=1), at(place("s1", 5), {"A": 2}), at(place("s2", 3), {"B": 1}),
                 at(place("s3", 50), {"A": 9}), at(place("s4", 80), {"B": 9}))
    assert summary(plan) == [("s2", {"B": 1}), ("s1", {"A": 2})]
    assert plan.split_count == 1


def test_a_line_larger_than_any_one_location_is_split_by_units() -> None:
    plan = route(lines(A=5), at(place("s1", 1), {"A": 3}), at(place("s2", 2), {"A": 3}))
    assert summary(plan) == [("s1", {"A": 3}), ("s2", {"A": 2})]


def test_what_nobody_has_goes_to_unfulfilled_and_the_rest_still_ships() -> None:
    plan = route(lines(A=4, B=2, C=1), at(place("s1", 1), {"A": 3}))
    assert summary(plan) == [("s1", {"A": 3})]
    assert plan.unfulfilled == (OrderLine("A", 1), OrderLine("B", 2), OrderLine("C", 1))


def test_equal_distance_ties_go_to_lower_handling_cost_then_lower_priority() -> None:
    order = lines(A=1)
    cheap = at(place("cheap", 10), {"A": 1}, handling_cost=1.0, priority=5)
    dear = at(place("dear", 10), {"A": 1}, handling_cost=2.0, priority=0)
    assert summary(route(order, dear, cheap))[0][0] == "cheap"
    first = at(place("first", 10.07), {"A": 1}, priority=1)  # 40 m further: still a tie
    second = at(place("second", 10.03), {"A": 1}, priority=2)
    assert summary(route(order, second, first))[0][0] == "first"


def test_a_store_at_its_daily_capacity_is_not_used() -> None:
    order = lines(A=1)
    busy = at(place("busy", 1), {"A": 5}, shipments_today=3, daily_shipment_capacity=3)
    spare = at(place("spare", 1.5), {"A": 5}, shipments_today=2, daily_shipment_capacity=3)
    assert summary(route(order, busy, spare)) == [("spare", {"A": 1})]


def test_a_stale_dropship_vendor_is_not_used() -> None:
    order = lines(A=1)
    vendor = place("vendor", 1, K.DROPSHIP_VENDOR, pickup=False)
    stale = at(vendor, {"A": 9}, updated_at=NOW - timedelta(hours=3))
    wh = at(place("wh", 400, K.WAREHOUSE), {"A": 9})
    assert summary(route(order, stale, wh)) == [("vendor", {"A": 1})]
    fresh_for_an_hour = Freshness(vendor_max_age=timedelta(hours=1))
    assert summary(route(order, stale, wh, freshness=fresh_for_an_hour)) == [("wh", {"A": 1})]


def test_safety_stock_binds_what_a_location_may_promise() -> None:
    plan = route(lines(A=4), at(place("s1", 1), {"A": 5}, safety=3),
                 at(place("s2", 9), {"A": 2}))
    assert summary(plan) == [("s1", {"A": 2}), ("s2", {"A": 2})]


def test_a_channel_safety_stock_overrides_the_default_on_that_channel_only() -> None:
    level = StockLevel("A", "s1", on_hand=5, safety_stock=1,
                       channel_safety=((Channel.ONLINE, 4),))
    candidate = Candidate(place("s1", 1), (level,), LocationPolicy("s1"))
    [online] = sources([candidate], HOME, Channel.ONLINE, NOW)
    [walk_in] = sources([candidate], HOME, Channel.STORE, NOW)
    assert (online.available, walk_in.available) == ({"A": 1}, {"A": 4})


def test_locations_that_do_not_ship_are_not_planned() -> None:
    plan = route(lines(A=1), at(place("pickup-only", 1, ship=False), {"A": 5}),
                 at(place("wh", 20, K.WAREHOUSE, pickup=False), {"A": 5}))
    assert summary(plan) == [("wh", {"A": 1})]


def test_large_orders_are_planned_greedily_and_say_so() -> None:
    order = [OrderLine(f"S{n}", 1) for n in range(10)]
    everything = at(place("wh", 100, K.WAREHOUSE), {f"S{n}": 1 for n in range(10)})
    plan = route(order, everything, at(place("s", 1), {"S0": 1}), exact_max_lines=8)
    assert summary(plan) == [("wh", {f"S{n}": 1 for n in range(10)})]
    assert not plan.exact


def test_pickup_lists_complete_stores_first_then_partial_nearest_first() -> None:
    order = lines(A=2, B=1)
    candidates = [
        at(place("partial-near", 1), {"A": 5}),
        at(place("complete-far", 30), {"A": 2, "B": 1}),
        at(place("complete-mid", 20), {"A": 3, "B": 4}),
        at(place("no-pickup", 0.5, pickup=False), {"A": 9, "B": 9}),
        at(place("out-of-range", 60), {"A": 9, "B": 9}),
        at(place("short-safety", 2), {"A": 2, "B": 1}, safety=1),
    ]
    found = sources(candidates, HOME, Channel.ONLINE, NOW)
    options = pickup_options(order, found, radius_km=50, limit=10)
    assert [(o.location.id, o.complete) for o in options] == [
        ("complete-mid", True), ("complete-far", True), ("partial-near", False),
        ("short-safety", False)]
    assert [(a.sku, a.requested, a.available) for a in options[3].lines] == [
        ("A", 2, 1), ("B", 1, 0)]
    assert options[0].distance_km == pytest.approx(20, abs=0.01)
    assert [o.location.id for o in pickup_options(order, found, 50, limit=1)] == ["complete-mid"]


@pytest.mark.parametrize(
    ("order", "field"),
    [
        ([], "lines"),
        ([OrderLine("A", 1), OrderLine("A", 2)], "lines[1].sku"),
        ([OrderLine("A", 0)], "lines[0].quantity"),
        ([OrderLine("A", 1), OrderLine("B", -3)], "lines[1].quantity"),
        ([OrderLine(" ", 1)], "lines[0].sku"),
        ([OrderLine(f"S{n}", 1) for n in range(4)], "lines"),
    ],
)
def test_bad_order_lines_are_refused_naming_the_field(
    order: list[OrderLine], field: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_lines(order, max_lines=3)
    assert refused.value.field == field
