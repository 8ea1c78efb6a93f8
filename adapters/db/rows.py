"""Row to domain object mappers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.location import Location, LocationKind
from domain.stock import StockLevel


def location_from_row(r: Any) -> Location:
    return Location(
        id=r.id, name=r.name, kind=LocationKind(r.kind), latitude=r.latitude,
        longitude=r.longitude, pickup_enabled=r.pickup_enabled, ship_enabled=r.ship_enabled,
        active=r.active,
    )


def level_from_row(r: Any) -> StockLevel:
    return StockLevel(
        sku=r.sku, location_id=r.location_id, on_hand=r.on_hand, reserved=r.reserved,
        safety_stock=r.safety_stock, inbound=r.inbound, unsellable=r.unsellable,
        updated_at=aware(r.updated_at),
    )


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
