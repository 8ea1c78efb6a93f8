"""What the service announces after a change commits."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from domain.stock import StockLevel


@dataclass(frozen=True, slots=True)
class StockChanged:
    """One recorded change to one level. `sequence` orders every change the service records."""

    sequence: int
    level: StockLevel
    cause: str
    occurred_at: datetime
    # The replenishment request this change raised, in the same transaction (at most one per
    # level and write); announced to lowStock after the commit (services/replenishment.py).
    raised: LowStockRaised | None = None


@dataclass(frozen=True, slots=True)
class ChangeRef:
    """One ledger entry as subscribers learn of it: which level changed, why, and its place
    (`sequence`) in the order of every change. Levels are read again when it is delivered."""

    sequence: int
    sku: str
    location_id: str
    cause: str
    occurred_at: datetime

    @classmethod
    def of(cls, change: StockChanged) -> ChangeRef:
        return cls(change.sequence, change.level.sku, change.level.location_id, change.cause,
                   change.occurred_at)


class ReplenishmentStatus(enum.Enum):
    OPEN = "OPEN"
    FULFILLED = "FULFILLED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class LowStockRaised:
    """A replenishment request opened because a level fell to its reorder point; announced
    (after its transaction commits) to `lowStock` subscribers with the level that raised it."""

    request_id: str
    sku: str
    location_id: str
    quantity: int
    status: ReplenishmentStatus
    created_at: datetime
    level: StockLevel
