"""The per-process subscription hub: reads the broadcast once, puts changes in sequence order,
reads their levels and network ATP once per batch, and has each group render once.

One task (`_process`) does everything that touches the order of events: taking changes,
filling holes from the ledger, admitting new subscribers (their replay or first value) and
delivering. So `cursor` (every change up to it has been delivered, and none can still appear
below it) is exact, and a subscriber admitted at cursor C gets the ledger up to C from its
replay and everything after C live: no gap, no repeat.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from graphql.execution import Executor

from app.fanout.group import Group, Member
from domain.events import ChangeRef, LowStockRaised
from domain.location import Channel, Location
from schema.subscription import AvailabilityEvent, LowStockAlert
from schema.types import NetworkAvailability
from services.changes import (
    AVAILABILITY,
    LOW_STOCK,
    NETWORK,
    ChangeReader,
    LedgerFeed,
    Snapshot,
    Topic,
)

log = logging.getLogger("stockgraph.fanout")
Locations = Callable[[Collection[str]], Awaitable[list[Location]]]


@dataclass(frozen=True)
class HubLimits:
    max_replay: int = 10_000  # changes a resuming subscriber may be behind
    page: int = 2_000  # changes read from the ledger at a time when catching up


@dataclass
class Join:
    member: Member
    key: tuple[Any, ...]
    executor: Executor[Any] | None
    after: int | None


CATCH_UP = "catch-up"
TICK = "tick"


class Hub:
    def __init__(self, feed: LedgerFeed, reader: ChangeReader, locations: Locations,
                 limits: HubLimits = HubLimits()) -> None:
        self.feed = feed
        self.reader = reader
        self.locations = locations
        self.limits = limits
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.cursor = 0
        self.started = asyncio.Event()
        self.groups: dict[tuple[Any, ...], Group] = {}
        self._index: dict[tuple[str, str | None], set[Group]] = {}
        self._pending: dict[int, ChangeRef] = {}
        self._seen_latest = 0
        self._owed = False  # a hole was left unfilled while nobody listened
        self.counts = {"delivered": 0, "holes": 0, "catch_ups": 0, "replays": 0}
        self.last_delivery: dict[str, float] = {}

    # -- what the handlers call ------------------------------------------------------------

    def join(self, member: Member, key: tuple[Any, ...], executor: Executor[Any] | None,
             after: int | None) -> None:
        member.detach = self.leave
        self.inbox.put_nowait(Join(member, key, executor, after))

    def leave(self, member: Member) -> None:
        member.active = False
        group, member.group = member.group, None
        if group is None:
            return
        group.members.pop(member, None)
        if not group.members:
            self._drop(group)

    def members(self) -> int:
        return sum(len(g.members) for g in self.groups.values())

    # -- the processing task ---------------------------------------------------------------

    async def run(self) -> None:
        while not self.started.is_set():
            try:
                self.cursor = self._seen_latest = await self.feed.settled()
                self.started.set()
            except Exception:
                log.exception("subscription hub cannot read the ledger; retrying")
                await asyncio.sleep(1.0)
        while True:
            items = [await self.inbox.get()]
            while not self.inbox.empty():
                items.append(self.inbox.get_nowait())
            try:
                await self._handle(items)
            except Exception:  # a database hiccup must not end delivery for everyone
                log.exception("subscription hub: a batch failed; catching up from the ledger")
                self._pending.clear()
                await asyncio.sleep(0.5)
                self.inbox.put_nowait(CATCH_UP)

    async def _handle(self, items: list[Any]) -> None:
        changes = [c for item in items if isinstance(item, list) for c in item
                   if isinstance(c, ChangeRef)]
        alerts = [a for item in items if isinstance(item, list) for a in item
                  if isinstance(a, LowStockRaised)]
        if CATCH_UP in items:
            await self._catch_up()
        if TICK in items:
            await self._tick()
        await self._take(changes)
        if alerts:
            await self._deliver_alerts(alerts)
        joins = [i for i in items if isinstance(i, Join)]
        if joins:
            if self._owed:  # the cursor is made exact before anyone joins at it
                await self._catch_up()
            await self._admit(joins)

    async def _take(self, changes: list[ChangeRef]) -> None:
        """Deliver changes in sequence order; a hole below one is filled from the ledger."""
        for change in changes:
            if change.sequence > self.cursor:
                self._pending.setdefault(change.sequence, change)
        run: list[ChangeRef] = []
        while self._pending:
            nxt = self._pending.pop(self.cursor + 1, None)
            if nxt is not None:
                run.append(nxt)
                self.cursor += 1
                continue
            await self._deliver(run)
            run = []
            if not self.groups:  # nobody to deliver to: filled at the next join or tick
                self._owed = True
                break
            self.counts["holes"] += 1
            await self._catch_up()
            if self._pending:  # above the ledger's own max: not from this database
                log.warning("ignoring changes %s..%s: beyond the ledger (another database "
                            "on this broadcast channel?)", min(self._pending), max(self._pending))
                self._pending.clear()
        await self._deliver(run)

    async def _catch_up(self) -> None:
        """Deliver every change in the ledger after `cursor`, up to its settled horizon."""
        target = await self.feed.settled()
        self._owed = False
        if not self.groups:  # nobody to deliver to: what happened meanwhile need not be read
            self.cursor = max(self.cursor, target)
        if self.cursor < target:
            self.counts["catch_ups"] += 1  # ones that read the ledger
        while self.cursor < target:
            page = await self.feed.changes(self.cursor, target, limit=self.limits.page)
            upto = page[-1].sequence if len(page) >= self.limits.page else target
            await self._deliver(page)
            self.cursor = upto
        self._pending = {s: c for s, c in self._pending.items() if s > self.cursor}

    async def _tick(self) -> None:
        """A change the previous tick saw and no message brought since was lost on the way
        (a publish that failed, a message dropped): catch up."""
        behind = self._seen_latest > self.cursor
        self._seen_latest = await self.feed.latest()
        if behind:
            await self._catch_up()

    # -- delivery --------------------------------------------------------------------------

    def _interested(self, change: ChangeRef) -> list[Group]:
        found = []
        for key in ((AVAILABILITY, change.sku), (AVAILABILITY, None), (NETWORK, change.sku)):
            for group in self._index.get(key, ()):
                if group.topic.wants(change.sku, change.location_id):
                    found.append(group)
        return found

    async def _deliver(self, changes: list[ChangeRef]) -> None:
        routed = [(c, gs) for c in changes if (gs := self._interested(c))]
        if not routed:
            return
        started = time.perf_counter()
        snapshot = await self.reader.snapshot(
            {(c.sku, g.topic.channel) for c, gs in routed for g in gs})
        read = time.perf_counter()
        self._fan_out(routed, snapshot)
        self.last_delivery = {"changes": len(routed), "read_ms": round((read - started) * 1e3, 2),
                              "fan_out_ms": round((time.perf_counter() - read) * 1e3, 2)}

    def _fan_out(self, routed: list[tuple[ChangeRef, list[Group]]], snapshot: Snapshot) -> None:
        latest: dict[Group, int] = {}
        for change, groups in routed:
            events: dict[Channel, AvailabilityEvent | None] = {}
            for group in groups:
                if group.topic.field == NETWORK:
                    latest[group] = change.sequence  # one value per batch: the newest
                    continue
                channel = group.topic.channel
                if channel not in events:
                    events[channel] = _event(snapshot, change, channel)
                event = events[channel]
                if event is not None:
                    group.publish(event, change.sequence)
            self.counts["delivered"] += 1
        for group, sequence in latest.items():
            value = _network(snapshot, group.topic)
            if value is not None:
                group.publish(value, sequence)

    async def _deliver_alerts(self, alerts: list[LowStockRaised]) -> None:
        routed = [(a, [g for g in self._index.get((LOW_STOCK, None), ())
                       if g.topic.wants(a.sku, a.location_id)]) for a in alerts]
        routed = [(a, gs) for a, gs in routed if gs]
        if not routed:
            return
        places = {loc.id: loc for loc in await self.locations({a.location_id for a, _ in routed})}
        for alert, groups in routed:
            place = places.get(alert.location_id)
            if place is not None:
                root = LowStockAlert.from_domain(alert, place)
                for group in groups:
                    group.publish(root)

    # -- admitting subscribers -------------------------------------------------------------

    async def _admit(self, joins: list[Join]) -> None:
        firsts = [j for j in joins if j.member.topic.field == NETWORK]
        snapshot = await self.reader.snapshot(
            {(sku, j.member.topic.channel) for j in firsts for sku in j.member.topic.skus or ()})
        for join in joins:
            member = join.member
            if not member.active:
                continue
            group = self._group(join)
            if join.after is not None:
                await self._replay(group, member, join.after)
            elif member.topic.field == NETWORK:
                value = _network(snapshot, member.topic)
                if value is not None:
                    group.send_to(member, value)
            if member.active:
                group.members[member] = None
                member.group = group
            elif not group.members:
                self._drop(group)

    async def _replay(self, group: Group, member: Member, after: int) -> None:
        topic = member.topic
        missed = await self.feed.changes(after, self.cursor, topic.skus, topic.locations,
                                         limit=self.limits.max_replay + 1)
        if len(missed) > self.limits.max_replay:
            member.end(GraphQLError(
                f"more than {self.limits.max_replay} changes since sequence {after}: query "
                "availability again and subscribe without `after`",
                extensions={"code": "REPLAY_TOO_LONG", "field": "after"}))
            return
        self.counts["replays"] += 1
        snapshot = await self.reader.snapshot({(c.sku, topic.channel) for c in missed})
        for change in missed:
            event = _event(snapshot, change, topic.channel)
            if event is not None and member.active:
                group.send_to(member, event)

    def _group(self, join: Join) -> Group:
        group = self.groups.get(join.key)
        if group is None:
            group = self.groups[join.key] = Group(join.key, join.member.topic, join.executor)
            for key in _index_keys(group.topic):
                self._index.setdefault(key, set()).add(group)
        return group

    def _drop(self, group: Group) -> None:
        if self.groups.get(group.key) is group:
            del self.groups[group.key]
        for key in _index_keys(group.topic):
            found = self._index.get(key)
            if found is not None:
                found.discard(group)
                if not found:
                    del self._index[key]


def _index_keys(topic: Topic) -> Iterable[tuple[str, str | None]]:
    if topic.skus is None:
        return [(topic.field, None)]
    return [(topic.field, sku) for sku in topic.skus]


def _event(snapshot: Snapshot, change: ChangeRef, channel: Channel) -> AvailabilityEvent | None:
    update = snapshot.update(change, channel)
    if update is None:
        return None
    return AvailabilityEvent.from_domain(update.change, update.level, update.location,
                                         update.network_atp)


def _network(snapshot: Snapshot, topic: Topic) -> NetworkAvailability | None:
    sku = next(iter(topic.skus or ()), None)
    found = snapshot.availability.get((sku, topic.channel)) if sku else None
    return NetworkAvailability.from_domain(found) if found else None
