"""Replenishment on SQLite and PostgreSQL: a write that takes a location's position to its
reorder point raises one request in its own transaction; receiving against it closes it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from adapters.db.engine import Database
from app.container import build_services
from app.settings import Settings
from domain.events import LowStockRaised, ReplenishmentStatus, StockChanged
from domain.movement import MovementStatus, MovementType
from domain.replenishment import ReorderRule, ReplenishmentRequest
from domain.reservation import LineRequest, Reservation, ReserveRequest
from domain.webhook import DeliveryStatus
from resolvers.context import Services
from services import replenishment as use
from services import reservations
from tests.support.network import ADMIN, NOW, build_network, mv, record

OPEN, FULFILLED, CANCELLED = (ReplenishmentStatus.OPEN, ReplenishmentStatus.FULFILLED,
                              ReplenishmentStatus.CANCELLED)


class Recorder:
    """The services' publisher, as the broadcast one: changes, and lowStock alerts."""

    def __init__(self) -> None:
        self.changes: list[StockChanged] = []
        self.alerts: list[LowStockRaised] = []

    async def publish(self, changes: Sequence[StockChanged]) -> None:
        self.changes.extend(changes)

    async def publish_low_stock(self, alerts: Sequence[LowStockRaised]) -> None:
        self.alerts.extend(alerts)


@pytest.fixture
def published() -> Recorder:
    return Recorder()


@pytest.fixture
async def net(database: Database, settings: Settings, published: Recorder) -> Services:
    services = build_services(database, settings, publisher=published)
    await build_network(services)
    return services


async def rule(s: Services, sku: str = "SKU-A", loc: str = "store-1", point: int = 5,
               target: int = 30, **extra: Any) -> ReorderRule:
    return await use.set_reorder_rule(s.replenishment, ReorderRule(sku, loc, point, target,
                                                                   **extra), NOW)


async def requests(s: Services, status: ReplenishmentStatus | None = None
                   ) -> list[ReplenishmentRequest]:
    return await use.requests(s.replenishment, status, None, None, 100)


async def sell(s: Services, q: int, sku: str = "SKU-A", loc: str = "store-1") -> None:
    [outcome] = await record(s, mv(MovementType.SALE, sku, loc, q))
    assert outcome.status is MovementStatus.APPLIED, outcome.error


async def test_a_sale_to_the_reorder_point_raises_one_request_for_the_gap_to_target(
    net: Services, published: Recorder
) -> None:
    # Given 20 on hand at store-1 and a rule: reorder at 5, up to 30
    await record(net, mv(MovementType.RECEIVE, "SKU-A", "store-1", 20))
    await rule(net)
    # When a sale leaves 6, nothing is raised; when the next leaves 5 (the point), one is
    await sell(net, 14)
    assert await requests(net) == []
    await sell(net, 1)
    [request] = await requests(net)
    assert (request.sku, request.location_id, request.quantity, request.status,
            request.position) == ("SKU-A", "store-1", 25, OPEN, 5)
    # Then lowStock heard of it, after the commit, with the level that raised it
    [alert] = published.alerts
    assert (alert.request_id, alert.quantity, alert.level.on_hand) == (request.id, 25, 5)
    # And the purchasing system's delivery waits in the outbox, written with it
    [delivery] = await net.replenishment.outbox.deliveries(DeliveryStatus.PENDING, 10)
    assert delivery.idempotency_key == request.id
    assert json.loads(delivery.body)["request"]["quantity"] == 25


async def test_no_second_request_while_one_is_open(net: Services, published: Recorder) -> None:
    await record(net, mv(MovementType.RECEIVE, "SKU-A", "store-1", 10))
    await rule(net)
    await sell(net, 5)
    # When more sales take the position further down, in one batch and one by one
    await record(net, mv(MovementType.SALE, "SKU-A", "store-1", 1),
                 mv(MovementType.SALE, "SKU-A", "store-1", 1))
    await sell(net, 2)
    # Then the one OPEN request stays the only one, for what was due when it was raised
    [request] = await requests(net)
    assert (request.status, request.quantity) == (OPEN, 25)
    assert len(published.alerts) == 1


