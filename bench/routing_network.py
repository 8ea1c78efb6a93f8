"""A generated retail network for the routing benchmark, written straight into the tables.

50 warehouses, 1,000 stores and 150 dropship vendors over a 900 x 700 km area (Germany-sized);
stores cluster around 40 cities, the rest are spread out. Each location carries 5-20% of
20,000 SKUs with 0-40 units on hand, some with a safety stock.

It is a fixture, not ledger traffic: the levels are written without ledger entries or bins
(writing those too tripled the load time on this machine), so `stockgraph verify` reports drift
on a bench database and means nothing there. Nothing else reads the ledger.
"""

from __future__ import annotations

import asyncio
import math
import random
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

WAREHOUSES, STORES, VENDORS, SKUS = 50, 1_000, 150, 20_000
CARRY = (0.05, 0.20)
SOUTH, NORTH, WEST, EAST = 47.3, 55.0, 6.0, 15.0
CITIES = 40
CITY_SPREAD_KM = 15.0
SHIP_FROM_STORE = 0.6  # share of stores that ship to customers
KM_PER_DEGREE = 111.195


@dataclass(frozen=True, slots=True)
class Place:
    id: str
    kind: str
    latitude: float
    longitude: float
    pickup: bool
    ship: bool


def sku_id(n: int) -> str:
    return f"SKU-{n:05d}"


def places(rng: random.Random) -> tuple[list[tuple[float, float]], list[Place]]:
    """The cities shoppers live in, and the network's locations."""
    cities = [(rng.uniform(SOUTH + 0.5, NORTH - 0.5), rng.uniform(WEST + 0.5, EAST - 0.5))
              for _ in range(CITIES)]
    found = [Place(f"wh-{n:03d}", "WAREHOUSE", *_anywhere(rng), False, True)
             for n in range(WAREHOUSES)]
    for n in range(STORES):
        spot = _near(rng, rng.choice(cities)) if rng.random() < 0.8 else _anywhere(rng)
        found.append(Place(f"store-{n:04d}", "STORE", *spot, True,
                           rng.random() < SHIP_FROM_STORE))
    found += [Place(f"vendor-{n:03d}", "DROPSHIP_VENDOR", *_anywhere(rng), False, True)
              for n in range(VENDORS)]
    return cities, found


def _anywhere(rng: random.Random) -> tuple[float, float]:
    return rng.uniform(SOUTH, NORTH), rng.uniform(WEST, EAST)


def _near(rng: random.Random, center: tuple[float, float]) -> tuple[float, float]:
    lat = center[0] + rng.gauss(0, CITY_SPREAD_KM) / KM_PER_DEGREE
    lon = center[1] + rng.gauss(0, CITY_SPREAD_KM) / (KM_PER_DEGREE * math.cos(
        math.radians(center[0])))
    return lat, lon


def levels(rng: random.Random, where: Sequence[Place]) -> Iterator[tuple[str, str, int, int]]:
    """(sku, location, on hand, safety stock) for the SKUs each location carries."""
    for place in where:
        share = rng.uniform(*CARRY)
        for n in rng.sample(range(SKUS), int(SKUS * share)):
            yield sku_id(n), place.id, rng.randint(0, 40), rng.choice((0, 0, 0, 1, 2))


@dataclass
class Tables:
    """Rows per table, in column order."""

    location: list[tuple[Any, ...]]
    sku: list[tuple[Any, ...]]
    stock_level: list[tuple[Any, ...]]
    location_policy: list[tuple[Any, ...]]


COLUMNS = {
    "location": ("id", "name", "kind", "latitude", "longitude", "pickup_enabled",
                 "ship_enabled", "active", "updated_at"),
    "sku": ("sku", "name", "barcodes", "updated_at"),
    "stock_level": ("sku", "location_id", "on_hand", "reserved", "safety_stock", "inbound",
                    "unsellable", "updated_at"),
    "location_policy": ("location_id", "daily_shipment_capacity", "priority", "handling_cost",
                        "updated_at"),
}


@dataclass
class Generated:
    cities: list[tuple[float, float]]
    places: list[Place]
    tables: Tables


def generate(seed: int, now: datetime) -> Generated:
    rng = random.Random(seed)
    cities, where = places(rng)
    tables = Tables(
        location=[(p.id, p.id, p.kind, p.latitude, p.longitude, p.pickup, p.ship, True, now)
                  for p in where],
        sku=[(sku_id(n), f"Product {n}", "[]", now) for n in range(SKUS)],
        stock_level=[(sku, loc, on_hand, 0, safety, 0, 0, now)
                     for sku, loc, on_hand, safety in levels(rng, where)],
        location_policy=[(p.id, 200 if p.kind == "STORE" else None, rng.randint(0, 3),
                          1.0 if p.kind == "STORE" else 0.5, now) for p in where if p.ship],
    )
    return Generated(cities, where, tables)


async def write(url: str, tables: Tables) -> None:
    """Bulk-load `tables` into the migrated, empty database at `url`, then ANALYZE."""
    if url.startswith("sqlite"):
        await asyncio.to_thread(_write_sqlite, str(make_url(url).database), tables)
    else:
        await _write_postgres(url, tables)


def _write_sqlite(path: str, tables: Tables) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        # A fixture load: one transaction, a big page cache, rows in key order.
        for pragma in ("synchronous=OFF", "cache_size=-400000", "temp_store=MEMORY"):
            db.execute(f"PRAGMA {pragma}")
        db.execute("BEGIN")
        for name, columns in COLUMNS.items():
            marks = ", ".join("?" for _ in columns)
            rows = sorted(getattr(tables, name), key=_key(name))
            db.executemany(f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})",
                           ([_sqlite_value(v) for v in row] for row in rows))
        db.execute("COMMIT")
        db.execute("ANALYZE")
    finally:
        db.close()


def _key(name: str) -> Any:
    """Rows in primary key order: loads append to B-trees instead of splitting pages."""
    return lambda row: row[:2] if name == "stock_level" else row[:1]


def _sqlite_value(value: Any) -> Any:
    # SQLAlchemy's SQLite DateTime storage format (naive UTC).
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


async def _write_postgres(url: str, tables: Tables) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            # A fixture load of rows that satisfy their foreign keys by construction: skip the
            # per-row FK triggers (needs a superuser, as the test PostgreSQL is).
            await conn.execute("SET LOCAL session_replication_role = replica")
            for name, columns in COLUMNS.items():
                rows = sorted(getattr(tables, name), key=_key(name))
                await conn.copy_records_to_table(name, records=rows, columns=list(columns))
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
