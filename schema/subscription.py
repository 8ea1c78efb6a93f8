"""Types the subscriptions send. Every field is resolved before execution (no loaders, no I/O),
so one execution per group of subscribers serves them all (app/fanout).

ReplenishmentRequest is replenishment's type (schema/replenishment.py); an alert fills the
fields every request has and leaves the optional ones null.
"""

from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry

from domain.events import ChangeRef, LowStockRaised
from domain.location import Location as DomainLocation
from domain.stock import StockLevel as DomainStockLevel
from schema.replenishment import ReplenishmentRequest
from schema.types import Location, StockLevel


@strawberry.type(name="AvailabilityEvent")
class AvailabilityEvent:
    sequence: str = strawberry.field(description=(
        "Orders every change the service records; resume with availabilityChanged(after:)."))
    sku: strawberry.ID
    location: Location
    level: StockLevel = strawberry.field(description=(
        "The level as read when the event was sent: it includes this change."))
    network_atp: int = strawberry.field(description=(
        "Network ATP of the SKU on the subscription's channel, read when the event was sent."))
    cause: str
    occurred_at: datetime

    @classmethod
    def from_domain(cls, change: ChangeRef, level: DomainStockLevel, location: DomainLocation,
                    network_atp: int) -> Self:
        return cls(sequence=str(change.sequence), sku=strawberry.ID(change.sku),
                   location=Location.from_domain(location),
                   level=StockLevel.from_domain(level, location), network_atp=network_atp,
                   cause=change.cause, occurred_at=change.occurred_at)


@strawberry.type(name="LowStockAlert")
class LowStockAlert:
    request: ReplenishmentRequest
    level: StockLevel

    @classmethod
    def from_domain(cls, alert: LowStockRaised, location: DomainLocation) -> Self:
        request = ReplenishmentRequest(
            id=strawberry.ID(alert.request_id), sku=strawberry.ID(alert.sku),
            location=Location.from_domain(location), quantity=alert.quantity,
            status=alert.status, created_at=alert.created_at)
        return cls(request=request, level=StockLevel.from_domain(alert.level, location))
