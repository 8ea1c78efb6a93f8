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



def _from_coerced(cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
    """Strawberry's hook for inputs that build themselves. The fields registered here are
    scalars or enums that graphql-core has already coerced (or lists of such inputs), so the
    values are final; the generic path re-resolves each field's annotation for every value,
    which was half the GraphQL CPU of a 500-movement batch (docs/benchmarks.md)."""
    plan = _plans.get(cls)
    if plan is None:
        fields = get_object_definition(cls, strict=True).fields
        plan = _plans[cls] = [(context.config.name_converter.from_field(f), f.python_name,
                               _nested.get((cls, f.python_name))) for f in fields]
    kwargs: dict[str, Any] = {}
    for gql, py, inner in plan:
        if gql in value:
            found = value[gql]
            kwargs[py] = found if inner is None or found is None else [
                _from_coerced(inner, item, context) for item in found]
    return cls(**kwargs)


def build_from_coerced(cls: type, lists_of: Mapping[str, type] | None = None) -> None:
    """Let `cls` (only leaf fields, plus the fields in `lists_of`: lists of inputs that are
    registered too) be built straight from graphql-core's coerced values."""
    for name, inner in (lists_of or {}).items():
        _nested[(cls, name)] = inner
    get_object_definition(cls, strict=True).from_input = _from_coerced


_plans: dict[type, list[tuple[str, str, type | None]]] = {}
_nested: dict[tuple[type, str], type] = {}
build_from_coerced(MovementInput)
