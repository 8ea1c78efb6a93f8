"""Small dialect helpers shared by the repositories."""

from __future__ import annotations

from collections.abc import Container, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")
# Stay well under SQLite's and asyncpg's bound-parameter limits (32,766 / 32,767).
CHUNK = 1000
# serialization_failure, deadlock_detected, unique_violation (a racing insert of a new row)
RETRYABLE_SQLSTATES = {"40001", "40P01", "23505"}


def insert_for(dialect: str, table: Table) -> Any:
    """An INSERT that supports ON CONFLICT on both engines."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def is_retryable(exc: BaseException) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in RETRYABLE_SQLSTATES


async def add_to_rows(
    conn: AsyncConnection, dialect: str, table: Table, keys: Sequence[str],
    add: Sequence[str], assign: Sequence[str], rows: Sequence[dict[str, Any]],
    stored: Container[tuple[Any, ...]],
) -> None:
    """Add the `add` columns of `rows` to the stored values and set the `assign` ones.

    Rows known to exist are updated by delta (exact even when a conditional update touched
    them since they were read); new rows are inserted, and if another transaction created
    one meanwhile, the values add up just the same. CHECK constraints see only final values.
    """
    c = table.c
    existing = [r for r in rows if tuple(r[k] for k in keys) in stored]
    fresh = [r for r in rows if tuple(r[k] for k in keys) not in stored]
    if existing:
        stmt = table.update().where(*[c[k] == bindparam(f"k_{k}") for k in keys]).values(
            {**{n: c[n] + bindparam(f"d_{n}") for n in add},
             **{n: bindparam(f"v_{n}") for n in assign}})
        await conn.execute(stmt, [
            {**{f"k_{k}": r[k] for k in keys}, **{f"d_{n}": r[n] for n in add},
             **{f"v_{n}": r[n] for n in assign}}
            for r in existing
        ])
    if fresh:
        ins = insert_for(dialect, table)
        await conn.execute(ins.on_conflict_do_update(
            index_elements=[c[k] for k in keys],
            set_={**{n: c[n] + ins.excluded[n] for n in add},
                  **{n: ins.excluded[n] for n in assign}},
        ), list(fresh))
