"""The movement rules of domain/movement.py, on plain values: what each movement does to a
level and its bins, in which order bins are drawn down, and what is refused before any state
is read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from domain.location import Location, LocationKind
from domain.movement import (
    MAX_QUANTITY,
    PACKED,
    PICKED,
    UNBINNED,
    Effect,
    Movement,
    MovementRejectedError,
    MovementType,
    check_shape,
    draw,
    effects,
)
from domain.stock import Delta, StockLevel

T = MovementType
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SKEW = timedelta(minutes=5)
BERLIN = timezone(timedelta(hours=2))
LOCATIONS = {
    "wh": Location("wh", "Warehouse", LocationKind.WAREHOUSE),
    "st": Location("st", "Store", LocationKind.STORE),
    "closed": Location("closed", "Closed store", LocationKind.STORE, active=False),
}


@dataclass
class View:
    """A StockView holding one level (SKU-1 at wh) with the given buckets and bins."""

    on_hand: int = 0
    unsellable: int = 0
    inbound: int = 0
    bin_qty: dict[str, int] = field(default_factory=dict)

    def location(self, location_id: str) -> Location | None:
        return LOCATIONS.get(location_id)

    def sku_exists(self, sku: str) -> bool:
        return sku == "SKU-1"

    def level(self, sku: str, location_id: str) -> StockLevel:
        if (sku, location_id) != ("SKU-1", "wh"):
            return StockLevel(sku, location_id)
        return StockLevel(sku, location_id, on_hand=self.on_hand, inbound=self.inbound,
                          unsellable=self.unsellable)

    def bins(self, sku: str, location_id: str) -> Mapping[str, int]:
        return self.bin_qty if (sku, location_id) == ("SKU-1", "wh") else {}

    def source_mode(self, location_id: str) -> None:
        return None  # every location here keeps its own ledger


def binned(bins: dict[str, int], unsellable: int = 0, inbound: int = 0) -> View:
    return View(sum(bins.values()), unsellable, inbound, bins)


def mv(type: MovementType, quantity: int, **extra: Any) -> Movement:
    base: dict[str, Any] = {"event_id": "ev-1", "sku": "SKU-1", "location_id": "wh"}
    return Movement(type=type, quantity=quantity, **{**base, **extra})


def one(m: Movement, view: View) -> Effect:
    [effect] = effects(m, view)
    assert (effect.sku, effect.location_id) == ("SKU-1", "wh")
    return effect


def refused(m: Movement, view: View, reason: str) -> None:
    with pytest.raises(MovementRejectedError, match=reason):
        effects(m, view)


# Every movement type's effect


@pytest.mark.parametrize("t", [T.RECEIVE, T.RETURN])
def test_receipt_and_return_add_on_hand_into_the_named_or_unbinned_bin(t: MovementType) -> None:
    assert one(mv(t, 5), View()) == Effect("SKU-1", "wh", Delta(on_hand=5), {UNBINNED: 5})
    assert one(mv(t, 5, bin="A-1"), View()).bins == {"A-1": 5}


def test_transfer_in_receives_and_clears_inbound_but_never_below_zero() -> None:
    assert one(mv(T.TRANSFER_IN, 4), View(inbound=10)).delta == Delta(on_hand=4, inbound=-4)
    # More arrives than was announced: the extra units count, inbound stops at zero.
    assert one(mv(T.TRANSFER_IN, 4), View(inbound=1)).delta == Delta(on_hand=4, inbound=-1)
    assert one(mv(T.TRANSFER_IN, 4), View()).delta == Delta(on_hand=4)


@pytest.mark.parametrize("t", [T.SHIP, T.SALE])
def test_ship_and_sale_take_sellable_units_out(t: MovementType) -> None:
    effect = one(mv(t, 3), binned({UNBINNED: 10}))
    assert effect.delta == Delta(on_hand=-3)
    assert effect.bins == {UNBINNED: -3}


@pytest.mark.parametrize("t", [T.SHIP, T.SALE, T.TRANSFER_OUT, T.DAMAGE])
def test_damaged_units_cannot_leave_or_be_damaged_again(t: MovementType) -> None:
    view = binned({UNBINNED: 10}, unsellable=8)
    extra = {"to_location_id": "st"} if t is T.TRANSFER_OUT else {}
    refused(mv(t, 3, **extra), view, "only 2 sellable units")
    assert effects(mv(t, 2, **extra), view)


def test_transfer_out_leaves_the_source_and_is_announced_inbound_at_the_destination() -> None:
    out, arriving = effects(mv(T.TRANSFER_OUT, 4, to_location_id="st"), binned({UNBINNED: 6}))
    assert out == Effect("SKU-1", "wh", Delta(on_hand=-4), {UNBINNED: -4})
    assert arriving == Effect("SKU-1", "st", Delta(inbound=4), {})


def test_damage_moves_units_to_unsellable_without_changing_on_hand_or_bins() -> None:
    assert one(mv(T.DAMAGE, 2), binned({"A-1": 5})) == Effect("SKU-1", "wh", Delta(unsellable=2))


def test_adjust_up_adds_to_the_bin_and_down_draws_from_it() -> None:
    assert one(mv(T.ADJUST, 3, bin="A-1"), View()).bins == {"A-1": 3}
    down = one(mv(T.ADJUST, -2), binned({UNBINNED: 1, "A-1": 5}))
    assert (down.delta, down.bins) == (Delta(on_hand=-2), {UNBINNED: -1, "A-1": -1})
    refused(mv(T.ADJUST, -6), binned({UNBINNED: 5}), "below zero")
    refused(mv(T.ADJUST, -2, bin="B-1"), binned({UNBINNED: 5, "B-1": 1}), "'B-1' holds only 1")


def test_adjust_down_past_the_sellable_units_writes_off_damaged_ones() -> None:
    view = binned({UNBINNED: 10}, unsellable=3)
    assert one(mv(T.ADJUST, -7), view).delta == Delta(on_hand=-7)
    assert one(mv(T.ADJUST, -9), view).delta == Delta(on_hand=-9, unsellable=-2)
    assert one(mv(T.ADJUST, -10), view).delta == Delta(on_hand=-10, unsellable=-3)


def test_count_without_bin_sets_the_location_total() -> None:
    view = binned({UNBINNED: 2, "A-1": 5})
    assert one(mv(T.COUNT, 10), view) == Effect("SKU-1", "wh", Delta(on_hand=3), {UNBINNED: 3})
    assert one(mv(T.COUNT, 4), view).bins == {UNBINNED: -2, "A-1": -1}
    assert one(mv(T.COUNT, 0), view).delta == Delta(on_hand=-7)


def test_count_of_a_bin_sets_that_bin_only() -> None:
    view = binned({UNBINNED: 2, "A-1": 5})
    assert one(mv(T.COUNT, 1, bin="A-1"), view) == Effect(
        "SKU-1", "wh", Delta(on_hand=-4), {"A-1": -4})
    assert one(mv(T.COUNT, 8, bin="B-9"), view).bins == {"B-9": 8}


def test_count_that_agrees_changes_nothing() -> None:
    assert one(mv(T.COUNT, 7), binned({"A-1": 7})) == Effect("SKU-1", "wh", Delta(), {})


def test_count_below_the_damaged_units_lowers_unsellable_with_it() -> None:
    assert one(mv(T.COUNT, 1), binned({UNBINNED: 10}, unsellable=4)).delta == Delta(
        on_hand=-9, unsellable=-3)


@pytest.mark.parametrize(
    ("t", "extra", "source", "target"),
    [
        (T.PUTAWAY, {"to_bin": "A-1"}, UNBINNED, "A-1"),
        (T.MOVE, {"bin": "A-1", "to_bin": "B-2"}, "A-1", "B-2"),
        (T.PICK, {"bin": "A-1"}, "A-1", PICKED),
        (T.PACK, {"bin": PICKED}, PICKED, PACKED),
        (T.PICK, {"bin": "A-1", "to_bin": "TOTE-7"}, "A-1", "TOTE-7"),
    ],
)
def test_bin_moves_keep_the_total_and_move_units_between_bins(
    t: MovementType, extra: dict[str, str], source: str, target: str
) -> None:
    view = binned({UNBINNED: 5, "A-1": 5, PICKED: 5})
    assert one(mv(t, 2, **extra), view) == Effect("SKU-1", "wh", Delta(), {source: -2, target: 2})
    refused(mv(t, 6, **extra), view, "holds only 5")


def test_bin_moves_may_move_damaged_units_too() -> None:
    effect = one(mv(T.MOVE, 3, bin="A-1", to_bin="QUARANTINE"), binned({"A-1": 3}, unsellable=3))
    assert effect.bins == {"A-1": -3, "QUARANTINE": 3}


def test_a_level_may_not_grow_past_the_largest_quantity_clients_can_read() -> None:
    view = binned({UNBINNED: MAX_QUANTITY - 1})
    assert one(mv(T.RETURN, 1), view).delta == Delta(on_hand=1)
    refused(mv(T.RECEIVE, 2), view, f"on hand at 'wh' would be {MAX_QUANTITY + 1}, too large")
    refused(mv(T.ADJUST, 2), view, "too large")
    refused(mv(T.COUNT, MAX_QUANTITY, bin="A-1"), view, "too large")


# Bin draw-down order


def test_a_sale_draws_loose_units_then_shelves_in_name_order_then_staged_ones() -> None:
    bins = {PACKED: 1, PICKED: 1, "B-2": 1, "A-1": 1, UNBINNED: 1}
    assert list(draw(bins, 5, None, T.SALE)) == [UNBINNED, "A-1", "B-2", PICKED, PACKED]
    assert draw(bins, 2, None, T.SALE) == {UNBINNED: -1, "A-1": -1}


def test_a_shipment_draws_packed_then_picked_units_first() -> None:
    bins = {PACKED: 2, PICKED: 2, "A-1": 2, UNBINNED: 2}
    assert draw(bins, 3, None, T.SHIP) == {PACKED: -2, PICKED: -1}
    assert list(draw(bins, 6, None, T.SHIP)) == [PACKED, PICKED, UNBINNED]
    # A shipment takes shelved units when nothing is staged.
    assert draw({"A-1": 3}, 2, None, T.SHIP) == {"A-1": -2}


def test_a_named_bin_is_the_only_one_drawn_from() -> None:
    assert draw({UNBINNED: 9, "A-1": 2}, 2, "A-1", T.SALE) == {"A-1": -2}
    with pytest.raises(MovementRejectedError, match="'A-1' holds only 2"):
        draw({UNBINNED: 9, "A-1": 2}, 3, "A-1", T.SALE)


def test_drawing_more_than_the_bins_hold_is_refused() -> None:
    with pytest.raises(MovementRejectedError, match="only 3 units are in bins, 4 needed"):
        draw({UNBINNED: 1, "A-1": 2}, 4, None, T.SALE)


# References: known SKU, known and active locations


@pytest.mark.parametrize(
    ("m", "reason"),
    [
        (mv(T.RECEIVE, 1, sku="NOPE"), "unknown sku 'NOPE'"),
        (mv(T.RECEIVE, 1, location_id="nowhere"), "unknown location 'nowhere'"),
        (mv(T.RECEIVE, 1, location_id="closed"), "'closed' is inactive"),
        (mv(T.TRANSFER_OUT, 1, to_location_id="nowhere"), "unknown location 'nowhere'"),
        (mv(T.TRANSFER_OUT, 1, to_location_id="closed"), "'closed' is inactive"),
    ],
)
def test_unknown_or_inactive_references_are_refused(m: Movement, reason: str) -> None:
    refused(m, binned({UNBINNED: 5}), reason)


# check_shape: refusals that need no state


@pytest.mark.parametrize(
    ("m", "reason"),
    [
        (mv(T.RECEIVE, 1, event_id="  "), "eventId must not be empty"),
        (mv(T.RECEIVE, 1, event_id="e" * 201), "eventId is longer than 200"),
        (mv(T.RECEIVE, 1, sku="s" * 201), "sku is longer than 200"),
        (mv(T.RECEIVE, 1, reference="r" * 201), "reference is longer than 200"),
        (mv(T.RECEIVE, 1, device_id="d" * 201), "deviceId is longer than 200"),
        (mv(T.RECEIVE, 0), "RECEIVE quantity must be positive, got 0"),
        (mv(T.SALE, -1), "SALE quantity must be positive, got -1"),
        (mv(T.MOVE, 0, bin="A", to_bin="B"), "must be positive"),
        (mv(T.ADJUST, 0), "non-zero signed change"),
        (mv(T.COUNT, -1), "cannot be negative"),
        (mv(T.TRANSFER_OUT, 1), "needs toLocationId"),
        (mv(T.TRANSFER_OUT, 1, to_location_id="wh"), "its own location"),
        (mv(T.RECEIVE, 1, to_location_id="st"), "only for TRANSFER_OUT, not RECEIVE"),
        (mv(T.PUTAWAY, 1), "PUTAWAY needs toBin"),
        (mv(T.MOVE, 1, bin="A"), "MOVE needs toBin"),
        (mv(T.MOVE, 1, bin="A", to_bin="A"), "source and destination bin are the same"),
        (mv(T.PICK, 1, bin=PICKED), "source and destination bin are the same"),
        (mv(T.RECEIVE, 1, occurred_at=datetime(2026, 11, 23, 11)), "needs a UTC offset"),
        (mv(T.RECEIVE, 1, occurred_at=NOW + SKEW + timedelta(seconds=1)), "in the future"),
    ],
)
def test_check_shape_refuses(m: Movement, reason: str) -> None:
    with pytest.raises(MovementRejectedError, match=reason):
        check_shape(m, NOW, SKEW)


@pytest.mark.parametrize(
    "m",
    [
        mv(T.COUNT, 0),
        mv(T.ADJUST, -3),
        mv(T.RECEIVE, 1, occurred_at=NOW + SKEW),
        mv(T.RECEIVE, 1, occurred_at=datetime(2026, 11, 23, 14, tzinfo=BERLIN)),
        mv(T.PICK, 1),
        mv(T.TRANSFER_OUT, 1, to_location_id="st"),
        mv(T.RECEIVE, 1, event_id="e" * 200),
    ],
)
def test_check_shape_accepts(m: Movement) -> None:
    check_shape(m, NOW, SKEW)


def test_fingerprint_tells_a_replay_from_a_conflicting_payload() -> None:
    assert mv(T.RECEIVE, 2).fingerprint() == mv(T.RECEIVE, 2).fingerprint()
    assert mv(T.RECEIVE, 2).fingerprint() != mv(T.RECEIVE, 3).fingerprint()
    assert mv(T.RECEIVE, 2).fingerprint() != mv(T.RECEIVE, 2, bin="A").fingerprint()
