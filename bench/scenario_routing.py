"""Routing latency on a generated network (bench/routing_network.py: 50 warehouses, 1,000 stores,
150 vendors, 20,000 SKUs, ~3M levels), on SQLite and PostgreSQL: pickupOptions within 50 km
(3 lines) and routeOrder with 1, 5 and 20 lines. Server time is the service called in-process
(database reads and planning, no HTTP); the same requests over real HTTP to one `stockgraph
serve` process are measured for comparison. One client, requests one after another."""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.db.engine import Database
from adapters.db.migrate import migrate
from app.container import build_services
from app.settings import Settings
from bench.routing_network import KM_PER_DEGREE, SKUS, Generated, generate, sku_id, write
from bench.support import (
    ENGINES,
    EngineUnavailableError,
    TimedGraphQL,
    engine_version,
    fresh_database,
    latency_ms,
    load_average,
    log_dir,
    median,
    server,
)
from domain.geo import GeoPoint
from domain.location import Channel
from domain.routing import OrderLine
from resolvers.context import Services
from services import routing

NAME = "routing"
SEED = 7
WARM_UP = 20
REQUESTS = {"pickup 50 km, 3 lines": 300, "route 1 line": 300, "route 5 lines": 300,
            "route 20 lines": 150}
TARGET_P99_MS = {"pickup 50 km, 3 lines": 20.0, "route 5 lines": 40.0, "route 20 lines": 150.0}
PICKUP = """query($lines: [OrderLineInput!]!, $near: GeoPointInput!) {
  pickupOptions(lines: $lines, near: $near, radiusKm: 50) {
    location { id } distanceKm complete lines { sku available } } }"""
ROUTE = """query($lines: [OrderLineInput!]!, $to: GeoPointInput!) {
  routeOrder(lines: $lines, shipTo: $to) {
    shipments { location { id } lines { sku quantity } distanceKm }
    unfulfilled { sku quantity } splitCount exact } }"""


class Orders:
    """Shoppers in the network's cities; orders of distinct random SKUs, 1 to 3 units each."""

    def __init__(self, generated: Generated, seed: int) -> None:
        self.cities = generated.cities
        self.rng = random.Random(seed)

    def lines(self, count: int) -> list[OrderLine]:
        return [OrderLine(sku_id(n), self.rng.randint(1, 3))
                for n in self.rng.sample(range(SKUS), count)]

    def point(self) -> GeoPoint:
        lat, lon = self.rng.choice(self.cities)
        return GeoPoint(lat + self.rng.gauss(0, 10) / KM_PER_DEGREE,
                        lon + self.rng.gauss(0, 10) / KM_PER_DEGREE)


async def run(_out_dir: Path) -> dict[str, object]:
    started = time.perf_counter()
    generated = generate(SEED, datetime.now(UTC))
    tables = generated.tables
    # Millions of generated rows stay alive for the second engine's load: keep the collector
    # from walking them during the measurements (full collections paused for ~1 s).
    gc.collect()
    gc.freeze()
    print(f"   generated {len(tables.stock_level):,} levels in "
          f"{time.perf_counter() - started:.0f}s", flush=True)
    engines: dict[str, object] = {}
    for engine in ENGINES:
        try:
            async with fresh_database(engine) as url:
                engines[engine] = await _measure(url, generated, log_dir(NAME, engine))
        except EngineUnavailableError as exc:
            print(f"   {engine}: skipped ({exc})", flush=True)
            engines[engine] = {"skipped": str(exc)}
    gc.unfreeze()
    return {
        "workload": {
            "locations": len(generated.places), "skus": SKUS,
            "levels": len(tables.stock_level), "requests": REQUESTS, "clients": 1,
            "orders": "distinct uniform SKUs, 1-3 units each, shoppers around 40 cities",
        },
        "engines": engines,
        "targets_p99_ms": TARGET_P99_MS,
        "table": _table(engines),
    }


