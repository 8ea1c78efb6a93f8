"""Use cases: hold stock for a cart or an order, give it back, ship it, expire what lapsed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from domain import reservation as rules
from domain.access import Caller
from domain.errors import InvalidInputError
from domain.ports import ChangePublisher, ReservationStore, StockReader
from domain.reservation import (
    Reservation,
    ReservationLimits,
    ReserveRequest,
    Shortage,
)

log = logging.getLogger("stockgraph.reservations")
SWEEP_BATCH = 500


async def reserve(
    store: ReservationStore, reader: StockReader, publisher: ChangePublisher,
    request: ReserveRequest, caller: Caller, now: datetime, limits: ReservationLimits,
) -> Reservation | Shortage:
    """All lines held, or none (a Shortage). Raises InvalidInputError for bad input, and for an
    idempotency key already used with other lines."""
    draft = rules.new_reservation(request, str(uuid.uuid4()), caller.name, now, limits)
    outcome, changes = await store.reserve(
        draft, lambda locations: rules.check_locations(draft, request, locations))
    await publisher.publish(changes)
    if isinstance(outcome, Shortage):
        await _check_skus(reader, request, outcome)
    elif outcome.id != draft.id:
        rules.check_replay(outcome, draft)
    return outcome


async def release(
    store: ReservationStore, publisher: ChangePublisher, reservation_id: str, caller: Caller,
    now: datetime,
) -> Reservation:
    found, changes = await store.release(reservation_id, caller.name, now)
    await publisher.publish(changes)
    return found


async def commit(
    store: ReservationStore, publisher: ChangePublisher, reservation_id: str, caller: Caller,
    now: datetime,
) -> Reservation:
    found, changes = await store.commit(reservation_id, caller.name, now)
    await publisher.publish(changes)
    return found


async def expire_due(
    store: ReservationStore, publisher: ChangePublisher, now: datetime, batch: int = SWEEP_BATCH
) -> int:
    """Turn every ACTIVE reservation past expiresAt EXPIRED and give its units back."""
    total = 0
    while True:
        count, changes = await store.expire_due(now, batch)
        await publisher.publish(changes)
        total += count
        if count < batch:
            return total


@contextlib.asynccontextmanager
async def sweeping(
    store: ReservationStore, publisher: ChangePublisher, clock: Callable[[], datetime],
    interval: float,
) -> AsyncIterator[None]:
    """Runs the sweeper (unless `interval` is 0) while the block runs; stops it cleanly."""
    if interval <= 0:
        yield
        return
    task = asyncio.create_task(sweep_forever(store, publisher, clock, interval),
                               name="reservation-sweeper")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def sweep_forever(
    store: ReservationStore, publisher: ChangePublisher, clock: Callable[[], datetime],
    interval: float,
) -> None:
    """The sweeper every instance runs; safe beside the others (see SqlAlchemyReservations)."""
    while True:
        try:
            expired = await expire_due(store, publisher, clock())
            if expired:
                log.info("expired %d reservations", expired)
        except Exception:  # a failed pass is retried at the next tick, never fatal
            log.exception("reservation sweep failed")
        await asyncio.sleep(interval)


async def _check_skus(reader: StockReader, request: ReserveRequest, shortage: Shortage) -> None:
    """A short line with an unknown SKU is bad input, not a shortage."""
    unstocked = {x.sku for x in shortage.lines if not x.stocked}
    if not unstocked:
        return
    unknown = unstocked - await reader.known_skus(unstocked)
    for i, line in enumerate(request.lines):
        if line.sku in unknown:
            raise InvalidInputError(f"unknown sku {line.sku!r}", field=f"lines[{i}].sku")

