"""Types of replenishment: reorder rules, requests, webhook deliveries, ABC classification."""

from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry

from domain import abc
from domain import replenishment as domain
from domain.events import ReplenishmentStatus
from domain.location import Location as DomainLocation
from domain.webhook import Delivery, DeliveryStatus
from schema.types import Location

strawberry.enum(ReplenishmentStatus)
strawberry.enum(DeliveryStatus, name="WebhookDeliveryStatus")
strawberry.enum(abc.AbcClass, name="AbcClass")


@strawberry.type(name="ReorderRule")
class ReorderRule:
    sku: strawberry.ID
    location: Location
    reorder_point: int
    target_level: int
    fixed_quantity: int | None = strawberry.field(
        description="Units each request asks for, instead of up to targetLevel.")
    supplier: str | None
    source_location_id: strawberry.ID | None = strawberry.field(
        description="Replenished by transfer from this location rather than by purchase.")
    updated_at: datetime | None

    @classmethod
    def from_domain(cls, rule: domain.ReorderRule, location: DomainLocation) -> Self:
        return cls(
            sku=strawberry.ID(rule.sku), location=Location.from_domain(location),
            reorder_point=rule.reorder_point, target_level=rule.target_level,
            fixed_quantity=rule.fixed_quantity, supplier=rule.supplier,
            source_location_id=(strawberry.ID(rule.source_location_id)
                                if rule.source_location_id else None),
            updated_at=rule.updated_at)


@strawberry.type(name="ReplenishmentRequest")
class ReplenishmentRequest:
    id: strawberry.ID
    sku: strawberry.ID
    location: Location
    quantity: int
    status: ReplenishmentStatus
    created_at: datetime
    # What raised it (null where it comes from a lowStock alert, which carries the level).
    reorder_point: int | None = None
    target_level: int | None = None
    position: int | None = strawberry.field(
        default=None, description="onHand + inbound - reserved when it was raised.")
    supplier: str | None = None
    source_location_id: strawberry.ID | None = None
    closed_at: datetime | None = None
    closed_by: str | None = strawberry.field(
        default=None, description="The RECEIVE's eventId that fulfilled it, or who cancelled it.")

    @classmethod
    def from_domain(cls, r: domain.ReplenishmentRequest, location: DomainLocation) -> Self:
        return cls(
            id=strawberry.ID(r.id), sku=strawberry.ID(r.sku),
            location=Location.from_domain(location), quantity=r.quantity, status=r.status,
            created_at=r.created_at, reorder_point=r.reorder_point, target_level=r.target_level,
            position=r.position, supplier=r.supplier,
            source_location_id=(strawberry.ID(r.source_location_id)
                                if r.source_location_id else None),
            closed_at=r.closed_at, closed_by=r.closed_by)


@strawberry.type(name="WebhookDelivery")
class WebhookDelivery:
    id: strawberry.ID
    idempotency_key: str = strawberry.field(
        description="Sent as the Idempotency-Key header: the replenishment request's id.")
    kind: str
    status: DeliveryStatus
    attempts: int
    rejections: int = strawberry.field(description="4xx answers since it was last retried.")
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def from_domain(cls, d: Delivery) -> Self:
        return cls(
            id=strawberry.ID(str(d.id)), idempotency_key=d.idempotency_key, kind=d.kind,
            status=d.status, attempts=d.attempts, rejections=d.rejections,
            next_attempt_at=(d.next_attempt_at if d.status is DeliveryStatus.PENDING
                             else None),
            last_status_code=d.last_status_code, last_error=d.last_error,
            created_at=d.created_at, delivered_at=d.delivered_at)


@strawberry.type(name="WebhookConfig")
class WebhookConfig:
    configured: bool
    url: str | None = strawberry.field(description="The secret is never shown.")


@strawberry.type(name="AbcItem")
class AbcItem:
    rank: int
    sku: strawberry.ID
    units_out: int = strawberry.field(
        description="Units sold, shipped, transferred out or shipped from committed holds.")
    unit_cost: float | None
    value: float = strawberry.field(description="unitsOut x unitCost (0 without a cost).")
    share: float
    cumulative_share: float
    abc_class: abc.AbcClass
    count_every_days: int = strawberry.field(description="Suggested cycle-count frequency.")

    @classmethod
    def from_domain(cls, r: abc.Ranked) -> Self:
        return cls(rank=r.rank, sku=strawberry.ID(r.sku), units_out=r.units,
                   unit_cost=r.unit_cost, value=r.value, share=r.share,
                   cumulative_share=r.cumulative_share, abc_class=r.abc_class,
                   count_every_days=r.count_every_days)
