"""Physical stock movements and their effect on levels and bins.

Every movement becomes one immutable ledger record and one or more effects. An effect is a
`Delta` on the ledgered buckets of one (sku, location) level plus bin changes that keep
`sum(bins) == on_hand`. Units without a bin sit in the unbinned bin "".
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from domain.location import Location
from domain.source import SourceMode
from domain.stock import Delta, StockLevel

UNBINNED = ""
PICKED = "PICKED"
PACKED = "PACKED"
MAX_TEXT = 200
# Most units one level may hold: clients read quantities as GraphQL Int and PostgreSQL
# stores them as integer, both 32-bit signed.
MAX_QUANTITY = 2**31 - 1


class MovementType(enum.Enum):
    RECEIVE = "RECEIVE"
    PUTAWAY = "PUTAWAY"
    MOVE = "MOVE"
    PICK = "PICK"
    PACK = "PACK"
    SHIP = "SHIP"
    SALE = "SALE"
    RETURN = "RETURN"
    ADJUST = "ADJUST"
    COUNT = "COUNT"
    TRANSFER_OUT = "TRANSFER_OUT"
    TRANSFER_IN = "TRANSFER_IN"
    DAMAGE = "DAMAGE"


class MovementStatus(enum.Enum):
    APPLIED = "APPLIED"
    DUPLICATE = "DUPLICATE"
    REJECTED = "REJECTED"


BIN_MOVES = {MovementType.PUTAWAY, MovementType.MOVE, MovementType.PICK, MovementType.PACK}
DEFAULT_TO_BIN = {MovementType.PICK: PICKED, MovementType.PACK: PACKED}


class MovementRejectedError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Movement:
    event_id: str
    type: MovementType
    sku: str
    location_id: str
    quantity: int
    to_location_id: str | None = None
    bin: str | None = None
    to_bin: str | None = None
    occurred_at: datetime | None = None
    reference: str | None = None
    device_id: str | None = None

    def fingerprint(self) -> str:
        """Identifies the payload, so a replayed eventId can be told from a conflicting one."""
        body = {
            "type": self.type.value,
            "sku": self.sku,
            "location": self.location_id,
            "quantity": self.quantity,
            "to_location": self.to_location_id,
            "bin": self.bin,
            "to_bin": self.to_bin,
            "occurred_at": self.occurred_at.isoformat() if self.occurred_at else None,
            "reference": self.reference,
            "device": self.device_id,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Effect:
    sku: str
    location_id: str
    delta: Delta
    bins: Mapping[str, int] = field(default_factory=dict)


class StockView(Protocol):
    """What the rules need to know of the current state."""

    def location(self, location_id: str) -> Location | None: ...
    def sku_exists(self, sku: str) -> bool: ...
    def level(self, sku: str, location_id: str) -> StockLevel: ...
    def bins(self, sku: str, location_id: str) -> Mapping[str, int]: ...
    def source_mode(self, location_id: str) -> SourceMode | None: ...


def check_shape(m: Movement, now: datetime, max_skew: timedelta) -> None:
    """Rules that need no state. Raises MovementRejectedError."""
    if not m.event_id.strip():
        raise MovementRejectedError("eventId must not be empty")
    for name, text in (("eventId", m.event_id), ("sku", m.sku), ("locationId", m.location_id),
                       ("bin", m.bin), ("toBin", m.to_bin), ("reference", m.reference),
                       ("deviceId", m.device_id)):
        if text is not None and len(text) > MAX_TEXT:
            raise MovementRejectedError(f"{name} is longer than {MAX_TEXT} characters")
    if m.type is MovementType.ADJUST:
        if m.quantity == 0:
            raise MovementRejectedError("ADJUST quantity must be a non-zero signed change")
    elif m.type is MovementType.COUNT:
        if m.quantity < 0:
            raise MovementRejectedError("COUNT is the counted total; it cannot be negative")
    elif m.quantity <= 0:
        raise MovementRejectedError(f"{m.type.value} quantity must be positive, got {m.quantity}")
    if m.type is MovementType.TRANSFER_OUT:
        if not m.to_location_id:
            raise MovementRejectedError("TRANSFER_OUT needs toLocationId")
        if m.to_location_id == m.location_id:
            raise MovementRejectedError("TRANSFER_OUT cannot transfer to its own location")
    elif m.to_location_id is not None:
        raise MovementRejectedError(f"toLocationId is only for TRANSFER_OUT, not {m.type.value}")
    if m.type in BIN_MOVES:
        target = m.to_bin or DEFAULT_TO_BIN.get(m.type)
        if target is None:
            raise MovementRejectedError(f"{m.type.value} needs toBin")
        if target == (m.bin or UNBINNED):
            raise MovementRejectedError(f"{m.type.value} source and destination bin are the same")
    if m.occurred_at is not None:
        if m.occurred_at.tzinfo is None or m.occurred_at.utcoffset() is None:
            raise MovementRejectedError("occurredAt needs a UTC offset (ISO-8601, e.g. ...Z)")
        if m.occurred_at > now + max_skew:
            raise MovementRejectedError("occurredAt is in the future")


def effects(m: Movement, view: StockView) -> list[Effect]:
    """The changes `m` makes, or MovementRejectedError when the rules refuse it."""
    found = _effects(m, view)
    for e in found:
        level = view.level(e.sku, e.location_id)  # (sums, not .apply(): this runs per movement)
        for name, value in (("on hand", level.on_hand + e.delta.on_hand),
                            ("inbound", level.inbound + e.delta.inbound)):
            if value > MAX_QUANTITY:
                raise MovementRejectedError(
                    f"{name} at {e.location_id!r} would be {value}, too large "
                    f"(at most {MAX_QUANTITY})")
    return found


def _effects(m: Movement, view: StockView) -> list[Effect]:
    _check_refs(m, view)
    level = view.level(m.sku, m.location_id)
    bins = view.bins(m.sku, m.location_id)
    here = m.bin or UNBINNED
    q = m.quantity
    t = m.type
    if t in (MovementType.RECEIVE, MovementType.RETURN):
        return [_at(m, Delta(on_hand=q), {here: q})]
    if t is MovementType.TRANSFER_IN:
        return [_at(m, Delta(on_hand=q, inbound=-min(q, level.inbound)), {here: q})]
    if t in (MovementType.SHIP, MovementType.SALE):
        _need_sellable(level, q, t)
        return [_at(m, Delta(on_hand=-q), draw(bins, q, m.bin, t))]
    if t is MovementType.TRANSFER_OUT:
        _need_sellable(level, q, t)
        assert m.to_location_id is not None
        return [
            _at(m, Delta(on_hand=-q), draw(bins, q, m.bin, t)),
            Effect(m.sku, m.to_location_id, Delta(inbound=q)),
        ]
    if t is MovementType.DAMAGE:
        _need_sellable(level, q, t)
        return [_at(m, Delta(unsellable=q))]
    if t is MovementType.ADJUST:
        return [_change_on_hand(m, level, bins, q)]
    if t is MovementType.COUNT:
        counted_from = bins.get(here, 0) if m.bin is not None else level.on_hand
        return [_change_on_hand(m, level, bins, q - counted_from)]
    # PUTAWAY, MOVE, PICK, PACK: the location total stays, units change bin.
    target = m.to_bin or DEFAULT_TO_BIN[t]
    if bins.get(here, 0) < q:
        raise MovementRejectedError(f"bin {_bin_name(here)} holds only {bins.get(here, 0)}")
    return [_at(m, Delta(), {here: -q, target: q})]


def draw(bins: Mapping[str, int], q: int, named: str | None, t: MovementType) -> dict[str, int]:
    """Bin changes that take `q` units out: from the named bin, else in a sensible order."""
    if named is not None:
        if bins.get(named, 0) < q:
            raise MovementRejectedError(f"bin {_bin_name(named)} holds only {bins.get(named, 0)}")
        return {named: -q}
    staged = [PACKED, PICKED] if t is MovementType.SHIP else []
    rest = sorted(b for b in bins if b not in (UNBINNED, PICKED, PACKED))
    tail = [] if t is MovementType.SHIP else [PICKED, PACKED]
    out: dict[str, int] = {}
    left = q
    for b in [*staged, UNBINNED, *rest, *tail]:
        take = min(left, bins.get(b, 0))
        if take > 0:
            out[b] = -take
            left -= take
        if left == 0:
            return out
    raise MovementRejectedError(f"only {q - left} units are in bins, {q} needed")


def _check_refs(m: Movement, view: StockView) -> None:
    if not view.sku_exists(m.sku):
        raise MovementRejectedError(f"unknown sku {m.sku!r}")
    for loc_id in filter(None, (m.location_id, m.to_location_id)):
        loc = view.location(loc_id)
        if loc is None:
            raise MovementRejectedError(f"unknown location {loc_id!r}")
        if not loc.active:
            raise MovementRejectedError(f"location {loc_id!r} is inactive")
        if view.source_mode(loc_id) is SourceMode.PULL:
            raise MovementRejectedError(
                f"location {loc_id!r} is read-only here: its stock is pulled from the system "
                "that owns it; record its movements there")


def _need_sellable(level: StockLevel, q: int, t: MovementType) -> None:
    if q > level.sellable:
        raise MovementRejectedError(
            f"cannot {t.value} {q}: only {level.sellable} sellable units on hand"
        )


def _change_on_hand(m: Movement, level: StockLevel, bins: Mapping[str, int], diff: int) -> Effect:
    if level.on_hand + diff < 0:
        raise MovementRejectedError(f"on hand is {level.on_hand}; a change of {diff} is below zero")
    delta, moved = _on_hand_change(level, bins, diff, m.bin, m.type)
    return _at(m, delta, moved)


def on_hand_set_to(level: StockLevel, bins: Mapping[str, int], quantity: int) -> Effect:
    """The effect of a source reporting `quantity` on hand (no movement behind it): the
    difference, added to the unbinned bin, or drawn like a COUNT's when it shrinks."""
    if quantity < 0:
        raise MovementRejectedError(f"a level cannot be negative, got {quantity}")
    delta, moved = _on_hand_change(level, bins, quantity - level.on_hand, None, MovementType.COUNT)
    return Effect(level.sku, level.location_id, delta, moved)


def _on_hand_change(
    level: StockLevel, bins: Mapping[str, int], diff: int, named: str | None, t: MovementType
) -> tuple[Delta, dict[str, int]]:
    moved = {named or UNBINNED: diff} if diff >= 0 else draw(bins, -diff, named, t)
    # Units written off beyond the sellable ones were the damaged ones.
    unsellable = min(0, level.on_hand + diff - level.unsellable)
    return Delta(on_hand=diff, unsellable=unsellable), moved if diff else {}


def _at(m: Movement, delta: Delta, bins: Mapping[str, int] | None = None) -> Effect:
    return Effect(m.sku, m.location_id, delta, dict(bins or {}))


def _bin_name(b: str) -> str:
    return repr(b) if b else "(unbinned)"
