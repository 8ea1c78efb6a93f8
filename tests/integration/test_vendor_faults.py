"""A vendor that hangs, fails or sends garbage, served by the real simulator over loopback
(SQLite and PostgreSQL): queries keep their deadline, the breaker stops calling a failing
vendor and tries again later, and garbage is rejected line by line, touching nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from adapters.db.engine import Database
from app.container import build_services
from app.settings import Settings
from app.vendor_sim import SimVendor, VendorSim
from domain.location import Channel
from domain.movement import MovementType
from domain.source import SourceUnavailableError, VendorSource
from resolvers.context import Services
from services import sources
from tests.support.network import build_network, mv, record
from tests.support.vendor_sim import pull_source, running_vendor_sim, sim_vendor

HANG = 30.0  # the vendor's hang: far longer than any answer may take
ANSWER_WITHIN = 10.0  # the test gives up long before the hang would end
COOLDOWN = 0.5


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url, broadcast_url="memory://", vendor_retries=0,
        vendor_read_timeout_seconds=60, vendor_breaker_failures=2,
        vendor_breaker_cooldown_seconds=COOLDOWN, vendor_max_lines=50)


@pytest.fixture
async def sim() -> AsyncIterator[tuple[VendorSim, str]]:
    async with running_vendor_sim([sim_vendor("vendor-1", {"SKU-A": 6, "SKU-C": 2})]) as sim:
        yield sim


@pytest.fixture
async def net(database: Database, settings: Settings) -> AsyncIterator[Services]:
    services = build_services(database, settings)
    await build_network(services)
    await record(services, mv(MovementType.RECEIVE, "SKU-A", "wh-1", 4))
    yield services
    await services.sources.aclose()


def vendor(sim: tuple[VendorSim, str]) -> SimVendor:
    return sim[0].vendors["vendor-1"]


async def stale_source(
    net: Services, sim: tuple[VendorSim, str], deadline: timedelta = timedelta(seconds=30)
) -> VendorSource:
    """vendor-1 pulled once, long ago: its levels are held but too old to sell. The deadline
    is one no loaded machine misses, unless a test is about the deadline."""
    vendor(sim).as_of = datetime.now(UTC) - timedelta(hours=1)
    source = pull_source(sim[1], vendor(sim), max_age=timedelta(minutes=5), deadline=deadline)
    await sources.set_vendor_source(net.sources.deps, source, net.clock())
    await net.sources.poll(source)
    vendor(sim).as_of = None
    return source


async def vendor_status(net: Services) -> tuple[int, bool, str | None]:
    [na] = await net.sources.availabilities([("SKU-A", Channel.ONLINE)], net.clock())
    [status] = na.sources
    return na.atp, status.fresh, status.error


async def wait_for(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Poll `condition` (a breaker's cool-down is a matter of time) until true, or fail."""
    async with asyncio.timeout(within):
        while True:
            if condition():
                return
            await asyncio.sleep(0.02)


async def test_a_hanging_vendor_does_not_hold_the_answer(
    net: Services, sim: tuple[VendorSim, str]
) -> None:
    await stale_source(net, sim, deadline=timedelta(milliseconds=300))
    vendor(sim).mode, vendor(sim).delay = "slow", HANG
    async with asyncio.timeout(ANSWER_WITHIN):
        atp, fresh, error = await vendor_status(net)
    # The warehouse's 4 are sold; the vendor's stale 6 are not, and the source says why.
    assert (atp, fresh, error) == (4, False, "timeout")
    async with asyncio.timeout(ANSWER_WITHIN):  # the refresh still in flight is not re-waited
        assert await vendor_status(net) == (4, False, "timeout")
    assert vendor(sim).calls == 2  # the poll, then one look-up in the background


async def test_a_failing_vendor_opens_the_breaker_then_is_tried_again(
    net: Services, sim: tuple[VendorSim, str]
) -> None:
    source = await stale_source(net, sim)
    vendor(sim).mode = "fail"
    for _ in range(2):
        with pytest.raises(SourceUnavailableError, match="HTTP 503"):
            await net.sources.poll(source)
    calls = vendor(sim).calls
    feed = net.sources.deps.feed
    assert feed.circuit("vendor-1") == "OPEN"
    # While open: no call goes out, and queries say so.
    assert await vendor_status(net) == (4, False, "circuit open")
    with pytest.raises(SourceUnavailableError, match="circuit open"):
        await net.sources.poll(source)
    assert vendor(sim).calls == calls
    # After the cool-down one trial goes out; still failing, it opens again.
    await wait_for(lambda: feed.circuit("vendor-1") == "HALF_OPEN")
    with pytest.raises(SourceUnavailableError, match="HTTP 503"):
        await net.sources.poll(source)
    assert (vendor(sim).calls, feed.circuit("vendor-1")) == (calls + 1, "OPEN")
    # The vendor is back: the next trial succeeds and closes the breaker.
    vendor(sim).mode = "ok"
    await wait_for(lambda: feed.circuit("vendor-1") == "HALF_OPEN")
    assert await vendor_status(net) == (10, True, None)
    assert feed.circuit("vendor-1") == "CLOSED"


async def test_garbage_is_rejected_line_by_line_and_touches_nothing_else(
    net: Services, sim: tuple[VendorSim, str]
) -> None:
    source = pull_source(sim[1], vendor(sim))
    await sources.set_vendor_source(net.sources.deps, source, net.clock())
    vendor(sim).mode = "garbage"
    done = await net.sources.poll(source)
    # Taken: SKU-A's 6 and SKU-C's 2. Rejected: no SKU, not an object, unknown SKU, null SKU,
    # negative, a string level, a fractional level.
    assert done.accepted == 2
    assert len(done.rejected) == 7
    assert any("'SKU-A'" in r and "negative" in r for r in done.rejected)
    assert any("'SKU-C'" in r and "not an integer" in r for r in done.rejected)
    assert any("'NO-SUCH-SKU'" in r and "unknown sku" in r for r in done.rejected)
    found = await net.reader.level("SKU-A", "wh-1")
    assert found is not None and found[0].on_hand == 4
    assert await net.reader.drift() == []


async def test_a_huge_page_is_cut_at_the_line_limit(
    net: Services, sim: tuple[VendorSim, str]
) -> None:
    source = pull_source(sim[1], vendor(sim))
    vendor(sim).mode, vendor(sim).extra_lines, vendor(sim).paging = "garbage", 500, "NONE"
    await sources.set_vendor_source(net.sources.deps, source, net.clock())
    done = await net.sources.poll(source)
    assert any("beyond the limit of 50 lines" in r for r in done.rejected)
    assert await net.reader.drift() == []


async def test_a_per_sku_look_up_with_garbage_takes_nothing(
    net: Services, sim: tuple[VendorSim, str]
) -> None:
    await stale_source(net, sim)
    vendor(sim).mode = "garbage"
    atp, fresh, error = await vendor_status(net)
    assert (atp, fresh, error) == (4, False, None)
    found = await net.reader.level("SKU-A", "vendor-1")
    assert found is not None and found[0].on_hand == 6
