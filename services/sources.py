"""Use cases on sources of reported levels: configure a source, take a vendor's push, and
record what any source reports through the ledger (so verify, sequences and events hold)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from domain.access import Caller
from domain.availability import Freshness
from domain.errors import InvalidInputError, NotFoundError
from domain.location import Location, LocationKind
from domain.ports import BatchKeys, ChangePublisher, Holds, Ledger, LedgerBatch
from domain.source import (
    MAX_LINES_PER_PUSH,
    VENDOR_LEVEL_CAUSE,
    RecordOutcome,
    ReportedLevel,
    SourceMode,
    SourceStore,
    VendorFeed,
    VendorScopeError,
    VendorSource,
    check_reported,
    check_source,
    latest_lines,
)
from domain.stock import StockLevel

log = logging.getLogger("stockgraph.sources")


class SourcedReader(Protocol):
    """What reading levels with their freshness needs (a part of domain.ports.StockReader)."""

    async def levels_with_freshness(
        self, skus: Sequence[str]
    ) -> tuple[Mapping[str, list[tuple[StockLevel, Location]]], Freshness]: ...
    async def locations(
        self, kind: LocationKind | None = None, ids: Iterable[str] | None = None
    ) -> list[Location]: ...
    async def known_skus(self, skus: Iterable[str]) -> set[str]: ...


@dataclass(frozen=True)
class SourceDeps:
    ledger: Ledger
    publisher: ChangePublisher
    reader: SourcedReader
    store: SourceStore
    feed: VendorFeed
    # How far ahead of our clock a reported asOf may be.
    max_skew: timedelta
    # For dropship vendors without a configured source (None: their levels never go stale).
    vendor_max_age: timedelta | None = None
    # Reservations: a reported level that no longer covers its holds marks them short.
    holds: Holds | None = None


async def set_vendor_source(deps: SourceDeps, source: VendorSource, now: datetime) -> Location:
    found = await deps.reader.locations(ids=[source.location_id])
    if not found:
        raise NotFoundError(f"unknown location {source.location_id!r}", field="locationId")
    check_source(source, is_vendor=found[0].kind is LocationKind.DROPSHIP_VENDOR)
    await deps.store.save(source, now)
    return found[0]


async def push_vendor_levels(
    deps: SourceDeps, vendor_id: str, lines: Sequence[ReportedLevel], caller: Caller,
    now: datetime,
) -> RecordOutcome:
    """A vendor reports its levels. Each bad line is rejected on its own with its reason."""
    if not caller.may_act_at(vendor_id):
        raise VendorScopeError(f"this key may not push levels for {vendor_id!r}",
                               field="vendorId")
    if len(lines) > MAX_LINES_PER_PUSH:
        raise InvalidInputError(
            f"a push holds at most {MAX_LINES_PER_PUSH} levels, got {len(lines)}", field="levels")
    found = await deps.reader.locations(ids=[vendor_id])
    if not found or found[0].kind is not LocationKind.DROPSHIP_VENDOR:
        raise NotFoundError(f"{vendor_id!r} is not a dropship vendor location", field="vendorId")
    sources = await deps.store.sources([vendor_id])
    if not sources or sources[0].mode is not SourceMode.PUSH:
        raise InvalidInputError(
            f"{vendor_id!r} has no push source; an admin sets one with setVendorSource",
            field="vendorId")
    return await record_reported(deps, vendor_id, lines, caller.name, now, received_at=now)


async def record_reported(
    deps: SourceDeps, location_id: str, lines: Sequence[ReportedLevel], actor: str,
    now: datetime, received_at: datetime,
) -> RecordOutcome:
    """Take the good lines as the location's on-hand levels; a line without asOf is as of
    `received_at`. Unchanged levels write no ledger entry but still count as vouched for."""
    known = await deps.reader.known_skus(line.sku for line in lines)
    rejected: list[str] = []
    good: list[ReportedLevel] = []
    for line in lines:
        reason = check_reported(line, known, now, deps.max_skew)
        if reason is None:
            good.append(_in_utc(line))
        else:
            rejected.append(reason)
    good, superseded = latest_lines(good)
    rejected += superseded
    keep = await _newer_than_held(deps, location_id, good, received_at, rejected)
    changed = 0
    if keep:
        changed = await _apply(deps, location_id, keep, actor, now)
        await deps.store.mark_reported(
            location_id, {ln.sku: ln.as_of or received_at for ln in keep}, now)
    if rejected:
        log.warning("source %s: %d of %d lines rejected, first: %s", location_id,
                    len(rejected), len(lines), "; ".join(rejected[:3]))
    return RecordOutcome(len(keep), rejected, changed)


async def _newer_than_held(
    deps: SourceDeps, location_id: str, lines: list[ReportedLevel], received_at: datetime,
    rejected: list[str],
) -> list[ReportedLevel]:
    held = await deps.store.reported_as_of(location_id, [ln.sku for ln in lines])
    keep: list[ReportedLevel] = []
    for line in lines:
        when = line.as_of or received_at
        before = held.get(line.sku)
        if before is not None and when < before:
            rejected.append(f"{line.sku!r}: asOf {when.isoformat()} is older than the level "
                            f"held (as of {before.isoformat()}); ignored")
        else:
            keep.append(line)
    return keep


async def _apply(
    deps: SourceDeps, location_id: str, lines: list[ReportedLevel], actor: str, now: datetime
) -> int:
    def decide(batch: LedgerBatch) -> int:
        return sum(
            batch.set_on_hand(ln.sku, location_id, ln.available, VENDOR_LEVEL_CAUSE,
                              source_id=location_id, occurred_at=ln.as_of)
            for ln in lines
        )

    keys = BatchKeys(pairs=frozenset((ln.sku, location_id) for ln in lines))
    changed, changes = await deps.ledger.apply(keys, actor, now, decide)
    await deps.publisher.publish(changes)
    held = {(c.level.sku, c.level.location_id) for c in changes if c.level.reserved > 0}
    if deps.holds is not None and held:
        await deps.publisher.publish(await deps.holds.refresh_shortfalls(held, actor, now))
    return changed


def _in_utc(line: ReportedLevel) -> ReportedLevel:
    # Stored times are UTC (SQLite keeps no offset).
    return line if line.as_of is None else replace(line, as_of=line.as_of.astimezone(UTC))
