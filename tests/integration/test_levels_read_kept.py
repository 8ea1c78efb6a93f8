"""The levels read is kept and given again while the database's version is the same
(adapters/db/queries.py `levels_with_freshness`): on both engines, a commit by another
instance (its own engine and connections, as another process has) is seen by the very next
read, and a hold that lapses with time alone is not counted once it has."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from adapters.db import queries
from adapters.db.engine import Database
from app.container import build_services
from app.settings import Settings
from domain.location import LocationKind
from domain.movement import MovementType as T
from domain.reservation import LineRequest, Reservation, ReserveRequest
from resolvers.context import Services
from services import catalog, reservations
from services.movements import record_movements
from tests.support.network import ADMIN, NOW, build_network, mv


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Instances:
    reader: Services  # the instance whose reads are kept
    writer: Services  # another instance on the same database
    writer_db: Database
    clock: Clock

    async def seen(self, sku: str = "SKU-A") -> dict[str, tuple[int, int, str, bool]]:
        """(on hand, reserved, location name, pickup) per location, as the reader reads them."""
        found, _ = await self.reader.reader.levels_with_freshness([sku])
        return {lv.location_id: (lv.on_hand, lv.reserved, loc.name, loc.pickup_enabled)
                for lv, loc in found[sku]}

    async def move(self, *movements: object) -> None:
        await record_movements(self.writer.ledger, self.writer.publisher, list(movements),  # type: ignore[arg-type]
                               ADMIN, self.clock(), self.writer.limits)


@pytest.fixture
async def two(database: Database, settings: Settings) -> AsyncIterator[Instances]:
    clock = Clock()
    other = Database(settings.database_url, pool_size=2)
    try:
        writer = build_services(other, settings, clock=clock)
        await build_network(writer)
        net = Instances(build_services(database, settings, clock=clock), writer, other, clock)
        await net.move(mv(T.RECEIVE, "SKU-A", "wh-1", 10), mv(T.RECEIVE, "SKU-A", "store-1", 5))
        yield net
    finally:
        await other.dispose()


async def test_a_read_is_given_again_while_nothing_changed(two: Instances) -> None:
    first, _ = await two.reader.reader.levels_with_freshness(["SKU-A"])
    again, _ = await two.reader.reader.levels_with_freshness(["SKU-A"])
    assert again["SKU-A"] is first["SKU-A"]  # kept, not read and decoded again
    assert again is not first  # the mapping is the caller's own


async def test_reads_kept_hold_so_many_levels_at_most(
    two: Instances, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "_MAX_KEPT_LEVELS", 3)
    await two.move(mv(T.RECEIVE, "SKU-B", "wh-1", 1))
    read = two.reader.reader.levels_with_freshness
    a, _ = await read(["SKU-A"])  # 2 levels
    b, _ = await read(["SKU-B"])  # 1: 3 in all
    assert (await read(["SKU-A"]))[0]["SKU-A"] is a["SKU-A"]
    assert (await read(["SKU-B"]))[0]["SKU-B"] is b["SKU-B"]
    both, _ = await read(["SKU-A", "SKU-B"])  # 3 more: the others make room
    assert (await read(["SKU-A", "SKU-B"]))[0]["SKU-A"] is both["SKU-A"]
    assert (await read(["SKU-A"]))[0]["SKU-A"] is not a["SKU-A"]


async def test_after_a_commit_elsewhere_the_same_levels_are_given_as_before(
    two: Instances,
) -> None:
    # Read again (the version moved), but nothing of SKU-A changed: the objects read before
    # come back, with what was worked out from them (domain.availability.SkuLevels).
    first, before = await two.reader.reader.levels_with_freshness(["SKU-A"])
    await two.move(mv(T.RECEIVE, "SKU-B", "wh-1", 1))
    again, after = await two.reader.reader.levels_with_freshness(["SKU-A"])
    assert again["SKU-A"] is first["SKU-A"] and after is before


async def test_a_commit_by_another_instance_is_seen_by_the_next_read(two: Instances) -> None:
    assert await two.seen() == {"wh-1": (10, 0, "Warehouse One", False),
                                "store-1": (5, 0, "Store One", True)}
    await two.seen()  # kept now
    await two.move(mv(T.SALE, "SKU-A", "wh-1", 3))
    assert (await two.seen())["wh-1"] == (7, 0, "Warehouse One", False)
    await catalog.upsert_location(two.writer.catalog, two.writer.reader, catalog.LocationChange(
        "store-1", "Store One (moved)", LocationKind.STORE, 52.5, 13.3, pickup_enabled=False,
        ship_enabled=True), two.clock())
    assert (await two.seen())["store-1"] == (5, 0, "Store One (moved)", False)
    await _hold(two, "cart-1", ttl=600)
    assert (await two.seen())["wh-1"] == (7, 2, "Warehouse One", False)


async def test_a_hold_lapsing_with_time_alone_is_no_longer_counted(two: Instances) -> None:
    await _hold(two, "cart-2", ttl=60)
    assert (await two.seen())["wh-1"][:2] == (10, 2)
    two.clock.now += timedelta(seconds=59)
    assert (await two.seen())["wh-1"][:2] == (10, 2)  # still held: the kept read holds
    two.clock.now += timedelta(seconds=1)  # expires now: nothing was written since
    assert (await two.seen())["wh-1"][:2] == (10, 0)
    two.clock.now -= timedelta(seconds=30)  # a clock behind the read kept: read again
    assert (await two.seen())["wh-1"][:2] == (10, 2)


async def _hold(two: Instances, key: str, ttl: int) -> None:
    held = await reservations.reserve(
        two.writer.reservations, two.writer.reader, two.writer.publisher,
        ReserveRequest(key, [LineRequest("SKU-A", "wh-1", 2)], ttl, order_ref="order-1"),
        ADMIN, two.clock(), two.writer.reservation_limits)
    assert isinstance(held, Reservation), held


async def test_a_broken_version_connection_costs_one_read_kept_no_answer(
    two: Instances, database: Database
) -> None:
    # PostgreSQL restarts, say: every connection of the reading instance is cut. Its version
    # connection has no pre-ping: the question fails, that read is not kept (but answered),
    # and the next one asks on a new connection.
    if database.is_sqlite:
        pytest.skip("SQLite's connections are not cut from outside")
    await two.seen()
    async with two.writer_db.writer.connect() as conn:
        await conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        await conn.commit()
    await two.move(mv(T.SALE, "SKU-A", "wh-1", 1))
    assert (await two.seen())["wh-1"][:2] == (9, 0)
    first, _ = await two.reader.reader.levels_with_freshness(["SKU-A"])
    again, _ = await two.reader.reader.levels_with_freshness(["SKU-A"])
    assert again["SKU-A"] is first["SKU-A"]
