"""Use case: network availability for many SKUs in one read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domain.availability import NetworkAvailability, network_availability
from domain.location import Channel
from domain.ports import StockReader


async def availabilities(
    reader: StockReader, keys: Sequence[tuple[str, Channel]], now: datetime
) -> list[NetworkAvailability]:
    """From what is stored, reported levels sold only while fresh. (The request path reads
    through services.source_refresh, which also refreshes stale pulled levels first.)"""
    found, freshness = await reader.levels_with_freshness([sku for sku, _ in keys])
    return [
        network_availability(sku, found.get(sku, ()), ch, now, freshness)
        for sku, ch in keys
    ]
