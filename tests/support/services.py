"""Where the test suite finds PostgreSQL and Redis, and what it does when they are missing."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy.engine import make_url

PG_URL = os.environ.get(
    "STOCKGRAPH_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("STOCKGRAPH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Cuts every other connection to the current PostgreSQL database, as a restart would.
CUT_OTHER_CONNECTIONS = ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = current_database() AND pid <> pg_backend_pid()")


def unavailable(what: str, why: object) -> None:
    """Skip on a developer's machine; fail in CI, where every service must be there."""
    message = f"{what} unavailable: {why}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@asynccontextmanager
async def fresh_pg_database() -> AsyncIterator[str]:
    """A new PostgreSQL database for one test, dropped afterwards. Yields its SQLAlchemy URL."""
    admin = make_url(PG_URL)
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"stockgraph_test_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL", exc)
        raise
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
