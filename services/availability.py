"""Use case: network availability for many SKUs in one read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domain.availability import LevelAt, NetworkAvailability, network_availability
from domain.location import Channel
from domain.ports import StockReader


async def availabilities(
    reader: StockReader, keys: Sequence[tuple[str, Channel]], now: datetime
) -> list[NetworkAvailability]:
    found = await reader.levels_for_skus([sku for sku, _ in keys])
    return [
        network_availability(sku, [LevelAt(lv, loc) for lv, loc in found.get(sku, [])], ch, now)
        for sku, ch in keys
    ]
