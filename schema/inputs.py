"""GraphQL input types and their conversion to domain values."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.movement import Movement
from schema.enums import LocationKind, MovementType


@strawberry.input(name="LocationInput")
class LocationInput:
    id: strawberry.ID
    name: str
    kind: LocationKind
    latitude: float | None = None
    longitude: float | None = None
    pickup_enabled: bool | None = None
    ship_enabled: bool | None = None
    active: bool | None = strawberry.field(
        default=None, description="Inactive locations sell nothing and take no movements.")


@strawberry.input(name="SkuInput")
class SkuInput:
    sku: strawberry.ID
    name: str | None = None
    barcodes: list[str] | None = None


@strawberry.input(name="MovementInput")
class MovementInput:
    event_id: strawberry.ID = strawberry.field(
        description="Made by the scanner; replays are no-ops.")
    type: MovementType
    sku: strawberry.ID
    location_id: strawberry.ID
    quantity: int = strawberry.field(
        description="Units moved; for COUNT the counted total; for ADJUST a signed change.")
    to_location_id: strawberry.ID | None = strawberry.field(
        default=None, description="TRANSFER_OUT only.")
    bin: str | None = None
    to_bin: str | None = None
    occurred_at: datetime | None = None
    reference: str | None = None
    device_id: str | None = None

    def to_domain(self) -> Movement:
        return Movement(
            event_id=str(self.event_id), type=self.type, sku=str(self.sku),
            location_id=str(self.location_id), quantity=self.quantity,
            to_location_id=str(self.to_location_id) if self.to_location_id else None,
            bin=self.bin, to_bin=self.to_bin, occurred_at=self.occurred_at,
            reference=self.reference, device_id=self.device_id,
        )
