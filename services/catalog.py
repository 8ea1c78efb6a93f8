"""Use cases on reference data: locations, SKUs, safety stock."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from domain.access import Caller
from domain.errors import InvalidInputError, NotFoundError
from domain.location import Location, LocationKind
from domain.ports import BatchKeys, Catalog, ChangePublisher, Ledger, LedgerBatch, StockReader
from domain.stock import StockLevel

MAX_ID = 200


@dataclass(frozen=True, slots=True)
class LocationChange:
    id: str
    name: str
    kind: LocationKind
    latitude: float | None = None
    longitude: float | None = None
    pickup_enabled: bool | None = None
    ship_enabled: bool | None = None
    active: bool | None = None


async def upsert_location(
    catalog: Catalog, reader: StockReader, change: LocationChange, now: datetime
) -> Location:
    _check_id(change.id, "id")
    if not change.name.strip() or len(change.name) > MAX_ID:
        raise InvalidInputError(f"name must be 1 to {MAX_ID} characters", field="name")
    _check_coordinates(change.latitude, change.longitude)
    found = await reader.locations(ids=[change.id])
    base = found[0] if found else Location(change.id, change.name, change.kind)
    location = replace(
        base, name=change.name, kind=change.kind, latitude=change.latitude,
        longitude=change.longitude,
        pickup_enabled=_keep(change.pickup_enabled, base.pickup_enabled),
        ship_enabled=_keep(change.ship_enabled, base.ship_enabled),
        active=_keep(change.active, base.active),
    )
    return await catalog.upsert_location(location, now)


async def upsert_sku(
    catalog: Catalog, sku: str, name: str | None, barcodes: Sequence[str] | None, now: datetime,
    unit_cost: float | None = None,
) -> str:
    _check_id(sku, "sku")
    if name is not None and len(name) > MAX_ID:
        raise InvalidInputError(f"name must be at most {MAX_ID} characters", field="name")
    if barcodes is not None and any(not b.strip() or len(b) > MAX_ID for b in barcodes):
        raise InvalidInputError("barcodes must be non-empty and at most 200 characters",
                                field="barcodes")
    if unit_cost is not None and not (math.isfinite(unit_cost) and unit_cost >= 0):
        raise InvalidInputError("unitCost must be a finite amount, zero or more",
                                field="unitCost")
    await catalog.upsert_sku(sku, name, barcodes, now, unit_cost)
    return sku


async def set_safety_stock(
    ledger: Ledger, publisher: ChangePublisher, sku: str, location_id: str, quantity: int,
    caller: Caller, now: datetime,
) -> tuple[StockLevel, Location]:
    if quantity < 0:
        raise InvalidInputError("safety stock cannot be negative", field="quantity")

    def decide(batch: LedgerBatch) -> tuple[StockLevel, Location]:
        if not batch.sku_exists(sku):
            raise NotFoundError(f"unknown sku {sku!r}", field="sku")
        location = batch.location(location_id)
        if location is None:
            raise NotFoundError(f"unknown location {location_id!r}", field="locationId")
        batch.set_safety_stock(sku, location_id, quantity)
        return batch.level(sku, location_id), location

    result, changes = await ledger.apply(
        BatchKeys(pairs=frozenset({(sku, location_id)})), caller.name, now, decide)
    await publisher.publish(changes)
    return result


def _keep(value: bool | None, current: bool) -> bool:
    return current if value is None else value


def _check_id(value: str, field: str) -> None:
    if not value.strip() or len(value) > MAX_ID or value != value.strip():
        raise InvalidInputError(
            f"{field} must be 1 to {MAX_ID} characters without surrounding spaces", field=field)


def _check_coordinates(latitude: float | None, longitude: float | None) -> None:
    if (latitude is None) != (longitude is None):
        raise InvalidInputError("give latitude and longitude together", field="latitude")
    if latitude is not None and not (math.isfinite(latitude) and -90 <= latitude <= 90):
        raise InvalidInputError("latitude must be between -90 and 90", field="latitude")
    if longitude is not None and not (math.isfinite(longitude) and -180 <= longitude <= 180):
        raise InvalidInputError("longitude must be between -180 and 180", field="longitude")
