"""Movements ingested per second through real HTTP to one running server, on SQLite and on
PostgreSQL: single `recordMovement` mutations from several clients against `recordMovements`
batches of 500. RECEIVE and SALE spread over 200 SKUs x 20 locations with opening stock, so
every movement touches an existing level and bin, as in a store that has been trading."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.support import (
    ENGINES,
    EngineUnavailableError,
    Throughput,
    TimedGraphQL,
    engine_version,
    fresh_database,
    latency_ms,
    load_average,
    log_dir,
    median,
    ratio,
    seeding,
    server,
    throughput,
)
from domain.access import Caller, Role
from domain.location import LocationKind
from domain.movement import Movement, MovementType
from services import catalog
from services.movements import record_movements

NAME = "movements"
SKUS = [f"BENCH-{k:04d}" for k in range(200)]
LOCATIONS = [f"wh-{k:02d}" for k in range(4)] + [f"store-{k:02d}" for k in range(16)]
OPENING_STOCK = 100_000
ROUNDS = 10
SINGLE_CLIENTS, SINGLES_PER_CLIENT = 8, 8
BATCH_CLIENTS, BATCHES_PER_CLIENT, BATCH_SIZE = 4, 1, 500
TARGET_SQLITE_BATCH, TARGET_RATIO = 5000, 10.0
SEEDER = Caller("bench-seed", Role.ADMIN)

RESULT = "eventId status error level { onHand atp }"
SINGLE = f"mutation($m: MovementInput!) {{ recordMovement(movement: $m) {{ {RESULT} }} }}"
BATCH = f"mutation($ms: [MovementInput!]!) {{ recordMovements(movements: $ms) {{ {RESULT} }} }}"


@dataclass
class Scanners:
    """Makes the movements clients send: RECEIVE and SALE of a few units, unique event ids."""

    tag: str
    rng: random.Random
    ids: Iterator[int] = field(default_factory=itertools.count)

    def movement(self, device: int) -> dict[str, Any]:
        kind = "RECEIVE" if self.rng.random() < 0.5 else "SALE"
        return {
            "eventId": f"{self.tag}-{next(self.ids)}", "type": kind,
            "sku": self.rng.choice(SKUS), "locationId": self.rng.choice(LOCATIONS),
            "quantity": self.rng.randint(1, 5), "deviceId": f"scanner-{device}",
            "occurredAt": datetime.now(UTC).isoformat(),
        }


async def run(out_dir: Path) -> dict[str, object]:
    engines: dict[str, object] = {}
    for engine in ENGINES:
        try:
            async with fresh_database(engine) as url:
                engines[engine] = await _measure(url, log_dir(NAME, engine))
        except EngineUnavailableError as exc:
            print(f"   {engine}: skipped ({exc})", flush=True)
            engines[engine] = {"skipped": str(exc)}
    return {
        "workload": {
            "skus": len(SKUS), "locations": len(LOCATIONS), "types": ["RECEIVE", "SALE"],
            "rounds": ROUNDS, "single_clients": SINGLE_CLIENTS,
            "singles_per_client_per_round": SINGLES_PER_CLIENT,
            "batch_clients": BATCH_CLIENTS, "batches_per_client_per_round": BATCHES_PER_CLIENT,
            "batch_size": BATCH_SIZE, "servers": 1,
        },
        "engines": engines,
        "targets": _targets(engines),
        "table": _table(engines),
    }


async def _measure(url: str, logs: Path) -> dict[str, object]:
    async with seeding(url) as services:
        await _seed(services)
    version = await engine_version(url)
    scanners = Scanners(f"bench-{datetime.now(UTC):%H%M%S}", random.Random(2026))
    singles: list[Throughput] = []
    batches: list[Throughput] = []
    load_before = load_average()
    async with server(url, logs) as [base], TimedGraphQL(base) as gql:
        await _singles(gql, scanners, 2)  # warm-up: connections, caches, prepared statements
        await _batches(gql, scanners, 1)
        gql.take_latencies()
        single_latency: list[float] = []
        batch_latency: list[float] = []
        for _ in range(ROUNDS):
            singles.append(await _singles(gql, scanners, SINGLES_PER_CLIENT))
            single_latency += gql.take_latencies()
            batches.append(await _batches(gql, scanners, BATCHES_PER_CLIENT))
            batch_latency += gql.take_latencies()
    single, batch = _mode(singles, single_latency), _mode(batches, batch_latency)
    print(f"   {version}: single {single['movements_per_s_median']:,.0f}/s, "
          f"batch {batch['movements_per_s_median']:,.0f}/s", flush=True)
    return {
        "version": version, "single": single, "batch": batch,
        "batch_over_single": ratio(median([b.per_second for b in batches]),
                                   median([s.per_second for s in singles])),
        "load_average_before": load_before, "load_average_after": load_average(),
    }


def _mode(rounds: list[Throughput], latencies: list[float]) -> dict[str, object]:
    cpu_us = median([r.server_cpu_us for r in rounds])
    return {
        "movements_per_s_median": round(median([r.per_second for r in rounds]), 1),
        "movements_per_s_rounds": [round(r.per_second, 1) for r in rounds],
        "server_cpu_us_per_movement_median": round(cpu_us, 1),
        "movements_per_server_cpu_s": round(1e6 / cpu_us, 1) if cpu_us else None,
        **latency_ms(latencies),
    }


async def _singles(gql: TimedGraphQL, scanners: Scanners, per_client: int) -> Throughput:
    async def client(device: int) -> None:
        for _ in range(per_client):
            data = await gql.data(SINGLE, m=scanners.movement(device))
            _check_applied([data["recordMovement"]])

    return await throughput(SINGLE_CLIENTS * per_client,
                            *(client(d) for d in range(SINGLE_CLIENTS)))


async def _batches(gql: TimedGraphQL, scanners: Scanners, per_client: int) -> Throughput:
    async def client(device: int) -> None:
        for _ in range(per_client):
            batch = [scanners.movement(device) for _ in range(BATCH_SIZE)]
            data = await gql.data(BATCH, ms=batch)
            _check_applied(data["recordMovements"])

    return await throughput(BATCH_CLIENTS * per_client * BATCH_SIZE,
                            *(client(100 + d) for d in range(BATCH_CLIENTS)))


def _check_applied(results: list[dict[str, Any]]) -> None:
    refused = [r for r in results if r["status"] != "APPLIED"]
    if refused:
        raise AssertionError(f"{len(refused)} movements not applied, e.g. {refused[0]}")


async def _seed(services: Any) -> None:
    now = datetime.now(UTC)
    for loc in LOCATIONS:
        kind = LocationKind.WAREHOUSE if loc.startswith("wh-") else LocationKind.STORE
        await catalog.upsert_location(services.catalog, services.reader, catalog.LocationChange(
            loc, f"Bench {loc}", kind, 52.0, 13.0, pickup_enabled=True, ship_enabled=True), now)
    for sku in SKUS:
        await catalog.upsert_sku(services.catalog, sku, f"Bench product {sku}", None, now)
    opening = [Movement(f"open-{sku}-{loc}", MovementType.RECEIVE, sku, loc, OPENING_STOCK)
               for sku in SKUS for loc in LOCATIONS]
    for start in range(0, len(opening), BATCH_SIZE):
        await record_movements(services.ledger, services.publisher,
                               opening[start:start + BATCH_SIZE], SEEDER, now, services.limits)


def _targets(engines: dict[str, Any]) -> dict[str, object]:
    sqlite = engines.get("sqlite", {})
    batch = sqlite.get("batch", {}).get("movements_per_s_median", 0.0)
    ratios = {e: r["batch_over_single"] for e, r in engines.items() if "batch_over_single" in r}
    return {
        "sqlite_batch_min_per_s": TARGET_SQLITE_BATCH, "ratio_min": TARGET_RATIO,
        "sqlite_batch_met": batch >= TARGET_SQLITE_BATCH,
        "ratio_met": {e: r >= TARGET_RATIO for e, r in ratios.items()},
    }


def _table(engines: dict[str, Any]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for engine, found in engines.items():
        for mode, clients in (("single", SINGLE_CLIENTS), ("batch of 500", BATCH_CLIENTS)):
            m = found.get(mode.split()[0])
            if m is None:
                continue
            rows.append({
                "engine": engine, "mode": mode, "clients": clients,
                "movements/s (median)": m["movements_per_s_median"],
                "server CPU us/movement": m["server_cpu_us_per_movement_median"],
                "p50 ms": m["p50_ms"], "p99 ms": m["p99_ms"],
                "batch/single": found["batch_over_single"] if mode != "single" else None,
            })
    return rows
