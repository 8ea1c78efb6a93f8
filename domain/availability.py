"""Network availability: ATP summed over the locations that may sell on a channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.location import Channel, Location, LocationKind, sells_on
from domain.stock import StockLevel


@dataclass(frozen=True, slots=True)
class LevelAt:
    level: StockLevel
    location: Location


@dataclass(frozen=True, slots=True)
class SourceStatus:
    location: Location
    fresh: bool
    as_of: datetime | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class NetworkAvailability:
    sku: str
    atp: int
    on_hand: int
    reserved: int
    levels: list[LevelAt]
    sources: list[SourceStatus]
    as_of: datetime


def network_availability(
    sku: str, levels: list[LevelAt], channel: Channel, now: datetime
) -> NetworkAvailability:
    """Sum over the levels whose location sells on `channel`; `levels` lists only those.

    Every dropship vendor appears in `sources` (its level is sold while fresh)."""
    counted = [la for la in levels if sells_on(la.location, channel)]
    sources = [
        SourceStatus(la.location, fresh=True, as_of=la.level.updated_at)
        for la in counted
        if la.location.kind is LocationKind.DROPSHIP_VENDOR
    ]
    return NetworkAvailability(
        sku=sku,
        atp=sum(la.level.atp for la in counted),
        on_hand=sum(la.level.on_hand for la in counted),
        reserved=sum(la.level.reserved for la in counted),
        levels=counted,
        sources=sources,
        as_of=now,
    )
