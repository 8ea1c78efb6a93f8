"""GraphQL input types and their conversion to domain values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types.arguments import InputContext
from strawberry.types.base import get_object_definition

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
    unit_cost: float | None = strawberry.field(
        default=None, description="What one unit is worth; ABC classification values "
                                  "outflows with it. Left out: unchanged.")


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



def _from_leaf_fields(cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
    """Strawberry's hook for inputs that build themselves. Every field of MovementInput is a
    scalar or an enum that graphql-core has already coerced, so the values are final; the
    generic path re-resolves each field's annotation for every value, which was half the
    GraphQL CPU of a 500-movement batch (docs/benchmarks.md)."""
    names = _leaf_names.get(cls)
    if names is None:
        fields = get_object_definition(cls, strict=True).fields
        names = _leaf_names[cls] = [
            (context.config.name_converter.from_field(f), f.python_name) for f in fields]
    return cls(**{py: value[gql] for gql, py in names if gql in value})


_leaf_names: dict[type, list[tuple[str, str]]] = {}
get_object_definition(MovementInput, strict=True).from_input = _from_leaf_fields
