"""Reservation rules, no storage: what a reservation may ask for, when it lapses, which holds
are short when reality takes units away, and what a commit ships."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import InvalidInputError
from domain.location import Channel, Location, LocationKind
from domain.reservation import (
    Hold,
    LineRequest,
    Reservation,
    ReservationLimits,
    ReservationStatus,
    ReserveRequest,
    check_locations,
    check_replay,
    commit_effects,
    give_back,
    new_reservation,
    refuse_finish,
    shortfalls,
)
from domain.stock import Delta, StockLevel

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LIMITS = ReservationLimits(default_ttl_seconds=900, max_ttl_seconds=3600, max_lines=3)
WH = Location("wh-1", "Warehouse", LocationKind.WAREHOUSE)
BACKROOM = Location("store-9", "Store without pickup or shipping", LocationKind.STORE)


def request(*lines: tuple[str, str, int], key: str = "cart-1", ttl: int | None = None,
            channel: Channel = Channel.ONLINE) -> ReserveRequest:
    return ReserveRequest(key, [LineRequest(*x) for x in lines], ttl, channel)


def draft(*lines: tuple[str, str, int], **kw: object) -> Reservation:
    return new_reservation(request(*lines, **kw), "r-1", "router-7", NOW, LIMITS)  # type: ignore[arg-type]


def test_lines_are_held_in_one_lock_order_and_expire_after_the_default_ttl() -> None:
    made = draft(("SKU-B", "wh-1", 1), ("SKU-A", "wh-2", 2), ("SKU-A", "wh-1", 3))
    assert [(x.sku, x.location_id) for x in made.lines] == [
        ("SKU-A", "wh-1"), ("SKU-A", "wh-2"), ("SKU-B", "wh-1")]
    assert made.expires_at == NOW + timedelta(seconds=900)
    assert made.status is ReservationStatus.ACTIVE and made.actor == "router-7"


def test_the_same_lines_in_another_order_are_the_same_request() -> None:
    first = draft(("SKU-A", "wh-1", 1), ("SKU-B", "wh-1", 2))
    check_replay(first, draft(("SKU-B", "wh-1", 2), ("SKU-A", "wh-1", 1)))
    with pytest.raises(InvalidInputError) as refused:
        check_replay(first, draft(("SKU-A", "wh-1", 1), ("SKU-B", "wh-1", 3)))
    assert refused.value.field == "idempotencyKey"


@pytest.mark.parametrize(("lines", "kw", "field"), [
    ([("SKU-A", "wh-1", 0)], {}, "lines[0].quantity"),
    ([("SKU-A", "wh-1", -2)], {}, "lines[0].quantity"),
    ([("SKU-A", "wh-1", 1), ("SKU-A", "wh-1", 1)], {}, "lines[1]"),
    ([], {}, "lines"),
    ([("S", "wh-1", 1), ("T", "wh-1", 1), ("U", "wh-1", 1), ("V", "wh-1", 1)], {}, "lines"),
    ([("SKU-A", "wh-1", 1)], {"ttl": 0}, "ttlSeconds"),
    ([("SKU-A", "wh-1", 1)], {"ttl": 3601}, "ttlSeconds"),
    ([("SKU-A", "wh-1", 1)], {"key": " "}, "idempotencyKey"),
    ([("SKU-A", "wh-1", 1)], {"key": "k" * 201}, "idempotencyKey"),
])
def test_bad_requests_name_the_field(
    lines: list[tuple[str, str, int]], kw: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        draft(*lines, **kw)
    assert refused.value.field == field


def test_ttl_at_the_configured_maximum_is_accepted() -> None:
    assert draft(("SKU-A", "wh-1", 1), ttl=3600).expires_at == NOW + timedelta(hours=1)


def test_lines_must_be_at_locations_selling_on_the_channel() -> None:
    asked = request(("SKU-A", "wh-1", 1), ("SKU-A", "store-9", 1))
    made = new_reservation(asked, "r-1", "x", NOW, LIMITS)
    with pytest.raises(InvalidInputError, match="not selling on ONLINE") as refused:
        check_locations(made, asked, {"wh-1": WH, "store-9": BACKROOM})
    assert refused.value.field == "lines[1].locationId"
    with pytest.raises(InvalidInputError, match="inactive"):
        check_locations(made, asked, {"wh-1": replace(WH, active=False), "store-9": BACKROOM})
    with pytest.raises(InvalidInputError, match="unknown location 'store-9'"):
        check_locations(made, asked, {"wh-1": WH})
    in_store = request(("SKU-A", "store-9", 1), channel=Channel.STORE)
    check_locations(new_reservation(in_store, "r-2", "x", NOW, LIMITS), in_store,
                    {"store-9": BACKROOM})


def test_an_active_hold_lapses_at_expires_at() -> None:
    made = draft(("SKU-A", "wh-1", 1), ttl=60)
    assert made.status_at(NOW + timedelta(seconds=59)) is ReservationStatus.ACTIVE
    assert made.status_at(NOW + timedelta(seconds=60)) is ReservationStatus.EXPIRED
    done = replace(made, status=ReservationStatus.COMMITTED)
    assert done.status_at(NOW + timedelta(days=1)) is ReservationStatus.COMMITTED


def test_each_refusal_to_finish_says_why() -> None:
    made = draft(("SKU-A", "wh-1", 1), ttl=60)
    later = NOW + timedelta(seconds=61)
    assert "unknown reservation" in refuse_finish(None, "r-9", "release", NOW).message
    assert "expired at" in refuse_finish(made, "r-1", "commit", later).message
    released = replace(made, status=ReservationStatus.RELEASED)
    assert "already RELEASED; cannot commit" in refuse_finish(released, "r-1", "commit",
                                                              NOW).message
    assert refuse_finish(None, "r-9", "release", NOW).field == "id"


def test_newest_holds_are_short_first_when_sellable_units_no_longer_cover_them() -> None:
    newest_first = [Hold(3, 4), Hold(2, 5), Hold(1, 6)]  # 15 held
    assert shortfalls(15, newest_first) == {3: 0, 2: 0, 1: 0}
    assert shortfalls(12, newest_first) == {3: 3, 2: 0, 1: 0}
    assert shortfalls(5, newest_first) == {3: 4, 2: 5, 1: 1}
    assert shortfalls(0, newest_first) == {3: 4, 2: 5, 1: 6}
    assert shortfalls(-2, newest_first) == {3: 4, 2: 5, 1: 6}


def test_commit_ships_from_staged_bins_first_and_lowers_reserved() -> None:
    made = draft(("SKU-A", "wh-1", 5))
    level = StockLevel("SKU-A", "wh-1", on_hand=8, reserved=5)
    [effect] = commit_effects(made, {("SKU-A", "wh-1"): level},
                              {("SKU-A", "wh-1"): {"": 4, "PACKED": 2, "A-01": 2}})
    assert effect.delta == Delta(on_hand=-5, reserved=-5)
    assert effect.bins == {"PACKED": -2, "": -3}


def test_a_short_hold_cannot_ship() -> None:
    made = draft(("SKU-A", "wh-1", 5))
    covered = {("SKU-A", "wh-1"): StockLevel("SKU-A", "wh-1", on_hand=5, reserved=5)}
    short = replace(made, lines=(replace(made.lines[0], short_by=1),))
    with pytest.raises(InvalidInputError, match="short"):
        commit_effects(short, covered, {("SKU-A", "wh-1"): {"": 5}})
    damaged = {("SKU-A", "wh-1"): StockLevel("SKU-A", "wh-1", 5, 5, unsellable=1)}
    with pytest.raises(InvalidInputError, match="4 sellable"):
        commit_effects(made, damaged, {("SKU-A", "wh-1"): {"": 5}})


def test_released_holds_give_every_unit_back() -> None:
    made = draft(("SKU-A", "wh-1", 2), ("SKU-B", "wh-1", 1))
    assert [e.delta for e in give_back(made)] == [Delta(reserved=-2), Delta(reserved=-1)]
