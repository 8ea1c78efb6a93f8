"""The outbox table as the senders on every instance share it.

A sender claims due rows in one short transaction (PostgreSQL: FOR UPDATE SKIP LOCKED, so two
instances take different rows; SQLite: the writer's BEGIN IMMEDIATE lock makes select-then-
update atomic) by moving their next attempt a lease ahead and stamping a claim token. It posts
outside any transaction, then records the answer under that token. A sender that dies between
the two leaves the row to be claimed again when the lease runs out: the receiver may see the
same Idempotency-Key twice, never a request missed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import tables as t
from adapters.db.engine import Database
from adapters.db.rows import aware
from domain.errors import NotFoundError
from domain.webhook import Answer, Delivery, DeliveryStatus, retryable

o = t.outbox.c
PENDING, DELIVERED, FAILED = (s.value for s in DeliveryStatus)
MAX_ERROR = 500


class SqlAlchemyOutbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def has_due(self, now: datetime) -> bool:
        """A cheap read first, so idle senders do not take SQLite's write lock every tick."""
        query = select(o.id).where(o.status == PENDING, o.next_attempt_at <= now).limit(1)
        async with self.db.reader.connect() as conn:
            return (await conn.execute(query)).first() is not None

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Delivery]:
        due = (select(o.id).where(o.status == PENDING, o.next_attempt_at <= now)
               .order_by(o.next_attempt_at, o.id).limit(limit))
        if not self.db.is_sqlite:
            due = due.with_for_update(skip_locked=True)
        token = str(uuid.uuid4())
        async with self.db.writer.begin() as conn:
            ids = list((await conn.execute(due)).scalars())
            if not ids:
                return []
            rows = await conn.execute(
                update(t.outbox)
                .where(o.id.in_(ids), o.status == PENDING, o.next_attempt_at <= now)
                .values(claim_token=token, attempts=o.attempts + 1,
                        next_attempt_at=now + lease)
                .returning(*t.outbox.c))
            return sorted((delivery_from_row(r) for r in rows), key=lambda d: d.id)

    async def delivered(self, d: Delivery, answer: Answer, now: datetime) -> None:
        await self._record(d, status=DELIVERED, delivered_at=now,
                           last_status_code=answer.status_code, last_error=None)

    async def retry_at(self, d: Delivery, answer: Answer, at: datetime, rejected: bool) -> None:
        await self._record(d, next_attempt_at=at, rejections=o.rejections + int(rejected),
                           last_status_code=answer.status_code, last_error=_error(answer))

    async def park(self, d: Delivery, answer: Answer) -> None:
        await self._record(d, status=FAILED, rejections=o.rejections + 1,
                           last_status_code=answer.status_code, last_error=_error(answer))

    async def deliveries(self, status: DeliveryStatus | None, limit: int) -> list[Delivery]:
        query = select(t.outbox).order_by(o.id.desc()).limit(limit)
        if status is not None:
            query = query.where(o.status == status.value)
        async with self.db.reader.connect() as conn:
            return [delivery_from_row(r) for r in await conn.execute(query)]

    async def retry(self, delivery_id: int, now: datetime) -> Delivery:
        """A FAILED delivery back to PENDING, due now, with a fresh allowance of rejections."""
        async with self.db.writer.begin() as conn:
            reset = await conn.execute(
                update(t.outbox).where(o.id == delivery_id, o.status == FAILED)
                .values(status=PENDING, rejections=0, next_attempt_at=now, claim_token=None))
            found = await _get(conn, delivery_id)
        if found is None:
            raise NotFoundError(f"no webhook delivery {delivery_id}", field="id")
        if not reset.rowcount:
            retryable(found)  # it was not FAILED: says why it is refused
        return found

    async def _record(self, d: Delivery, **values: Any) -> None:
        """The answer counts only while the claim is ours (the lease may have run out)."""
        async with self.db.writer.begin() as conn:
            await conn.execute(
                update(t.outbox)
                .where(o.id == d.id, o.claim_token == d.claim_token, o.status == PENDING)
                .values(claim_token=None, **values))


async def _get(conn: AsyncConnection, delivery_id: int) -> Delivery | None:
    row = (await conn.execute(select(t.outbox).where(o.id == delivery_id))).first()
    return delivery_from_row(row) if row else None


def delivery_from_row(r: Any) -> Delivery:
    return Delivery(
        id=r.id, idempotency_key=r.idempotency_key, kind=r.kind, body=r.body,
        status=DeliveryStatus(r.status), attempts=r.attempts, rejections=r.rejections,
        next_attempt_at=aware(r.next_attempt_at), created_at=aware(r.created_at),
        last_status_code=r.last_status_code, last_error=r.last_error,
        delivered_at=aware(r.delivered_at) if r.delivered_at else None,
        claim_token=r.claim_token)


def _error(answer: Answer) -> str | None:
    text = answer.error or (f"HTTP {answer.status_code}" if answer.status_code else None)
    return text[:MAX_ERROR] if text else None
