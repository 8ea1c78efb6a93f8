"""The ledger as the subscriptions' feed, on SQLite and PostgreSQL: replay after a sequence,
filtered and in order, and a settled horizon that never runs past a change still in flight."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from adapters.db import tables as t
from adapters.db.engine import Database
from adapters.db.ledger_feed import SqlAlchemyLedgerFeed
from domain.movement import MovementType
from resolvers.context import Services
from tests.support.network import build_network, mv, record

R = MovementType.RECEIVE


async def test_replay_is_in_sequence_order_and_filtered(
    services: Services, database: Database
) -> None:
    # Given receipts of three SKUs at two locations
    await build_network(services)
    await record(services, mv(R, "SKU-A", "wh-1", 5), mv(R, "SKU-B", "wh-1", 5),
                 mv(R, "SKU-A", "store-1", 5), mv(R, "SKU-C", "store-1", 5))
    feed = SqlAlchemyLedgerFeed(database)
    top = await feed.settled()
    everything = await feed.changes(0, top)
    # Then the feed lists every change once, in sequence order, up to the horizon
    assert [c.sequence for c in everything] == sorted({c.sequence for c in everything})
    assert everything[-1].sequence == top == await feed.latest()
    first = everything[0].sequence
    # and a replay after the first keeps to its filters
    only_a = await feed.changes(first, top, skus={"SKU-A"})
    assert [(c.sku, c.location_id) for c in only_a] == [("SKU-A", "store-1")]
    at_store = await feed.changes(0, top, locations={"store-1"})
    assert [c.sku for c in at_store] == ["SKU-A", "SKU-C"]
    assert await feed.changes(0, top, limit=2) == everything[:2]
    assert await feed.changes(top, top) == []


@pytest.mark.postgres
async def test_the_settled_horizon_waits_for_a_writer_still_in_flight(
    services: Services, database: Database
) -> None:
    if database.dialect != "postgresql":
        pytest.skip("SQLite writers are serialised: ids commit in order")
    await build_network(services)
    feed = SqlAlchemyLedgerFeed(database)
    # Given a transaction that drew ledger id N and has not committed yet
    async with database.writer.connect() as slow:
        tx = await slow.begin()
        held = (await slow.execute(insert(t.ledger_entry).returning(t.ledger_entry.c.id),
                                   [_entry("in-flight")])).scalar_one()
        # and a later one that drew N+1 and committed
        await record(services, mv(R, "SKU-A", "wh-1", 1))
        assert await feed.latest() > held
        # When the feed is asked for its settled horizon, it does not answer yet
        horizon = asyncio.create_task(feed.settled())
        done, _ = await asyncio.wait([horizon], timeout=0.5)
        assert not done, "settled() answered while a lower id was still in flight"
        await tx.commit()
    # Then once the writer commits, the horizon covers both, and a replay holds N
    top = await asyncio.wait_for(horizon, 10)
    assert top > held
    assert held in {c.sequence for c in await feed.changes(held - 1, top)}
    assert feed.waits == 1


def _entry(source: str) -> dict[str, object]:
    now = datetime.now(UTC)
    return {"cause": "ADJUST", "source_id": source, "sku": "SKU-B", "location_id": "wh-1",
            "d_on_hand": 0, "d_reserved": 0, "d_inbound": 0, "d_unsellable": 0, "bins": {},
            "occurred_at": now, "recorded_at": now, "actor": "test"}
