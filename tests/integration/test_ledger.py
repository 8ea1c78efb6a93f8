"""The movement ledger against real SQLite and PostgreSQL: effects, replays, bad input."""

from __future__ import annotations

import pytest

from domain.errors import InvalidInputError
from domain.movement import MovementStatus, MovementType
from resolvers.context import Services
from tests.support.network import build_network, mv, record

T = MovementType


@pytest.fixture
async def net(services: Services) -> Services:
    await build_network(services)
    return services


async def level(s: Services, sku: str, loc: str) -> tuple[int, int, int, int]:
    found = await s.reader.level(sku, loc)
    assert found is not None
    lv = found[0]
    return lv.on_hand, lv.reserved, lv.inbound, lv.unsellable


async def test_receive_then_sale_updates_on_hand_and_atp(net: Services) -> None:
    await record(net, mv(T.RECEIVE, "SKU-A", "store-1", 10))
    [sold] = await record(net, mv(T.SALE, "SKU-A", "store-1", 3))
    assert sold.status is MovementStatus.APPLIED
    assert sold.level is not None and (sold.level.on_hand, sold.level.atp) == (7, 7)
    assert await level(net, "SKU-A", "store-1") == (7, 0, 0, 0)


async def test_replayed_queue_changes_nothing_the_second_time(net: Services) -> None:
    queue = [mv(T.RECEIVE, "SKU-A", "wh-1", 5), mv(T.SALE, "SKU-A", "wh-1", 2)]
    first = await record(net, *queue)
    second = await record(net, *queue)
    assert [o.status for o in first] == [MovementStatus.APPLIED] * 2
    assert [o.status for o in second] == [MovementStatus.DUPLICATE] * 2
    assert await level(net, "SKU-A", "wh-1") == (3, 0, 0, 0)
    assert await net.reader.drift() == []


async def test_same_event_id_with_other_payload_is_rejected_as_conflict(net: Services) -> None:
    await record(net, mv(T.RECEIVE, "SKU-A", "wh-1", 5, event_id="scan-1"))
    [again] = await record(net, mv(T.RECEIVE, "SKU-A", "wh-1", 6, event_id="scan-1"))
    assert again.status is MovementStatus.REJECTED
    assert again.error is not None and "different payload" in again.error
    assert await level(net, "SKU-A", "wh-1") == (5, 0, 0, 0)


async def test_batch_answers_each_event_in_order(net: Services) -> None:
    outcomes = await record(
        net,
        mv(T.RECEIVE, "SKU-A", "wh-1", 4),
        mv(T.SHIP, "SKU-A", "wh-1", 9),
        mv(T.SHIP, "SKU-A", "wh-1", 4),
        mv(T.RECEIVE, "NOPE", "wh-1", 1),
    )
    assert [o.status for o in outcomes] == [
        MovementStatus.APPLIED, MovementStatus.REJECTED, MovementStatus.APPLIED,
        MovementStatus.REJECTED,
    ]
    assert "only 4 sellable" in (outcomes[1].error or "")
    assert "unknown sku" in (outcomes[3].error or "")
    assert await level(net, "SKU-A", "wh-1") == (0, 0, 0, 0)


async def test_transfer_goes_through_inbound(net: Services) -> None:
    await record(net, mv(T.RECEIVE, "SKU-B", "wh-1", 10))
    await record(net, mv(T.TRANSFER_OUT, "SKU-B", "wh-1", 4, to_location_id="store-1"))
    assert await level(net, "SKU-B", "wh-1") == (6, 0, 0, 0)
    assert await level(net, "SKU-B", "store-1") == (0, 0, 4, 0)
    await record(net, mv(T.TRANSFER_IN, "SKU-B", "store-1", 4))
    assert await level(net, "SKU-B", "store-1") == (4, 0, 0, 0)
    assert await net.reader.drift() == []


async def test_count_sets_total_and_damage_moves_to_unsellable(net: Services) -> None:
    await record(net, mv(T.RECEIVE, "SKU-C", "store-1", 10))
    await record(net, mv(T.DAMAGE, "SKU-C", "store-1", 2))
    found = await net.reader.level("SKU-C", "store-1")
    assert found is not None and found[0].atp == 8
    await record(net, mv(T.COUNT, "SKU-C", "store-1", 7))
    assert await level(net, "SKU-C", "store-1") == (7, 0, 0, 2)
    await record(net, mv(T.COUNT, "SKU-C", "store-1", 1))
    assert await level(net, "SKU-C", "store-1") == (1, 0, 0, 1)
    assert await net.reader.drift() == []


async def test_bin_moves_keep_the_total(net: Services) -> None:
    await record(net, mv(T.RECEIVE, "SKU-A", "wh-1", 10))
    moves = await record(
        net,
        mv(T.PUTAWAY, "SKU-A", "wh-1", 10, to_bin="A-01"),
        mv(T.PICK, "SKU-A", "wh-1", 3, bin="A-01"),
        mv(T.PACK, "SKU-A", "wh-1", 3, bin="PICKED"),
        mv(T.MOVE, "SKU-A", "wh-1", 20, bin="A-01", to_bin="B-02"),
        mv(T.SHIP, "SKU-A", "wh-1", 3),
    )
    assert [o.status for o in moves] == [MovementStatus.APPLIED] * 3 + [
        MovementStatus.REJECTED, MovementStatus.APPLIED]
    assert await level(net, "SKU-A", "wh-1") == (7, 0, 0, 0)
    assert await net.reader.drift() == []


@pytest.mark.parametrize(
    ("movement", "reason"),
    [
        (mv(T.RECEIVE, "SKU-A", "wh-1", 0), "must be positive"),
        (mv(T.SALE, "SKU-A", "wh-1", -2), "must be positive"),
        (mv(T.ADJUST, "SKU-A", "wh-1", 0), "non-zero"),
        (mv(T.COUNT, "SKU-A", "wh-1", -1), "cannot be negative"),
        (mv(T.RECEIVE, "SKU-A", "nowhere", 1), "unknown location"),
        (mv(T.SHIP, "SKU-A", "wh-1", 1), "only 0 sellable"),
        (mv(T.TRANSFER_OUT, "SKU-A", "wh-1", 1, to_location_id="wh-1"), "own location"),
        (mv(T.TRANSFER_OUT, "SKU-A", "wh-1", 1), "needs toLocationId"),
        (mv(T.ADJUST, "SKU-A", "wh-1", -1), "below zero"),
    ],
)
async def test_bad_movement_is_rejected_and_changes_nothing(
    net: Services, movement: object, reason: str
) -> None:
    [outcome] = await record(net, movement)  # type: ignore[arg-type]
    assert outcome.status is MovementStatus.REJECTED
    assert reason in (outcome.error or "")
    assert await net.reader.level("SKU-A", "wh-1") is None


async def test_batch_above_the_maximum_is_refused_whole(net: Services) -> None:
    too_many = [mv(T.RECEIVE, "SKU-A", "wh-1", 1) for _ in range(net.limits.max_batch + 1)]
    with pytest.raises(InvalidInputError, match="at most"):
        await record(net, *too_many)
    assert await net.reader.level("SKU-A", "wh-1") is None
