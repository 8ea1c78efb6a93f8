"""What the service announces after a change commits."""

from __future__ import annotations

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
