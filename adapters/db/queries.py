"""The read side: plain queries that return domain objects."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    Select,
    String,
    and_,
    bindparam,
    func,
    select,
    type_coerce,
)

from adapters.db import tables as t
from adapters.db.channel_safety import attach, channel_safety
from adapters.db.engine import Database
from adapters.db.ledger_orphans import orphaned_drift
from adapters.db.rows import aware, level_from_row, location_from_row
from adapters.db.sql import chunks
from domain.availability import Freshness, LevelAt, SkuLevels
from domain.location import Channel, Location, LocationKind
from domain.ports import Drift, Pair
from domain.source import SourceMode, SourceTerms
from domain.stock import StockLevel

log = logging.getLogger("stockgraph.reads")
# Every column a Location holds (not updated_at: parsing it is a cost per row, for nothing).
_LOCATION_COLUMNS = [c.label(f"loc_{c.name}") for c in t.location.c
                     if c.name not in ("updated_at", "stamp")]
# Statements built once are executed with these (building one per request costs ~0.5 ms).
SKUS: BindParameter[str] = bindparam("skus", expanding=True)
NOW = bindparam("now", type_=t.Timestamp)
# Channels in the order `channel_safety` lists them (by name).
_CHANNELS = sorted(Channel, key=lambda ch: ch.value)


def _raw(timestamp: Any) -> Any:
    """A timestamp column as the driver gives it: decoded only when the row is new to
    `_read_levels`, not by SQLAlchemy for every row of every read."""
    return type_coerce(timestamp, String)


def _levels_statement() -> tuple[Select[Any], dict[str, slice]]:
    """The levels of the SKUs in `skus` with, in the same statement, each channel's own
    safety stock, the location, its source's terms and when the source reported the level,
    and when the next hold of these SKUs lapses (the same in every row, not part of a level).
    Read by position (`_read_levels`): named access costs a lookup per column, ~3x per row,
    and one SKU's availability is a row per location (1,200 in the sources benchmark). The
    positions are those of the column groups below, as `_SPANS` names them."""
    s, loc, vl, vs = t.stock_level.c, t.location.c, t.vendor_level.c, t.vendor_source.c
    own = [t.channel_safety_stock.alias(f"cs_{ch.value.lower()}") for ch in _CHANNELS]
    line = t.reservation_line.c
    next_lapse = (select(_raw(func.min(line.expires_at)))
                  .where(line.status == "ACTIVE", line.expires_at > NOW, line.sku.in_(SKUS))
                  .scalar_subquery())
    groups: dict[str, list[Any]] = {
        "level": [s.sku, s.on_hand, s.reserved, s.safety_stock, s.inbound, s.unsellable,
                  _raw(s.updated_at), _raw(vl.as_of)],
        "place": [s.location_id, loc.name, loc.kind, loc.latitude, loc.longitude,
                  loc.pickup_enabled, loc.ship_enabled, loc.active],
        "terms": [vs.mode, vs.max_age_s, vs.deadline_ms],
        "own": [cs.c.quantity for cs in own],
    }
    query = (
        select(*(c for group in groups.values() for c in group))
        .select_from(t.stock_level)
        .join(t.location, loc.id == s.location_id)
        .outerjoin(t.vendor_source, vs.location_id == s.location_id)
        .outerjoin(t.vendor_level, and_(vl.sku == s.sku, vl.location_id == s.location_id))
        .where(s.sku.in_(SKUS))
        .order_by(s.sku, s.location_id)
    )
    for ch, cs in zip(_CHANNELS, own, strict=True):
        query = query.outerjoin(cs, and_(cs.c.sku == s.sku, cs.c.location_id == s.location_id,
                                         cs.c.channel == ch.value))
    # The parameters stand in for the values `_with_lapsed` is written for; it adds one
    # column, "lapsed". Then "next_lapse", last: what a row is keyed by leaves it out.
    query = _with_lapsed(query, cast(datetime, NOW), cast(Sequence[str], SKUS))
    query = query.add_columns(next_lapse)
    spans: dict[str, slice] = {}
    start = 0
    for name, group in [*groups.items(), ("lapsed", [None]), ("next_lapse", [None])]:
        spans[name] = slice(start, start + len(group))
        start += len(group)
    assert start == len(query.selected_columns), "a column the spans do not know of"
    return query, spans


@dataclass(frozen=True, slots=True)
class _Read:
    """Levels as read at fingerprint `version` and time `read_at`; the same until a commit
    changes a row the read reads (`_fingerprint`) or, at `until`, a hold lapses (None: no
    hold is due to)."""

    version: object
    read_at: datetime
    until: datetime | None
    found: Mapping[str, list[tuple[StockLevel, Location]]]
    freshness: Freshness
    size: int = 0  # levels in `found`


def _fingerprint_sql(dialect: str) -> str:
    """(sum, count) of the change stamps (migration 0006) of every row the levels read can
    read for the SKUs in the first parameter: their levels, vendor levels, channel safety
    stock and ACTIVE holds, and all locations and sources (any location can join)."""
    skus = ("= ANY($1::text[])" if dialect == "postgresql"
            else "IN (SELECT value FROM json_each(?1))")
    parts = [f"stock_level WHERE sku {skus}", f"vendor_level WHERE sku {skus}",
             f"channel_safety_stock WHERE sku {skus}",
             f"reservation_line WHERE sku {skus} AND status = 'ACTIVE'",
             "location", "vendor_source"]
    return "SELECT * FROM " + ", ".join(
        f"(SELECT coalesce(sum(stamp), 0), count(*) FROM {part}) AS t{i}"
        for i, part in enumerate(parts))


_FINGERPRINT = {dialect: _fingerprint_sql(dialect) for dialect in ("postgresql", "sqlite")}


async def _fingerprint(db: Database, skus: Sequence[str]) -> object | None:
    """What the levels of `skus` are made of, now; None when it could not be asked (then
    nothing is kept).

    Triggers give a row a new stamp on every insert and update, above its old one (the
    writer holds the row when it takes it). Over rows never deleted, (sum, count) so changes
    with every commit that writes one of them, from any process, and with no other commit.
    Two sets do lose rows: a hold leaving ACTIVE changes its level's `reserved` in the same
    transaction, and a deleted channel safety stock stamps its level anew (migration 0006:
    on PostgreSQL an insert stamped earlier can commit later and make up for the deleted
    stamp). Not max(stamp), for the same reason: stamps are not in commit order.
    Asked of the driver itself: one trip, and no transaction begun (SQLAlchemy's would cost a
    BEGIN and a ROLLBACK). On SQLite `db.versions` reads outside any transaction, so it sees
    every commit."""
    async with db.versions.connect() as conn:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection  # aiosqlite's or asyncpg's connection
        try:
            if db.is_sqlite:
                [row] = await driver.execute_fetchall(_FINGERPRINT["sqlite"], (json.dumps(skus),))
                return tuple(row)
            return tuple(await driver.fetchrow(_FINGERPRINT["postgresql"], list(skus)))
        except Exception:
            # SQLAlchemy saw nothing of it: drop the connection here (say, the server went
            # away; `versions` has no pre-ping), and read as if nothing were kept.
            log.warning("could not ask the levels' fingerprint", exc_info=True)
            raw.invalidate()
            return None


def _as_before(
    kept: _Read, found: dict[str, list[tuple[StockLevel, Location]]], freshness: Freshness
) -> tuple[dict[str, list[tuple[StockLevel, Location]]], Freshness]:
    """A read, with what is the same as in `kept` given as the objects kept: what was derived
    from them (a SKU's levels per channel, `SkuLevels`) then need not be worked out again.
    Unchanged rows decode to the very objects they did before (`_read_levels`), so comparing
    is mostly a matter of identity."""
    same = kept.freshness
    if freshness.sources == same.sources and freshness.reported == same.reported:
        freshness = same
    return {sku: kept.found[sku] if kept.found.get(sku) == levels else levels
            for sku, levels in found.items()}, freshness


class SqlAlchemyStockReader:
    def __init__(self, db: Database, clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        # Read-time expiry: holds past expiresAt at this moment are not counted as reserved.
        self.clock = clock or (lambda: datetime.now(UTC))
        # SKUs are never deleted: one found here needs no second look (every availability
        # query asks first whether its SKUs exist).
        self._known_skus: set[str] = set()
        # The last levels read per set of SKUs (see `levels_with_freshness`), and how many
        # levels they hold together.
        self._reads: dict[tuple[str, ...], _Read] = {}
        self._kept_levels = 0

    async def levels_for_skus(
        self, skus: Sequence[str]
    ) -> Mapping[str, list[tuple[StockLevel, Location]]]:
        found, _ = await self.levels_with_freshness(skus)
        return found

    async def levels_with_freshness(
        self, skus: Sequence[str]
    ) -> tuple[Mapping[str, list[tuple[StockLevel, Location]]], Freshness]:
        """The levels of `skus` and, in the same statement, what their sources reported when.

        The answer is kept with the fingerprint of its rows it was read at (`_fingerprint`)
        and given again while that and the time it depends on (holds lapsing) are the same:
        asking the fingerprint is one trip with one row back, where reading and decoding the
        levels is a row per location (1,200 rows for one SKU in the sources benchmark). A
        commit by any connection, of this instance or another, that writes a row the read
        reads changes the fingerprint; commits that write other SKUs' rows do not."""
        wanted = tuple(sorted(set(skus)))
        now = self.clock()
        # Asked before the levels are read: never newer than what they show.
        version = await _fingerprint(self.db, wanted)
        kept = self._reads.get(wanted)
        if kept is not None and version is not None and kept.version == version \
                and kept.read_at <= now and (kept.until is None or now < kept.until):
            return dict(kept.found), kept.freshness
        async with self.db.reader.connect() as conn:
            if not self.db.is_sqlite:
                # Reads only, no writes: no BEGIN and ROLLBACK trips. (SQLite's reader begins
                # one read transaction whatever the level, and setting a level there costs
                # two more trips to the driver's thread, then one to reset it.)
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            found: dict[str, list[tuple[StockLevel, Location]]] = {s: SkuLevels() for s in wanted}
            terms: dict[str, SourceTerms] = {}
            reported: dict[Pair, datetime] = {}
            until: datetime | None = None
            for part in chunks(wanted):
                result = await conn.execute(_LEVELS, {"skus": list(part), "now": now})
                # The driver's own rows: SQLAlchemy would make a Row of each (0.6 ms for
                # 1,200) to convert nothing but SQLite's booleans, which `_decode` does.
                rows = result.cursor.fetchall()
                result.close()
                _read_levels(rows, found, terms, reported)
                lapses = rows[0][_NEXT_LAPSE] if rows else None
                if lapses is not None and (until is None or _instant(lapses) < until):
                    until = _instant(lapses)
        freshness = Freshness(sources=terms, reported=reported)
        if kept is not None:  # read again after a commit, which may have changed nothing shown
            found, freshness = _as_before(kept, found, freshness)
        if version is not None:
            self._keep(wanted, _Read(version, now, until, found, freshness))
        return dict(found), freshness

    def _keep(self, wanted: tuple[str, ...], read: _Read) -> None:
        """Kept until the levels held in all reads kept would pass `_MAX_KEPT_LEVELS`
        (as many as the decoded rows they share: `_DECODED`); then the others are dropped."""
        size = sum(len(levels) for levels in read.found.values())
        if size > _MAX_KEPT_LEVELS:
            return
        old = self._reads.pop(wanted, None)
        self._kept_levels -= old.size if old is not None else 0
        if self._kept_levels + size > _MAX_KEPT_LEVELS:
            self._reads.clear()
            self._kept_levels = 0
        self._reads[wanted] = replace(read, size=size)
        self._kept_levels += size

    async def level(self, sku: str, location_id: str) -> tuple[StockLevel, Location] | None:
        async with self.db.reader.connect() as conn:
            r = (await conn.execute(_with_lapsed(
                select(t.stock_level, *_LOCATION_COLUMNS)
                .join(t.location, t.location.c.id == t.stock_level.c.location_id)
                .where(t.stock_level.c.sku == sku, t.stock_level.c.location_id == location_id),
                self.clock(), [sku],
            ))).first()
            safety = await channel_safety(conn, [sku]) if r else {}
        return (attach(_live_level(r), safety), _joined_location(r)) if r else None

    async def locations(
        self, kind: LocationKind | None = None, ids: Iterable[str] | None = None
    ) -> list[Location]:
        query = select(t.location).order_by(t.location.c.id)
        if kind is not None:
            query = query.where(t.location.c.kind == kind.value)
        if ids is not None:
            query = query.where(t.location.c.id.in_(sorted(set(ids))))
        async with self.db.reader.connect() as conn:
            return [location_from_row(r) for r in await conn.execute(query)]

    async def known_skus(self, skus: Iterable[str]) -> set[str]:
        wanted = set(skus)
        known = wanted & self._known_skus
        if known == wanted:
            return known
        async with self.db.reader.connect() as conn:
            for part in chunks(sorted(wanted - known)):
                rows = await conn.execute(_KNOWN_SKUS, {"skus": list(part)})
                known.update(sku for (sku,) in rows)
        if len(self._known_skus) + len(known) > _MAX_KNOWN_SKUS:
            self._known_skus.clear()
        self._known_skus |= known
        return known

    async def is_empty(self) -> bool:
        async with self.db.reader.connect() as conn:
            count = await conn.execute(select(func.count()).select_from(t.location))
            return count.scalar_one() == 0

    async def drift(self) -> list[Drift]:
        """Every stored quantity recomputed from the ledger; bins must add up to on hand, and
        `reserved` to the ACTIVE reservation lines there (field "holds")."""
        e = t.ledger_entry.c
        sums = (
            select(e.sku, e.location_id,
                   func.sum(e.d_on_hand).label("on_hand"), func.sum(e.d_reserved).label("reserved"),
                   func.sum(e.d_inbound).label("inbound"),
                   func.sum(e.d_unsellable).label("unsellable"))
            .group_by(e.sku, e.location_id).subquery()
        )
        b = t.bin_level.c
        bins = (select(b.sku, b.location_id, func.sum(b.quantity).label("binned"))
                .group_by(b.sku, b.location_id).subquery())
        line = t.reservation_line.c
        holds = (select(line.sku, line.location_id, func.sum(line.quantity).label("held"))
                 .where(line.status == "ACTIVE").group_by(line.sku, line.location_id).subquery())
        s = t.stock_level.c
        query = (
            select(t.stock_level, sums.c.on_hand.label("l_on_hand"),
                   sums.c.reserved.label("l_reserved"), sums.c.inbound.label("l_inbound"),
                   sums.c.unsellable.label("l_unsellable"), bins.c.binned, holds.c.held)
            .outerjoin(sums, (sums.c.sku == s.sku) & (sums.c.location_id == s.location_id))
            .outerjoin(bins, (bins.c.sku == s.sku) & (bins.c.location_id == s.location_id))
            .outerjoin(holds, (holds.c.sku == s.sku) & (holds.c.location_id == s.location_id))
        )
        drifts: list[Drift] = []
        async with self.db.reader.connect() as conn:
            for r in await conn.execute(query):
                expected = {
                    "on_hand": r.l_on_hand or 0, "reserved": r.l_reserved or 0,
                    "inbound": r.l_inbound or 0, "unsellable": r.l_unsellable or 0,
                }
                for field, value in expected.items():
                    if getattr(r, field) != value:
                        drifts.append(Drift(r.sku, r.location_id, field, getattr(r, field), value))
                if (r.binned or 0) != r.on_hand:
                    drifts.append(Drift(r.sku, r.location_id, "bins", r.binned or 0, r.on_hand))
                if (r.held or 0) != r.reserved:
                    drifts.append(Drift(r.sku, r.location_id, "holds", r.reserved, r.held or 0))
            drifts += await orphaned_drift(conn)
        return drifts


@lru_cache(maxsize=1024)
def _source_terms(mode: str, max_age_s: float, deadline_ms: int) -> SourceTerms:
    return SourceTerms(SourceMode(mode), timedelta(seconds=max_age_s),
                       timedelta(milliseconds=deadline_ms))


_KINDS = {k.value: k for k in LocationKind}
# A level row decoded: its SKU, (level, location), and its source's terms and as-of if any.
_Decoded = tuple[str, LevelAt, SourceTerms | None, datetime | None]
# Rows already decoded, by their whole content, and every Location made, by its columns: see
# `_read_levels`. Cleared when full; an entry holds ~1 KB.
_DECODED: dict[tuple[Any, ...], _Decoded] = {}
_PLACES: dict[tuple[Any, ...], Location] = {}
_MAX_DECODED = 20_000


def _read_levels(
    rows: Iterable[Any], found: dict[str, list[tuple[StockLevel, Location]]],
    terms: dict[str, SourceTerms], reported: dict[Pair, datetime],
) -> None:
    """Rows of `_LEVELS` into `found` (per SKU), `terms` (per location) and `reported`.

    A row is decoded once and its (frozen) objects shared by every later read that returns
    the same row: the same SKUs' levels come back request after request mostly unchanged, and
    making 1,200 levels and locations anew was most of the read's Python time. The key is the
    whole row but its last column (when the next hold lapses, which is no part of a level),
    so a changed level or location is a new entry, never a stale one."""
    decoded = _DECODED
    for r in rows:
        key = tuple(r[:_NEXT_LAPSE])
        hit = decoded.get(key)
        if hit is None:
            if len(decoded) >= _MAX_DECODED:
                decoded.clear()
            hit = decoded[key] = _decode(key)
        sku, pair, source, as_of = hit
        found[sku].append(pair)
        if source is not None:
            terms[pair.location.id] = source
            if as_of is not None:
                reported[(sku, pair.location.id)] = as_of


def _decode(r: tuple[Any, ...]) -> _Decoded:
    sku, on_hand, reserved, safety, inbound, unsellable, updated_at, as_of = r[_LEVEL]
    place = r[_PLACE]
    location_id = place[0]
    location = _PLACES.get(place)
    if location is None:
        if len(_PLACES) >= _MAX_DECODED:
            _PLACES.clear()
        _, name, kind, lat, lon, pickup, ship, active = place
        # SQLite's booleans are 0 and 1 (the rows are the driver's own).
        location = _PLACES[place] = Location(location_id, name, _KINDS[kind], lat, lon,
                                             bool(pickup), bool(ship), bool(active))
    lapsed = r[_LAPSED]
    level = StockLevel(
        sku, location_id, on_hand, reserved - lapsed if lapsed else reserved, safety, inbound,
        unsellable, _instant(updated_at),
        tuple((ch, q) for ch, q in zip(_CHANNELS, r[_OWN], strict=True) if q is not None))
    mode, max_age_s, deadline_ms = r[_TERMS]
    source = None if mode is None else _source_terms(mode, max_age_s, deadline_ms)
    return sku, LevelAt(level, location), source, None if as_of is None else _instant(as_of)


def _instant(value: str | datetime) -> datetime:
    """A timestamp column read without SQLAlchemy's conversion (`_raw`): SQLite
    gives its stored text (naive UTC), asyncpg an aware datetime."""
    return aware(datetime.fromisoformat(value) if isinstance(value, str) else value)


def _with_lapsed(query: Select[Any], now: datetime, skus: Sequence[str]) -> Select[Any]:
    """Adds `lapsed`: units of ACTIVE holds past expiresAt that no sweeper has given back yet.
    They are promised to no one any more, so a level read does not count them as reserved."""
    line = t.reservation_line.c
    lapsed = (
        select(line.sku, line.location_id, func.sum(line.quantity).label("lapsed"))
        .where(line.status == "ACTIVE", line.expires_at <= now, line.sku.in_(skus))
        .group_by(line.sku, line.location_id).subquery()
    )
    s = t.stock_level.c
    return query.add_columns(lapsed.c.lapsed).outerjoin(
        lapsed, and_(lapsed.c.sku == s.sku, lapsed.c.location_id == s.location_id))


_LEVELS, _SPANS = _levels_statement()
_LEVEL, _PLACE, _TERMS, _OWN = (_SPANS[k] for k in ("level", "place", "terms", "own"))
_LAPSED, _NEXT_LAPSE = _SPANS["lapsed"].start, _SPANS["next_lapse"].start  # the last two
_MAX_KEPT_LEVELS = 20_000
_KNOWN_SKUS = select(t.sku.c.sku).where(t.sku.c.sku.in_(SKUS))
_MAX_KNOWN_SKUS = 100_000


def _live_level(r: Any) -> StockLevel:
    level = level_from_row(r)
    return replace(level, reserved=level.reserved - r.lapsed) if r.lapsed else level


def _joined_location(r: Any) -> Location:
    # Spelled out rather than through location_from_row: one SKU's levels are a row per
    # location (1,200 in the sources benchmark), and this runs for each.
    return Location(
        id=r.loc_id, name=r.loc_name, kind=LocationKind(r.loc_kind), latitude=r.loc_latitude,
        longitude=r.loc_longitude, pickup_enabled=r.loc_pickup_enabled,
        ship_enabled=r.loc_ship_enabled, active=r.loc_active,
    )
