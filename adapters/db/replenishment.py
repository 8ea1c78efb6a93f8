"""Replenishment on the write path: requests raised and fulfilled inside the transaction of the
write that caused them. Every writer that changes a level calls in here (the ledger's batch
flush, the reservations' holds, a rule being set), so the rule lives in one place.

"One OPEN request per SKU and location" is the partial unique index on replenishment_request;
the INSERT ... ON CONFLICT DO NOTHING below loses quietly to a request another transaction
raised first, however many writers race, on both engines.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import tables as t
from adapters.db.rows import aware
from adapters.db.sql import chunks, insert_for, pair_values, pairs_in_param
from domain import replenishment as rules
from domain.events import LowStockRaised, ReplenishmentStatus, StockChanged
from domain.ports import Pair
from domain.replenishment import ReorderRule, ReplenishmentRequest
from domain.stock import StockLevel

OPEN = ReplenishmentStatus.OPEN.value
WEBHOOK_KIND = "replenishment.requested"
rr, rq = t.reorder_rule.c, t.replenishment_request.c
_RECEIPTS = {m.value for m in rules.RECEIPTS}


async def on_batch_written(
    conn: AsyncConnection, dialect: str, now: datetime, changes: list[StockChanged],
    entries: Sequence[Mapping[str, Any]], movements: Sequence[Mapping[str, Any]],
) -> list[StockChanged]:
    """After a ledger batch wrote its levels: receipts fulfil the requests they name, then
    levels whose position the batch lowered are checked against their rules."""
    await fulfil(conn, [m for m in movements if m["reference"] and m["type"] in _RECEIPTS], now)
    fell: dict[Pair, int] = {}
    for e in entries:
        pair = (e["sku"], e["location_id"])
        fell[pair] = fell.get(pair, 0) + e["d_on_hand"] + e["d_inbound"] - e["d_reserved"]
    return await raise_requests(conn, dialect, now, changes, [p for p, d in fell.items() if d < 0])


async def fulfil(
    conn: AsyncConnection, receipts: Sequence[Mapping[str, Any]], now: datetime
) -> None:
    """A RECEIVE (or TRANSFER_IN) whose reference is an OPEN request's id, for the same SKU
    and location, fulfils it. Any other reference is someone else's (a PO number): ignored."""
    for m in receipts:
        await conn.execute(
            t.replenishment_request.update()
            .where(rq.id == m["reference"], rq.sku == m["sku"],
                   rq.location_id == m["location_id"], rq.status == OPEN)
            .values(status=ReplenishmentStatus.FULFILLED.value, closed_at=now,
                    closed_by=m["event_id"]))


async def raise_requests(
    conn: AsyncConnection, dialect: str, now: datetime, changes: list[StockChanged],
    fell: Collection[Pair], rules: Sequence[ReorderRule] | None = None,
) -> list[StockChanged]:
    """Open a request for each pair in `fell` (its position went down) now at or below its
    reorder point with none OPEN; `changes` with each new request on its pair's last change.
    `rules`: `rules_to_check(fell)`, when the caller read them earlier in the transaction."""
    if not fell:
        return changes
    after = {(c.level.sku, c.level.location_id): c.level for c in changes}
    raised: dict[Pair, LowStockRaised] = {}
    if rules is None:
        rules = await rules_to_check(conn, dialect, fell)
    for rule in rules:
        if (rule.sku, rule.location_id) not in fell:
            continue
        pair = (rule.sku, rule.location_id)
        alert = await open_request(conn, dialect, rule, after[pair], now)
        if alert is not None:
            raised[pair] = alert
    return attach(changes, raised) if raised else changes


async def open_request(
    conn: AsyncConnection, dialect: str, rule: ReorderRule, level: StockLevel, now: datetime
) -> LowStockRaised | None:
    """The request `rule` asks for at `level` and its webhook delivery, unless the position
    is above the point or a request is already OPEN there."""
    quantity = rules.due_quantity(rule, level)
    if quantity is None:
        return None
    request = rules.new_request(str(uuid.uuid4()), rule, level, quantity, now)
    inserted = (await conn.execute(
        insert_for(dialect, t.replenishment_request).values(_request_row(request))
        .on_conflict_do_nothing(index_elements=[rq.sku, rq.location_id],
                                index_where=rq.status == OPEN)
        .returning(rq.id))).first()
    if inserted is None:
        return None
    await conn.execute(t.outbox.insert().values(
        idempotency_key=request.id, kind=WEBHOOK_KIND, status="PENDING", attempts=0,
        rejections=0, next_attempt_at=now, created_at=now,
        body=json.dumps(rules.webhook_body(request, level), separators=(",", ":"))))
    return rules.alert(request, level)


def attach(
    changes: list[StockChanged], raised: Mapping[Pair, LowStockRaised]
) -> list[StockChanged]:
    last = {(c.level.sku, c.level.location_id): i for i, c in enumerate(changes)}
    out = list(changes)
    for pair, alert in raised.items():
        out[last[pair]] = replace(out[last[pair]], raised=alert)
    return out


async def rules_to_check(
    conn: AsyncConnection, dialect: str, pairs: Collection[Pair]
) -> list[ReorderRule]:
    """The reorder rules at `pairs` with no request OPEN: those a fall may have to raise."""
    found: list[ReorderRule] = []
    query = _rules_query(dialect)
    for part in chunks(sorted(pairs)):
        found += [rule_from_row(r) for r in await conn.execute(query, pair_values(dialect, part))]
    return found


@cache
def _rules_query(dialect: str) -> Select[Any]:
    """Built once: every write that lowers a position runs it (building it cost ~0.3 ms)."""
    open_here = and_(rq.sku == rr.sku, rq.location_id == rr.location_id, rq.status == OPEN)
    return (select(t.reorder_rule).outerjoin(t.replenishment_request, open_here)
            .where(pairs_in_param(dialect, rr.sku, rr.location_id), rq.id.is_(None))
            .order_by(rr.sku, rr.location_id))


def rule_from_row(r: Any) -> ReorderRule:
    return ReorderRule(
        sku=r.sku, location_id=r.location_id, reorder_point=r.reorder_point,
        target_level=r.target_level, fixed_quantity=r.fixed_quantity, supplier=r.supplier,
        source_location_id=r.source_location_id, updated_at=aware(r.updated_at))


def request_from_row(r: Any) -> ReplenishmentRequest:
    return ReplenishmentRequest(
        id=r.id, sku=r.sku, location_id=r.location_id, quantity=r.quantity,
        status=ReplenishmentStatus(r.status), created_at=aware(r.created_at),
        reorder_point=r.reorder_point, target_level=r.target_level, position=r.position,
        supplier=r.supplier, source_location_id=r.source_location_id,
        closed_at=aware(r.closed_at) if r.closed_at else None, closed_by=r.closed_by)


def _request_row(request: ReplenishmentRequest) -> dict[str, Any]:
    return {
        "id": request.id, "sku": request.sku, "location_id": request.location_id,
        "quantity": request.quantity, "status": request.status.value,
        "reorder_point": request.reorder_point, "target_level": request.target_level,
        "position": request.position, "supplier": request.supplier,
        "source_location_id": request.source_location_id, "created_at": request.created_at,
    }

