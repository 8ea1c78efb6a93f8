"""Use cases behind the subscriptions: check a filter, read a resume cursor, and read the
levels and network availability that a batch of changes is delivered with.

A delivered event carries the level and network ATP as read when it is delivered, once per
batch of changes per instance (never per subscriber): they include this change and any
committed before the read. So a subscriber never receives a level older than one it was
already sent, even when changes commit out of sequence order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from domain.access import Caller
from domain.availability import NetworkAvailability, network_availability
from domain.errors import InvalidInputError, NotFoundError
from domain.events import ChangeRef
from domain.location import Channel, Location
from domain.stock import StockLevel
from services.sources import SourcedReader

MAX_FILTER_IDS = 500
AVAILABILITY, NETWORK, LOW_STOCK = "availabilityChanged", "networkAvailability", "lowStock"


@dataclass(frozen=True)
class Topic:
    """What a subscription listens to (`skus`/`locations` None: all)."""

    field: str
    skus: frozenset[str] | None = None
    locations: frozenset[str] | None = None
    channel: Channel = Channel.ONLINE

    def wants(self, sku: str, location_id: str) -> bool:
        return (self.skus is None or sku in self.skus) and (
            self.locations is None or location_id in self.locations)


@dataclass(frozen=True)
class StreamRequest:
    topic: Topic
    after: str | None = None  # availabilityChanged: resume after this sequence


class ChangeStream(Protocol):
    async def open(self, request: StreamRequest, caller: Caller
                   ) -> AbstractAsyncContextManager[AsyncIterator[Any]]:
        """The subscription's events (the schema's types), from a checked request; raises
        DomainError for a bad filter or cursor."""
        ...


class LedgerFeed(Protocol):
    async def settled(self) -> int:
        """The largest sequence below which no change can still appear."""
        ...

    async def latest(self) -> int: ...

    async def changes(
        self, after: int, upto: int, skus: Collection[str] | None = None,
        locations: Collection[str] | None = None, limit: int = 1000,
    ) -> list[ChangeRef]: ...


@dataclass(frozen=True, slots=True)
class AvailabilityUpdate:
    """One change as an availabilityChanged subscriber receives it."""

    change: ChangeRef
    level: StockLevel
    location: Location
    network_atp: int


@dataclass(frozen=True)
class Snapshot:
    """Levels (with their locations) and network availability, read once for a batch."""

    levels: Mapping[tuple[str, str], tuple[StockLevel, Location]] = field(default_factory=dict)
    availability: Mapping[tuple[str, Channel], NetworkAvailability] = field(
        default_factory=dict)

    def update(self, change: ChangeRef, channel: Channel) -> AvailabilityUpdate | None:
        """None when the level is gone (a location or SKU removed since)."""
        found = self.levels.get((change.sku, change.location_id))
        network = self.availability.get((change.sku, channel))
        if found is None or network is None:
            return None
        return AvailabilityUpdate(change, found[0], found[1], network.atp)


class ChangeReader:
    def __init__(self, reader: SourcedReader, vendor_max_age: timedelta | None,
                 clock: Callable[[], datetime]) -> None:
        self.reader = reader
        self.vendor_max_age = vendor_max_age
        self.clock = clock
        # Locations are never deleted: once seen they need no second read, so a crowd
        # subscribing at once costs the database one read, not one per subscriber. (SKUs the
        # reader remembers itself: `known_skus`.)
        self._known_locations: set[str] = set()
        self._lookup = asyncio.Lock()  # one read at a time; the others then find it cached

    async def snapshot(self, wanted: Iterable[tuple[str, Channel]]) -> Snapshot:
        """Levels of every SKU in `wanted` and its network availability on each channel,
        by the one ATP rule (stored freshness; no vendor is asked during delivery)."""
        keys = sorted(set(wanted), key=lambda k: (k[0], k[1].value))
        if not keys:
            return Snapshot()
        found, freshness = await self.reader.levels_with_freshness(sorted({s for s, _ in keys}))
        freshness = replace(freshness, vendor_max_age=self.vendor_max_age)
        now = self.clock()
        levels = {(lv.sku, lv.location_id): (lv, loc)
                  for rows in found.values() for lv, loc in rows}
        availability = {
            (sku, ch): network_availability(sku, found.get(sku, ()), ch, now, freshness)
            for sku, ch in keys
        }
        return Snapshot(levels, availability)

    async def check_filter(
        self, skus: Collection[str] | None, locations: Collection[str] | None
    ) -> None:
        """Raise NotFoundError naming unknown SKUs or locations (a typo would otherwise
        subscribe to silence forever), InvalidInputError for an empty or oversized list."""
        for name, ids in (("skus", skus), ("locationIds", locations)):
            if ids is not None and not 0 < len(ids) <= MAX_FILTER_IDS:
                raise InvalidInputError(f"{name} must list 1 to {MAX_FILTER_IDS} ids, or be "
                                        "left out for all", field=name)
        if skus:
            unknown = set(skus) - await self.reader.known_skus(skus)
            if unknown:
                raise NotFoundError(f"unknown sku: {', '.join(sorted(unknown))}", field="skus")
        wanted = set(locations or ())
        if wanted - self._known_locations:
            async with self._lookup:
                unseen = wanted - self._known_locations  # a crowd's others find them here
                if unseen:
                    self._known_locations |= {
                        loc.id for loc in await self.reader.locations(ids=unseen)}
            missing = wanted - self._known_locations
            if missing:
                raise NotFoundError(f"unknown location: {', '.join(sorted(missing))}",
                                    field="locationIds")


def parse_cursor(after: str | None) -> int | None:
    """The sequence a client resumes after (None: live only)."""
    if after is None:
        return None
    text = after.strip()
    if not text.isdigit() or len(text) > 19:
        raise InvalidInputError("after must be the sequence of an event this service sent",
                                field="after")
    return int(text)
