"""Rules for reported levels, without I/O: freshness, line checks, the breaker, the mapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.sources.breaker import CircuitBreaker
from adapters.sources.payload import items_of, read_line
from domain.availability import Freshness, LevelAt, network_availability, sellable_now
from domain.errors import InvalidInputError
from domain.location import Channel, Location, LocationKind
from domain.source import (
    FieldMapping,
    ReportedLevel,
    SourceMode,
    SourceTerms,
    SourceUnavailableError,
    VendorSource,
    check_reported,
    check_source,
    latest_lines,
)
from domain.stock import StockLevel

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
VENDOR = Location("v", "Vendor", LocationKind.DROPSHIP_VENDOR)
THREE_PL = Location("3pl", "3PL", LocationKind.WAREHOUSE)
WAREHOUSE = Location("wh", "Warehouse", LocationKind.WAREHOUSE)
TERMS = SourceTerms(SourceMode.PULL, timedelta(minutes=10), timedelta(milliseconds=300))


def level(loc: Location, on_hand: int = 5) -> StockLevel:
    return StockLevel("S", loc.id, on_hand=on_hand, updated_at=NOW - timedelta(days=30))


def test_a_sourced_level_is_sellable_only_within_its_max_age() -> None:
    fresh = Freshness(sources={"3pl": TERMS}, reported={("S", "3pl"): NOW - timedelta(minutes=9)})
    stale = Freshness(sources={"3pl": TERMS}, reported={("S", "3pl"): NOW - timedelta(minutes=11)})
    never = Freshness(sources={"3pl": TERMS})
    assert sellable_now(level(THREE_PL), THREE_PL, NOW, fresh)
    assert not sellable_now(level(THREE_PL), THREE_PL, NOW, stale)
    assert not sellable_now(level(THREE_PL), THREE_PL, NOW, never)
    # Recorded stock has no age limit, however old its last movement.
    assert sellable_now(level(WAREHOUSE), WAREHOUSE, NOW, stale)


def test_network_availability_leaves_stale_sources_out_and_says_why() -> None:
    freshness = Freshness(sources={"v": TERMS, "3pl": TERMS},
                          reported={("S", "v"): NOW, ("S", "3pl"): NOW - timedelta(hours=1)},
                          errors={"3pl": "timeout"})
    levels = [LevelAt(level(loc, q), loc) for loc, q in ((VENDOR, 2), (THREE_PL, 7),
                                                          (WAREHOUSE, 1))]
    na = network_availability("S", levels, Channel.ONLINE, NOW, freshness)
    assert na.atp == 3
    assert [(s.location.id, s.fresh, s.error) for s in na.sources] == [
        ("v", True, None), ("3pl", False, "timeout")]


@pytest.mark.parametrize(("line", "reason"), [
    (ReportedLevel("S", -1), "cannot be negative"),
    (ReportedLevel("S", 20_000_000), "beyond"),
    (ReportedLevel("X", 1), "unknown sku"),
    (ReportedLevel("S", 1, NOW + timedelta(hours=1)), "in the future"),
    (ReportedLevel("S", 1, datetime(2026, 11, 23, 11, 0)), "UTC offset"),
    (ReportedLevel("", 1), "1 to 200"),
])
def test_a_bad_line_is_named_and_explained(line: ReportedLevel, reason: str) -> None:
    found = check_reported(line, {"S"}, NOW, timedelta(minutes=5))
    assert found is not None and reason in found


def test_the_later_of_two_reports_for_a_sku_wins() -> None:
    kept, rejected = latest_lines([ReportedLevel("S", 1, NOW), ReportedLevel("S", 2, NOW -
                                   timedelta(minutes=1)), ReportedLevel("T", 3)])
    assert [(ln.sku, ln.available) for ln in kept] == [("S", 1), ("T", 3)]
    assert rejected == ["'S': reported twice; the earlier report was ignored"]


@pytest.mark.parametrize(("source", "field"), [
    (VendorSource("v", SourceMode.PULL, base_url="ftp://x"), "baseUrl"),
    (VendorSource("v", SourceMode.PULL, base_url="http://x", auth_header="K"), "authHeader"),
    (VendorSource("v", SourceMode.PUSH, max_age=timedelta(0)), "maxAgeSeconds"),
    (VendorSource("v", SourceMode.PUSH, mapping=FieldMapping(item_path="/levels")), "mapping"),
])
def test_a_bad_source_configuration_is_refused(source: VendorSource, field: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_source(source, is_vendor=True)
    assert refused.value.field == field


def test_only_a_vendor_location_pushes() -> None:
    with pytest.raises(InvalidInputError, match="DROPSHIP_VENDOR"):
        check_source(VendorSource("wh", SourceMode.PUSH), is_vendor=False)
    check_source(VendorSource("wh", SourceMode.PULL, base_url="https://3pl.example/api"),
                 is_vendor=False)


def test_the_breaker_opens_then_lets_one_trial_through_after_the_cooldown() -> None:
    clock = [0.0]
    breaker = CircuitBreaker(failures=2, cooldown=10.0, clock=lambda: clock[0])
    breaker.failed()
    assert breaker.state == "CLOSED" and breaker.allow()
    breaker.failed()
    assert breaker.state == "OPEN" and not breaker.allow()
    clock[0] = 10.0
    assert breaker.allow()  # the one trial
    assert not breaker.allow()  # no second one while it runs
    breaker.failed()
    assert breaker.state == "OPEN"
    clock[0] = 20.0
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.state == "CLOSED" and breaker.allow()


def test_lines_are_read_through_the_mapping() -> None:
    m = FieldMapping(sku_field="art", level_field="qty", as_of_field="at",
                     items_path="data.stock")
    body = {"data": {"stock": [{"art": "S", "qty": 4, "at": "2026-11-23T11:00:00Z"},
                               {"art": 17, "qty": 1}, {"art": "T", "qty": "4"},
                               {"art": "U", "qty": 1, "at": "yesterday"}]}}
    read = [read_line(item, m) for item in items_of(body, m)]
    assert read[0] == ReportedLevel("S", 4, datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
    assert read[1] == ReportedLevel("17", 1, None)
    assert isinstance(read[2], str) and "not an integer" in read[2]
    assert isinstance(read[3], str) and "not a timestamp" in read[3]
    with pytest.raises(SourceUnavailableError, match=r"no 'data\.stock' list"):
        items_of({"data": {}}, m)
