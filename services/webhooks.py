"""Use cases of the webhook outbox: deliver what is due (the sender task every instance runs),
list deliveries, retry a parked one. The rules of an answer are domain.webhook's."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from domain.errors import InvalidInputError
from domain.webhook import Answer, Delivery, DeliveryStatus, RetryPolicy, Verdict, backoff, judge
from domain.webhook import is_rejection as rejected

log = logging.getLogger("stockgraph.webhooks")
MAX_LIST = 500


class Outbox(Protocol):
    async def has_due(self, now: datetime) -> bool: ...
    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Delivery]: ...
    async def delivered(self, d: Delivery, answer: Answer, now: datetime) -> None: ...
    async def retry_at(self, d: Delivery, answer: Answer, at: datetime,
                       rejected: bool) -> None: ...
    async def park(self, d: Delivery, answer: Answer) -> None: ...
    async def deliveries(self, status: DeliveryStatus | None, limit: int) -> list[Delivery]: ...
    async def retry(self, delivery_id: int, now: datetime) -> Delivery: ...


class WebhookSender(Protocol):
    async def send(self, delivery: Delivery) -> Answer: ...


@dataclass(frozen=True)
class Courier:
    """What the sender task needs: where deliveries wait, how to post one, and the rules."""

    outbox: Outbox
    sender: WebhookSender
    clock: Callable[[], datetime]
    policy: RetryPolicy
    # How long a claimed delivery is ours before another sender may take it (> the timeout).
    lease: timedelta
    batch: int = 20
    jitter: Callable[[], float] = field(default=lambda: random.uniform(0.5, 1.0))


async def deliver_due(courier: Courier) -> int:
    """Claim up to a batch of due deliveries and post them; how many were claimed."""
    now = courier.clock()
    if not await courier.outbox.has_due(now):
        return 0
    claimed = await courier.outbox.claim(now, courier.lease, courier.batch)
    await asyncio.gather(*(_deliver(courier, d) for d in claimed))
    return len(claimed)


async def _deliver(courier: Courier, d: Delivery) -> None:
    answer = await courier.sender.send(d)
    verdict = judge(answer, d.rejections, courier.policy)
    if verdict is Verdict.DELIVERED:
        await courier.outbox.delivered(d, answer, courier.clock())
    elif verdict is Verdict.PARK:
        log.warning("webhook delivery %s parked after %d refusals: %s", d.id,
                    d.rejections + 1, answer.error)
        await courier.outbox.park(d, answer)
    else:
        wait = backoff(d.attempts, courier.policy, courier.jitter())
        await courier.outbox.retry_at(d, answer, courier.clock() + wait, rejected(answer))


async def deliver_forever(courier: Courier, interval: float) -> None:
    while True:
        try:
            while await deliver_due(courier) >= courier.batch:
                pass  # a full batch: more may be due
        except Exception:  # the database or the network failed this pass; the next retries
            log.exception("webhook delivery pass failed")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def delivering(courier: Courier | None, interval: float) -> AsyncIterator[None]:
    """Runs the sender while the block runs (not at all without a courier: no webhook)."""
    if courier is None:
        yield
        return
    task = asyncio.create_task(deliver_forever(courier, interval), name="webhook-sender")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def deliveries(outbox: Outbox, status: DeliveryStatus | None, limit: int) -> list[Delivery]:
    if not 0 < limit <= MAX_LIST:
        raise InvalidInputError(f"limit must be 1 to {MAX_LIST}", field="limit")
    return await outbox.deliveries(status, limit)


async def retry_delivery(outbox: Outbox, delivery_id: str, now: datetime) -> Delivery:
    """A FAILED delivery sent again by the next sender pass. NotFoundError, InvalidInputError."""
    if not delivery_id.isdigit() or len(delivery_id) > 18:
        raise InvalidInputError(f"no webhook delivery {delivery_id!r}: ids are numbers",
                                field="id")
    return await outbox.retry(int(delivery_id), now)
