"""A small hand-built network whose right answers are easy to know."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from typing import Any

from domain.access import Caller, Role
from domain.location import LocationKind
from domain.movement import Movement, MovementType
from resolvers.context import Services
from services import catalog
from services.movements import MovementOutcome, record_movements

ADMIN = Caller("test-admin", Role.ADMIN)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LOCATIONS = [
    catalog.LocationChange("wh-1", "Warehouse One", LocationKind.WAREHOUSE, 52.52, 13.40,
                           pickup_enabled=False, ship_enabled=True),
    catalog.LocationChange("store-1", "Store One", LocationKind.STORE, 52.50, 13.30,
                           pickup_enabled=True, ship_enabled=True),
    catalog.LocationChange("store-2", "Store Two", LocationKind.STORE, 53.55, 9.99,
                           pickup_enabled=False, ship_enabled=False),
    catalog.LocationChange("vendor-1", "Vendor One", LocationKind.DROPSHIP_VENDOR, 48.13, 11.58,
                           pickup_enabled=False, ship_enabled=True),
]
SKUS = ["SKU-A", "SKU-B", "SKU-C"]
_ids = itertools.count()


async def build_network(services: Services) -> None:
    for change in LOCATIONS:
        await catalog.upsert_location(services.catalog, services.reader, change, NOW)
    for sku in SKUS:
        await catalog.upsert_sku(services.catalog, sku, f"Product {sku}", None, NOW)


def mv(type: MovementType, sku: str, location: str, quantity: int, **extra: Any) -> Movement:
    event_id = extra.pop("event_id", None) or f"ev-{next(_ids)}-{uuid.uuid4().hex[:6]}"
    return Movement(event_id, type, sku, location, quantity, **extra)


async def record(services: Services, *movements: Movement) -> list[MovementOutcome]:
    return await record_movements(services.ledger, services.publisher, list(movements), ADMIN,
                                  NOW, services.limits)
