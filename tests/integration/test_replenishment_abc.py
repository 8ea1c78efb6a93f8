"""ABC classification on both engines, over a ledger built so that the classes are known: by
the service, over GraphQL, and as `stockgraph abc` prints it."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.access import Caller, Role
from domain.movement import Movement, MovementStatus, MovementType
from domain.reservation import LineRequest, Reservation, ReserveRequest
from resolvers.context import Services
from services import catalog, reservations
from services.movements import record_movements
from tests.conftest import GraphQLClient
from tests.support.network import LOCATIONS, mv

ADMIN = Caller("abc-admin", Role.ADMIN)
COSTS = {"SKU-A": 10.0, "SKU-B": 5.0, "SKU-C": 4.0, "SKU-D": 1.0, "SKU-E": 2.0, "SKU-F": None,
         "SKU-G": 50.0}
STOCKGRAPH = str(Path(sys.executable).parent / "stockgraph")


async def ledger(s: Services, now: datetime) -> None:
    """Out of store-1 and wh-1 over the last 90 days, valued at cost:
    SKU-A 600 units x 10 = 6000 (sold and shipped), SKU-B 500 x 5 = 2500 (a committed hold
    and a transfer out), SKU-C 250 x 4 = 1000, SKU-D 300 x 1 = 300, SKU-E 100 x 2 = 200
    (of 10,000); SKU-F moved 80 without a cost; SKU-G moved nothing recent (a big sale 200
    days ago, outside the window) and received stock. Expected: A A B C C C C."""
    for change in LOCATIONS:
        await catalog.upsert_location(s.catalog, s.reader, change, now)
    for sku, cost in COSTS.items():
        await catalog.upsert_sku(s.catalog, sku, None, None, now, cost)
    recent = now - timedelta(days=3)
    await movements(s, now, [
        *(mv(MovementType.RECEIVE, sku, "wh-1", 1000) for sku in COSTS),
        mv(MovementType.RECEIVE, "SKU-A", "store-1", 500),
        mv(MovementType.SALE, "SKU-A", "store-1", 450, occurred_at=recent),
        mv(MovementType.SHIP, "SKU-A", "wh-1", 150, occurred_at=recent),
        mv(MovementType.TRANSFER_OUT, "SKU-B", "wh-1", 300, to_location_id="store-2",
           occurred_at=recent),
        mv(MovementType.SALE, "SKU-C", "wh-1", 250, occurred_at=recent),
        mv(MovementType.SALE, "SKU-D", "wh-1", 300, occurred_at=recent),
        mv(MovementType.SALE, "SKU-E", "wh-1", 100, occurred_at=recent),
        mv(MovementType.SALE, "SKU-F", "wh-1", 80, occurred_at=recent),
        mv(MovementType.SALE, "SKU-G", "wh-1", 900, occurred_at=now - timedelta(days=200)),
        mv(MovementType.RETURN, "SKU-G", "wh-1", 5, occurred_at=recent),
    ])
    held = await reservations.reserve(
        s.reservations, s.reader, s.publisher,
        ReserveRequest("abc-hold", (LineRequest("SKU-B", "wh-1", 200),)), ADMIN, now,
        s.reservation_limits)
    assert isinstance(held, Reservation)
    await reservations.commit(s.reservations, s.publisher, held.id, ADMIN, now)


async def movements(s: Services, now: datetime, batch: list[Movement]) -> None:
    outcomes = await record_movements(s.ledger, s.publisher, batch, ADMIN, now, s.limits)
    assert all(o.status is MovementStatus.APPLIED for o in outcomes), outcomes


@pytest.fixture
async def now(services: Services) -> datetime:
    moment = datetime.now(UTC)
    await ledger(services, moment)
    return moment


async def test_skus_are_classed_by_the_value_they_moved_out_network_wide(
    services: Services, now: datetime
) -> None:
    from services.replenishment import classify

    ranked = await classify(services.replenishment, services.reader, None, 90,
                            services.replenishment.abc_policy, now)
    assert [(r.sku, r.units, r.value, r.abc_class.value) for r in ranked] == [
        ("SKU-A", 600, 6000.0, "A"), ("SKU-B", 500, 2500.0, "A"), ("SKU-C", 250, 1000.0, "B"),
        ("SKU-D", 300, 300.0, "C"), ("SKU-E", 100, 200.0, "C"), ("SKU-F", 80, 0.0, "C"),
        ("SKU-G", 0, 0.0, "C")]
    assert [r.count_every_days for r in ranked[:3]] == [30, 30, 91]
    assert ranked[1].cumulative_share == pytest.approx(0.85)


async def test_per_location_and_a_wider_window(gql: GraphQLClient, now: datetime) -> None:
    query = """query($loc: ID, $days: Int) { abcClassification(locationId: $loc,
                 windowDays: $days) { rank sku unitsOut value share abcClass countEveryDays } }"""
    # At store-1 only SKU-A moved out; the SKUs stocked there are listed
    at_store = (await gql.data(query, loc="store-1"))["abcClassification"]
    assert [(r["sku"], r["unitsOut"], r["abcClass"]) for r in at_store] == [("SKU-A", 450, "A")]
    # Over a year, SKU-G's old sale counts: 900 x 50 = 45,000 of 55,000 ranks it first
    year = (await gql.data(query, days=365))["abcClassification"]
    assert [(r["sku"], r["abcClass"]) for r in year[:4]] == [
        ("SKU-G", "A"), ("SKU-A", "B"), ("SKU-B", "B"), ("SKU-C", "C")]


@pytest.mark.parametrize(("args", "field"), [
    ('windowDays: 0', "windowDays"), ('windowDays: 4000', "windowDays"),
    ('aShare: 0.9, bShare: 0.8', "bShare"), ('aShare: 1.5', "aShare"),
])
async def test_bad_abc_arguments_are_refused(gql: GraphQLClient, args: str, field: str) -> None:
    [error] = (await gql(f"{{ abcClassification({args}) {{ sku }} }}"))["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    [error] = (await gql('{ abcClassification(locationId: "nowhere") { sku } }'))["errors"]
    assert error["extensions"] == {"code": "NOT_FOUND", "field": "locationId"}


async def test_the_abc_command_prints_the_same_classes_as_a_table(
    db_url: str, services: Services, now: datetime
) -> None:
    proc = await asyncio.create_subprocess_exec(
        STOCKGRAPH, "abc", "--window-days", "90", env={**os.environ, "DATABASE_URL": db_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert lines[0] == "ABC classification network-wide, value moved out over the last 90 days"
    assert lines[1].split()[:3] == ["rank", "sku", "units"]
    rows = [line.split() for line in lines[2:]]
    assert [(r[1], r[7]) for r in rows] == [
        ("SKU-A", "A"), ("SKU-B", "A"), ("SKU-C", "B"), ("SKU-D", "C"), ("SKU-E", "C"),
        ("SKU-F", "C"), ("SKU-G", "C")]
    assert rows[0][2:] == ["600", "10.00", "6000.00", "60.0%", "60.0%", "A", "30", "days"]
    bad = await asyncio.create_subprocess_exec(
        STOCKGRAPH, "abc", "--location", "nowhere", env={**os.environ, "DATABASE_URL": db_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await bad.communicate()
    assert (bad.returncode, err.decode().strip()) == (2, "unknown location 'nowhere'")
