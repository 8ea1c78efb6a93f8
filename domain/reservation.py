"""Reservations: holds on stock for a cart or an order, all or nothing over their lines.

The rules here are pure; the storage applies them with conditional updates so that no unit is
promised twice, whichever instance handles the request.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import InvalidInputError
from domain.location import Channel, Location, sells_on
from domain.movement import Effect, MovementRejectedError, MovementType, draw
from domain.stock import Delta, StockLevel

MAX_KEY = 200
# Ledger causes written by reservations (ledger_entry.cause; source_id is the reservation id).
RESERVE, RELEASE, COMMIT, EXPIRE, HOLD_SHORT = "RESERVE", "RELEASE", "COMMIT", "EXPIRE", \
    "HOLD_SHORT"


class ReservationStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    COMMITTED = "COMMITTED"
    RELEASED = "RELEASED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True, slots=True)
class LineRequest:
    sku: str
    location_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ReserveRequest:
    idempotency_key: str
    lines: Sequence[LineRequest]
    ttl_seconds: int | None = None
    channel: Channel = Channel.ONLINE
    order_ref: str | None = None


@dataclass(frozen=True, slots=True)
class ReservationLimits:
    default_ttl_seconds: int = 900
    max_ttl_seconds: int = 86_400
    max_lines: int = 200


@dataclass(frozen=True, slots=True)
class ReservationLine:
    sku: str
    location_id: str
    quantity: int
    # Units of this hold no longer physically covered (reality won: they were sold or lost).
    short_by: int = 0


@dataclass(frozen=True, slots=True)
class Reservation:
    id: str
    idempotency_key: str
    fingerprint: str
    status: ReservationStatus
    lines: tuple[ReservationLine, ...]
    channel: Channel
    order_ref: str | None
    actor: str
    created_at: datetime
    expires_at: datetime

    @property
    def short(self) -> bool:
        return any(line.short_by for line in self.lines)

    def status_at(self, now: datetime) -> ReservationStatus:
        """Expiry holds at read time too: an ACTIVE hold past expiresAt is EXPIRED."""
        if self.status is ReservationStatus.ACTIVE and self.expires_at <= now:
            return ReservationStatus.EXPIRED
        return self.status


@dataclass(frozen=True, slots=True)
class ShortLine:
    sku: str
    location_id: str
    requested: int
    available: int
    # False where the SKU was never stocked at the location (or is unknown).
    stocked: bool = True


@dataclass(frozen=True, slots=True)
class Shortage:
    """A reservation refused because some lines are short; nothing was held."""

    lines: tuple[ShortLine, ...]

    @property
    def message(self) -> str:
        return "not enough stock: " + ", ".join(
            f"{s.sku} at {s.location_id} ({s.available} of {s.requested} available)"
            for s in self.lines)


@dataclass(frozen=True, slots=True)
class Hold:
    """One live reservation line at a (sku, location), as the shortfall rule sees it."""

    line_id: int
    quantity: int


def new_reservation(
    request: ReserveRequest, new_id: str, actor: str, now: datetime, limits: ReservationLimits
) -> Reservation:
    """The reservation `request` asks for, lines in lock order. Raises InvalidInputError."""
    key = request.idempotency_key
    if not key.strip() or len(key) > MAX_KEY:
        raise InvalidInputError(f"idempotencyKey must be 1 to {MAX_KEY} characters",
                                field="idempotencyKey")
    if request.order_ref is not None and len(request.order_ref) > MAX_KEY:
        raise InvalidInputError(f"orderRef is longer than {MAX_KEY} characters", field="orderRef")
    ttl = request.ttl_seconds if request.ttl_seconds is not None else limits.default_ttl_seconds
    if not 1 <= ttl <= limits.max_ttl_seconds:
        raise InvalidInputError(
            f"ttlSeconds must be between 1 and {limits.max_ttl_seconds}", field="ttlSeconds")
    lines = _checked_lines(request.lines, limits.max_lines)
    return Reservation(
        id=new_id, idempotency_key=key, fingerprint=fingerprint(lines),
        status=ReservationStatus.ACTIVE, lines=lines, channel=request.channel,
        order_ref=request.order_ref, actor=actor, created_at=now,
        expires_at=now + timedelta(seconds=ttl),
    )


def _checked_lines(lines: Sequence[LineRequest], max_lines: int) -> tuple[ReservationLine, ...]:
    if not 1 <= len(lines) <= max_lines:
        raise InvalidInputError(f"a reservation holds 1 to {max_lines} lines, got {len(lines)}",
                                field="lines")
    seen: set[tuple[str, str]] = set()
    for i, line in enumerate(lines):
        if line.quantity <= 0:
            raise InvalidInputError(f"quantity must be positive, got {line.quantity}",
                                    field=f"lines[{i}].quantity")
        pair = (line.sku, line.location_id)
        if pair in seen:
            raise InvalidInputError(
                f"{line.sku} at {line.location_id} appears twice; give one line per sku and "
                "location", field=f"lines[{i}]")
        seen.add(pair)
    # Sorted by (sku, location): every transaction locks levels in the same order.
    return tuple(sorted((ReservationLine(x.sku, x.location_id, x.quantity) for x in lines),
                        key=lambda x: (x.sku, x.location_id)))


def fingerprint(lines: Sequence[ReservationLine]) -> str:
    """Identifies what was asked for, so a retried key can be told from a reused one."""
    body = sorted([x.sku, x.location_id, x.quantity] for x in lines)
    return hashlib.sha256(json.dumps(body).encode()).hexdigest()


def check_locations(
    draft: Reservation, request: ReserveRequest, locations: Mapping[str, Location]
) -> None:
    """Every line's location exists, is active and sells on the reservation's channel."""
    for i, line in enumerate(request.lines):
        found = locations.get(line.location_id)
        field = f"lines[{i}].locationId"
        if found is None:
            raise InvalidInputError(f"unknown location {line.location_id!r}", field=field)
        if not sells_on(found, draft.channel):
            state = "inactive" if not found.active else f"not selling on {draft.channel.value}"
            raise InvalidInputError(f"location {line.location_id!r} is {state}", field=field)


def check_replay(found: Reservation, draft: Reservation) -> None:
    """A retried request must ask for what the first one did."""
    if found.fingerprint != draft.fingerprint:
        raise InvalidInputError(
            f"idempotencyKey {draft.idempotency_key!r} was already used for other lines",
            field="idempotencyKey")


def refuse_finish(found: Reservation | None, reservation_id: str, action: str,
                  now: datetime) -> InvalidInputError:
    """Why `action` (release, commit) cannot be applied: the one error each case gets."""
    if found is None:
        return InvalidInputError(f"unknown reservation {reservation_id!r}", field="id")
    status = found.status_at(now)
    if status is ReservationStatus.EXPIRED:
        return InvalidInputError(
            f"reservation {reservation_id!r} expired at {found.expires_at.isoformat()}",
            field="id")
    if status is not ReservationStatus.ACTIVE:
        return InvalidInputError(
            f"reservation {reservation_id!r} is already {status.value}; cannot {action} it",
            field="id")
    return InvalidInputError(f"reservation {reservation_id!r} cannot be {action}ed now",
                             field="id")


def give_back(found: Reservation) -> list[Effect]:
    """Released or expired: the held units return to ATP."""
    return [Effect(x.sku, x.location_id, Delta(reserved=-x.quantity)) for x in found.lines]


def commit_effects(
    found: Reservation, levels: Mapping[tuple[str, str], StockLevel],
    bins: Mapping[tuple[str, str], Mapping[str, int]],
) -> list[Effect]:
    """The held units ship: onHand and reserved both go down, units leave their bins.

    A hold marked short, or one the sellable units no longer cover, is refused: those units
    are gone, so the order must be re-routed (release, then reserve elsewhere)."""
    out: list[Effect] = []
    for line in found.lines:
        level = levels.get((line.sku, line.location_id))
        sellable = level.sellable if level else 0
        if line.short_by or sellable < line.quantity:
            raise InvalidInputError(
                f"reservation {found.id!r} is short at {line.location_id} for {line.sku} "
                f"({sellable} sellable on hand for {line.quantity} held); release it and "
                "reserve elsewhere", field="id")
        try:
            taken = draw(bins.get((line.sku, line.location_id), {}), line.quantity, None,
                         MovementType.SHIP)
        except MovementRejectedError as exc:
            raise InvalidInputError(exc.reason, field="id") from exc
        out.append(Effect(line.sku, line.location_id,
                          Delta(on_hand=-line.quantity, reserved=-line.quantity), taken))
    return out


def shortfalls(sellable: int, holds: Sequence[Hold]) -> dict[int, int]:
    """Reality wins over promises: when the sellable units at a (sku, location) no longer
    cover its live holds, the newest holds are short first. `holds` come newest first; the
    answer is each line's `short_by`."""
    over = max(0, sum(h.quantity for h in holds) - max(0, sellable))
    marks: dict[int, int] = {}
    for h in holds:
        take = min(h.quantity, over)
        marks[h.line_id] = take
        over -= take
    return marks
