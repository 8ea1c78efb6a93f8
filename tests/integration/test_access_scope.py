"""Scopes and attribution: an associate acts at its own stores only, a vendor on its own
location only, and what a key changes is recorded under its name (never its secret)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.db.tables import ledger_entry, movement
from app.settings import Settings
from domain.access import Role
from tests.support.auth import KEYS, OTHER_ASSOCIATE, KeyedApp, forbidden, keyed_app, snapshot

BATCH = """mutation($m: [MovementInput!]!) {
    recordMovements(movements: $m) { eventId status error } }"""
ONE = """mutation($m: MovementInput!) {
    recordMovement(movement: $m) { status level { onHand } } }"""


def receive(event_id: str, location: str, quantity: int = 5) -> dict[str, object]:
    return {"eventId": event_id, "type": "RECEIVE", "sku": "SKU-A", "locationId": location,
            "quantity": quantity}


@pytest.fixture
async def app(settings: Settings, tmp_path: Path) -> AsyncIterator[KeyedApp]:
    async with keyed_app(settings, tmp_path) as keyed:
        yield keyed


async def on_hand(app: KeyedApp, location: str) -> int:
    found = await app.services.reader.level("SKU-A", location)
    return found[0].on_hand if found else 0


async def test_associate_batch_applies_own_store_events_and_rejects_the_others(
    app: KeyedApp,
) -> None:
    # Given the store-1 tablet, when it sends a batch touching store-1, store-2 and wh-1,
    _, body = await app.call(Role.ASSOCIATE, BATCH, {"m": [
        receive("s1-a", "store-1"), receive("s2-a", "store-2"), receive("wh-a", "wh-1"),
        receive("s1-b", "store-1", 2)]})
    # then its store's events apply and each other one is rejected as FORBIDDEN,
    results = body["data"]["recordMovements"]
    assert [r["status"] for r in results] == ["APPLIED", "REJECTED", "REJECTED", "APPLIED"]
    assert results[1]["error"].startswith("FORBIDDEN:") and "store-2" in results[1]["error"]
    assert results[2]["error"].startswith("FORBIDDEN:")
    # and only store-1's stock moved.
    assert (await on_hand(app, "store-1"), await on_hand(app, "store-2"),
            await on_hand(app, "wh-1")) == (7, 0, 0)


async def test_a_single_movement_at_another_store_is_a_forbidden_error_changing_nothing(
    app: KeyedApp,
) -> None:
    before = await snapshot(app.database)
    _, body = await app.call(Role.ASSOCIATE, ONE, {"m": receive("s2-only", "store-2")})
    assert forbidden(body) and body["data"] is None
    assert "store-2" in body["errors"][0]["message"]
    assert await snapshot(app.database) == before


async def test_a_replayed_event_of_another_store_is_refused_not_reported_as_duplicate(
    app: KeyedApp,
) -> None:
    # Given an event recorded at store-2 by store-2's tablet,
    _, first = await app.call(OTHER_ASSOCIATE, ONE, {"m": receive("s2-scan", "store-2")})
    assert first["data"]["recordMovement"]["status"] == "APPLIED"
    # when store-1's tablet replays it, it is refused (it learns nothing of store-2's events).
    _, body = await app.call(Role.ASSOCIATE, ONE, {"m": receive("s2-scan", "store-2")})
    assert forbidden(body)


async def test_vendor_may_read_its_own_location_only(app: KeyedApp) -> None:
    level = '{ stockLevel(sku: "SKU-A", locationId: "%s") { onHand } }'
    _, own = await app.call(Role.VENDOR, level % "vendor-1")
    _, other = await app.call(Role.VENDOR, level % "wh-1")
    assert "errors" not in own and forbidden(other)


async def test_vendor_may_push_levels_for_its_own_location_only(app: KeyedApp) -> None:
    await app.call(Role.ADMIN, 'mutation { setVendorSource(input: {locationId: "vendor-1", '
                               "mode: PUSH}) { mode } }")
    push = ('mutation { pushVendorLevels(vendorId: "%s", levels: [{sku: "SKU-A", available: 3}]) '
            "{ accepted } }")
    before = await snapshot(app.database)
    _, body = await app.call(Role.VENDOR, push % "wh-1")
    assert forbidden(body) and await snapshot(app.database) == before
    _, body = await app.call(Role.VENDOR, push % "vendor-1")
    assert body["data"]["pushVendorLevels"]["accepted"] == 1


async def test_scope_is_judged_on_variables_too(app: KeyedApp) -> None:
    query = 'query($l: ID!) { stockLevel(sku: "SKU-A", locationId: $l) { onHand } }'
    _, own = await app.call(Role.VENDOR, query, {"l": "vendor-1"})
    _, other = await app.call(Role.VENDOR, query, {"l": "store-1"})
    assert "errors" not in own and forbidden(other)


async def test_ledger_entries_record_the_key_name_never_the_secret(app: KeyedApp) -> None:
    _, body = await app.call(Role.ASSOCIATE, ONE, {"m": receive("named-1", "store-1")})
    assert body["data"]["recordMovement"]["status"] == "APPLIED"
    async with app.database.reader.connect() as conn:
        movement_actors = (await conn.execute(
            select(movement.c.actor).where(movement.c.event_id == "named-1"))).scalars().all()
        entry_actors = set((await conn.execute(select(ledger_entry.c.actor))).scalars())
    assert movement_actors == [KEYS[Role.ASSOCIATE].name]
    assert KEYS[Role.ASSOCIATE].name in entry_actors
    everything = repr(await snapshot(app.database))
    assert not any(k.secret in everything for k in KEYS.values())


async def test_a_reservation_records_the_key_that_made_it(app: KeyedApp) -> None:
    await app.call(Role.ADMIN, ONE, {"m": receive("stock-for-hold", "store-1")})
    _, body = await app.call(Role.ROUTER, """mutation { reserve(input: {idempotencyKey: "k1",
        lines: [{sku: "SKU-A", locationId: "store-1", quantity: 2}]}) {
        ... on Reservation { id } } }""")
    reservation_id = body["data"]["reserve"]["id"]
    rows = (await snapshot(app.database))["reservation"]
    [row] = [r for r in rows if reservation_id in r]
    assert KEYS[Role.ROUTER].name in row
