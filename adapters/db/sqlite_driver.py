"""SQLAlchemy's aiosqlite adapter with one thread hop per statement instead of three or four.

aiosqlite runs every call on its connection's thread and hands the result back through the
event loop. SQLAlchemy's adapter makes a statement four such calls (open a cursor, execute,
fetch the rows, close the cursor), and each waits for the loop to get round to it. Writers
queue for SQLite's single write lock, so these waits are paid inside the lock: a one-line
reservation spent about 29 hops there. Here a statement is one call that runs the whole
cursor cycle on the connection's thread and returns rows, description, rowcount and lastrowid
together. Nothing else changes: same driver, same SQL, same transactions.

Passed to `create_async_engine(..., module=...)` (adapters/db/engine.py).
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

_Outcome = tuple[Any, list[Any], int, int | None]


def _run(conn: sqlite3.Connection, many: bool, operation: str, parameters: Any) -> _Outcome:
    """The whole cursor cycle, on the connection's thread."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor with no driver cursor behind it: each execute is one call on the thread."""

    __slots__ = ("_outcome",)

    def __init__(self, adapt_connection: Any) -> None:  # no driver cursor opened: no hop
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._outcome: _Outcome = (None, [], -1, None)

    @property
    def description(self) -> Any:
        return self._outcome[0]

    @property
    def rowcount(self) -> int:
        return self._outcome[2]

    @property
    def lastrowid(self) -> int:
        return self._outcome[3]  # type: ignore[return-value]

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._one_hop(False, operation, parameters)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._one_hop(True, operation, seq_of_parameters)

    async def _one_hop(self, many: bool, operation: Any, parameters: Any) -> None:
        async with self._adapt_connection._execute_mutex:
            self._outcome = await self._connection._execute(
                _run, self._connection._conn, many, operation, parameters)
            self._rows = collections.deque(self._outcome[1])

    async def _async_soft_close(self) -> None:
        return None  # the driver cursor closed on the thread already

    def close(self) -> None:
        self._rows.clear()


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy's own adapter does
        return _Connection(self, await_(connection))


def one_hop_dbapi() -> OneHopDBAPI:
    import aiosqlite

    return OneHopDBAPI(aiosqlite, sqlite3)
