"""Fixtures shared by the whole suite: a fresh database per test on each engine, the services
wired over it, and an in-process app with a GraphQL helper."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.db.engine import Database
from adapters.db.migrate import migrate
from app.container import build_services
from app.main import create_app
from app.settings import Settings
from resolvers.context import Services
from tests.support.services import fresh_pg_database

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(params=ENGINES)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'stockgraph.db'}"
    else:
        async with fresh_pg_database() as url:
            yield url


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, broadcast_url="memory://")


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = Database(settings.database_url, pool_size=10)
    await migrate(db)
    yield db
    await db.dispose()


@pytest.fixture
def services(database: Database, settings: Settings) -> Services:
    return build_services(database, settings)


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def __call__(self, query: str, headers: dict[str, str] | None = None,
                       **variables: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers)
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        body = await self(query, **variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


@pytest.fixture
async def gql(settings: Settings) -> AsyncIterator[GraphQLClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield GraphQLClient(http)
