"""Use cases of replenishment: reorder rules, the requests they raise, ABC classification,
and the announcer that tells lowStock subscribers of each request after its commit.

Requests themselves are raised by the writers (movements, holds, reported levels) inside their
own transactions; see adapters/db/replenishment.py and docs/replenishment.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from domain import abc
from domain import replenishment as rules
from domain.access import Caller
from domain.errors import InvalidInputError, NotFoundError
from domain.events import LowStockRaised, ReplenishmentStatus, StockChanged
from domain.ports import AlertPublisher, ChangePublisher, StockReader
from domain.replenishment import ReorderRule, ReplenishmentRequest
from services.webhooks import Outbox

MAX_LIST = 1000


class ReplenishmentStore(Protocol):
    async def set_rule(
        self, rule: ReorderRule, now: datetime
    ) -> tuple[ReorderRule, LowStockRaised | None]: ...
    async def remove_rule(self, sku: str, location_id: str) -> bool: ...
    async def rules(self, sku: str | None, location_id: str | None) -> list[ReorderRule]: ...
    async def requests(
        self, status: ReplenishmentStatus | None, sku: str | None, location_id: str | None,
        limit: int,
    ) -> list[ReplenishmentRequest]: ...
    async def cancel(
        self, request_id: str, actor: str, now: datetime
    ) -> ReplenishmentRequest: ...


class OutflowReader(Protocol):
    async def outflows(
        self, location_id: str | None, since: datetime, until: datetime
    ) -> list[abc.Outflow]: ...


@dataclass(frozen=True)
class Replenishment:
    store: ReplenishmentStore
    outflows: OutflowReader
    outbox: Outbox
    alerts: AlertPublisher
    abc_policy: abc.AbcPolicy
    # Where new requests are posted (None: no webhook); the secret is never kept here.
    webhook_url: str | None


class Announcer:
    """The publisher services use: changes as before, then the requests they raised, to lowStock
    (`alerts` is None where nothing listens: a CLI, a test)."""

    def __init__(self, changes: ChangePublisher, alerts: AlertPublisher | None) -> None:
        self.changes = changes
        self.alerts = alerts

    async def publish(self, changes: Sequence[StockChanged]) -> None:
        await self.changes.publish(changes)
        await self.publish_low_stock([c.raised for c in changes if c.raised is not None])

    async def publish_low_stock(self, alerts: Sequence[LowStockRaised]) -> None:
        if alerts and self.alerts is not None:
            await self.alerts.publish_low_stock(alerts)


async def set_reorder_rule(r: Replenishment, rule: ReorderRule, now: datetime) -> ReorderRule:
    """Store the rule (bad input and unknown references refused, nothing stored). A position
    already at or below the new point raises its request at once."""
    rules.check_rule(rule)
    stored, raised = await r.store.set_rule(rule, now)
    if raised is not None:
        await r.alerts.publish_low_stock([raised])
    return stored


async def requests(
    r: Replenishment, status: ReplenishmentStatus | None, sku: str | None,
    location_id: str | None, limit: int,
) -> list[ReplenishmentRequest]:
    if not 0 < limit <= MAX_LIST:
        raise InvalidInputError(f"limit must be 1 to {MAX_LIST}", field="limit")
    return await r.store.requests(status, sku, location_id, limit)


async def cancel(
    r: Replenishment, request_id: str, caller: Caller, now: datetime
) -> ReplenishmentRequest:
    return await r.store.cancel(request_id, caller.name, now)


async def classify(
    r: Replenishment, reader: StockReader, location_id: str | None, window_days: int,
    policy: abc.AbcPolicy, now: datetime,
) -> list[abc.Ranked]:
    """SKUs ranked by the value they moved out over the trailing `window_days`, classed."""
    abc.check_window(window_days)
    policy.check()
    if location_id is not None and not await reader.locations(ids=[location_id]):
        raise NotFoundError(f"unknown location {location_id!r}", field="locationId")
    outflows = await r.outflows.outflows(location_id, now - timedelta(days=window_days), now)
    return abc.classify(outflows, policy)
