"""Pull sources against the real vendor simulator over loopback, on SQLite and PostgreSQL:
the poller fills levels through the configured field mapping, stale levels are refreshed on
demand, and a pull-sourced location takes no movements here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from adapters.db.engine import Database
from app.container import build_services
from app.settings import Settings
from app.vendor_sim import SimVendor, VendorSim
from domain.events import StockChanged
from domain.location import Channel
from domain.movement import MovementStatus, MovementType
from domain.source import SourceUnavailableError
from resolvers.context import Services
from services import sources
from tests.support.network import build_network, mv, record
from tests.support.vendor_sim import pull_source, running_vendor_sim, sim_vendor

LEVELS = {"SKU-A": 7, "SKU-B": 0, "SKU-C": 31}


class RecordingPublisher:
    def __init__(self) -> None:
        self.changes: list[StockChanged] = []

    async def publish(self, changes: Sequence[StockChanged]) -> None:
        self.changes.extend(changes)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, broadcast_url="memory://", vendor_retries=0)


@pytest.fixture
async def sim() -> AsyncIterator[tuple[VendorSim, str]]:
    async with running_vendor_sim([sim_vendor("vendor-1", LEVELS)]) as running:
        yield running


@pytest.fixture
def published() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
async def net(
    database: Database, settings: Settings, published: RecordingPublisher
) -> AsyncIterator[Services]:
    services = build_services(database, settings, publisher=published)
    await build_network(services)
    yield services
    await services.sources.aclose()


def vendor(sim: tuple[VendorSim, str]) -> SimVendor:
    return sim[0].vendors["vendor-1"]


async def configure(net: Services, sim: tuple[VendorSim, str], **terms: object) -> None:
    await sources.set_vendor_source(
        net.sources.deps, pull_source(sim[1], vendor(sim), **terms), net.clock())


async def levels_at_vendor(net: Services) -> dict[str, int]:
    found = await net.reader.levels_for_skus(list(LEVELS))
    return {sku: lv.on_hand for sku, rows in found.items() for lv, loc in rows
            if loc.id == "vendor-1"}


async def test_a_poll_reads_every_page_through_the_field_mapping(
    net: Services, sim: tuple[VendorSim, str], published: RecordingPublisher
) -> None:
    await configure(net, sim)
    polled = await net.sources.poll_due()
    assert polled == 1
    assert vendor(sim).calls == 2  # three lines, two per page
    assert await levels_at_vendor(net) == {"SKU-A": 7, "SKU-C": 31}  # 0 of SKU-B: no row
    [na] = await net.sources.availabilities([("SKU-C", Channel.ONLINE)], net.clock())
    assert na.atp == 31
    [status] = na.sources
    assert status.fresh and status.error is None
    assert sorted((c.level.sku, c.level.on_hand, c.cause) for c in published.changes) == [
        ("SKU-A", 7, "VENDOR_LEVEL"), ("SKU-C", 31, "VENDOR_LEVEL")]
    assert await net.reader.drift() == []


async def test_a_poll_that_changes_nothing_writes_nothing(
    net: Services, sim: tuple[VendorSim, str], published: RecordingPublisher
) -> None:
    await configure(net, sim)
    first = await net.sources.poll(pull_source(sim[1], vendor(sim)))
    published.changes.clear()
    vendor(sim).levels["SKU-A"] = 5
    again = await net.sources.poll(pull_source(sim[1], vendor(sim)))
    assert (first.changed, again.changed) == (2, 1)
    assert [(c.level.sku, c.level.on_hand) for c in published.changes] == [("SKU-A", 5)]


async def test_a_level_past_its_max_age_is_not_sold_and_says_so(
    net: Services, sim: tuple[VendorSim, str]
) -> None:
    counted_at = datetime.now(UTC) - timedelta(hours=2)
    vendor(sim).as_of = counted_at
    await configure(net, sim, max_age=timedelta(minutes=15))
    await net.sources.poll_due()
    await record(net, mv(MovementType.RECEIVE, "SKU-A", "wh-1", 2))
    [na] = await net.sources.availabilities([("SKU-A", Channel.ONLINE)], net.clock())
    assert na.atp == 2
    [status] = na.sources
    assert (status.fresh, status.as_of, status.error) == (False, counted_at, None)


async def test_a_stale_level_is_refreshed_when_a_query_needs_it(
    net: Services, sim: tuple[VendorSim, str]
) -> None:
    vendor(sim).as_of = datetime.now(UTC) - timedelta(hours=2)
    # A deadline no loaded machine misses: this is about the refresh, not the deadline.
    await configure(net, sim, max_age=timedelta(minutes=15), deadline=timedelta(seconds=30))
    await net.sources.poll_due()
    vendor(sim).as_of = None  # the vendor counts again: its levels are as of now
    vendor(sim).levels["SKU-A"] = 11
    calls = vendor(sim).calls
    [na] = await net.sources.availabilities([("SKU-A", Channel.ONLINE)], net.clock())
    assert vendor(sim).calls == calls + 1  # one per-SKU look-up
    assert na.atp == 11
    [status] = na.sources
    assert status.fresh and status.error is None


async def test_movements_at_a_pull_sourced_location_are_rejected(
    net: Services, sim: tuple[VendorSim, str]
) -> None:
    await configure(net, sim)
    outcomes = await record(
        net,
        mv(MovementType.RECEIVE, "SKU-A", "vendor-1", 3),
        mv(MovementType.RECEIVE, "SKU-A", "wh-1", 3),
    )
    assert [o.status for o in outcomes] == [MovementStatus.REJECTED, MovementStatus.APPLIED]
    assert "read-only" in (outcomes[0].error or "")
    assert await levels_at_vendor(net) == {}


async def test_the_vendor_is_asked_with_its_credentials(
    net: Services, sim: tuple[VendorSim, str]
) -> None:
    wrong = replace(pull_source(sim[1], vendor(sim)), auth_value="not-the-token")
    await sources.set_vendor_source(net.sources.deps, wrong, net.clock())
    with pytest.raises(SourceUnavailableError, match="HTTP 401"):
        await net.sources.poll(wrong)
    assert await levels_at_vendor(net) == {}
