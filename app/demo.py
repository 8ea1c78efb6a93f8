"""A demo network: warehouses, stores across Germany, dropship vendors, 500 SKUs in stock."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.vendor_sim import demo_vendors
from domain.access import Caller, Role
from domain.location import LocationKind
from domain.movement import Movement, MovementType
from domain.source import FieldMapping, Paging, ReportedLevel, SourceMode, VendorSource
from resolvers.context import Services
from services import catalog, sources
from services.movements import record_movements

WAREHOUSES = [
    ("wh-hamburg", "Hamburg DC", 53.5511, 9.9937),
    ("wh-kassel", "Kassel DC", 51.3127, 9.4797),
    ("wh-munich", "Munich DC", 48.1351, 11.5820),
]
STORES = [
    ("Berlin Mitte", 52.5200, 13.4050), ("Berlin Spandau", 52.5351, 13.1975),
    ("Hamburg Altona", 53.5503, 9.9355), ("Munich Schwabing", 48.1650, 11.5860),
    ("Cologne", 50.9375, 6.9603), ("Frankfurt", 50.1109, 8.6821), ("Stuttgart", 48.7758, 9.1829),
    ("Duesseldorf", 51.2277, 6.7735), ("Leipzig", 51.3397, 12.3731),
    ("Dortmund", 51.5136, 7.4653), ("Essen", 51.4556, 7.0116), ("Bremen", 53.0793, 8.8017),
    ("Dresden", 51.0504, 13.7373), ("Hanover", 52.3759, 9.7320),
    ("Nuremberg", 49.4521, 11.0767), ("Duisburg", 51.4344, 6.7623), ("Bochum", 51.4818, 7.2162),
    ("Wuppertal", 51.2562, 7.1508), ("Bielefeld", 52.0302, 8.5325), ("Bonn", 50.7374, 7.0982),
    ("Muenster", 51.9607, 7.6261), ("Mannheim", 49.4875, 8.4660),
    ("Karlsruhe", 49.0069, 8.4037), ("Augsburg", 48.3705, 10.8978), ("Freiburg", 47.9990, 7.8421),
]
VENDORS = [
    ("vendor-nordic", "Nordic Outdoor Supply (dropship)", 54.3233, 10.1228),
    ("vendor-alpen", "Alpen Gear Direct (dropship)", 47.5596, 10.7498),
]
SKU_COUNT = 500
DEMO_CALLER = Caller("demo-loader", Role.ADMIN)
CATEGORIES = ["Tent", "Backpack", "Jacket", "Boot", "Lamp", "Stove", "Bottle", "Glove"]


@dataclass(frozen=True)
class DemoSummary:
    locations: int
    skus: int
    movements: int


def store_id(index: int) -> str:
    return f"store-{index + 1:02d}"


def sku_code(index: int) -> str:
    return f"SKU-{index + 1:04d}"


async def load_demo(services: Services, vendor_url: str = "http://127.0.0.1:8100") -> DemoSummary:
    """`vendor_url`: the vendor simulator (`stockgraph vendor-sim`) the pull vendor is read from."""
    now = services.clock()
    changes = [
        catalog.LocationChange(i, n, LocationKind.WAREHOUSE, lat, lon, False, True)
        for i, n, lat, lon in WAREHOUSES
    ] + [
        catalog.LocationChange(store_id(k), f"Store {n}", LocationKind.STORE, lat, lon,
                               pickup_enabled=True, ship_enabled=k % 3 == 0)
        for k, (n, lat, lon) in enumerate(STORES)
    ] + [
        catalog.LocationChange(i, n, LocationKind.DROPSHIP_VENDOR, lat, lon, False, True)
        for i, n, lat, lon in VENDORS
    ]
    for change in changes:
        await catalog.upsert_location(services.catalog, services.reader, change, now)
    for k in range(SKU_COUNT):
        name = f"{CATEGORIES[k % len(CATEGORIES)]} model {k + 1}"
        await catalog.upsert_sku(services.catalog, sku_code(k), name, [f"40{k:011d}"], now)
    rng = random.Random(2026)
    receipts = [
        Movement(f"demo-receive-{c.id}-{sku_code(k)}", MovementType.RECEIVE, sku_code(k), c.id,
                 rng.randint(20, 400) if c.kind is LocationKind.WAREHOUSE else rng.randint(1, 25),
                 reference="demo opening stock")
        for c in changes if c.kind is not LocationKind.DROPSHIP_VENDOR for k in range(SKU_COUNT)
    ]
    for start in range(0, len(receipts), services.limits.max_batch):
        await record_movements(services.ledger, services.publisher,
                               receipts[start:start + services.limits.max_batch], DEMO_CALLER, now,
                               services.limits)
    await _demo_sources(services, vendor_url, now)
    return DemoSummary(len(changes), SKU_COUNT, len(receipts))


async def _demo_sources(services: Services, vendor_url: str, now: datetime) -> None:
    """vendor-nordic is pulled from the simulator, in its own API dialect; vendor-alpen
    pushes: its opening levels here, then the simulator's pushes (`--push-to`)."""
    nordic, alpen = demo_vendors([sku_code(k) for k in range(SKU_COUNT)])
    mapping = FieldMapping(sku_field=nordic.sku_field, level_field=nordic.level_field,
                           as_of_field=nordic.as_of_field, items_path=nordic.items_path,
                           paging=Paging.CURSOR)
    deps = services.sources.deps
    await sources.set_vendor_source(deps, VendorSource(
        nordic.id, SourceMode.PULL, base_url=f"{vendor_url.rstrip('/')}/{nordic.id}",
        auth_header=nordic.auth_header, auth_value=nordic.token, mapping=mapping,
        poll_interval=timedelta(seconds=30), max_age=timedelta(minutes=5)), now)
    await sources.set_vendor_source(
        deps, VendorSource(alpen.id, SourceMode.PUSH, max_age=timedelta(minutes=10)), now)
    await sources.push_vendor_levels(
        deps, alpen.id, [ReportedLevel(s, q, now) for s, q in sorted(alpen.levels.items())],
        DEMO_CALLER, now)
