"""Wires adapters into the services the resolvers use."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from adapters.db.catalog import SqlAlchemyCatalog
from adapters.db.engine import Database
from adapters.db.ledger import SqlAlchemyLedger
from adapters.db.queries import SqlAlchemyStockReader
from adapters.db.reservations import SqlAlchemyReservations
from adapters.db.route_reservations import SqlAlchemyRouteHolds
from adapters.db.routing import SqlAlchemyRouting
from adapters.sources.httpx_feed import FeedLimits, HttpxVendorFeed
from adapters.sources.store import SqlAlchemySourceStore
from app.replenishment import announcing, build_replenishment
from app.settings import Settings
from domain.events import StockChanged
from domain.ports import ChangePublisher
from domain.reservation import ReservationLimits
from resolvers.context import Services
from services.movements import MovementLimits
from services.routing import RoutingLimits
from services.source_refresh import SourceRefresher
from services.sources import SourceDeps


class NullPublisher:
    async def publish(self, changes: Sequence[StockChanged]) -> None:
        return None


def utc_now() -> datetime:
    return datetime.now(UTC)


def build_database(settings: Settings) -> Database:
    return Database(settings.database_url, settings.db_pool_size,
                    settings.sqlite_busy_timeout_seconds)


def build_services(
    db: Database, settings: Settings, publisher: ChangePublisher | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Services:
    # Announces the replenishment requests a write raised, after the changes (lowStock).
    announcer = announcing(publisher or NullPublisher())
    return Services(
        ledger=SqlAlchemyLedger(db),
        reader=SqlAlchemyStockReader(db, clock),
        catalog=SqlAlchemyCatalog(db),
        publisher=announcer,
        limits=MovementLimits(settings.max_batch_size,
                              timedelta(seconds=settings.max_clock_skew_seconds)),
        clock=clock,
        reservations=SqlAlchemyReservations(db),
        reservation_limits=ReservationLimits(
            settings.reservation_default_ttl_seconds, settings.max_reservation_ttl_seconds,
            settings.max_reservation_lines),
        sources=build_sources(db, settings, announcer, clock),
        routing=SqlAlchemyRouting(db),
        routing_limits=RoutingLimits(max_lines=settings.max_order_lines),
        route_holds=SqlAlchemyRouteHolds(db, SqlAlchemyReservations(db)),
        replenishment=build_replenishment(db, settings, announcer),
    )


def build_sources(
    db: Database, settings: Settings, publisher: ChangePublisher, clock: Callable[[], datetime]
) -> SourceRefresher:
    """The pull adapter's HTTP client is made on its first call; `aclose()` closes it."""
    feed = HttpxVendorFeed(FeedLimits(
        connect_timeout=settings.vendor_connect_timeout_seconds,
        read_timeout=settings.vendor_read_timeout_seconds, retries=settings.vendor_retries,
        backoff=settings.vendor_retry_backoff_seconds,
        breaker_failures=settings.vendor_breaker_failures,
        breaker_cooldown=settings.vendor_breaker_cooldown_seconds,
        max_lines=settings.vendor_max_lines, max_bytes=settings.vendor_max_response_bytes,
    ), clock)
    deps = SourceDeps(
        ledger=SqlAlchemyLedger(db), publisher=publisher, reader=SqlAlchemyStockReader(db, clock),
        store=SqlAlchemySourceStore(db), feed=feed,
        max_skew=timedelta(seconds=settings.max_clock_skew_seconds),
        holds=SqlAlchemyReservations(db))
    return SourceRefresher(deps, clock)
