"""The fan-out hub in process, over a real database (SQLite and PostgreSQL): one execution per
group per change whatever its size, filters before any per-subscriber work, holes filled from
the ledger in order, and the replay/live seam without gap or repeat."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Collection, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from adapters.db.engine import Database
from adapters.db.ledger_feed import SqlAlchemyLedgerFeed
from app.fanout.group import Member
from app.fanout.hub import Hub, HubLimits
from app.fanout.outbox import Outbox
from app.fanout.prepare import Prepared, prepare
from app.fanout.runtime import request_for
from domain.access import OPEN_CALLER
from domain.events import ChangeRef
from domain.location import Channel, Location
from domain.movement import MovementType
from resolvers.context import Context, RequestLoaders, Services
from resolvers.schema import build_schema
from services.changes import ChangeReader, Snapshot
from tests.support.cluster import eventually
from tests.support.network import build_network, mv, record

R = MovementType.RECEIVE
EVENTS = """subscription($skus: [ID!], $after: String) {
  availabilityChanged(skus: $skus, after: $after) { sequence sku level { onHand } } }"""
SCHEMA = build_schema()


class CountingReader(ChangeReader):
    def __init__(self, inner: ChangeReader) -> None:
        super().__init__(inner.reader, inner.vendor_max_age, inner.clock)
        self.reads: list[set[tuple[str, Channel]]] = []

    async def snapshot(self, wanted: Iterable[tuple[str, Channel]]) -> Snapshot:
        keys = set(wanted)
        if keys:
            self.reads.append(keys)
        return await super().snapshot(keys)


@dataclass
class Socket:
    """Stands in for one WebSocket: what was sent to it, in order."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, text: str) -> None:
        self.sent.append(json.loads(text))

    async def close(self, code: int, reason: str) -> None:
        self.sent.append({"closed": code})

    def sequences(self) -> list[int]:
        return [int(m["payload"]["data"]["availabilityChanged"]["sequence"])
                for m in self.sent if m.get("type") == "next"]


@dataclass
class Running:
    hub: Hub
    reader: CountingReader
    services: Services
    database: Database

    async def changes(self, *skus: str) -> list[ChangeRef]:
        """Record one receipt per SKU without publishing; the references a publisher sends."""
        feed = SqlAlchemyLedgerFeed(self.database)
        before = await feed.latest()
        await record(self.services, *(mv(R, sku, "wh-1", 1) for sku in skus))
        return await feed.changes(before, await feed.latest())

    async def member(self, socket: Socket, op_id: str, **variables: Any) -> Member:
        context = Context(self.services, OPEN_CALLER, RequestLoaders(self.services))
        prepared = await prepare(SCHEMA, EVENTS, variables, None, context, 10_000)
        assert isinstance(prepared, Prepared)
        request = request_for(prepared.field, prepared.arguments)
        after = int(request.after) if request.after else None
        outbox = Outbox(socket.send, socket.close, 100, "ping", lambda _: None)
        member = Member(op_id, request.topic, floor=after or 0, outbox=outbox)
        self.hub.join(member, (request.topic, prepared.signature), prepared.executor, after)
        return member


@asynccontextmanager
async def hub_over(services: Services, database: Database,
                   limits: HubLimits = HubLimits()) -> AsyncIterator[Running]:
    await build_network(services)
    deps = services.sources.deps
    reader = CountingReader(ChangeReader(deps.reader, deps.vendor_max_age, services.clock))

    async def locations(ids: Collection[str]) -> list[Location]:
        return await services.reader.locations(ids=ids)

    hub = Hub(SqlAlchemyLedgerFeed(database), reader, locations, limits)
    task = asyncio.create_task(hub.run())
    await asyncio.wait_for(hub.started.wait(), 10)
    try:
        yield Running(hub, reader, services, database)
    finally:
        task.cancel()
        await asyncio.wait([task])


@pytest.fixture
async def running(services: Services, database: Database) -> AsyncIterator[Running]:
    async with hub_over(services, database) as found:
        yield found


async def _joined(hub: Hub, count: int) -> None:
    await eventually(lambda: hub.members() == count, f"{count} members")


