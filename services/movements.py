"""Use case: record scanned movements, each applied or rejected on its own, in order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.access import Caller
from domain.errors import InvalidInputError
from domain.events import StockChanged
from domain.location import Location
from domain.movement import (
    Movement,
    MovementRejectedError,
    MovementStatus,
    check_shape,
    effects,
)
from domain.ports import BatchKeys, ChangePublisher, Holds, Ledger, LedgerBatch, Pair
from domain.stock import StockLevel

# Starts the reason of a movement rejected because the caller may not act at its location.
FORBIDDEN_REASON = "FORBIDDEN: "


@dataclass(frozen=True, slots=True)
class MovementOutcome:
    event_id: str
    status: MovementStatus
    error: str | None = None
    level: StockLevel | None = None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class MovementLimits:
    max_batch: int
    max_clock_skew: timedelta


async def record_movements(
    ledger: Ledger, publisher: ChangePublisher, movements: Sequence[Movement],
    caller: Caller, now: datetime, limits: MovementLimits, holds: Holds | None = None,
) -> list[MovementOutcome]:
    """`holds`: where reservations are kept, so movements that cut into them mark them short."""
    if len(movements) > limits.max_batch:
        raise InvalidInputError(
            f"a batch holds at most {limits.max_batch} movements, got {len(movements)}",
            field="movements",
        )
    if not movements:
        return []
    keys = BatchKeys(
        pairs=frozenset(
            pair for m in movements
            for pair in ((m.sku, m.location_id), (m.sku, m.to_location_id or m.location_id))
        ),
        event_ids=frozenset(m.event_id for m in movements),
    )

    def decide(batch: LedgerBatch) -> list[MovementOutcome]:
        return [_decide(batch, m, now, limits) if caller.may_act_at(m.location_id)
                else _forbidden(m) for m in movements]

    outcomes, changes = await ledger.apply(keys, caller.name, now, decide)
    await publisher.publish(changes)
    if holds is not None:
        # Reality wins over promises: a sale under held units was recorded all the same; the
        # holds it left uncovered are marked short and announced, so orders can be re-routed.
        await publisher.publish(
            await holds.refresh_shortfalls(_held_pairs(changes), caller.name, now))
    return outcomes


def _held_pairs(changes: Sequence[StockChanged]) -> set[Pair]:
    return {(c.level.sku, c.level.location_id) for c in changes if c.level.reserved > 0}


def _decide(
    batch: LedgerBatch, m: Movement, now: datetime, limits: MovementLimits
) -> MovementOutcome:
    fingerprint = m.fingerprint()
    seen = batch.recorded_fingerprint(m.event_id)
    if seen == fingerprint:
        return _outcome(batch, m, MovementStatus.DUPLICATE)
    if seen is not None:
        return MovementOutcome(
            m.event_id, MovementStatus.REJECTED,
            f"eventId {m.event_id!r} was already recorded with a different payload",
        )
    try:
        check_shape(m, now, limits.max_clock_skew)
        changes = effects(m, batch)
    except MovementRejectedError as exc:
        return MovementOutcome(m.event_id, MovementStatus.REJECTED, exc.reason)
    batch.record(m, fingerprint, changes)
    return _outcome(batch, m, MovementStatus.APPLIED)


def _forbidden(m: Movement) -> MovementOutcome:
    """An event at a location outside the caller's key: rejected, the batch's others apply."""
    return MovementOutcome(m.event_id, MovementStatus.REJECTED,
                           f"{FORBIDDEN_REASON}this key may not record movements at "
                           f"{m.location_id!r}")


def _outcome(batch: LedgerBatch, m: Movement, status: MovementStatus) -> MovementOutcome:
    return MovementOutcome(
        m.event_id, status, None,
        batch.existing_level(m.sku, m.location_id), batch.location(m.location_id),
    )
