"""Random movement sequences against the real services on SQLite and PostgreSQL.

Given any sequence of movements (valid, invalid, replayed, conflicting), split into batches,
the service answers each movement as a small independent model of the rules says, the
stored levels and bins equal the model's, nothing is negative, damaged units never exceed
the units on hand, and every level can be recomputed from the ledger (no drift)."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from adapters.db import tables as t
from adapters.db.engine import Database
from domain.location import LocationKind
from domain.movement import Movement, MovementStatus, MovementType
from resolvers.context import Services
from services import catalog
from tests.support.network import NOW, record

T = MovementType
S = MovementStatus
LOCS = ["p-wh", "p-store", "p-vendor"]
CLOSED = "p-closed"
BIN_MOVES = {T.PUTAWAY, T.MOVE, T.PICK, T.PACK}
DEFAULT_TARGET = {T.PICK: "PICKED", T.PACK: "PACKED"}
_examples = itertools.count()


# The independent oracle


@dataclass
class Level:
    on_hand: int = 0
    inbound: int = 0
    unsellable: int = 0
    bins: Counter[str] = field(default_factory=Counter)


class Refused(Exception):
    pass


@dataclass
class Model:
    skus: set[str]
    levels: dict[tuple[str, str], Level] = field(default_factory=dict)
    recorded: dict[str, Movement] = field(default_factory=dict)

    def submit(self, m: Movement) -> MovementStatus:
        if m.event_id in self.recorded:
            return S.DUPLICATE if self.recorded[m.event_id] == m else S.REJECTED
        try:
            self._check(m)
            changed = self._apply(m)
        except Refused:
            return S.REJECTED
        self.levels.update(changed)
        self.recorded[m.event_id] = m
        return S.APPLIED

    def _check(self, m: Movement) -> None:
        q = m.quantity
        ok_quantity = q != 0 if m.type is T.ADJUST else q >= 0 if m.type is T.COUNT else q > 0
        if not ok_quantity or m.sku not in self.skus or m.location_id not in LOCS:
            raise Refused
        if (m.type is T.TRANSFER_OUT) != (m.to_location_id is not None):
            raise Refused
        if m.to_location_id is not None and m.to_location_id in (m.location_id, CLOSED):
            raise Refused
        if m.to_location_id is not None and m.to_location_id not in LOCS:
            raise Refused
        if m.occurred_at is not None and (m.occurred_at.tzinfo is None or m.occurred_at > NOW):
            raise Refused

    def _apply(self, m: Movement) -> dict[tuple[str, str], Level]:
        old = self.levels.get((m.sku, m.location_id), Level())
        lv = Level(old.on_hand, old.inbound, old.unsellable, Counter(old.bins))
        here, q, typ = m.bin or "", m.quantity, m.type
        out = {(m.sku, m.location_id): lv}
        if typ in (T.RECEIVE, T.RETURN, T.TRANSFER_IN):
            lv.on_hand += q
            lv.bins[here] += q
            if typ is T.TRANSFER_IN:
                lv.inbound -= min(q, lv.inbound)
        elif typ in (T.SHIP, T.SALE, T.TRANSFER_OUT, T.DAMAGE):
            if q > lv.on_hand - lv.unsellable:
                raise Refused
            if typ is T.DAMAGE:
                lv.unsellable += q
            else:
                lv.on_hand -= q
                take(lv.bins, q, m.bin, typ)
            if typ is T.TRANSFER_OUT:
                assert m.to_location_id is not None
                dest = self.levels.get((m.sku, m.to_location_id), Level())
                out[(m.sku, m.to_location_id)] = replace(dest, inbound=dest.inbound + q)
        elif typ in (T.ADJUST, T.COUNT):
            counted = (lv.bins[here] if m.bin is not None else lv.on_hand)
            diff = q if typ is T.ADJUST else q - counted
            if lv.on_hand + diff < 0:
                raise Refused
            lv.on_hand += diff
            if diff > 0:
                lv.bins[here] += diff
            elif diff < 0:
                take(lv.bins, -diff, m.bin, typ)
            lv.unsellable = min(lv.unsellable, lv.on_hand)
        else:
            target = m.to_bin or DEFAULT_TARGET.get(typ)
            if target is None or target == here or lv.bins[here] < q:
                raise Refused
            lv.bins[here] -= q
            lv.bins[target] += q
        return out


def take(bins: Counter[str], q: int, named: str | None, typ: MovementType) -> None:
    """Loose units first, then shelves by name, staged units last; a shipment the reverse."""
    if named is not None:
        order = [named]
    else:
        shelves = sorted(b for b in bins if b not in ("", "PICKED", "PACKED"))
        order = ["PACKED", "PICKED", "", *shelves] if typ is T.SHIP else [
            "", *shelves, "PICKED", "PACKED"]
    for b in order:
        n = min(q, bins[b])
        bins[b] -= n
        q -= n
    if q:
        raise Refused


# Strategies: a movement is drawn as a spec, then named for the example it runs in


@dataclass(frozen=True)
class Spec:
    movement: Movement | None = None  # with sku "0"/"1"/"unknown" and event id "n"
    replay: int = 0
    conflict: bool = False


CORRUPTIONS: dict[str, dict[str, object]] = {
    "unknown sku": {"sku": "unknown"}, "unknown location": {"location_id": "nowhere"},
    "inactive location": {"location_id": CLOSED}, "zero": {"quantity": 0},
    "negative": {"quantity": -3}, "naive date": {"occurred_at": datetime(2026, 11, 23, 11)},
    "future date": {"occurred_at": NOW + timedelta(days=1)},
    "transfer to itself": {"type": T.TRANSFER_OUT, "to_location_id": "p-wh"},
    "transfer to unknown": {"type": T.TRANSFER_OUT, "to_location_id": "nowhere"},
    "transfer to inactive": {"type": T.TRANSFER_OUT, "to_location_id": CLOSED},
    "to location on a sale": {"type": T.SALE, "to_location_id": "p-store"},
}


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    kind = draw(st.sampled_from(["new"] * 10 + ["replay", "conflict"]))
    if kind != "new":
        return Spec(replay=draw(st.integers(0, 50)), conflict=kind == "conflict")
    typ = draw(st.sampled_from([T.RECEIVE] * 4 + [T.DAMAGE, T.ADJUST, T.COUNT] + list(T)))
    loc = draw(st.sampled_from([*LOCS, *LOCS[:2], LOCS[0]]))  # most stock meets at the warehouse
    bins = st.sampled_from([None, None, None, "", "A-1", "B-2", "PICKED", "PACKED"])
    m = Movement(
        event_id="", type=typ, sku=draw(st.sampled_from(["0", "0", "1"])), location_id=loc,
        quantity=draw(st.integers(-12, 12).filter(bool) if typ is T.ADJUST
                      else st.integers(0 if typ is T.COUNT else 1, 12 if typ is T.RECEIVE else 5)),
        to_location_id=draw(st.sampled_from([x for x in LOCS if x != loc]))
        if typ is T.TRANSFER_OUT else None,
        bin=draw(bins), to_bin=draw(bins) if typ in BIN_MOVES else None,
        occurred_at=draw(st.sampled_from([None, None, NOW - timedelta(hours=1)])),
    )
    if draw(st.integers(0, 9)) == 0:
        m = replace(m, **draw(st.sampled_from(list(CORRUPTIONS.values()))))  # type: ignore[arg-type]
    return Spec(m)


sequences = st.lists(st.lists(specs(), min_size=1, max_size=10), min_size=1, max_size=6)


def materialise(batches: list[list[Spec]], tag: str) -> list[list[Movement]]:
    made: list[Movement] = []
    out: list[list[Movement]] = []
    for batch in batches:
        movements: list[Movement] = []
        for spec in batch:
            if spec.movement is not None:
                m = spec.movement
                sku = m.sku if m.sku == "unknown" else f"{tag}-{m.sku}"
                m = replace(m, event_id=f"{tag}-ev{len(made)}", sku=sku)
            elif made:
                m = made[spec.replay % len(made)]
                m = replace(m, quantity=m.quantity + 1) if spec.conflict else m
            else:
                continue
            made.append(m)
            movements.append(m)
        out.append(movements)
    return out


# The test


async def given_network(services: Services) -> None:
    if await services.reader.locations(ids=LOCS):
        return
    for loc_id, kind in zip(LOCS, LocationKind, strict=True):
        await catalog.upsert_location(services.catalog, services.reader,
                                      catalog.LocationChange(loc_id, loc_id, kind), NOW)
    await catalog.upsert_location(
        services.catalog, services.reader,
        catalog.LocationChange(CLOSED, CLOSED, LocationKind.STORE, active=False), NOW)


async def stored_bins(db: Database, sku: str, loc: str) -> dict[str, int]:
    b = t.bin_level.c
    async with db.reader.connect() as conn:
        rows = await conn.execute(select(b.bin, b.quantity)
                                  .where(b.sku == sku, b.location_id == loc, b.quantity != 0))
        return {r.bin: r.quantity for r in rows}


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batches=sequences)
async def test_any_movement_sequence_keeps_levels_true_to_the_ledger(
    services: Services, database: Database, batches: list[list[Spec]]
) -> None:
    await given_network(services)
    tag = f"P{next(_examples)}"
    skus = [f"{tag}-0", f"{tag}-1"]
    for sku in skus:
        await catalog.upsert_sku(services.catalog, sku, None, None, NOW)
    model = Model(set(skus))

    for movements in materialise(batches, tag):
        outcomes = await record(services, *movements)
        expected = [model.submit(m) for m in movements]
        assert [o.status for o in outcomes] == expected, [o.error for o in outcomes]

    for sku, loc in itertools.product(skus, LOCS):
        found = await services.reader.level(sku, loc)
        want = model.levels.get((sku, loc))
        if want is None:
            assert found is None, (sku, loc)
            continue
        assert found is not None, (sku, loc)
        lv = found[0]
        assert (lv.on_hand, lv.inbound, lv.unsellable, lv.reserved) == (
            want.on_hand, want.inbound, want.unsellable, 0), (sku, loc)
        assert min(lv.on_hand, lv.inbound, lv.unsellable, lv.atp) >= 0
        assert lv.unsellable <= lv.on_hand
        assert await stored_bins(database, sku, loc) == +want.bins
    assert await services.reader.drift() == []
