"""Per-channel safety stock, stored beside the levels and attached to them when read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import tables as t
from adapters.db.sql import chunks, insert_for
from domain.location import Channel
from domain.ports import Pair
from domain.stock import StockLevel

ChannelSafety = tuple[tuple[Channel, int], ...]


async def channel_safety(conn: AsyncConnection, skus: Sequence[str]) -> dict[Pair, ChannelSafety]:
    """Every per-channel safety stock set for `skus`, by (sku, location id)."""
    found: dict[Pair, list[tuple[Channel, int]]] = {}
    c = t.channel_safety_stock.c
    for part in chunks(sorted(set(skus))):
        rows = await conn.execute(select(c.sku, c.location_id, c.channel, c.quantity)
                                  .where(c.sku.in_(part)).order_by(c.channel))
        for r in rows:
            found.setdefault((r.sku, r.location_id), []).append((Channel(r.channel), r.quantity))
    return {pair: tuple(v) for pair, v in found.items()}


def attach(level: StockLevel, found: Mapping[Pair, ChannelSafety]) -> StockLevel:
    extra = found.get((level.sku, level.location_id))
    return replace(level, channel_safety=extra) if extra else level


async def set_channel_safety(
    conn: AsyncConnection, dialect: str, sku: str, location_id: str, channel: Channel,
    quantity: int | None, now: datetime,
) -> None:
    """Set (or with None, remove) the safety stock of one level on one channel."""
    c = t.channel_safety_stock.c
    if quantity is None:
        await conn.execute(t.channel_safety_stock.delete().where(
            c.sku == sku, c.location_id == location_id, c.channel == channel.value))
        return
    row = {"sku": sku, "location_id": location_id, "channel": channel.value,
           "quantity": quantity, "updated_at": now}
    stmt = insert_for(dialect, t.channel_safety_stock).values(row)
    await conn.execute(stmt.on_conflict_do_update(
        index_elements=[c.sku, c.location_id, c.channel],
        set_={"quantity": quantity, "updated_at": now}))
