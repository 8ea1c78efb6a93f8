"""`create_app(settings)`: the one place that builds the service. Nothing is built at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from adapters.db.migrate import migrate
from app.container import build_database, build_services
from app.graphql_view import StockgraphGraphQL
from app.health import healthz, readyz
from app.settings import Settings
from resolvers.schema import build_schema
from services.reservations import sweeping

log = logging.getLogger("stockgraph")


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = build_database(settings)
        if settings.run_migrations_at_start:
            await migrate(db)
        app.state.db = db
        app.state.services = build_services(db, settings)
        log.info("stockgraph ready on %s", db.url.render_as_string(hide_password=True))
        s = app.state.services
        try:
            async with sweeping(s.reservations, s.publisher, s.clock,
                                settings.reservation_sweep_seconds):
                yield
        finally:
            await db.dispose()

    graphql = StockgraphGraphQL(
        build_schema(), graphql_ide="graphiql" if settings.graphiql else None)
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
