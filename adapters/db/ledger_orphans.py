"""Drift that a check starting from the stored levels cannot see: ledger totals and bins of a
(sku, location) whose level row is gone."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Subquery, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import tables as t
from domain.ports import Drift

_FIELDS = ("on_hand", "reserved", "inbound", "unsellable")


async def orphaned_drift(conn: AsyncConnection) -> list[Drift]:
    """Each non-zero ledger total, and each non-empty bin total, with no level stored."""
    e, b = t.ledger_entry.c, t.bin_level.c
    sums = (
        select(e.sku, e.location_id, *[func.sum(e[f"d_{f}"]).label(f) for f in _FIELDS])
        .group_by(e.sku, e.location_id).subquery()
    )
    bins = (select(b.sku, b.location_id, func.sum(b.quantity).label("binned"))
            .group_by(b.sku, b.location_id).subquery())
    drifts: list[Drift] = []
    for r in await conn.execute(_unstored(sums)):
        drifts += [Drift(r.sku, r.location_id, f, 0, r._mapping[f]) for f in _FIELDS
                   if r._mapping[f]]
    for r in await conn.execute(_unstored(bins)):
        if r.binned:  # bins say units are here; the level (and so on hand) says none
            drifts.append(Drift(r.sku, r.location_id, "bins", r.binned, 0))
    return drifts


def _unstored(totals: Subquery) -> Select[Any]:
    s = t.stock_level.c
    return (
        select(totals)
        .outerjoin(t.stock_level, (s.sku == totals.c.sku) & (s.location_id == totals.c.location_id))
        .where(s.sku.is_(None))
        .order_by(totals.c.sku, totals.c.location_id)
    )
