"""Wiring of replenishment: the store, the lowStock announcer, and the webhook sender."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import cast

import httpx

from adapters.db.abc import SqlAlchemyOutflows
from adapters.db.engine import Database
from adapters.db.replenishment_store import SqlAlchemyReplenishment
from adapters.webhooks.outbox import SqlAlchemyOutbox
from adapters.webhooks.sender import HttpxWebhookSender
from app.settings import Settings
from domain.abc import AbcClass, AbcPolicy
from domain.ports import AlertPublisher, ChangePublisher
from domain.webhook import RetryPolicy
from services.replenishment import Announcer, Replenishment
from services.webhooks import Courier


def announcing(publisher: ChangePublisher) -> Announcer:
    """Wraps the services' publisher so that the requests a write raised reach lowStock.
    Publishers that only record changes (a CLI's, a test's) announce no alerts."""
    alerts = (cast(AlertPublisher, publisher)
              if callable(getattr(publisher, "publish_low_stock", None)) else None)
    return Announcer(publisher, alerts)


def abc_policy(settings: Settings) -> AbcPolicy:
    return AbcPolicy(count_every_days={
        AbcClass.A: settings.abc_count_days_a, AbcClass.B: settings.abc_count_days_b,
        AbcClass.C: settings.abc_count_days_c})


def build_replenishment(db: Database, settings: Settings, announcer: Announcer) -> Replenishment:
    return Replenishment(
        store=SqlAlchemyReplenishment(db), outflows=SqlAlchemyOutflows(db),
        outbox=SqlAlchemyOutbox(db), alerts=announcer, abc_policy=abc_policy(settings),
        webhook_url=settings.webhook_url)


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(backoff=timedelta(seconds=settings.webhook_backoff_seconds),
                       cap=timedelta(seconds=settings.webhook_backoff_cap_seconds),
                       max_rejections=settings.webhook_max_rejections)


@contextlib.asynccontextmanager
async def webhook_courier(
    db: Database, settings: Settings, clock: Callable[[], datetime]
) -> AsyncIterator[Courier | None]:
    """The sender's parts, with one shared HTTP client for the app's life; None without a
    webhook URL (deliveries then wait in the outbox until one is configured)."""
    if not settings.webhook_url or settings.webhook_secret is None:
        yield None
        return
    timeout = httpx.Timeout(settings.webhook_timeout_seconds,
                            connect=settings.webhook_connect_timeout_seconds)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        sender = HttpxWebhookSender(client, settings.webhook_url,
                                    settings.webhook_secret.get_secret_value())
        yield Courier(SqlAlchemyOutbox(db), sender, clock, retry_policy(settings),
                      lease=timedelta(seconds=settings.webhook_lease_seconds),
                      batch=settings.webhook_batch)
