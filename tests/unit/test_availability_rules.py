"""The ATP rule (domain/stock.py), which locations sell on which channel (domain/location.py)
and network availability (domain/availability.py), on plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.availability import (
    Freshness,
    LevelAt,
    SkuLevels,
    network_availability,
    sellable_now,
    sourced_levels,
)
from domain.location import Channel, Location, LocationKind, sells_on
from domain.source import SourceMode, SourceTerms
from domain.stock import Delta, StockLevel, atp

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
K = LocationKind


@pytest.mark.parametrize(
    ("on_hand", "reserved", "safety", "unsellable", "expected"),
    [
        (10, 0, 0, 0, 10),
        (10, 3, 0, 0, 7),
        (10, 3, 2, 0, 5),
        (10, 3, 2, 4, 1),
        (10, 3, 2, 5, 0),
        (10, 8, 5, 0, 0),  # never below zero
        (0, 0, 0, 0, 0),
    ],
)
def test_atp_is_on_hand_less_reserved_safety_and_unsellable_never_negative(
    on_hand: int, reserved: int, safety: int, unsellable: int, expected: int
) -> None:
    assert atp(on_hand, reserved, safety, unsellable) == expected
    level = StockLevel("S", "L", on_hand, reserved, safety, inbound=50, unsellable=unsellable)
    assert level.atp == expected  # inbound is not available yet


def test_a_level_applies_a_delta_to_the_ledgered_buckets_only() -> None:
    level = StockLevel("S", "L", on_hand=5, reserved=1, safety_stock=2, inbound=3)
    after = level.apply(Delta(on_hand=4, reserved=1, inbound=-3, unsellable=2), NOW)
    assert after == StockLevel("S", "L", 9, 2, 2, 0, 2, NOW)
    assert after.sellable == 7
    assert (Delta(1, 2, 3, 4) + Delta(-1, -2, -3, -4)).is_zero


def loc(kind: LocationKind, pickup: bool = False, ship: bool = False,
        active: bool = True, id: str = "x") -> Location:
    return Location(id, id, kind, pickup_enabled=pickup, ship_enabled=ship, active=active)


@pytest.mark.parametrize(
    ("location", "online", "store"),
    [
        (loc(K.WAREHOUSE), True, False),
        (loc(K.DROPSHIP_VENDOR), True, False),
        (loc(K.STORE), False, True),
        (loc(K.STORE, ship=True), True, True),
        (loc(K.STORE, pickup=True), True, True),
        (loc(K.WAREHOUSE, active=False), False, False),
        (loc(K.STORE, pickup=True, ship=True, active=False), False, False),
    ],
)
def test_which_locations_sell_on_which_channel(
    location: Location, online: bool, store: bool
) -> None:
    assert sells_on(location, Channel.ONLINE) is online
    assert sells_on(location, Channel.STORE) is store


WH = loc(K.WAREHOUSE, ship=True, id="wh")
SHOP = loc(K.STORE, pickup=True, id="shop")
BACKROOM = loc(K.STORE, id="backroom")  # neither ships nor offers pickup
VENDOR = loc(K.DROPSHIP_VENDOR, ship=True, id="vendor")
CLOSED = loc(K.WAREHOUSE, active=False, id="closed")


def at(location: Location, on_hand: int, reserved: int = 0, safety: int = 0,
       unsellable: int = 0) -> LevelAt:
    level = StockLevel("S", location.id, on_hand, reserved, safety, 0, unsellable, NOW)
    return LevelAt(level, location)


LEVELS = [at(WH, 10, reserved=2), at(SHOP, 5, safety=1), at(BACKROOM, 7),
          at(VENDOR, 4, unsellable=1), at(CLOSED, 100)]


def test_online_network_atp_sums_the_locations_that_sell_online() -> None:
    na = network_availability("S", LEVELS, Channel.ONLINE, NOW)
    assert [la.location.id for la in na.levels] == ["wh", "shop", "vendor"]
    assert (na.atp, na.on_hand, na.reserved) == (8 + 4 + 3, 10 + 5 + 4, 2)
    assert (na.sku, na.as_of) == ("S", NOW)


def test_store_channel_counts_stores_only() -> None:
    na = network_availability("S", LEVELS, Channel.STORE, NOW)
    assert [la.location.id for la in na.levels] == ["shop", "backroom"]
    assert na.atp == 4 + 7


def test_a_location_short_on_stock_adds_zero_not_a_negative() -> None:
    na = network_availability("S", [at(WH, 3, safety=5), at(SHOP, 2)], Channel.ONLINE, NOW)
    assert na.atp == 2


def test_dropship_vendors_report_their_freshness_as_sources() -> None:
    na = network_availability("S", LEVELS, Channel.ONLINE, NOW)
    assert [(s.location.id, s.fresh, s.as_of) for s in na.sources] == [("vendor", True, NOW)]
    assert network_availability("S", LEVELS, Channel.STORE, NOW).sources == []


def test_a_sku_stocked_nowhere_has_zero_availability() -> None:
    na = network_availability("S", [], Channel.ONLINE, NOW)
    assert (na.atp, na.on_hand, na.levels, na.sources) == (0, 0, [], [])


def test_network_availability_counts_exactly_what_sellable_now_allows() -> None:
    # network_availability asks sellable_now only of reported locations (a dropship vendor or
    # one with a source): every other kind of location, active or not, sourced or not, fresh
    # or stale, with or without a vendor max age, must be counted exactly when
    # sells_on and sellable_now both say so.
    terms = SourceTerms(SourceMode.PULL, timedelta(minutes=10), timedelta(milliseconds=300))
    places = [loc(kind, pickup=p, ship=s, active=a, id=f"{kind.value}-{p}-{s}-{a}-{src}")
              for kind in K for p in (False, True) for s in (False, True)
              for a in (False, True) for src in ("none", "fresh", "stale")]
    old = NOW - timedelta(hours=1)
    levels = [LevelAt(StockLevel("S", p.id, 3, updated_at=old), p) for p in places]
    for vendor_max_age in (None, timedelta(minutes=30), timedelta(hours=2)):
        freshness = Freshness(
            vendor_max_age=vendor_max_age,
            sources={p.id: terms for p in places if not p.id.endswith("none")},
            reported={("S", p.id): NOW if p.id.endswith("-fresh") else old for p in places})
        for channel in Channel:
            na = network_availability("S", levels, channel, NOW, freshness)
            expected = [la.location.id for la in levels if sells_on(la.location, channel)
                        and sellable_now(la.level, la.location, NOW, freshness)]
            assert [la.location.id for la in na.levels] == expected
            assert na.atp == 3 * len(expected)


def test_levels_given_again_answer_as_the_same_levels_read_anew() -> None:
    # A reader gives a read it kept as the same `SkuLevels`; what network_availability keeps
    # with them (per channel: which locations are reported, the sums over the others) must
    # change nothing: at any time, with any freshness, on any channel, with channel safety
    # stock, and whichever reported levels have gone stale since.
    terms = SourceTerms(SourceMode.PULL, timedelta(minutes=10), timedelta(milliseconds=300))
    places = [loc(kind, pickup=p, ship=s, active=a, id=f"{kind.value}-{p}-{s}-{a}-{src}")
              for kind in K for p in (False, True) for s in (False, True)
              for a in (False, True) for src in ("none", "pulled")]
    old = NOW - timedelta(hours=1)
    safety = ((Channel.ONLINE, 2),)
    plain = [LevelAt(StockLevel("S", p.id, 3 + n % 4, reserved=n % 2, updated_at=old,
                                channel_safety=safety if n % 3 == 0 else ()), p)
             for n, p in enumerate(places)]
    kept = SkuLevels(plain)
    pulled = {p.id: terms for p in places if p.id.endswith("pulled")}
    # Another mapping of sources, even an equal one, works the view out again.
    for sources, vendor_max_age in [(pulled, None), ({}, None), (dict(pulled), None),
                                    (pulled, timedelta(minutes=30))]:
        freshness = Freshness(vendor_max_age=vendor_max_age, sources=sources, reported={
            ("S", p.id): NOW - timedelta(minutes=n % 20) for n, p in enumerate(places)})
        for now in (NOW, NOW + timedelta(minutes=5), NOW + timedelta(hours=2)):
            for channel in Channel:
                want = network_availability("S", plain, channel, now, freshness)
                for _ in range(2):  # the first works the view out, the second takes it
                    got = network_availability("S", kept, channel, now, freshness)
                    assert (got.atp, got.on_hand, got.reserved) == \
                        (want.atp, want.on_hand, want.reserved)
                    assert got.levels == want.levels and got.sources == want.sources
                    assert sourced_levels(kept, freshness) == sourced_levels(plain, freshness)