async def test_a_group_renders_each_change_once_for_all_its_members(running: Running) -> None:
    sockets = [Socket() for _ in range(200)]
    for n, socket in enumerate(sockets):
        await running.member(socket, f"op-{n}", skus=["SKU-A"])
    await _joined(running.hub, 200)
    [group] = running.hub.groups.values()
    changes = await running.changes("SKU-A", "SKU-A", "SKU-A")
    running.hub.inbox.put_nowait(changes)
    await eventually(lambda: all(len(s.sent) == 3 for s in sockets), "3 events on every socket")
    assert group.executions == 3  # not 600
    assert sockets[7].sent[0]["id"] == "op-7"
    assert {json.dumps(s.sent[2]["payload"]) for s in sockets} == {
        json.dumps(sockets[0].sent[2]["payload"])}  # the same bytes for everyone


async def test_filters_apply_before_any_read_or_render(running: Running) -> None:
    socket = Socket()
    await running.member(socket, "a", skus=["SKU-A"])
    await _joined(running.hub, 1)
    running.hub.inbox.put_nowait(await running.changes("SKU-B", "SKU-C"))
    marker = await running.changes("SKU-A")
    running.hub.inbox.put_nowait(marker)
    await eventually(lambda: len(socket.sent) == 1, "the SKU-A event")
    assert running.reader.reads == [{("SKU-A", Channel.ONLINE)}]  # nothing read for B or C


async def test_a_hole_is_filled_from_the_ledger_in_order(running: Running) -> None:
    socket = Socket()
    await running.member(socket, "a", skus=["SKU-A"])
    await _joined(running.hub, 1)
    changes = await running.changes("SKU-A", "SKU-A", "SKU-A")
    # Only the last one's message arrives (the others were lost or are late)
    running.hub.inbox.put_nowait(changes[-1:])
    await eventually(lambda: len(socket.sent) == 3, "all three events")
    running.hub.inbox.put_nowait(changes[:2])  # the late messages change nothing
    assert socket.sequences() == [c.sequence for c in changes]
    await eventually(lambda: running.hub.inbox.empty(), "the late messages handled")
    assert socket.sequences() == [c.sequence for c in changes]


async def test_a_hole_nobody_listens_for_is_not_read_and_joiners_miss_nothing(
    running: Running,
) -> None:
    # Another instance's changes reach this one only through the ledger (memory broadcast),
    # or late: a hole below every local change. With no subscriber there is nobody to fill it
    # for, so nothing is read; whoever joins next starts at an exact cursor.
    hub = running.hub
    early = await running.changes("SKU-A", "SKU-A", "SKU-A")
    hub.inbox.put_nowait(early[-1:])
    live, resumed = Socket(), Socket()
    await running.member(live, "live", skus=["SKU-A"])
    await running.member(resumed, "resumed", skus=["SKU-A"], after=str(early[0].sequence))
    await _joined(hub, 2)  # the hub takes its inbox in order: the change went first
    assert hub.counts["catch_ups"] == 0  # the cursor moved to the joiners without a read
    late = await running.changes("SKU-A")
    hub.inbox.put_nowait(late)
    await eventually(lambda: bool(live.sent) and len(resumed.sent) == 3, "live events")
    assert live.sequences() == [late[0].sequence]
    assert resumed.sequences() == [c.sequence for c in [*early[1:], *late]]


async def test_resuming_after_a_sequence_has_no_gap_and_no_repeat(running: Running) -> None:
    early = await running.changes("SKU-A", "SKU-A", "SKU-A")
    running.hub.inbox.put_nowait(early)
    socket = Socket()
    # When a client resumes after the first change while new changes keep arriving
    await running.member(socket, "r", skus=["SKU-A"], after=str(early[0].sequence))
    late = await running.changes("SKU-A", "SKU-A")
    running.hub.inbox.put_nowait(late)
    running.hub.inbox.put_nowait(early)  # and duplicates of old messages show up
    expected = [c.sequence for c in [*early[1:], *late]]
    await eventually(lambda: len(socket.sequences()) >= len(expected), "replay then live")
    await eventually(lambda: running.hub.inbox.empty(), "the duplicates handled")
    assert socket.sequences() == expected


async def test_a_resume_too_far_back_is_refused_with_a_reason(
    services: Services, database: Database
) -> None:
    async with hub_over(services, database, HubLimits(max_replay=2)) as running:
        running.hub.inbox.put_nowait(await running.changes("SKU-A", "SKU-A", "SKU-A"))
        socket = Socket()
        await running.member(socket, "r", skus=["SKU-A"], after="0")
        await eventually(lambda: bool(socket.sent), "an answer")
        assert socket.sent[0]["type"] == "error"
        assert socket.sent[0]["payload"][0]["extensions"]["code"] == "REPLAY_TOO_LONG"
        assert running.hub.members() == 0 and running.hub.groups == {}
