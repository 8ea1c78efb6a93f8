"""The SQLite engines' one-hop cursor (adapters/db/sqlite_driver.py) answers as the driver's
own cursor does: rows, rowcount, lastrowid, executemany, and errors as SQLAlchemy's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from adapters.db.engine import Database
from adapters.db.sqlite_driver import OneHopCursor


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    found = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}", busy_timeout=0.2)
    async with found.writer.begin() as conn:
        await conn.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT UNIQUE, "
                                "n INTEGER NOT NULL)"))
    yield found
    await found.dispose()


async def test_rows_rowcount_and_lastrowid_come_back_from_one_call(db: Database) -> None:
    async with db.writer.begin() as conn:
        raw = await conn.get_raw_connection()
        assert raw.dbapi_connection.cursor().__class__ is OneHopCursor  # type: ignore[union-attr]
        inserted = await conn.execute(text("INSERT INTO item (name, n) VALUES ('a', 1)"))
        assert inserted.lastrowid == 1
        await conn.execute(text("INSERT INTO item (name, n) VALUES (:name, :n)"),
                           [{"name": "b", "n": 2}, {"name": "c", "n": 3}])
        updated = await conn.execute(text("UPDATE item SET n = n + 10 WHERE n >= 2"))
        assert updated.rowcount == 2
        returned = await conn.execute(
            text("UPDATE item SET n = n + 1 WHERE name = 'a' AND n >= 5 RETURNING n"))
        assert returned.first() is None  # the conditional update that matched nothing
        rows = (await conn.execute(text("SELECT name, n FROM item ORDER BY id"))).all()
        assert [tuple(r) for r in rows] == [("a", 1), ("b", 12), ("c", 13)]


async def test_errors_surface_as_sqlalchemys_and_roll_the_transaction_back(
    db: Database,
) -> None:
    async with db.writer.begin() as conn:
        await conn.execute(text("INSERT INTO item (name, n) VALUES ('a', 1)"))
    with pytest.raises(IntegrityError):
        async with db.writer.begin() as conn:
            await conn.execute(text("INSERT INTO item (name, n) VALUES ('z', 1)"))
            await conn.execute(text("INSERT INTO item (name, n) VALUES ('a', 2)"))
    async with db.reader.connect() as conn:
        names = (await conn.execute(text("SELECT name FROM item"))).scalars().all()
    assert names == ["a"]  # 'z' went with the failed transaction


async def test_a_second_writer_waits_for_the_lock_then_gives_up_as_busy(db: Database) -> None:
    async with db.writer.begin() as holder:
        await holder.execute(text("INSERT INTO item (name, n) VALUES ('a', 1)"))
        other = Database(str(db.url), busy_timeout=0.2)
        try:
            with pytest.raises(OperationalError, match="locked"):
                async with other.writer.begin() as conn:
                    await conn.execute(text("SELECT 1"))
        finally:
            await other.dispose()


async def test_a_connection_returned_inside_a_transaction_is_rolled_back(db: Database) -> None:
    async with db.writer.connect() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.execute("BEGIN IMMEDIATE")  # behind SQLAlchemy's back
        await driver.execute("INSERT INTO item (name, n) VALUES ('lost', 1)")
        assert driver.in_transaction
    # Returned to the pool: rolled back, so the write lock is free and nothing was kept
    async with db.writer.begin() as conn:
        await conn.execute(text("INSERT INTO item (name, n) VALUES ('kept', 1)"))
    async with db.reader.connect() as conn:
        names = (await conn.execute(text("SELECT name FROM item"))).scalars().all()
    assert names == ["kept"]
