"""Reorder rules and replenishment requests as admins set, list and cancel them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import ColumnElement, and_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import tables as t
from adapters.db.engine import Database
from adapters.db.replenishment import (
    OPEN,
    open_request,
    request_from_row,
    rq,
    rr,
    rule_from_row,
)
from adapters.db.rows import level_from_row
from adapters.db.sql import insert_for
from domain import replenishment as rules
from domain.errors import NotFoundError
from domain.events import LowStockRaised, ReplenishmentStatus
from domain.replenishment import ReorderRule, ReplenishmentRequest
from domain.stock import StockLevel

s = t.stock_level.c


class SqlAlchemyReplenishment:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def set_rule(
        self, rule: ReorderRule, now: datetime
    ) -> tuple[ReorderRule, LowStockRaised | None]:
        """Store `rule`; if the position already is at or below its point, raise the request
        in the same transaction. NotFoundError for an unknown SKU or location."""
        stored = replace(rule, updated_at=now)
        async with self.db.writer.begin() as conn:
            await _check_refs(conn, rule)
            row = {"sku": rule.sku, "location_id": rule.location_id,
                   "reorder_point": rule.reorder_point, "target_level": rule.target_level,
                   "fixed_quantity": rule.fixed_quantity, "supplier": rule.supplier,
                   "source_location_id": rule.source_location_id, "updated_at": now}
            stmt = insert_for(self.db.dialect, t.reorder_rule).values(row)
            await conn.execute(stmt.on_conflict_do_update(
                index_elements=[rr.sku, rr.location_id],
                set_={k: v for k, v in row.items() if k not in ("sku", "location_id")}))
            level = await self._level(conn, rule.sku, rule.location_id)
            return stored, await open_request(conn, self.db.dialect, stored, level, now)

    async def remove_rule(self, sku: str, location_id: str) -> bool:
        async with self.db.writer.begin() as conn:
            result = await conn.execute(t.reorder_rule.delete().where(
                rr.sku == sku, rr.location_id == location_id))
        return bool(result.rowcount)

    async def rules(self, sku: str | None, location_id: str | None) -> list[ReorderRule]:
        query = (select(t.reorder_rule)
                 .where(_matching(rr.sku, sku), _matching(rr.location_id, location_id))
                 .order_by(rr.sku, rr.location_id))
        async with self.db.reader.connect() as conn:
            return [rule_from_row(r) for r in await conn.execute(query)]

    async def requests(
        self, status: ReplenishmentStatus | None, sku: str | None, location_id: str | None,
        limit: int,
    ) -> list[ReplenishmentRequest]:
        """Newest first."""
        query = (select(t.replenishment_request)
                 .where(_matching(rq.status, status.value if status else None),
                        _matching(rq.sku, sku), _matching(rq.location_id, location_id))
                 .order_by(rq.created_at.desc(), rq.id).limit(limit))
        async with self.db.reader.connect() as conn:
            return [request_from_row(r) for r in await conn.execute(query)]

    async def cancel(self, request_id: str, actor: str, now: datetime) -> ReplenishmentRequest:
        """NotFoundError for an unknown id; InvalidInputError unless it is OPEN."""
        async with self.db.writer.begin() as conn:
            cancelled = await conn.execute(
                t.replenishment_request.update().where(rq.id == request_id, rq.status == OPEN)
                .values(status=ReplenishmentStatus.CANCELLED.value, closed_at=now,
                        closed_by=actor))
            row = (await conn.execute(
                select(t.replenishment_request).where(rq.id == request_id))).first()
        if row is None:
            raise NotFoundError(f"no replenishment request {request_id!r}", field="id")
        found = request_from_row(row)
        if not cancelled.rowcount:
            rules.cancellable(found)  # it was closed before: says why it is refused
        return found

    async def _level(self, conn: AsyncConnection, sku: str, location_id: str) -> StockLevel:
        query = select(t.stock_level).where(s.sku == sku, s.location_id == location_id)
        if not self.db.is_sqlite:  # queue behind movements writing this level
            query = query.with_for_update()
        row = (await conn.execute(query)).first()
        return level_from_row(row) if row else StockLevel(sku, location_id)


async def _check_refs(conn: AsyncConnection, rule: ReorderRule) -> None:
    if (await conn.execute(select(t.sku.c.sku).where(t.sku.c.sku == rule.sku))).first() is None:
        raise NotFoundError(f"unknown sku {rule.sku!r}", field="sku")
    for field, location_id in (("locationId", rule.location_id),
                               ("sourceLocationId", rule.source_location_id)):
        if location_id is None:
            continue
        found = await conn.execute(select(t.location.c.id).where(t.location.c.id == location_id))
        if found.first() is None:
            raise NotFoundError(f"unknown location {location_id!r}", field=field)


def _matching(column: ColumnElement[str], value: str | None) -> ColumnElement[bool]:
    return true() if value is None else and_(column == value)
