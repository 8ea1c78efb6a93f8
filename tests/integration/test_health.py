"""/healthz and /readyz as compose healthchecks and orchestrators see them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from adapters.broadcast import BroadcastUnavailableError, make_broadcast
from app.main import create_app
from app.settings import Settings
from tests.support.services import PG_URL, REDIS_URL, unavailable


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client


def sqlite(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'sg.db'}",
                    broadcast_url="memory://", **overrides)


async def test_healthz_answers_while_the_process_is_up(tmp_path: Path) -> None:
    async with serving(sqlite(tmp_path)) as (_, http):
        response = await http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_on_a_migrated_database(settings: Settings) -> None:
    # Given a server that migrated its database (SQLite and PostgreSQL) at start
    async with serving(settings) as (_, http):
        response = await http.get("/readyz")

    assert response.status_code == 200
    # (its broadcast is the settings' memory://, which has no link to lose)
    assert response.json() == {"ready": True, "checks": {
        "database": "ok", "migrations": "ok", "broadcast": "ok"}}


async def test_not_ready_while_migrations_are_behind(tmp_path: Path) -> None:
    # Given a server told not to migrate, over an empty database
    async with serving(sqlite(tmp_path, run_migrations_at_start=False)) as (_, http):
        response = await http.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"] == "behind"


async def test_not_ready_when_the_database_is_unreachable() -> None:
    # Given a server pointed at a PostgreSQL database that does not exist
    missing = make_url(PG_URL).set(database=f"missing_{uuid.uuid4().hex[:12]}")
    settings = Settings(database_url=missing.render_as_string(hide_password=False),
                        broadcast_url="memory://", run_migrations_at_start=False)
    async with serving(settings) as (_, http):
        response = await http.get("/readyz")
        alive = await http.get("/healthz")

    # Then it is alive but not ready, and says why without leaking the URL
    assert alive.status_code == 200
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    assert body["checks"]["database"].startswith("error: ")
    assert body["checks"]["database"] != "error: Error"  # names the cause, not a wrapper
    assert missing.database not in response.text
    assert body["checks"]["migrations"] == "unknown"


async def test_a_memory_broadcast_is_always_connected(tmp_path: Path) -> None:
    # Given a memory:// broadcast on the app's state: it has no link to lose
    async with serving(sqlite(tmp_path)) as (app, http):
        app.state.broadcast = make_broadcast("memory://")
        response = await http.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["broadcast"] == "ok"


@pytest.mark.redis
async def test_ready_follows_the_redis_broadcast_link(tmp_path: Path) -> None:
    # Given a Redis broadcast on the app's state, connected to the real Redis
    broadcast = make_broadcast(REDIS_URL)
    try:
        await broadcast.connect()
    except BroadcastUnavailableError as exc:
        unavailable("Redis", exc)
    async with serving(sqlite(tmp_path)) as (app, http):
        app.state.broadcast = broadcast
        try:
            up = await http.get("/readyz")
        finally:
            await broadcast.disconnect()
        # When its link is down
        down = await http.get("/readyz")

    # Then the instance leaves the rotation, saying why, and is still alive
    assert up.status_code == 200
    assert up.json()["checks"]["broadcast"] == "ok"
    assert down.status_code == 503
    assert down.json()["checks"]["broadcast"] == "disconnected"
