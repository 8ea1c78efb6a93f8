"""Network availability: ATP summed over the locations that may sell on a channel."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from domain.location import Channel, Location, LocationKind, sells_on
from domain.source import SourceTerms
from domain.stock import StockLevel


class LevelAt(NamedTuple):
    """A level and where it is. A tuple: a reader's (level, location) pairs are taken as they
    are, with no object made per level (one SKU may be held at thousands of locations)."""

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


@dataclass(frozen=True, slots=True)
class Freshness:
    """How old a reported level may be and still be sold.

    A location with a source (`domain.source`: a pushing vendor, or any pull-sourced location)
    is sold while its level for the SKU was reported within that source's max age; `reported`
    says when, per (sku, location id), and `errors` why a source could not be read just now.
    `vendor_max_age` covers dropship vendors without a source (None: any age)."""

    vendor_max_age: timedelta | None = None
    sources: Mapping[str, SourceTerms] = field(default_factory=dict)
    reported: Mapping[tuple[str, str], datetime] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)

    def max_age(self, location: Location) -> timedelta | None:
        terms = self.sources.get(location.id)
        if terms is not None:
            return terms.max_age
        return self.vendor_max_age if location.kind is LocationKind.DROPSHIP_VENDOR else None

    def as_of(self, level: StockLevel) -> datetime | None:
        """When the level was last vouched for: by its source if it has one, else here."""
        if level.location_id in self.sources:
            return self.reported.get((level.sku, level.location_id))
        return level.updated_at

    def is_reported(self, location: Location) -> bool:
        return location.kind is LocationKind.DROPSHIP_VENDOR or location.id in self.sources


ALWAYS_FRESH = Freshness()


def sellable_now(
    level: StockLevel, location: Location, now: datetime, freshness: Freshness = ALWAYS_FRESH
) -> bool:
    """May `level` be promised now? The one place that says so, for network availability,
    pickup and routing alike: an inactive location sells nothing, and a reported level (a
    dropship vendor's, a pull-sourced location's) only while it is fresh."""
    if not location.active:
        return False
    max_age = freshness.max_age(location)
    if max_age is None:
        return True
    as_of = freshness.as_of(level)
    return as_of is not None and now - as_of <= max_age


class SkuLevels(list[tuple[StockLevel, Location]]):
    """One SKU's levels as a reader gives them again and again unchanged (a read it kept):
    what `network_availability` derives from them per channel, and what does not depend on
    the time, is kept with them. Never changed once given out."""

    __slots__ = ("_sourced", "_views")

    def __init__(self, pairs: Iterable[tuple[StockLevel, Location]] = ()) -> None:
        super().__init__(pairs)
        self._views: dict[Channel, _ChannelView] = {}
        self._sourced: tuple[Mapping[str, SourceTerms], list[tuple[StockLevel, Location]]] \
            | None = None


def sourced_levels(
    levels: Iterable[tuple[StockLevel, Location]], freshness: Freshness
) -> list[tuple[StockLevel, Location]]:
    """The levels at locations with a source in `freshness`; kept with `SkuLevels`."""
    kept = levels._sourced if isinstance(levels, SkuLevels) else None
    if kept is not None and kept[0] is freshness.sources:
        return kept[1]
    found = [pair for pair in levels if pair[1].id in freshness.sources]
    if isinstance(levels, SkuLevels):
        levels._sourced = (freshness.sources, found)
    return found


@dataclass(frozen=True, slots=True)
class _ChannelView:
    """Levels as one channel sees them: every one it may count, in order (at the channel's
    safety stock), and which of them are reported (sold only while fresh), with the sums over
    the others, which count whatever the time. `sources` is what told reported from not."""

    sources: Mapping[str, SourceTerms]
    candidates: list[LevelAt]
    reported: list[LevelAt]
    atp: int
    on_hand: int
    reserved: int


def _channel_view(
    levels: Iterable[tuple[StockLevel, Location]], channel: Channel, freshness: Freshness
) -> _ChannelView:
    kept = levels._views.get(channel) if isinstance(levels, SkuLevels) else None
    if kept is not None and kept.sources is freshness.sources:
        return kept
    candidates: list[LevelAt] = []
    reported: list[LevelAt] = []
    atp_sum = on_hand = reserved = 0
    for pair in levels:
        seen, location = pair
        if not sells_on(location, channel):
            continue
        level = seen.on_channel(channel) if seen.channel_safety else seen
        at = pair if level is seen and isinstance(pair, LevelAt) else LevelAt(level, location)
        candidates.append(at)
        if freshness.is_reported(location):
            reported.append(at)
        else:
            # No age limit, and `sells_on` has seen the location active: all `sellable_now`
            # asks (tests/unit/test_availability_rules.py checks the two agree).
            atp_sum += level.atp
            on_hand += level.on_hand
            reserved += level.reserved
    view = _ChannelView(freshness.sources, candidates, reported, atp_sum, on_hand, reserved)
    if isinstance(levels, SkuLevels):
        levels._views[channel] = view
    return view


def network_availability(
    sku: str, levels: Iterable[tuple[StockLevel, Location]], channel: Channel, now: datetime,
    freshness: Freshness = ALWAYS_FRESH,
) -> NetworkAvailability:
    """Sum over the levels whose location sells on `channel` and that may be sold now;
    `levels` lists only those, as the channel sees them (its safety stock).

    Every dropship vendor and pull-sourced location selling on the channel appears in
    `sources`, fresh or not. Only they are looked at anew for each `now`: given `SkuLevels`
    again, the rest is taken as worked out before."""
    view = _channel_view(levels, channel, freshness)
    sources: list[SourceStatus] = []
    stale: set[int] = set()  # of the candidates, by identity
    atp_sum, on_hand, reserved = view.atp, view.on_hand, view.reserved
    for at in view.reported:
        level, location = at
        fresh = sellable_now(level, location, now, freshness)
        sources.append(SourceStatus(location, fresh=fresh, as_of=freshness.as_of(level),
                                    error=freshness.errors.get(location.id)))
        if fresh:
            atp_sum += level.atp
            on_hand += level.on_hand
            reserved += level.reserved
        else:
            stale.add(id(at))
    counted = [at for at in view.candidates if id(at) not in stale] if stale \
        else list(view.candidates)
    return NetworkAvailability(
        sku=sku, atp=atp_sum, on_hand=on_hand, reserved=reserved, levels=counted,
        sources=sources, as_of=now,
    )