async def test_receiving_against_the_request_fulfils_it(net: Services) -> None:
    await record(net, mv(MovementType.RECEIVE, "SKU-A", "store-1", 6))
    await rule(net)
    await sell(net, 2)
    [request] = await requests(net, OPEN)
    # Given receipts that name it for another SKU, or name something else: it stays OPEN
    await record(net, mv(MovementType.RECEIVE, "SKU-B", "store-1", 3, reference=request.id),
                 mv(MovementType.RECEIVE, "SKU-A", "store-1", 1, reference="PO-778"))
    assert [r.status for r in await requests(net)] == [OPEN]
    # When the goods arrive with its id as the reference
    receipt = mv(MovementType.RECEIVE, "SKU-A", "store-1", 26, reference=request.id)
    await record(net, receipt)
    # Then it is FULFILLED by that receipt, and nothing new is open
    [closed] = await requests(net)
    assert (closed.status, closed.closed_by) == (FULFILLED, receipt.event_id)
    assert await requests(net, OPEN) == []


async def test_a_reservation_lowers_the_position_and_inbound_raises_it(net: Services) -> None:
    # Given 12 on hand at store-1, 4 of them sent on to store-2 (inbound there)
    await record(net, mv(MovementType.RECEIVE, "SKU-A", "store-1", 12),
                 mv(MovementType.TRANSFER_OUT, "SKU-A", "store-1", 4, to_location_id="store-2"))
    # store-2's position is 0 on hand + 4 inbound: above a point of 3; store-1's 8 above 5
    await rule(net, loc="store-2", point=3, target=10)
    await rule(net, point=5, target=20)
    assert await requests(net) == []
    # When an order holds 3 of store-1's 8 units
    held = await reservations.reserve(
        net.reservations, net.reader, net.publisher,
        ReserveRequest("hold-1", (LineRequest("SKU-A", "store-1", 3),)), ADMIN, NOW,
        net.reservation_limits)
    assert isinstance(held, Reservation)
    # Then the position 8 - 3 = 5 raised store-1's request, for 15
    [request] = await requests(net)
    assert (request.location_id, request.quantity, request.position) == ("store-1", 15, 5)


async def test_setting_a_rule_below_the_position_raises_at_once_and_fixed_quantity_is_asked(
    net: Services, published: Recorder
) -> None:
    await record(net, mv(MovementType.RECEIVE, "SKU-B", "wh-1", 3))
    await rule(net, sku="SKU-B", loc="wh-1", point=10, target=100, fixed_quantity=48,
               supplier="ACME Tools")
    [request] = await requests(net)
    assert (request.quantity, request.supplier, request.status) == (48, "ACME Tools", OPEN)
    assert [a.request_id for a in published.alerts] == [request.id]


async def test_a_transfer_rule_names_its_source_in_the_request(net: Services) -> None:
    await rule(net, sku="SKU-C", loc="store-2", point=2, target=12, source_location_id="wh-1")
    [request] = await requests(net)
    assert (request.source_location_id, request.quantity) == ("wh-1", 12)
    [delivery] = await net.replenishment.outbox.deliveries(None, 10)
    assert json.loads(delivery.body)["request"]["kind"] == "TRANSFER"


async def test_a_cancelled_request_is_closed_and_the_next_fall_raises_a_new_one(
    net: Services
) -> None:
    await record(net, mv(MovementType.RECEIVE, "SKU-A", "store-1", 10))
    await rule(net)
    await sell(net, 6)
    [first] = await requests(net)
    # When an admin cancels it
    cancelled = await use.cancel(net.replenishment, first.id, ADMIN, NOW + timedelta(hours=1))
    assert (cancelled.status, cancelled.closed_by) == (CANCELLED, ADMIN.name)
    # Then it cannot be cancelled again, and the next sale under the point raises a new one
    with pytest.raises(Exception, match="is CANCELLED; only an OPEN one"):
        await use.cancel(net.replenishment, first.id, ADMIN, NOW)
    await sell(net, 1)
    assert {(r.status, r.quantity) for r in await requests(net)} == {(OPEN, 27),
                                                                       (CANCELLED, 26)}
