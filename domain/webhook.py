"""Webhook deliveries from the outbox: what an answer means and when to try again.

- 2xx: delivered, never sent again.
- No answer (refused, timed out), 5xx, 408 and 429: the receiver is down or busy; retried
  with exponential backoff and jitter up to a cap, for as long as it takes.
- Any other answer (4xx, 3xx): the receiver says the request itself is wrong; retried
  `max_rejections` times in all, then parked FAILED until an admin retries it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import InvalidInputError


class DeliveryStatus(enum.Enum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class Verdict(enum.Enum):
    DELIVERED = "DELIVERED"
    RETRY = "RETRY"
    PARK = "PARK"


TRANSIENT_CODES = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    idempotency_key: str
    kind: str
    body: str
    status: DeliveryStatus
    attempts: int
    rejections: int
    next_attempt_at: datetime
    created_at: datetime
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    # Set while a sender holds the row (claimed); its answer is recorded under it.
    claim_token: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """What the receiver said: its status code, or None when it said nothing (error set)."""

    status_code: int | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    backoff: timedelta = timedelta(seconds=1)
    cap: timedelta = timedelta(minutes=5)
    max_rejections: int = 5


def judge(answer: Answer, rejections_before: int, policy: RetryPolicy) -> Verdict:
    code = answer.status_code
    if code is not None and 200 <= code < 300:
        return Verdict.DELIVERED
    if code is None or code >= 500 or code in TRANSIENT_CODES:
        return Verdict.RETRY
    return Verdict.PARK if rejections_before + 1 >= policy.max_rejections else Verdict.RETRY


def is_rejection(answer: Answer) -> bool:
    code = answer.status_code
    return code is not None and code < 500 and code not in TRANSIENT_CODES and not (
        200 <= code < 300)


def backoff(attempts: int, policy: RetryPolicy, jitter: float) -> timedelta:
    """Wait before the next try after `attempts` tries: base * 2^(attempts-1), capped, then
    scaled by `jitter` in [0.5, 1] so that senders on many instances do not move in step."""
    if not 0.5 <= jitter <= 1.0:
        raise ValueError(f"jitter must be in [0.5, 1], got {jitter}")
    exponent = min(max(attempts - 1, 0), 32)
    wait: timedelta = min(policy.cap, policy.backoff * 2**exponent)
    return wait * jitter


def retryable(delivery: Delivery) -> None:
    """Only a parked delivery is retried by hand; the others are on their way or done."""
    if delivery.status is not DeliveryStatus.FAILED:
        raise InvalidInputError(
            f"delivery {delivery.id} is {delivery.status.value}; only a FAILED one can be "
            "retried", field="id")
