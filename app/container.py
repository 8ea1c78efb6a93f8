"""Wires adapters into the services the resolvers use."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from adapters.db.catalog import SqlAlchemyCatalog
from adapters.db.engine import Database
from adapters.db.ledger import SqlAlchemyLedger
from adapters.db.queries import SqlAlchemyStockReader
from adapters.db.reservations import SqlAlchemyReservations
from app.settings import Settings
from domain.events import StockChanged
from domain.ports import ChangePublisher
from domain.reservation import ReservationLimits
from resolvers.context import Services
from services.movements import MovementLimits


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
    return Services(
        ledger=SqlAlchemyLedger(db),
        reader=SqlAlchemyStockReader(db, clock),
        catalog=SqlAlchemyCatalog(db),
        publisher=publisher or NullPublisher(),
        limits=MovementLimits(settings.max_batch_size,
                              timedelta(seconds=settings.max_clock_skew_seconds)),
        clock=clock,
        reservations=SqlAlchemyReservations(db),
        reservation_limits=ReservationLimits(
            settings.reservation_default_ttl_seconds, settings.max_reservation_ttl_seconds,
            settings.max_reservation_lines),
    )
