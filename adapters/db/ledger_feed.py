"""The ledger read as an ordered feed of changes, for subscriptions: replay after a sequence,
and the settled horizon below which the feed can no longer change.

Sequences are `ledger_entry.id`. On SQLite writers are serialised and take max(id) + 1, so
ids commit in order. On PostgreSQL ids come from a sequence at insert and transactions
commit in any order: id 105 can be visible while 104 is still in flight. A replay (or a
subscriber's cursor) must never run past such a hole, so `settled()` returns the largest id
visible now after waiting out every transaction that was then inserting ledger rows: each of
them holds ROW EXCLUSIVE on ledger_entry (seen in pg_locks) from before it draws an id until
it ends, so once they are gone every id up to that max is committed or never will be.
Writers pay nothing for this; the feed waits only when it needs a settled horizon.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import tables as t
from adapters.db.engine import Database
from adapters.db.rows import aware
from adapters.db.sql import one_of
from domain.events import ChangeRef

log = logging.getLogger("stockgraph.feed")

_WRITERS = text("""
    SELECT virtualtransaction FROM pg_locks
    WHERE locktype = 'relation' AND relation = CAST('ledger_entry' AS regclass)
      AND mode = 'RowExclusiveLock' AND granted AND pid <> pg_backend_pid()
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
""")
POLL_FIRST, POLL_MAX = 0.001, 0.02
WARN_AFTER = 5.0


class SqlAlchemyLedgerFeed:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.waits = 0  # settled() calls that had to wait for writers (for /debug)

    async def settled(self) -> int:
        """The largest sequence W such that every change <= W that will ever commit is
        visible now (0 for an empty ledger)."""
        e = t.ledger_entry.c
        async with self.db.reader.connect() as conn:
            latest = (await conn.execute(select(e.id).order_by(e.id.desc()).limit(1))).scalar()
            if self.db.dialect == "postgresql":
                await self._wait_for_writers(conn)
        return int(latest or 0)

    async def latest(self) -> int:
        """The largest sequence visible now (holes below it may still fill)."""
        e = t.ledger_entry.c
        async with self.db.reader.connect() as conn:
            found = (await conn.execute(select(e.id).order_by(e.id.desc()).limit(1))).scalar()
        return int(found or 0)

    async def changes(
        self, after: int, upto: int, skus: Collection[str] | None = None,
        locations: Collection[str] | None = None, limit: int = 1000,
    ) -> list[ChangeRef]:
        """Changes with after < sequence <= upto, in sequence order, at most `limit`."""
        e = t.ledger_entry.c
        query = (select(e.id, e.sku, e.location_id, e.cause, e.occurred_at)
                 .where(e.id > after, e.id <= upto).order_by(e.id).limit(limit))
        if skus is not None:
            query = query.where(one_of(self.db.dialect, e.sku, sorted(skus)))
        if locations is not None:
            query = query.where(one_of(self.db.dialect, e.location_id, sorted(locations)))
        async with self.db.reader.connect() as conn:
            rows = await conn.execute(query)
            return [ChangeRef(r.id, r.sku, r.location_id, r.cause, aware(r.occurred_at))
                    for r in rows]

    async def _wait_for_writers(self, conn: AsyncConnection) -> None:
        pending: list[Any] = list((await conn.execute(_WRITERS)).scalars())
        if not pending:
            return
        self.waits += 1
        loop = asyncio.get_running_loop()
        started, delay, warned = loop.time(), POLL_FIRST, False
        while pending:
            await asyncio.sleep(delay)
            delay = min(delay * 2, POLL_MAX)
            still = set((await conn.execute(_WRITERS)).scalars())
            pending = [v for v in pending if v in still]
            if not warned and pending and loop.time() - started > WARN_AFTER:
                warned = True
                log.warning("subscriptions wait for %d ledger writers in flight for over %ss",
                            len(pending), WARN_AFTER)
