"""Reorder rules and the replenishment requests they raise.

A location's position for a SKU is what it has and will have: onHand + inbound - reserved
(API.md). A rule raises a request when a write lowers the position to or below the rule's
reorder point (or when the rule is set while the position already is there); the request asks
for the units that bring the position back up to the target level, or for the rule's fixed
quantity. At most one request is OPEN per SKU and location: the database keeps that promise
(a partial unique index), these functions only say what is due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.errors import InvalidInputError
from domain.events import LowStockRaised, ReplenishmentStatus
from domain.movement import MAX_TEXT, MovementType
from domain.stock import StockLevel

# Movements that bring units in against a request named in their `reference`.
RECEIPTS = frozenset({MovementType.RECEIVE, MovementType.TRANSFER_IN})


@dataclass(frozen=True, slots=True)
class ReorderRule:
    sku: str
    location_id: str
    reorder_point: int
    target_level: int
    # Order this many units instead of "up to target_level".
    fixed_quantity: int | None = None
    supplier: str | None = None
    # Replenish by transfer from this location rather than by purchase.
    source_location_id: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReplenishmentRequest:
    id: str
    sku: str
    location_id: str
    quantity: int
    status: ReplenishmentStatus
    created_at: datetime
    # The rule and position that raised it, as they were then.
    reorder_point: int
    target_level: int
    position: int
    supplier: str | None = None
    source_location_id: str | None = None
    closed_at: datetime | None = None
    # The RECEIVE's eventId that fulfilled it, or the name of the key that cancelled it.
    closed_by: str | None = None


def position(level: StockLevel) -> int:
    """onHand + inbound - reserved: the stock a location has and will have."""
    return level.on_hand + level.inbound - level.reserved


def check_rule(rule: ReorderRule) -> None:
    """Refuse a rule that cannot be meant. Raises InvalidInputError naming the argument."""
    if rule.reorder_point < 0:
        raise InvalidInputError(
            f"reorderPoint cannot be negative, got {rule.reorder_point}", field="reorderPoint")
    if rule.target_level <= rule.reorder_point:
        raise InvalidInputError(
            f"targetLevel must be above reorderPoint ({rule.reorder_point}), got "
            f"{rule.target_level}", field="targetLevel")
    if rule.fixed_quantity is not None and rule.fixed_quantity <= 0:
        raise InvalidInputError(
            f"fixedQuantity must be positive, got {rule.fixed_quantity}", field="fixedQuantity")
    if rule.supplier is not None and not 0 < len(rule.supplier.strip()) <= MAX_TEXT:
        raise InvalidInputError(f"supplier must be 1 to {MAX_TEXT} characters",
                                field="supplier")
    if rule.source_location_id == rule.location_id:
        raise InvalidInputError("sourceLocationId cannot be the location itself",
                                field="sourceLocationId")
    if rule.supplier is not None and rule.source_location_id is not None:
        raise InvalidInputError("give a supplier or a sourceLocationId, not both",
                                field="sourceLocationId")


def due_quantity(rule: ReorderRule, level: StockLevel) -> int | None:
    """Units a request should ask for now, or None when the position is above the point."""
    at = position(level)
    if at > rule.reorder_point:
        return None
    return rule.fixed_quantity if rule.fixed_quantity is not None else rule.target_level - at


def new_request(
    request_id: str, rule: ReorderRule, level: StockLevel, quantity: int, now: datetime
) -> ReplenishmentRequest:
    return ReplenishmentRequest(
        id=request_id, sku=rule.sku, location_id=rule.location_id, quantity=quantity,
        status=ReplenishmentStatus.OPEN, created_at=now, reorder_point=rule.reorder_point,
        target_level=rule.target_level, position=position(level), supplier=rule.supplier,
        source_location_id=rule.source_location_id)


def alert(request: ReplenishmentRequest, level: StockLevel) -> LowStockRaised:
    return LowStockRaised(request.id, request.sku, request.location_id, request.quantity,
                          request.status, request.created_at, level)


def webhook_body(request: ReplenishmentRequest, level: StockLevel) -> dict[str, Any]:
    """What the purchasing system receives for a new request (docs/replenishment.md)."""
    return {
        "event": "replenishment.requested",
        "request": {
            "id": request.id, "sku": request.sku, "locationId": request.location_id,
            "quantity": request.quantity, "status": request.status.value,
            "createdAt": request.created_at.isoformat(),
            "supplier": request.supplier, "sourceLocationId": request.source_location_id,
            "kind": "TRANSFER" if request.source_location_id else "PURCHASE",
        },
        "rule": {"reorderPoint": request.reorder_point, "targetLevel": request.target_level},
        "level": {"onHand": level.on_hand, "inbound": level.inbound,
                  "reserved": level.reserved, "position": request.position},
    }


def cancellable(request: ReplenishmentRequest) -> None:
    if request.status is not ReplenishmentStatus.OPEN:
        raise InvalidInputError(
            f"replenishment request {request.id!r} is {request.status.value}; only an OPEN "
            "one can be cancelled", field="id")
