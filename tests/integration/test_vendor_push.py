"""Vendors that push their levels, on SQLite and PostgreSQL: taken per line through the
ledger, announced like any change, sold only while fresh."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from adapters.db.engine import Database
from app.container import build_services
from app.settings import Settings
from app.vendor_sim import Pusher, SimVendor
from domain.access import Caller, Role
from domain.errors import InvalidInputError, NotFoundError
from domain.events import StockChanged
from domain.location import Channel
from domain.movement import MovementType
from domain.source import RecordOutcome, ReportedLevel, SourceMode, VendorScopeError, VendorSource
from resolvers.context import Services
from services import sources
from tests.conftest import GraphQLClient
from tests.support.cluster import eventually
from tests.support.network import ADMIN, build_network, mv, record
from tests.support.server import free_port, running_servers
from tests.support.vendor_sim import running_vendor_sim

VENDOR = Caller("vendor-1-key", Role.VENDOR, frozenset({"vendor-1"}))


class RecordingPublisher:
    def __init__(self) -> None:
        self.changes: list[StockChanged] = []

    async def publish(self, changes: Sequence[StockChanged]) -> None:
        self.changes.extend(changes)


@pytest.fixture
def published() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
async def net(
    database: Database, settings: Settings, published: RecordingPublisher
) -> AsyncIterator[Services]:
    services = build_services(database, settings, publisher=published)
    await build_network(services)
    await sources.set_vendor_source(
        services.sources.deps, VendorSource("vendor-1", SourceMode.PUSH,
                                            max_age=timedelta(minutes=15)), services.clock())
    yield services
    await services.sources.aclose()


def now() -> datetime:
    return datetime.now(UTC)


async def push(s: Services, *lines: ReportedLevel, caller: Caller = VENDOR) -> RecordOutcome:
    return await sources.push_vendor_levels(s.sources.deps, "vendor-1", lines, caller, s.clock())


async def on_hand(s: Services, sku: str, loc: str = "vendor-1") -> int | None:
    found = await s.reader.level(sku, loc)
    return found[0].on_hand if found else None


async def test_pushed_levels_become_on_hand_and_count_while_fresh(net: Services) -> None:
    done = await push(net, ReportedLevel("SKU-A", 12, now()), ReportedLevel("SKU-B", 3))
    assert (done.accepted, done.rejected) == (2, [])
    assert await on_hand(net, "SKU-A") == 12
    [na] = await net.sources.availabilities([("SKU-A", Channel.ONLINE)], net.clock())
    assert na.atp == 12
    [status] = na.sources
    assert status.location.id == "vendor-1" and status.fresh and status.error is None


async def test_a_lower_level_replaces_the_higher_one_through_the_ledger(net: Services) -> None:
    await push(net, ReportedLevel("SKU-A", 12))
    await push(net, ReportedLevel("SKU-A", 5))
    assert await on_hand(net, "SKU-A") == 5
    assert await net.reader.drift() == []


async def test_bad_lines_are_rejected_one_by_one_and_good_ones_taken(net: Services) -> None:
    done = await push(
        net,
        ReportedLevel("SKU-A", -4),
        ReportedLevel("NOPE", 2),
        ReportedLevel("SKU-B", 7, now() + timedelta(days=1)),
        ReportedLevel("SKU-C", 6),
    )
    assert done.accepted == 1
    assert [r.split(":")[0] for r in done.rejected] == ["'SKU-A'", "'NOPE'", "'SKU-B'"]
    assert "negative" in done.rejected[0] and "unknown sku" in done.rejected[1]
    assert "future" in done.rejected[2]
    assert [await on_hand(net, s) for s in ("SKU-A", "SKU-B", "SKU-C")] == [None, None, 6]


async def test_a_report_older_than_the_level_held_is_ignored(net: Services) -> None:
    await push(net, ReportedLevel("SKU-A", 9, now()))
    done = await push(net, ReportedLevel("SKU-A", 1, now() - timedelta(minutes=5)))
    assert done.accepted == 0 and "older than the level held" in done.rejected[0]
    assert await on_hand(net, "SKU-A") == 9


async def test_a_level_past_its_max_age_is_not_sold(net: Services) -> None:
    await record(net, mv(MovementType.RECEIVE, "SKU-A", "wh-1", 4))
    await push(net, ReportedLevel("SKU-A", 10, now() - timedelta(hours=1)))
    [na] = await net.sources.availabilities([("SKU-A", Channel.ONLINE)], net.clock())
    assert na.atp == 4
    assert [la.location.id for la in na.levels] == ["wh-1"]
    [status] = na.sources
    assert not status.fresh and status.as_of is not None
    assert now() - status.as_of > timedelta(minutes=59)


async def test_changed_levels_are_announced_and_unchanged_ones_only_vouched_for(
    net: Services, published: RecordingPublisher
) -> None:
    published.changes.clear()
    await push(net, ReportedLevel("SKU-A", 5), ReportedLevel("SKU-B", 2))
    assert sorted((c.level.sku, c.level.on_hand, c.cause) for c in published.changes) == [
        ("SKU-A", 5, "VENDOR_LEVEL"), ("SKU-B", 2, "VENDOR_LEVEL")]
    published.changes.clear()
    later = now() + timedelta(seconds=1)
    done = await push(net, ReportedLevel("SKU-A", 5, later))
    assert done.accepted == 1 and done.changed == 0 and published.changes == []
    held = await net.sources.deps.store.reported_as_of("vendor-1", ["SKU-A"])
    assert held["SKU-A"] == later


async def test_a_vendor_key_pushes_for_its_own_location_only(net: Services) -> None:
    other = Caller("vendor-2-key", Role.VENDOR, frozenset({"vendor-2"}))
    with pytest.raises(VendorScopeError):
        await push(net, ReportedLevel("SKU-A", 5), caller=other)
    assert await on_hand(net, "SKU-A") is None


async def test_only_a_vendor_with_a_push_source_takes_pushes(net: Services) -> None:
    with pytest.raises(NotFoundError, match="not a dropship vendor"):
        await sources.push_vendor_levels(net.sources.deps, "wh-1", [], ADMIN, net.clock())
    await sources.set_vendor_source(net.sources.deps, VendorSource(
        "vendor-1", SourceMode.PULL, base_url="http://127.0.0.1:9/x"), net.clock())
    with pytest.raises(InvalidInputError, match="no push source"):
        await push(net, ReportedLevel("SKU-A", 5))


async def test_push_and_sources_over_graphql(gql: GraphQLClient) -> None:
    for loc in ("""{id: "v-9", name: "Vendor Nine", kind: DROPSHIP_VENDOR}""",):
        await gql.data(f"mutation {{ upsertLocation(input: {loc}) {{ id }} }}")
    await gql.data('mutation { upsertSku(input: {sku: "SKU-Z"}) { sku } }')
    configured = await gql.data("""mutation { setVendorSource(input: {locationId: "v-9",
        mode: PUSH, maxAgeSeconds: 600}) { mode maxAgeSeconds hasAuthValue } }""")
    assert configured["setVendorSource"] == {"mode": "PUSH", "maxAgeSeconds": 600.0,
                                             "hasAuthValue": False}
    pushed = await gql.data("""mutation { pushVendorLevels(vendorId: "v-9", levels: [
        {sku: "SKU-Z", available: 8}, {sku: "SKU-Q", available: 1}]) { accepted rejected } }""")
    assert pushed["pushVendorLevels"] == {"accepted": 1, "rejected": ["'SKU-Q': unknown sku"]}
    found = await gql.data("""{ availability(sku: "SKU-Z") { atp
        sources { location { id } fresh asOf error } } }""")
    assert found["availability"]["atp"] == 8
    [status] = found["availability"]["sources"]
    assert status["location"]["id"] == "v-9" and status["fresh"] and status["asOf"]


async def test_the_simulated_vendor_pushes_to_a_running_server(tmp_path: Path) -> None:
    # Given a real server with a push source, when the vendor simulator pushes over loopback,
    # then its levels are what the server sells, fresh.
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'push.db'}",
           "BROADCAST_URL": "memory://", "STOCKGRAPH_VENDOR_POLLER": "false"}
    seller = SimVendor("v-push", token="unused", levels={"SKU-P": 4, "SKU-Q": 9})
    async with running_servers(env) as [base], httpx.AsyncClient(timeout=10) as http:
        url = f"{base}/graphql"
        for op in ('upsertLocation(input: {id: "v-push", name: "Pusher", '
                   "kind: DROPSHIP_VENDOR}) { id }",
                   'upsertSku(input: {sku: "SKU-P"}) { sku }',
                   'upsertSku(input: {sku: "SKU-Q"}) { sku }',
                   'setVendorSource(input: {locationId: "v-push", mode: PUSH}) { mode }'):
            answer = await http.post(url, json={"query": f"mutation {{ {op} }}"})
            assert "errors" not in answer.json(), answer.json()
        pusher = Pusher(seller, url, every=0.1)
        async with running_vendor_sim([seller], pusher):
            await _until(http, url, lambda na: na["atp"] == 4 and na["sources"][0]["fresh"])


async def _until(http: httpx.AsyncClient, url: str, done: Callable[[Any], bool]) -> None:
    query = '{ availability(sku: "SKU-P") { atp sources { fresh } } }'
    async with asyncio.timeout(20):
        while True:
            found = (await http.post(url, json={"query": query})).json()["data"]["availability"]
            if found["sources"] and done(found):
                return
            await asyncio.sleep(0.05)


async def test_a_push_that_finds_stockgraph_not_up_yet_is_tried_again_soon(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # `make run` starts the vendor simulator before the server: the first push finds nobody.
    # The next one must not wait for the push interval (a minute in the demo).
    port = free_port()
    pushed: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def graphql(request: Request) -> JSONResponse:
        pushed.put_nowait(await request.json())
        return JSONResponse({"data": {"pushVendorLevels": {"accepted": 1, "rejected": []}}})

    seller = SimVendor("v-late", token="unused", levels={"SKU-P": 4})
    pusher = Pusher(seller, f"http://127.0.0.1:{port}/graphql", every=600.0, retry=0.1)
    pushing = asyncio.create_task(pusher.run())
    server = uvicorn.Server(uvicorn.Config(
        Starlette(routes=[Route("/graphql", graphql, methods=["POST"])]), host="127.0.0.1",
        port=port, log_level="warning", lifespan="off"))
    serving: asyncio.Task[None] | None = None
    try:
        await eventually(lambda: "push of v-late failed" in caplog.text, "a failed push")
        serving = asyncio.create_task(server.serve())
        body = await asyncio.wait_for(pushed.get(), 10)
        assert [(x["sku"], x["available"]) for x in body["variables"]["levels"]] == [("SKU-P", 4)]
    finally:
        pushing.cancel()
        server.should_exit = True
        await asyncio.gather(pushing, *([serving] if serving else []), return_exceptions=True)
