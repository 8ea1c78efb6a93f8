"""The PostgreSQL pool outlives its connections: PostgreSQL restarted (or an admin killed the
backends), the next transaction, the next read and the next reservation group (on the
connection it keeps) still succeed, on new connections."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from adapters.db.engine import Database
from adapters.db.migrate import migrate
from app.container import build_services
from app.settings import Settings
from domain.movement import MovementType
from domain.reservation import LineRequest, Reservation, ReserveRequest
from resolvers.context import Services
from services import reservations
from tests.support.network import ADMIN, build_network, mv, record
from tests.support.services import CUT_OTHER_CONNECTIONS, fresh_pg_database


@pytest.fixture
async def pg() -> AsyncIterator[Database]:
    async with fresh_pg_database() as url:
        db = Database(url, pool_size=4)
        yield db
        await db.dispose()


async def _cut_every_connection(url: str) -> None:
    """From outside the pool, as a restart would."""
    outside = Database(url, pool_size=1)
    try:
        async with outside.versions.connect() as conn:
            await conn.execute(text(CUT_OTHER_CONNECTIONS))
    finally:
        await outside.dispose()


async def test_transactions_and_reads_survive_cut_connections(pg: Database) -> None:
    async with pg.writer.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n int)"))
    async with pg.reader.connect() as a, pg.reader.connect() as b:  # two pooled connections
        before = {(await a.execute(text("SELECT pg_backend_pid()"))).scalar_one(),
                  (await b.execute(text("SELECT pg_backend_pid()"))).scalar_one()}
    await _cut_every_connection(pg.url.render_as_string(hide_password=False))

    async with pg.writer.begin() as conn:
        await conn.execute(text("INSERT INTO t VALUES (1)"))
        writer_pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    async with pg.reader.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
        reader_pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    assert not {writer_pid, reader_pid} & before  # both on new connections


@pytest.mark.parametrize("chained", [False, True])
async def test_a_kept_connection_cut_is_reported_lost_then_replaced(
    pg: Database, chained: bool
) -> None:
    kept = pg.keep()
    async with kept.begin(more=lambda: chained) as conn:  # chained: left in a new transaction
        before = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    await _cut_every_connection(pg.url.render_as_string(hide_password=False))

    with pytest.raises(Exception) as failed:
        async with kept.begin(more=lambda: False) as conn:
            await conn.execute(text("SELECT 1"))
    assert kept.lost(failed.value)
    async with kept.begin(more=lambda: False) as conn:
        assert (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one() != before


async def test_a_reservation_group_survives_its_kept_connection_cut(
    pg: Database, caplog: pytest.LogCaptureFixture,
) -> None:
    url = pg.url.render_as_string(hide_password=False)
    await migrate(pg)
    services = build_services(pg, Settings(database_url=url, broadcast_url="memory://"))
    await build_network(services)
    await record(services, mv(MovementType.RECEIVE, "SKU-A", "wh-1", 10))
    first = await _reserve(services, "cart-1")
    await _cut_every_connection(url)
    with caplog.at_level(logging.WARNING, logger="stockgraph.reservations"):
        second = await _reserve(services, "cart-2")
    assert isinstance(first, Reservation) and isinstance(second, Reservation)
    assert not caplog.records  # retried as a group, not one reservation at a time
    found = await services.reader.level("SKU-A", "wh-1")
    assert found is not None and found[0].reserved == 2


async def _reserve(services: Services, key: str) -> object:
    request = ReserveRequest(key, (LineRequest("SKU-A", "wh-1", 1),))
    return await reservations.reserve(
        services.reservations, services.reader, services.publisher, request, ADMIN,
        datetime.now(UTC), services.reservation_limits)
