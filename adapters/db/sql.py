"""Small dialect helpers shared by the repositories."""

from __future__ import annotations

import json
from collections.abc import Container, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, String, Table, bindparam, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import UpdateBase

T = TypeVar("T")
# Stay well under SQLite's and asyncpg's bound-parameter limits (32,766 / 32,767).
CHUNK = 1000
# serialization_failure, deadlock_detected, unique_violation (a racing insert of a new row)
RETRYABLE_SQLSTATES = {"40001", "40P01", "23505"}
# Below this many rows SQLAlchemy's own executemany costs no more than compiling one here.
MANY = 20


def insert_for(dialect: str, table: Table) -> Any:
    """An INSERT that supports ON CONFLICT on both engines."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def one_of(dialect: str, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN values`. On PostgreSQL as `= ANY(array)`: one statement text for any number of
    values, so asyncpg prepares it once instead of once per list length."""
    if dialect == "postgresql":
        found: ColumnElement[bool] = column == func.any(
            bindparam(None, list(values), postgresql.ARRAY(String)))
        return found
    items = func.json_each(bindparam(None, json.dumps(list(values)), String)).table_valued("value")
    return column.in_(select(items.c.value))  # type: ignore[no-any-return]


def pairs_in(
    dialect: str, first: Any, second: Any, pairs: Sequence[tuple[str, str]]
) -> ColumnElement[bool]:
    """`(first, second) IN pairs`. PostgreSQL plans a long row-value IN list as hundreds of
    OR'ed index probes (measured: ~250 ms for 500 pairs); a join on unnest() takes ~2 ms."""
    values = pair_values(dialect, pairs)
    return pairs_in_param(dialect, first, second,
                          lambda name, type_: bindparam(None, values[name], type_))


def pairs_in_param(
    dialect: str, first: Any, second: Any, param: Any = bindparam
) -> ColumnElement[bool]:
    """`pairs_in` with the pairs as named parameters, for a statement built once and executed
    with `pair_values(dialect, pairs)` (building one per call costs more than running it)."""
    if dialect == "postgresql":
        keys = func.unnest(param(_PAIRS_A, type_=_PAIR_TYPES[dialect]),
                           param(_PAIRS_B, type_=_PAIR_TYPES[dialect]),
                           ).table_valued("a", "b").render_derived("k")
        return tuple_(first, second).in_(select(keys.c.a, keys.c.b))
    items = func.json_each(param(_PAIRS, type_=String)).table_valued("value")
    return tuple_(first, second).in_(select(func.json_extract(items.c.value, "$[0]"),
                                            func.json_extract(items.c.value, "$[1]")))


def pair_values(dialect: str, pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    if dialect == "postgresql":
        return {_PAIRS_A: [a for a, _ in pairs], _PAIRS_B: [b for _, b in pairs]}
    return {_PAIRS: json.dumps(list(pairs))}


_PAIRS, _PAIRS_A, _PAIRS_B = "pairs", "pairs_a", "pairs_b"
_PAIR_TYPES: dict[str, Any] = {"postgresql": postgresql.ARRAY(String), "sqlite": String()}


async def insert_ids(
    conn: AsyncConnection, dialect: str, table: Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert `rows` into `table` (integer primary key `id`); their ids, in order.

    SQLite does not promise RETURNING order for a multi-row insert, so SQLAlchemy sends such
    an insert one row at a time. Our SQLite writers hold the write lock from BEGIN IMMEDIATE,
    so the next ids are ours to number: one executemany instead of one statement per row.
    """
    if not rows:
        return []
    if dialect != "sqlite":
        result = await conn.execute(
            table.insert().returning(table.c.id, sort_by_parameter_order=True), list(rows))
        return list(result.scalars().all())
    last = (await conn.execute(select(func.coalesce(func.max(table.c.id), 0)))).scalar_one()
    ids = list(range(last + 1, last + 1 + len(rows)))
    await execute_many(conn, table.insert(),
                       [{**r, "id": i} for r, i in zip(rows, ids, strict=True)])
    return ids


async def execute_many(
    conn: AsyncConnection, stmt: UpdateBase, rows: Sequence[Mapping[str, Any]]
) -> None:
    """`await conn.execute(stmt, rows)`, minus SQLAlchemy's per-row parameter handling (about
    10 us a row, a third of an INSERT's CPU): compiled once per call, each value bound by its
    column type's own processor, the driver's executemany given tuples. Every row must hold
    the same keys, including every column with a Python-side default (none are applied)."""
    if len(rows) < MANY:
        await conn.execute(stmt, list(rows))
        return
    dialect = conn.dialect
    compiled = stmt.compile(dialect=dialect, column_keys=list(rows[0]))
    if compiled.positiontup is None:  # a named paramstyle; both of our drivers are positional
        await conn.execute(stmt, list(rows))
        return
    binds = [compiled.binds[name] for name in compiled.positiontup]
    keys = [b.key for b in binds]
    procs = [b.type.dialect_impl(dialect).bind_processor(dialect) for b in binds]
    await conn.exec_driver_sql(compiled.string, [
        tuple(r[k] if p is None else p(r[k]) for k, p in zip(keys, procs, strict=True))
        for r in rows
    ])


def is_retryable(exc: BaseException) -> bool:
    """A deadlock, a serialization failure or a lost race for a unique key: through SQLAlchemy,
    or raised by asyncpg itself (statements sent to the driver: group_statements.py)."""
    error = exc.orig if isinstance(exc, DBAPIError) else exc
    code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
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
        await execute_many(conn, stmt, [
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
