"""Keeping pulled levels fresh: the poller, and on-demand refreshes held to a deadline.

The availability read never waits for a source longer than that source's deadline: stale
pull-sourced levels are refreshed concurrently, the answer is given from the last good level
with the source marked ("timeout", "circuit open", ...) and unfinished refreshes complete in
the background, one at a time per (source, SKU set) and a few at most per source.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, replace
from datetime import datetime

from domain.availability import (
    Freshness,
    NetworkAvailability,
    network_availability,
    sellable_now,
    sourced_levels,
)
from domain.location import Channel, Location
from domain.source import RecordOutcome, SourceMode, SourceUnavailableError, VendorSource
from domain.stock import StockLevel
from services.sources import SourceDeps, record_reported

log = logging.getLogger("stockgraph.sources")
Levels = dict[str, list[tuple[StockLevel, Location]]]
MAX_PAGES = 1000
CIRCUIT_OPEN = "OPEN"


@dataclass
class _Refresh:
    task: asyncio.Task[RecordOutcome]
    ends: float  # loop time after which no query waits for it


class SourceRefresher:
    def __init__(self, deps: SourceDeps, clock: Callable[[], datetime],
                 per_source: int = 4) -> None:
        self.deps = deps
        self.clock = clock
        self.per_source = per_source
        self.last_error: dict[str, str] = {}
        self._in_flight: dict[tuple[str, frozenset[str]], _Refresh] = {}
        self._last_poll: dict[str, float] = {}

    # -- the read path --------------------------------------------------------------------

    async def availabilities(
        self, keys: Sequence[tuple[str, Channel]], now: datetime
    ) -> list[NetworkAvailability]:
        skus = sorted({sku for sku, _ in keys})
        found, freshness = await self._read(skus)
        stale = _stale_pulled(found, freshness, now)
        errors: dict[str, str] = {}
        if stale:
            errors, refreshed = await self._refresh_within_deadline(stale)
            if refreshed:
                found, freshness = await self._read(skus)
        freshness = replace(freshness, errors=errors)
        return [
            network_availability(sku, found.get(sku, ()), channel, now, freshness)
            for sku, channel in keys
        ]

    async def _read(
        self, skus: Sequence[str]
    ) -> tuple[Levels, Freshness]:
        found, freshness = await self.deps.reader.levels_with_freshness(skus)
        return dict(found), replace(freshness, vendor_max_age=self.deps.vendor_max_age)

    async def _refresh_within_deadline(
        self, stale: dict[str, set[str]]
    ) -> tuple[dict[str, str], bool]:
        errors: dict[str, str] = {}
        jobs: dict[str, _Refresh] = {}
        for source in await self.deps.store.sources(stale):
            if source.mode is not SourceMode.PULL:
                continue
            sid = source.location_id
            if self.deps.feed.circuit(sid) == CIRCUIT_OPEN:
                errors[sid] = "circuit open"
                continue
            job = self._start(source, frozenset(stale[sid]))
            if job is None:
                errors[sid] = "timeout"  # this source has its share of refreshes running
            else:
                jobs[sid] = job
        await _wait_until_deadlines(list(jobs.values()))
        refreshed = False
        for sid, job in jobs.items():
            if not job.task.done():
                errors[sid] = "timeout"
            elif job.task.cancelled() or job.task.exception() is not None:
                errors[sid] = _reason(job.task)
            else:
                refreshed = True
        return errors, refreshed

    def _start(self, source: VendorSource, skus: frozenset[str]) -> _Refresh | None:
        key = (source.location_id, skus)
        job = self._in_flight.get(key)
        if job is not None:
            return job
        if sum(1 for sid, _ in self._in_flight if sid == source.location_id) >= self.per_source:
            return None
        loop = asyncio.get_running_loop()
        task = loop.create_task(self.refresh_skus(source, sorted(skus)))
        job = self._in_flight[key] = _Refresh(task, loop.time() + source.deadline.total_seconds())
        task.add_done_callback(lambda t: self._finished(key, t))
        return job

    def _finished(self, key: tuple[str, frozenset[str]], task: asyncio.Task[RecordOutcome]) -> None:
        self._in_flight.pop(key, None)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            self.last_error.pop(key[0], None)
            return
        self.last_error[key[0]] = _reason(task)
        if not isinstance(exc, SourceUnavailableError):
            log.error("refresh of %s failed", key[0], exc_info=exc)

    # -- fetching -------------------------------------------------------------------------

    async def refresh_skus(self, source: VendorSource, skus: Sequence[str]) -> RecordOutcome:
        page = await self.deps.feed.fetch_skus(source, skus)
        outcome = await record_reported(self.deps, source.location_id, page.lines,
                                        _actor(source), self.clock(), page.fetched_at)
        return RecordOutcome(outcome.accepted, page.rejected + outcome.rejected, outcome.changed)

    async def poll(self, source: VendorSource) -> RecordOutcome:
        """Read every page of the source's listing; each page is recorded as it arrives."""
        accepted, changed, rejected = 0, 0, []
        cursor: str | None = None
        try:
            for _ in range(MAX_PAGES):
                page = await self.deps.feed.fetch_page(source, cursor)
                done = await record_reported(self.deps, source.location_id, page.lines,
                                             _actor(source), self.clock(), page.fetched_at)
                accepted, changed = accepted + done.accepted, changed + done.changed
                rejected += page.rejected + done.rejected
                cursor = page.next_cursor
                if cursor is None:
                    break
        except SourceUnavailableError as exc:
            self.last_error[source.location_id] = exc.reason
            raise
        self.last_error.pop(source.location_id, None)
        return RecordOutcome(accepted, rejected, changed)

    # -- the poller -----------------------------------------------------------------------

    async def poll_due(self) -> int:
        """Poll every pull source whose interval has passed; how many were polled."""
        loop = asyncio.get_running_loop()
        due = [s for s in await self.deps.store.sources() if s.mode is SourceMode.PULL
               and loop.time() - self._last_poll.get(s.location_id, float("-inf"))
               >= s.poll_interval.total_seconds()]
        for s in due:
            self._last_poll[s.location_id] = loop.time()
        results = await asyncio.gather(*(self.poll(s) for s in due), return_exceptions=True)
        for source, result in zip(due, results, strict=True):
            if isinstance(result, SourceUnavailableError):
                log.warning("poll of %s failed: %s", source.location_id, result.reason)
            elif isinstance(result, Exception):
                log.error("poll of %s failed", source.location_id, exc_info=result)
        return len(due)

    async def run_poller(self, tick: float) -> None:
        """The one polling task of an instance: runs until cancelled."""
        while True:
            try:
                await self.poll_due()
            except Exception:
                log.exception("vendor poller tick failed")
            await asyncio.sleep(tick)

    async def aclose(self) -> None:
        tasks = [job.task for job in self._in_flight.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.deps.feed.aclose()


@asynccontextmanager
async def polling(refresher: SourceRefresher, tick: float) -> AsyncIterator[None]:
    """Run the instance's one poller task (none when `tick` is 0) while the block runs; on
    leaving, stop it and every background refresh, and close the HTTP client."""
    task = asyncio.create_task(refresher.run_poller(tick), name="vendor-poller") \
        if tick > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await refresher.aclose()


async def _wait_until_deadlines(jobs: list[_Refresh]) -> None:
    """Wait for the jobs, each no longer than its own deadline."""
    loop = asyncio.get_running_loop()
    while True:
        now = loop.time()
        waiting = [j for j in jobs if not j.task.done() and j.ends > now]
        if not waiting:
            return
        await asyncio.wait([j.task for j in waiting], timeout=min(j.ends for j in waiting) - now)


def _stale_pulled(
    found: Levels, freshness: Freshness, now: datetime
) -> dict[str, set[str]]:
    stale: dict[str, set[str]] = {}
    for sku, levels in found.items():
        for level, location in sourced_levels(levels, freshness):
            if freshness.sources[location.id].mode is SourceMode.PULL and location.active \
                    and not sellable_now(level, location, now, freshness):
                stale.setdefault(location.id, set()).add(sku)
    return stale


def _reason(task: asyncio.Task[RecordOutcome]) -> str:
    if task.cancelled():
        return "refresh cancelled"
    exc = task.exception()
    return exc.reason if isinstance(exc, SourceUnavailableError) else "refresh failed"


def _actor(source: VendorSource) -> str:
    return f"source:{source.location_id}"