async def _measure(url: str, generated: Generated, logs: Path) -> dict[str, object]:
    db = Database(url, pool_size=5)
    try:
        await migrate(db)
        started = time.perf_counter()
        await write(url, generated.tables)
        loaded = time.perf_counter() - started
        services = build_services(db, Settings(database_url=url, broadcast_url="memory://"))
        before = {"load_average": load_average(), "calibration_ms": calibration_ms()}
        in_process = await _in_process(services, Orders(generated, SEED))
        after = {"load_average": load_average(), "calibration_ms": calibration_ms()}
    finally:
        await db.dispose()
    version = await engine_version(url)
    print(f"   {version}: loaded in {loaded:.0f}s; server " + ", ".join(
        f"{k} p50 {v['p50_ms']} / p99 {v['p99_ms']} ms" for k, v in in_process.items()),
        flush=True)
    over_http = await _over_http(url, logs, Orders(generated, SEED))
    return {"version": version, "load_seconds": round(loaded, 1), "server": in_process,
            "http": over_http, "machine_before": before, "machine_after": after}


async def _in_process(services: Services, orders: Orders) -> dict[str, dict[str, object]]:
    limits, now = services.routing_limits, services.clock

    async def pickup() -> dict[str, float]:
        found = await routing.pickup_options(
            services.routing, services.reader, orders.lines(3), orders.point(), 50, 10,
            Channel.ONLINE, now(), limits)
        return {"options": len(found), "complete": sum(o.complete for o in found)}

    def route(count: int) -> Callable[[], Awaitable[dict[str, float]]]:
        async def call() -> dict[str, float]:
            plan = await routing.route_order(
                services.routing, services.reader, orders.lines(count), orders.point(),
                Channel.ONLINE, now(), limits)
            return {"shipments": len(plan.shipments), "exact": float(plan.exact),
                    "unfulfilled_lines": len(plan.unfulfilled)}
        return call

    calls = {"pickup 50 km, 3 lines": pickup, "route 1 line": route(1),
             "route 5 lines": route(5), "route 20 lines": route(20)}
    return {name: await _timed(call, REQUESTS[name]) for name, call in calls.items()}


async def _timed(call: Callable[[], Awaitable[dict[str, float]]],
                 count: int) -> dict[str, object]:
    """Wall time per request, and this process's CPU time per request (steadier on a shared
    machine; the database server's own CPU is not in it)."""
    for _ in range(WARM_UP):
        await call()
    seconds: list[float] = []
    cpu: list[float] = []
    facts: list[dict[str, float]] = []
    for _ in range(count):
        started, cpu_started = time.perf_counter(), time.process_time()
        facts.append(await call())
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    means = {f"mean_{k}": round(statistics.fmean(f[k] for f in facts), 2) for k in facts[0]}
    return {**latency_ms(seconds), "cpu_p50_ms": round(median(cpu) * 1000, 2), **means}


def calibration_ms() -> float:
    """A fixed pure-Python loop (best of 5): ~60 ms on a quiet core of this kind of machine;
    more means the machine was busy, and every figure here is inflated about as much."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        sum(i * i for i in range(1_000_000))
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


async def _over_http(url: str, logs: Path, orders: Orders) -> dict[str, object]:
    def wire(lines: list[OrderLine]) -> list[dict[str, Any]]:
        return [{"sku": x.sku, "quantity": x.quantity} for x in lines]

    def point() -> dict[str, float]:
        p = orders.point()
        return {"latitude": p.latitude, "longitude": p.longitude}

    found: dict[str, object] = {}
    async with server(url, logs) as [base], TimedGraphQL(base) as gql:
        for name, count in REQUESTS.items():
            size = 3 if name.startswith("pickup") else int(name.split()[1])
            for _ in range(WARM_UP + count):
                if name.startswith("pickup"):
                    await gql.data(PICKUP, lines=wire(orders.lines(size)), near=point())
                else:
                    await gql.data(ROUTE, lines=wire(orders.lines(size)), to=point())
            found[name] = latency_ms(gql.take_latencies()[WARM_UP:])
    return found


def _table(engines: dict[str, Any]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for engine, found in engines.items():
        for name, m in found.get("server", {}).items():
            http = found["http"][name]
            rows.append({
                "engine": engine, "request": name, "server p50 ms": m["p50_ms"],
                "server p99 ms": m["p99_ms"], "cpu p50 ms": m["cpu_p50_ms"],
                "http p50 ms": http["p50_ms"],
                "http p99 ms": http["p99_ms"], "target p99 ms": TARGET_P99_MS.get(name),
                "shipments": m.get("mean_shipments"), "options": m.get("mean_options"),
            })
    return rows
