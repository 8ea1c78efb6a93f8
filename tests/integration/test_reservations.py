"""Reservations against real SQLite and PostgreSQL: holds, all or nothing, idempotent retries,
release and commit, expiry at read time and by sweepers, and reality winning over promises."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.db import tables as t
from adapters.db.engine import Database
from adapters.db.group_commit import GroupCommit
from adapters.db.reservations import SqlAlchemyReservations
from app.container import build_services
from app.main import create_app
from app.settings import Settings
from domain.availability import NetworkAvailability
from domain.errors import InvalidInputError
from domain.events import StockChanged
from domain.location import Channel
from domain.movement import MovementType
from domain.replenishment import ReorderRule
from domain.reservation import (
    LineRequest,
    Reservation,
    ReservationStatus,
    ReserveRequest,
    Shortage,
)
from resolvers.context import Services
from services import replenishment, reservations, routing
from services.availability import availabilities
from services.movements import record_movements
from tests.conftest import GraphQLClient
from tests.support.network import ADMIN, NOW, build_network, mv

T = MovementType


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Recorder:
    changes: list[StockChanged] = field(default_factory=list)

    async def publish(self, changes: Sequence[StockChanged]) -> None:
        self.changes.extend(changes)


@dataclass
class Net:
    s: Services
    clock: Clock
    published: Recorder
    db: Database

    async def reserve(self, key: str, *lines: tuple[str, str, int], ttl: int | None = None,
                      channel: Channel = Channel.ONLINE) -> Reservation | Shortage:
        request = ReserveRequest(key, [LineRequest(*x) for x in lines], ttl, channel, "order-1")
        return await reservations.reserve(self.s.reservations, self.s.reader, self.s.publisher,
                                          request, ADMIN, self.clock(), self.s.reservation_limits)

    async def held(self, key: str, *lines: tuple[str, str, int], ttl: int | None = None
                   ) -> Reservation:
        found = await self.reserve(key, *lines, ttl=ttl)
        assert isinstance(found, Reservation), found
        return found

    async def move(self, *movements: object) -> None:
        await record_movements(self.s.ledger, self.s.publisher, list(movements),  # type: ignore[arg-type]
                               ADMIN, self.clock(), self.s.limits, holds=self.s.reservations)

    async def level(self, sku: str, loc: str) -> tuple[int, int, int]:
        """(onHand, reserved, atp) as clients read them."""
        found = await self.s.reader.level(sku, loc)
        assert found is not None
        return found[0].on_hand, found[0].reserved, found[0].atp

    async def release(self, rid: str) -> Reservation:
        return await reservations.release(self.s.reservations, self.s.publisher, rid, ADMIN,
                                          self.clock())

    async def commit(self, rid: str) -> Reservation:
        return await reservations.commit(self.s.reservations, self.s.publisher, rid, ADMIN,
                                         self.clock())

    async def ledger(self) -> list[tuple[str, str | None, int, int]]:
        e = t.ledger_entry.c
        async with self.db.reader.connect() as conn:
            rows = await conn.execute(select(e.cause, e.source_id, e.d_on_hand, e.d_reserved)
                                      .order_by(e.id))
            return [tuple(r) for r in rows]  # type: ignore[misc]


@pytest.fixture
async def net(database: Database, settings: Settings) -> Net:
    clock, published = Clock(), Recorder()
    s = build_services(database, settings, publisher=published, clock=clock)
    await build_network(s)
    n = Net(s, clock, published, database)
    await n.move(mv(T.RECEIVE, "SKU-A", "wh-1", 10), mv(T.RECEIVE, "SKU-B", "wh-1", 3),
                 mv(T.RECEIVE, "SKU-A", "store-1", 10))
    published.changes.clear()
    return n


async def test_reservation_holds_units_through_ledger_entries(net: Net) -> None:
    held = await net.held("cart-1", ("SKU-A", "wh-1", 4), ("SKU-B", "wh-1", 1))
    assert held.status is ReservationStatus.ACTIVE and held.actor == ADMIN.name
    assert held.expires_at == NOW + timedelta(seconds=900)
    assert await net.level("SKU-A", "wh-1") == (10, 4, 6)
    assert await net.level("SKU-B", "wh-1") == (3, 1, 2)
    assert (await net.ledger())[-2:] == [("RESERVE", held.id, 0, 4), ("RESERVE", held.id, 0, 1)]
    assert [c.cause for c in net.published.changes] == ["RESERVE", "RESERVE"]
    assert net.published.changes[0].level.reserved == 4
    assert await net.s.reader.drift() == []


async def test_short_line_holds_nothing_and_reports_each_short_line(net: Net) -> None:
    before = await net.ledger()
    short = await net.reserve("cart-2", ("SKU-A", "wh-1", 4), ("SKU-B", "wh-1", 5),
                              ("SKU-A", "store-1", 11))
    assert isinstance(short, Shortage)
    assert {(x.sku, x.location_id, x.requested, x.available) for x in short.lines} == {
        ("SKU-B", "wh-1", 5, 3), ("SKU-A", "store-1", 11, 10)}
    assert await net.level("SKU-A", "wh-1") == (10, 0, 10)
    assert await net.ledger() == before and net.published.changes == []
    # The key was not used up: once stock arrives, the same request holds.
    await net.move(mv(T.RECEIVE, "SKU-B", "wh-1", 2), mv(T.RECEIVE, "SKU-A", "store-1", 1))
    assert isinstance(await net.reserve("cart-2", ("SKU-A", "wh-1", 4), ("SKU-B", "wh-1", 5),
                                        ("SKU-A", "store-1", 11)), Reservation)


async def test_never_stocked_level_is_short_with_nothing_available(net: Net) -> None:
    short = await net.reserve("cart-3", ("SKU-C", "wh-1", 1))
    assert isinstance(short, Shortage) and short.lines[0].available == 0


async def test_retried_request_returns_the_same_reservation_and_holds_nothing_more(
    net: Net,
) -> None:
    first = await net.held("cart-4", ("SKU-A", "wh-1", 2), ("SKU-B", "wh-1", 1))
    again = await net.held("cart-4", ("SKU-B", "wh-1", 1), ("SKU-A", "wh-1", 2))
    assert again.id == first.id
    assert await net.level("SKU-A", "wh-1") == (10, 2, 8)
    with pytest.raises(InvalidInputError) as refused:
        await net.reserve("cart-4", ("SKU-A", "wh-1", 3))
    assert refused.value.field == "idempotencyKey"
    assert await net.level("SKU-A", "wh-1") == (10, 2, 8)


async def test_concurrent_retries_of_one_key_hold_once(net: Net) -> None:
    answers = await asyncio.gather(*(net.reserve("cart-5", ("SKU-A", "wh-1", 1))
                                     for _ in range(10)))
    assert len({a.id for a in answers if isinstance(a, Reservation)}) == 1
    assert await net.level("SKU-A", "wh-1") == (10, 1, 9)


def _groups(net: Net) -> GroupCommit[Any, Any]:
    assert isinstance(net.s.reservations, SqlAlchemyReservations)
    return net.s.reservations.groups


async def _answers(*pending: Awaitable[Reservation | Shortage]
                   ) -> list[Reservation | Shortage | BaseException]:
    return await asyncio.gather(*pending, return_exceptions=True)


async def test_reservations_arriving_together_are_decided_in_order_each_all_or_nothing(
    net: Net,
) -> None:
    retried = await net.held("cart-g0", ("SKU-A", "store-1", 1))
    before = len(await net.ledger())
    first, both, last, bad, again, big = await _answers(
        net.reserve("cart-g1", ("SKU-B", "wh-1", 2)),
        net.reserve("cart-g2", ("SKU-A", "wh-1", 1), ("SKU-B", "wh-1", 2)),  # 1 B left: none
        net.reserve("cart-g3", ("SKU-B", "wh-1", 1)),
        net.reserve("cart-g4", ("SKU-A", "wh-1", 1), ("SKU-A", "nowhere", 1)),
        net.reserve("cart-g0", ("SKU-A", "store-1", 1)),
        net.reserve("cart-g5", ("SKU-A", "wh-1", 11)),
    )
    assert _groups(net).largest == 6  # they were held together, in one transaction
    assert isinstance(first, Reservation) and isinstance(last, Reservation)
    assert isinstance(both, Shortage)
    assert [(x.sku, x.requested, x.available) for x in both.lines] == [("SKU-B", 2, 1)]
    assert isinstance(bad, InvalidInputError) and bad.field == "lines[1].locationId"
    assert isinstance(again, Reservation) and again.id == retried.id
    assert isinstance(big, Shortage) and big.lines[0].available == 10
    assert await net.level("SKU-B", "wh-1") == (3, 3, 0)
    assert await net.level("SKU-A", "wh-1") == (10, 0, 10)
    assert await net.level("SKU-A", "store-1") == (10, 1, 9)
    assert (await net.ledger())[before:] == [("RESERVE", first.id, 0, 2),
                                            ("RESERVE", last.id, 0, 1)]
    r = t.reservation.c
    async with net.db.reader.connect() as conn:
        keys = set((await conn.execute(select(r.idempotency_key))).scalars())
    assert keys == {"cart-g0", "cart-g1", "cart-g3"}  # refused ones left no row
    assert [(c.level.reserved, c.cause) for c in net.published.changes[-2:]] == [
        (2, "RESERVE"), (3, "RESERVE")]
    assert await net.s.reader.drift() == []


async def test_a_group_of_refused_callers_leaves_no_row(net: Net) -> None:
    before = await net.ledger()
    answers = await _answers(net.reserve("cart-x1", ("SKU-A", "nowhere", 1)),
                             net.reserve("cart-x2", ("SKU-A", "store-2", 1)))
    assert _groups(net).largest == 2
    assert [type(a) for a in answers] == [InvalidInputError] * 2
    r = t.reservation.c
    async with net.db.reader.connect() as conn:
        assert (await conn.execute(select(r.idempotency_key))).all() == []
    assert await net.ledger() == before


async def test_a_group_gives_back_lapsed_holds_in_its_way(net: Net) -> None:
    old = await net.held("cart-h0", ("SKU-B", "wh-1", 3), ttl=1)
    net.clock.advance(1)
    answers = await _answers(*(net.reserve(f"cart-h{k}", ("SKU-B", "wh-1", 1))
                               for k in range(1, 5)))
    assert _groups(net).largest == 4
    assert [type(a) for a in answers] == [Reservation] * 3 + [Shortage]
    found = await net.s.reservations.get(old.id)
    assert found is not None and found.status is ReservationStatus.EXPIRED
    assert await net.level("SKU-B", "wh-1") == (3, 3, 0)
    assert await net.s.reader.drift() == []


async def test_a_group_weighs_channel_safety_and_raises_replenishment(net: Net) -> None:
    # store-1 holds 10 of SKU-A; online keeps 6 of them back; reorder at 5, up to 20
    await routing.set_channel_safety_stock(net.s.routing, net.s.reader, "SKU-A", "store-1",
                                           Channel.ONLINE, 6, NOW)
    await replenishment.set_reorder_rule(
        net.s.replenishment, ReorderRule("SKU-A", "store-1", 5, 20), NOW)
    online, in_store, more = await _answers(
        net.reserve("cart-c1", ("SKU-A", "store-1", 5)),  # online sees 4
        net.reserve("cart-c2", ("SKU-A", "store-1", 5), channel=Channel.STORE),
        net.reserve("cart-c3", ("SKU-A", "store-1", 1), channel=Channel.STORE),
    )
    assert _groups(net).largest == 3
    assert isinstance(online, Shortage) and online.lines[0].available == 4
    assert isinstance(in_store, Reservation) and isinstance(more, Reservation)
    assert await net.level("SKU-A", "store-1") == (10, 6, 4)
    # the group left the position at 4: one request, for the gap to 20, on the last change
    [request] = await replenishment.requests(net.s.replenishment, None, "SKU-A", None, 10)
    assert (request.location_id, request.quantity, request.position) == ("store-1", 16, 4)
    raised = [c for c in net.published.changes if c.raised is not None]
    assert [(c.level.reserved, c.raised.request_id) for c in raised if c.raised] == [
        (6, request.id)]


async def test_one_key_twice_in_a_crowd_holds_once(net: Net) -> None:
    answers = await _answers(*(net.reserve(k, ("SKU-B", "wh-1", 1))
                               for k in ("cart-k1", "cart-k2", "cart-k1", "cart-k1")))
    ids = [a.id for a in answers if isinstance(a, Reservation)]
    assert len(ids) == 4 and ids[0] == ids[2] == ids[3] != ids[1]
    assert await net.level("SKU-B", "wh-1") == (3, 2, 1)


async def test_release_gives_units_back_once(net: Net) -> None:
    held = await net.held("cart-6", ("SKU-A", "wh-1", 4))
    released = await net.release(held.id)
    assert released.status is ReservationStatus.RELEASED
    assert await net.level("SKU-A", "wh-1") == (10, 0, 10)
    assert (await net.ledger())[-1] == ("RELEASE", held.id, 0, -4)
    before = await net.ledger()
    for again in (net.release, net.commit):
        with pytest.raises(InvalidInputError, match="already RELEASED"):
            await again(held.id)
    with pytest.raises(InvalidInputError, match="unknown reservation"):
        await net.release("no-such-id")
    assert await net.ledger() == before
    assert await net.s.reader.drift() == []


async def test_commit_ships_the_held_units_from_their_bins(net: Net) -> None:
    await net.move(mv(T.PUTAWAY, "SKU-A", "wh-1", 6, to_bin="A-01"))
    held = await net.held("cart-7", ("SKU-A", "wh-1", 7))
    committed = await net.commit(held.id)
    assert committed.status is ReservationStatus.COMMITTED
    assert await net.level("SKU-A", "wh-1") == (3, 0, 3)
    assert (await net.ledger())[-1] == ("COMMIT", held.id, -7, -7)
    with pytest.raises(InvalidInputError, match="already COMMITTED"):
        await net.commit(held.id)
    assert await net.level("SKU-A", "wh-1") == (3, 0, 3)
    assert await net.s.reader.drift() == []  # bins still add up to on hand


async def test_expired_hold_is_not_counted_even_before_any_sweep(net: Net) -> None:
    held = await net.held("cart-8", ("SKU-A", "wh-1", 4), ttl=60)
    net.clock.advance(60)
    assert await net.level("SKU-A", "wh-1") == (10, 0, 10)
    [availability] = await _availability(net, "SKU-A")
    assert availability.reserved == 0
    found = await net.s.reservations.get(held.id)
    assert found is not None and found.status_at(net.clock()) is ReservationStatus.EXPIRED
    before = await net.ledger()
    with pytest.raises(InvalidInputError, match="expired"):
        await net.release(held.id)
    assert await net.ledger() == before
    assert await net.s.reader.drift() == []


async def test_reserving_gives_back_lapsed_holds_at_the_level_first(net: Net) -> None:
    old = await net.held("cart-9", ("SKU-B", "wh-1", 3), ttl=1)
    net.clock.advance(1)
    await net.held("cart-10", ("SKU-B", "wh-1", 3))
    found = await net.s.reservations.get(old.id)
    assert found is not None and found.status is ReservationStatus.EXPIRED
    assert await net.s.reader.drift() == []


async def test_sweepers_racing_give_each_lapsed_hold_back_once(net: Net) -> None:
    for k in range(8):
        await net.held(f"cart-s{k}", ("SKU-A", "wh-1", 1), ("SKU-A", "store-1", 1), ttl=30)
    net.clock.advance(31)
    counts = await asyncio.gather(*(
        reservations.expire_due(net.s.reservations, net.s.publisher, net.clock(), batch=3)
        for _ in range(4)))
    assert sum(counts) == 8
    assert await net.level("SKU-A", "wh-1") == (10, 0, 10)
    e = t.ledger_entry.c
    async with net.db.reader.connect() as conn:
        expiries = (await conn.execute(select(func.count()).where(e.cause == "EXPIRE"))).scalar()
    assert expiries == 16
    assert await net.s.reader.drift() == []


@pytest.mark.parametrize(("lines", "ttl", "field"), [
    ([("SKU-A", "wh-1", 0)], None, "lines[0].quantity"),
    ([("SKU-A", "wh-1", 1), ("SKU-A", "wh-1", 2)], None, "lines[1]"),
    ([], None, "lines"),
    ([("SKU-A", "wh-1", 1)], 0, "ttlSeconds"),
    ([("SKU-A", "wh-1", 1)], 86_401, "ttlSeconds"),
    ([("SKU-A", "wh-1", 1), ("SKU-A", "nowhere", 1)], None, "lines[1].locationId"),
    ([("SKU-A", "wh-1", 1), ("NOPE", "wh-1", 1)], None, "lines[1].sku"),
    ([("SKU-A", "store-2", 1)], None, "lines[0].locationId"),  # sells on no online channel
])
async def test_bad_input_is_refused_and_changes_nothing(
    net: Net, lines: list[tuple[str, str, int]], ttl: int | None, field: str
) -> None:
    before = await net.ledger()
    with pytest.raises(InvalidInputError) as refused:
        await net.reserve("cart-bad", *lines, ttl=ttl)
    assert refused.value.field == field
    assert await net.ledger() == before
    assert await net.s.reservations.get("cart-bad") is None


async def test_sale_under_holds_is_recorded_and_marks_newest_holds_short(net: Net) -> None:
    older = await net.held("online-1", ("SKU-A", "store-1", 6))
    newer = await net.held("online-2", ("SKU-A", "store-1", 4))
    net.published.changes.clear()
    await net.move(mv(T.SALE, "SKU-A", "store-1", 3))  # a walk-in buys a held unit
    assert await net.level("SKU-A", "store-1") == (7, 10, 0)
    assert await _shorts(net, older.id, newer.id) == ([0], [3])
    assert [c.cause for c in net.published.changes] == ["SALE", "HOLD_SHORT"]
    assert (await net.ledger())[-1] == ("HOLD_SHORT", newer.id, 0, 0)
    with pytest.raises(InvalidInputError, match="short"):
        await net.commit(newer.id)
    await net.commit(older.id)  # the older promise is still covered and ships
    assert await net.level("SKU-A", "store-1") == (1, 4, 0)
    await net.move(mv(T.RECEIVE, "SKU-A", "store-1", 3))
    assert await _shorts(net, newer.id) == ([0],)
    assert await net.s.reader.drift() == []


async def test_releasing_a_hold_covers_the_short_ones_again(net: Net) -> None:
    older = await net.held("online-3", ("SKU-A", "store-1", 5))
    newer = await net.held("online-4", ("SKU-A", "store-1", 5))
    await net.move(mv(T.SALE, "SKU-A", "store-1", 5))
    assert await _shorts(net, older.id, newer.id) == ([0], [5])
    await net.release(older.id)
    assert await _shorts(net, newer.id) == ([0],)
    await net.commit(newer.id)
    assert await net.level("SKU-A", "store-1") == (0, 0, 0)
    assert await net.s.reader.drift() == []


async def _shorts(net: Net, *ids: str) -> tuple[list[int], ...]:
    found = [await net.s.reservations.get(i) for i in ids]
    return tuple([x.short_by for x in f.lines] for f in found if f is not None)


async def _availability(net: Net, sku: str) -> list[NetworkAvailability]:
    return await availabilities(net.s.reader, [(sku, Channel.ONLINE)], net.clock())


RESERVE = """mutation($input: ReserveInput!) { reserve(input: $input) { __typename
  ... on Reservation { id status expiresAt orderRef short
                       lines { sku quantity shortBy location { id kind } } }
  ... on InsufficientStock { message lines { sku locationId requested available } }
  ... on InvalidInput { message field } } }"""
FINISH = """mutation($id: ID!) {
  releaseReservation(id: $id) { __typename ... on Reservation { status }
                                ... on InvalidInput { message field } }
  commitReservation(id: $id) { __typename ... on InvalidInput { message field } } }"""


def line(sku: str, loc: str, quantity: int) -> dict[str, object]:
    return {"sku": sku, "locationId": loc, "quantity": quantity}


async def test_graphql_answers_each_outcome_as_a_result_type(
    gql: GraphQLClient, services: Services
) -> None:
    await build_network(services)
    await record_movements(services.ledger, services.publisher,
                           [mv(T.RECEIVE, "SKU-A", "wh-1", 5)], ADMIN, NOW, services.limits)
    held = (await gql.data(RESERVE, input={
        "idempotencyKey": "web-1", "orderRef": "o-1", "ttlSeconds": 120,
        "lines": [line("SKU-A", "wh-1", 2)]}))["reserve"]
    assert held["__typename"] == "Reservation" and held["status"] == "ACTIVE"
    assert held["lines"] == [{"sku": "SKU-A", "quantity": 2, "shortBy": 0,
                              "location": {"id": "wh-1", "kind": "WAREHOUSE"}}]
    assert held["orderRef"] == "o-1" and held["short"] is False
    short = (await gql.data(RESERVE, input={
        "idempotencyKey": "web-2", "lines": [line("SKU-A", "wh-1", 4)]}))["reserve"]
    assert short["__typename"] == "InsufficientStock"
    assert short["lines"] == [{"sku": "SKU-A", "locationId": "wh-1", "requested": 4,
                               "available": 3}]
    bad = (await gql.data(RESERVE, input={
        "idempotencyKey": "web-3", "lines": [line("SKU-A", "wh-1", 1)], "ttlSeconds": 0}))
    assert bad["reserve"] == {"__typename": "InvalidInput", "field": "ttlSeconds",
                              "message": "ttlSeconds must be between 1 and 86400"}
    finished = await gql.data(FINISH, id=held["id"])
    assert finished["releaseReservation"] == {"__typename": "Reservation", "status": "RELEASED"}
    assert finished["commitReservation"]["field"] == "id"
    assert "already RELEASED" in finished["commitReservation"]["message"]
    found = await gql.data("query($id: ID!) { reservation(id: $id) { status } "
                           "missing: reservation(id: \"nope\") { status } }", id=held["id"])
    assert found == {"reservation": {"status": "RELEASED"}, "missing": None}


async def test_the_sweeper_of_a_running_instance_gives_lapsed_holds_back(
    settings: Settings, services: Services, database: Database
) -> None:
    await build_network(services)
    await record_movements(services.ledger, services.publisher,
                           [mv(T.RECEIVE, "SKU-B", "wh-1", 3)], ADMIN, NOW, services.limits)
    app = create_app(settings.model_copy(update={"reservation_sweep_seconds": 0.1}))
    async with app.router.lifespan_context(app):
        s = app.state.services
        held = await reservations.reserve(
            s.reservations, s.reader, s.publisher,
            ReserveRequest("lapse-1", [LineRequest("SKU-B", "wh-1", 3)], ttl_seconds=1),
            ADMIN, s.clock(), s.reservation_limits)
        assert isinstance(held, Reservation)
        deadline = asyncio.get_running_loop().time() + 15
        while (found := await s.reservations.get(held.id)) is not None \
                and found.status is ReservationStatus.ACTIVE:
            assert asyncio.get_running_loop().time() < deadline, "the sweeper never ran"
            await asyncio.sleep(0.05)
    assert found is not None and found.status is ReservationStatus.EXPIRED
    assert await services.reader.drift() == []
    async with database.reader.connect() as conn:
        stored = (await conn.execute(select(t.stock_level.c.reserved))).scalar()
    assert stored == 0
