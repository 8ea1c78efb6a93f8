"""Engines for SQLite (embedded default) and PostgreSQL, and the rules each needs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util import await_

from adapters.db.sqlite_driver import one_hop_dbapi


class Database:
    """Holds the engines. Writers on SQLite begin with BEGIN IMMEDIATE so that a transaction's
    first read already holds the write lock (pysqlite otherwise defers BEGIN to the first
    write, and a read-then-write race would see stale rows). `versions` asks nothing but the
    fingerprint of the rows a read reads, which tells a reader whether what it read before
    still stands (adapters/db/queries.py `_fingerprint`); it never writes."""

    def __init__(self, url: str, pool_size: int = 20, busy_timeout: float = 30.0) -> None:
        self.url: URL = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self._ensure_directory()
            self.writer = self._sqlite_engine(busy_timeout, "BEGIN IMMEDIATE")
            self.reader = self._sqlite_engine(busy_timeout, "BEGIN")
            self.versions = self._sqlite_engine(busy_timeout, "BEGIN", pool_size=1,
                                                max_overflow=0)
        else:
            self.writer = create_async_engine(
                self.url, pool_size=pool_size, max_overflow=pool_size)
            _ping_on_checkout(self.writer)
            self.reader = self.writer
            # No pre-ping, which would be a second trip: a broken connection fails its one
            # question and is dropped (adapters/db/queries.py `_fingerprint`).
            self.versions = create_async_engine(self.url, pool_size=1, max_overflow=4,
                                                isolation_level="AUTOCOMMIT")
        self._kept: list[KeptConnection] = []

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    def keep(self) -> KeptConnection:
        """A writer connection kept between transactions (see KeptConnection); closed by
        `dispose`."""
        kept = KeptConnection(self.writer)
        self._kept.append(kept)
        return kept

    async def dispose(self) -> None:
        for kept in self._kept:
            await kept.close()
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()
        await self.versions.dispose()

    def _ensure_directory(self) -> None:
        database = self.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)

    def _sqlite_engine(self, busy_timeout: float, begin: str, **pool: int) -> AsyncEngine:
        engine = create_async_engine(self.url, connect_args={"timeout": busy_timeout},
                                     module=one_hop_dbapi(), pool_reset_on_return=None, **pool)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Take transaction control from the driver; "begin" below issues it.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)

        @event.listens_for(engine.sync_engine, "reset")
        def _on_reset(dbapi_connection: Any, _record: Any, state: Any) -> None:
            # The pool's own reset rolls back on every return, even after a COMMIT: one more
            # trip through the driver's thread, inside the writers' queue. Only a connection
            # still in a transaction needs it (the flag is read without a trip).
            if state.asyncio_safe and not state.terminate_only \
                    and dbapi_connection.driver_connection.in_transaction:
                dbapi_connection.rollback()

        return engine


class KeptConnectionLostError(Exception):
    """The kept connection failed its own BEGIN or COMMIT (nothing else makes those fail
    here): it is dropped, and whether the COMMIT took effect is unknown."""


class KeptConnection:
    """One PostgreSQL writer connection held between the transactions of a caller that runs
    one at a time (a process's reservation groups). Each round trip waits for the busy event
    loop to come back to it, so this saves two per transaction:

    - no pool checkout, so no ping;
    - no BEGIN of its own while another transaction waits: this one ends with `COMMIT; BEGIN`
      in one trip (the simple protocol takes both), so the next is open before it is needed.
      When none waits, the commit is alone, so a connection left without load does not sit
      inside a transaction.
      SQLAlchemy runs the connection in autocommit mode (it sends no BEGIN) while these
      statements bracket its own. A transaction begun and not yet used holds no snapshot and
      no transaction id, so it holds back neither VACUUM nor other readers.

    A transaction that fails drops the connection (it may be the connection that failed; it is
    never pooled again with a transaction open); the next takes a fresh one from the pool,
    checked as usual."""

    _BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED"

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._raw: Any = None
        self._turn = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def begin(self, more: Callable[[], bool]) -> AsyncIterator[AsyncConnection]:
        """A transaction; `more()`, asked at its commit: whether another will follow at once."""
        async with self._turn:
            try:
                if self._conn is None:
                    self._conn = await self._open()
                if not self._raw.is_in_transaction():
                    await self._own(self._BEGIN)
                async with self._conn.begin():
                    yield self._conn
                await self._own(f"COMMIT; {self._BEGIN}" if more() else "COMMIT")
            except BaseException:
                await self.close()
                raise

    @staticmethod
    def lost(exc: BaseException) -> bool:
        """Whether `exc` says the kept connection is gone (its transaction is then worth
        running again, on a fresh one)."""
        return isinstance(exc, KeptConnectionLostError) or bool(
            getattr(exc, "connection_invalidated", False))

    async def _own(self, statements: str) -> None:
        try:
            await self._raw.execute(statements)
        except Exception as exc:
            raise KeptConnectionLostError(f"{statements}: {exc!r}") from exc

    async def _open(self) -> AsyncConnection:
        conn = await self._engine.connect()
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            self._raw = (await conn.get_raw_connection()).driver_connection
        except BaseException:
            await conn.invalidate()
            raise
        return conn

    async def close(self) -> None:
        """Drop the connection (never back to the pool, where it would hand out an open
        transaction). Its socket is closed at once, so the server rolls back what was not
        committed and lets go of its locks even if the pool's own close fails."""
        conn, raw, self._conn, self._raw = self._conn, self._raw, None, None
        if raw is not None and not raw.is_closed():
            raw.terminate()
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()


def _ping_on_checkout(engine: AsyncEngine) -> None:
    """Each connection is asked `SELECT 1` as the pool hands it out. If it cannot answer
    (PostgreSQL restarted, say), every pooled connection is dropped and a new one is taken, so
    a request never fails on a dead pooled connection. SQLAlchemy's own `pool_pre_ping` costs
    three trips on asyncpg (it wraps its question in BEGIN and ROLLBACK) for every transaction
    and every read. This is one trip, on the simple protocol, so nothing is prepared (safe
    behind pgbouncer's transaction mode too)."""

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        try:
            await_(dbapi_connection.driver_connection.execute("SELECT 1"))
        except Exception as error:
            raise exc.InvalidatePoolError(f"pooled connection is gone: {error!r}") from error
