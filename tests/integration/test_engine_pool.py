"""The PostgreSQL pool outlives its connections: PostgreSQL restarted (or an admin killed the
backends), the next transaction and the next read still succeed, on new connections."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from adapters.db.engine import Database
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
