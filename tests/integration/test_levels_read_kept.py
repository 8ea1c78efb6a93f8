"""The levels read is kept and given again while the rows it reads are the same (their change
stamps' fingerprint, adapters/db/queries.py `levels_with_freshness`): on both engines, a
commit by another instance (its own engine and connections, as another process has) that
writes them is seen by the very next read, every kind of write that changes what availability
shows is, a commit of another SKU's rows keeps the read, and a hold that lapses with time
alone is not counted once it has."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from adapters.db import queries
from adapters.db.engine import Database
from app.container import build_services
from app.settings import Settings
from domain.location import Channel, LocationKind
from domain.movement import MovementType as T
from domain.reservation import LineRequest, Reservation, ReserveRequest
from domain.source import ReportedLevel, SourceMode, VendorSource
from resolvers.context import Services
from services import catalog, reservations, routing, sources
from services.movements import record_movements
from tests.support.network import ADMIN, NOW, build_network, mv
from tests.support.services import CUT_OTHER_CONNECTIONS


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
    held: list[str] = field(default_factory=list)  # the writer's reservations, by id

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
    two: Instances, reads: list[int]
) -> None:
    # Read again (a location changed: any can join), but nothing SKU-A shows did: the objects
    # read before come back, with what was worked out from them (domain.availability.SkuLevels).
    first, before = await two.reader.reader.levels_with_freshness(["SKU-A"])
    await catalog.upsert_location(two.writer.catalog, two.writer.reader, catalog.LocationChange(
        "store-2", "Store Two (renamed)", LocationKind.STORE), two.clock())
    again, after = await two.reader.reader.levels_with_freshness(["SKU-A"])
    assert len(reads) == 2
    assert again["SKU-A"] is first["SKU-A"] and after is before


async def test_a_commit_of_another_sku_keeps_the_read(two: Instances, reads: list[int]) -> None:
    first, before = await two.reader.reader.levels_with_freshness(["SKU-A"])
    await two.move(mv(T.RECEIVE, "SKU-B", "wh-1", 5), mv(T.RECEIVE, "SKU-B", "store-1", 2))
    await _hold(two, "cart-b", ttl=600, sku="SKU-B")
    await catalog.set_safety_stock(two.writer.ledger, two.writer.publisher, "SKU-B", "wh-1", 1,
                                   ADMIN, two.clock())
    await routing.set_channel_safety_stock(two.writer.routing, two.writer.reader, "SKU-B",
                                           "wh-1", Channel.ONLINE, 1, two.clock())
    again, after = await two.reader.reader.levels_with_freshness(["SKU-A"])
    assert len(reads) == 1  # the kept read, not read again
    assert again["SKU-A"] is first["SKU-A"] and after is before
    assert (await two.reader.reader.levels_with_freshness(["SKU-B"]))[0]["SKU-B"]


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


async def _hold(two: Instances, key: str, ttl: int, sku: str = "SKU-A") -> Reservation:
    held = await reservations.reserve(
        two.writer.reservations, two.writer.reader, two.writer.publisher,
        ReserveRequest(key, [LineRequest(sku, "wh-1", 2)], ttl, order_ref="order-1"),
        ADMIN, two.clock(), two.writer.reservation_limits)
    assert isinstance(held, Reservation), held
    two.held.append(held.id)
    return held


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per levels statement whose rows were read (not a read kept)."""
    done: list[int] = []
    read_levels = queries._read_levels

    def counted(rows: object, *args: object) -> None:
        done.append(1)
        read_levels(rows, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(queries, "_read_levels", counted)
    return done


Write = Callable[[Instances], Awaitable[object]]


async def _push(two: Instances, quantity: int, as_of: datetime) -> None:
    await sources.push_vendor_levels(two.writer.sources.deps, "vendor-1",
                                     [ReportedLevel("SKU-A", quantity, as_of)], ADMIN, two.clock())


async def _source(two: Instances, max_age: timedelta) -> None:
    await sources.set_vendor_source(two.writer.sources.deps, VendorSource(
        "vendor-1", SourceMode.PUSH, max_age=max_age), two.clock())


async def _with_vendor(two: Instances) -> None:
    await _source(two, timedelta(minutes=15))
    await _push(two, 4, NOW - timedelta(minutes=1))


async def _with_hold(two: Instances) -> None:
    await _hold(two, "cart-r", ttl=600)


async def _release(two: Instances) -> None:
    await reservations.release(two.writer.reservations, two.writer.publisher, two.held[-1],
                               ADMIN, two.clock())


async def _hold_ends_sooner(two: Instances) -> None:
    # No write of ours changes a hold but with its level's `reserved`: this one, straight in
    # the database, changes nothing but the line.
    async with two.writer_db.writer.begin() as conn:
        await conn.execute(text("UPDATE reservation_line SET expires_at = :at WHERE status ="
                                " 'ACTIVE'"), {"at": NOW - timedelta(seconds=1)})


async def _channel_safety(two: Instances, quantity: int | None) -> None:
    await routing.set_channel_safety_stock(two.writer.routing, two.writer.reader, "SKU-A",
                                           "wh-1", Channel.ONLINE, quantity, two.clock())


async def _nothing(two: Instances) -> None:
    pass


# (what is there before the read is kept, the write whose change the next read must show)
WRITES: dict[str, tuple[Write, Write]] = {
    "receive": (_nothing, lambda two: two.move(mv(T.RECEIVE, "SKU-A", "wh-1", 3))),
    "sale": (_nothing, lambda two: two.move(mv(T.SALE, "SKU-A", "store-1", 1))),
    "hold": (_nothing, lambda two: _hold(two, "cart-h", ttl=600)),
    "release": (_with_hold, _release),
    "hold ends sooner": (_with_hold, _hold_ends_sooner),
    "vendor push": (_with_vendor, lambda two: _push(two, 6, NOW)),
    "vendor push, as-of only": (_with_vendor, lambda two: _push(two, 4, NOW)),
    "safety stock": (_nothing, lambda two: catalog.set_safety_stock(
        two.writer.ledger, two.writer.publisher, "SKU-A", "wh-1", 2, ADMIN, two.clock())),
    "channel safety stock": (_nothing, lambda two: _channel_safety(two, 3)),
    "channel safety stock changed": (lambda two: _channel_safety(two, 3),
                                     lambda two: _channel_safety(two, 1)),
    "channel safety stock removed": (lambda two: _channel_safety(two, 3),
                                     lambda two: _channel_safety(two, None)),
    "location deactivated": (_nothing, lambda two: catalog.upsert_location(
        two.writer.catalog, two.writer.reader, catalog.LocationChange(
            "store-1", "Store One", LocationKind.STORE, 52.50, 13.30, active=False),
        two.clock())),
    "vendor source max age": (_with_vendor, lambda two: _source(two, timedelta(minutes=5))),
}


@pytest.mark.parametrize("kind", WRITES)
async def test_every_write_availability_shows_is_seen_by_the_next_read(
    two: Instances, reads: list[int], kind: str
) -> None:
    before, write = WRITES[kind]
    await before(two)
    kept = await two.reader.reader.levels_with_freshness(["SKU-A"])
    assert await two.reader.reader.levels_with_freshness(["SKU-A"]) == kept
    assert len(reads) == 1
    await write(two)
    after = await two.reader.reader.levels_with_freshness(["SKU-A"])
    # What a reader that keeps nothing reads now; and the write changed what is shown.
    fresh = await queries.SqlAlchemyStockReader(two.writer_db, clock=two.clock) \
        .levels_with_freshness(["SKU-A"])
    assert after == fresh
    assert after != kept


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
        await conn.execute(text(CUT_OTHER_CONNECTIONS))
        await conn.commit()
    await two.move(mv(T.SALE, "SKU-A", "wh-1", 1))
    assert (await two.seen())["wh-1"][:2] == (9, 0)
    first, _ = await two.reader.reader.levels_with_freshness(["SKU-A"])
    again, _ = await two.reader.reader.levels_with_freshness(["SKU-A"])
    assert again["SKU-A"] is first["SKU-A"]


async def test_a_deletion_made_up_for_by_a_late_insert_is_still_seen(
    two: Instances, database: Database
) -> None:
    # PostgreSQL takes stamps in statement order, not commit order: an insert stamped before
    # the read was kept can commit after it. Here its stamp and a rise of another row's make
    # up exactly for a deleted row's, at the same count; the level the deleted row belonged to
    # is stamped anew (migration 0006), so the next read still sees it all.
    if database.is_sqlite:
        pytest.skip("SQLite's writers are serialized: stamps are in commit order")
    cs = ("INSERT INTO channel_safety_stock (sku, location_id, channel, quantity, updated_at)"
          " VALUES ('SKU-A', :loc, :ch, :q, now()) RETURNING stamp")
    bump = ("UPDATE channel_safety_stock SET quantity = quantity + 1 WHERE sku = 'SKU-A'"
            " AND location_id = :loc AND channel = :ch RETURNING stamp")
    seq = "SELECT setval('change_stamp', :v)"
    eng = two.writer_db.writer
    async with eng.begin() as conn:
        await conn.execute(text(cs), {"loc": "wh-1", "ch": "ONLINE", "q": 1})
        await conn.execute(text(cs), {"loc": "store-1", "ch": "ONLINE", "q": 1})
    async with eng.connect() as late:
        await late.begin()
        y = (await late.execute(text(cs), {"loc": "wh-1", "ch": "STORE", "q": 2})).scalar_one()
        async with eng.begin() as conn:
            await conn.execute(text(seq), {"v": y + 1000})
            x = (await conn.execute(text(bump), {"loc": "wh-1", "ch": "ONLINE"})).scalar_one()
            z = (await conn.execute(text(bump), {"loc": "store-1", "ch": "ONLINE"})).scalar_one()
        kept = await two.reader.reader.levels_with_freshness(["SKU-A"])
        async with eng.begin() as conn:
            await conn.execute(text("DELETE FROM channel_safety_stock WHERE sku = 'SKU-A'"
                                    " AND location_id = 'wh-1' AND channel = 'ONLINE'"))
        await late.commit()
        async with eng.begin() as conn:
            await conn.execute(text(seq), {"v": z + x - y - 1})
            assert (await conn.execute(text(bump), {"loc": "store-1", "ch": "ONLINE"})) \
                .scalar_one() == z + x - y  # the channel safety stock's sum is as it was
    after = await two.reader.reader.levels_with_freshness(["SKU-A"])
    fresh = await queries.SqlAlchemyStockReader(two.writer_db, clock=two.clock) \
        .levels_with_freshness(["SKU-A"])
    assert after == fresh
    assert after != kept

