"""GraphQL enums: the domain's own enums, registered with Strawberry under the same names."""

from __future__ import annotations

import strawberry

from domain.location import Channel, LocationKind
from domain.movement import MovementStatus, MovementType

for _enum in (Channel, LocationKind, MovementStatus, MovementType):
    strawberry.enum(_enum)

__all__ = ["Channel", "LocationKind", "MovementStatus", "MovementType"]
