"""`create_app(settings)`: the one place that builds the service. Nothing is built at import."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from adapters.db.migrate import migrate
from app.auth import AccessMiddleware, build_gate, operation_gate
from app.container import build_database, build_services
from app.fanout.debug import subscriptions_debug
from app.fanout.direct import RawSendMiddleware
from app.fanout.runtime import build_broadcast, connected, serving
from app.gc_watch import watching
from app.graphql_view import StockgraphGraphQL
from app.health import healthz, readyz
from app.replenishment import webhook_courier
from app.server_timing import ServerTimingMiddleware
from app.settings import Settings
from resolvers.schema import build_schema
from services.reservations import sweeping
from services.source_refresh import polling
from services.webhooks import delivering

log = logging.getLogger("stockgraph")


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    gate = build_gate(settings)  # refuses to start open on a non-loopback address

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = build_database(settings)
        if settings.run_migrations_at_start:
            await migrate(db)
        app.state.db = db
        broadcast, publisher = build_broadcast(settings)
        app.state.broadcast = broadcast
        app.state.services = build_services(db, settings, publisher)
        log.info("stockgraph ready on %s", db.url.render_as_string(hide_password=True))
        s = app.state.services
        try:
            async with connected(broadcast), \
                    serving(schema, settings, db, s, broadcast) as fanout, \
                    sweeping(s.reservations, s.publisher, s.clock,
                             settings.reservation_sweep_seconds), \
                    polling(s.sources, settings.vendor_poll_tick_seconds
                            if settings.vendor_poller else 0), \
                    webhook_courier(db, settings, s.clock) as courier, \
                    delivering(courier, settings.webhook_poll_seconds):
                app.state.fanout = fanout
                app.state.hub = fanout.changes  # the resolvers' ChangeStream
                # What start-up built (schema, modules, engines) lives as long as the process:
                # out of the collector's reach, a full collection no longer walks it, which
                # takes the collector's pauses out of wide reads' p99 (docs/benchmarks.md).
                gc.collect()
                gc.freeze()
                try:
                    async with watching():  # and later survivors of slow full collections
                        yield
                finally:
                    gc.unfreeze()
        finally:
            await db.dispose()

    schema = build_schema(operation_gate(settings, gate))
    graphql = StockgraphGraphQL(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds))
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/debug/subscriptions", subscriptions_debug),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    middleware=[Middleware(ServerTimingMiddleware),  # outermost: times the rest
                                Middleware(RawSendMiddleware),
                                Middleware(AccessMiddleware, gate=gate)])
    app.state.gate = gate
    return app
