"""Root fields of replenishment (admin): reorder rules, requests, webhook deliveries, ABC."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from strawberry.types import Info

from domain import abc
from domain.errors import DomainError
from domain.events import ReplenishmentStatus
from domain.location import Location as DomainLocation
from domain.replenishment import ReorderRule as DomainRule
from domain.webhook import DeliveryStatus
from resolvers.context import Context
from resolvers.errors import user_error
from schema.replenishment import (
    AbcItem,
    ReorderRule,
    ReplenishmentRequest,
    WebhookConfig,
    WebhookDelivery,
)
from services import replenishment as use
from services import webhooks

DEFAULT_WINDOW_DAYS = 90

@strawberry.type
class ReplenishmentQuery:
    @strawberry.field(description="Newest first. A request opens when a location's position "
                      "(onHand + inbound - reserved) falls to or below its reorder point.")
    async def replenishment_requests(
        self, info: Info[Context, None], status: ReplenishmentStatus | None = None,
        sku: strawberry.ID | None = None, location_id: strawberry.ID | None = None,
        limit: int = 100,
    ) -> list[ReplenishmentRequest]:
        s = info.context.services
        try:
            found = await use.requests(s.replenishment, status, _opt(sku), _opt(location_id),
                                       limit)
        except DomainError as exc:
            raise user_error(exc) from exc
        places = await _locations(info, [r.location_id for r in found])
        return [ReplenishmentRequest.from_domain(r, places[r.location_id]) for r in found]

    @strawberry.field
    async def reorder_rules(
        self, info: Info[Context, None], sku: strawberry.ID | None = None,
        location_id: strawberry.ID | None = None,
    ) -> list[ReorderRule]:
        found = await info.context.services.replenishment.store.rules(_opt(sku),
                                                                      _opt(location_id))
        places = await _locations(info, [r.location_id for r in found])
        return [ReorderRule.from_domain(r, places[r.location_id]) for r in found]

    @strawberry.field(description="Newest first; parked (FAILED) ones unless told otherwise.")
    async def webhook_deliveries(
        self, info: Info[Context, None], status: DeliveryStatus | None = DeliveryStatus.FAILED,
        limit: int = 100,
    ) -> list[WebhookDelivery]:
        try:
            found = await webhooks.deliveries(info.context.services.replenishment.outbox,
                                              status, limit)
        except DomainError as exc:
            raise user_error(exc) from exc
        return [WebhookDelivery.from_domain(d) for d in found]

    @strawberry.field
    def webhook_config(self, info: Info[Context, None]) -> WebhookConfig:
        url = info.context.services.replenishment.webhook_url
        return WebhookConfig(configured=url is not None, url=url)

    @strawberry.field(description="SKUs ranked by the value of the units they moved out over "
                      "the trailing window (network-wide without a location), classed A/B/C "
                      "by cumulative share.")
    async def abc_classification(
        self, info: Info[Context, None], location_id: strawberry.ID | None = None,
        window_days: int | None = DEFAULT_WINDOW_DAYS, a_share: float = 0.8,
        b_share: float = 0.95,
    ) -> list[AbcItem]:
        s = info.context.services
        window_days = DEFAULT_WINDOW_DAYS if window_days is None else window_days
        policy = abc.AbcPolicy(a_share, b_share, s.replenishment.abc_policy.count_every_days)
        try:
            ranked = await use.classify(s.replenishment, s.reader, _opt(location_id),
                                        window_days, policy, s.clock())
        except DomainError as exc:
            raise user_error(exc) from exc
        return [AbcItem.from_domain(r) for r in ranked]


@strawberry.type
class ReplenishmentMutation:
    @strawberry.mutation(description="Create or replace the rule for a SKU at a location. "
                         "Without fixedQuantity a request asks for the units that bring the "
                         "position back to targetLevel.")
    async def set_reorder_rule(
        self, info: Info[Context, None], sku: strawberry.ID, location_id: strawberry.ID,
        reorder_point: int, target_level: int, fixed_quantity: int | None = None,
        supplier: str | None = None, source_location_id: strawberry.ID | None = None,
    ) -> ReorderRule:
        s = info.context.services
        rule = DomainRule(str(sku), str(location_id), reorder_point, target_level,
                          fixed_quantity, supplier, _opt(source_location_id))
        try:
            stored = await use.set_reorder_rule(s.replenishment, rule, s.clock())
        except DomainError as exc:
            raise user_error(exc) from exc
        places = await _locations(info, [stored.location_id])
        return ReorderRule.from_domain(stored, places[stored.location_id])

    @strawberry.mutation(description="False when there was no such rule. Open requests stay.")
    async def remove_reorder_rule(
        self, info: Info[Context, None], sku: strawberry.ID, location_id: strawberry.ID
    ) -> bool:
        return await info.context.services.replenishment.store.remove_rule(str(sku),
                                                                           str(location_id))

    @strawberry.mutation
    async def cancel_replenishment_request(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> ReplenishmentRequest:
        s = info.context.services
        try:
            found = await use.cancel(s.replenishment, str(id), info.context.caller, s.clock())
        except DomainError as exc:
            raise user_error(exc) from exc
        places = await _locations(info, [found.location_id])
        return ReplenishmentRequest.from_domain(found, places[found.location_id])

    @strawberry.mutation(description="Send a parked (FAILED) delivery again, with a fresh "
                         "allowance of refusals.")
    async def retry_webhook_delivery(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> WebhookDelivery:
        s = info.context.services
        try:
            found = await webhooks.retry_delivery(s.replenishment.outbox, str(id), s.clock())
        except DomainError as exc:
            raise user_error(exc) from exc
        return WebhookDelivery.from_domain(found)


def _opt(value: strawberry.ID | None) -> str | None:
    return None if value is None else str(value)


async def _locations(info: Info[Context, None], ids: Sequence[str]) -> dict[str, DomainLocation]:
    """One batched read for every location the answer names (rows reference real ones)."""
    wanted = sorted(set(ids))
    found = await info.context.loaders.location_by_id.load_many(wanted)
    return {i: loc for i, loc in zip(wanted, found, strict=True) if loc is not None}
