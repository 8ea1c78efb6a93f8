"""`stockgraph demo --if-empty`, the real console script, on an empty SQLite database: it loads
the demo network with stock everywhere, once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from adapters.db.engine import Database
from adapters.db.queries import SqlAlchemyStockReader
from tests.integration.test_verify_cli import run_cli

# A generous bound for a loaded machine; the load is a few seconds of work on an idle one.
DEMO_TIMEOUT = 600
COUNTS = """SELECT (SELECT count(*) FROM location), (SELECT count(*) FROM sku),
  (SELECT count(*) FROM movement), (SELECT count(*) FROM ledger_entry),
  (SELECT count(*) FROM stock_level)"""


@pytest.fixture
async def demo_db(tmp_path: Path) -> AsyncIterator[tuple[str, Database]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    db = Database(url)
    yield url, db
    await db.dispose()


async def scalars(db: Database, sql: str) -> list[object]:
    async with db.reader.connect() as conn:
        return list((await conn.execute(text(sql))).one())


@pytest.mark.slow
async def test_demo_loads_a_stocked_network_into_an_empty_database_once(
    demo_db: tuple[str, Database],
) -> None:
    url, db = demo_db
    code, out = await run_cli(url, "demo", "--if-empty", within=DEMO_TIMEOUT)
    assert code == 0, out
    assert "demo loaded" in out

    async with db.reader.connect() as conn:
        kinds = dict((await conn.execute(
            text("SELECT kind, count(*) FROM location GROUP BY kind"))).all())
        stocked = (await conn.execute(text(
            "SELECT l.kind, count(*) FROM stock_level s JOIN location l ON l.id = s.location_id "
            "WHERE s.on_hand > 0 GROUP BY l.kind"))).all()
    assert kinds["WAREHOUSE"] >= 3
    assert (kinds["STORE"], kinds["DROPSHIP_VENDOR"]) == (25, 2)
    [skus] = await scalars(db, "SELECT count(*) FROM sku")
    assert skus == 500
    # Every warehouse and every store holds every SKU; vendors report some of their own.
    by_kind = dict(stocked)
    assert by_kind["WAREHOUSE"] == 500 * kinds["WAREHOUSE"]
    assert by_kind["STORE"] == 500 * 25
    assert by_kind["DROPSHIP_VENDOR"] > 0
    assert await SqlAlchemyStockReader(db).drift() == []

    before = await scalars(db, COUNTS)
    code, out = await run_cli(url, "demo", "--if-empty")
    assert (code, out.strip()) == (0, "database already holds data; demo not loaded")
    assert await scalars(db, COUNTS) == before
