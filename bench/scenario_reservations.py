"""Reservations per second over real HTTP, single-unit `reserve` mutations from many clients:
on one hot SKU (every request updates the same level row) and spread over 500 SKUs, with 1
and 2 server processes, on SQLite and PostgreSQL. Round for round with ours, the raw database
ceiling: the same conditional UPDATE issued directly through the driver (one transaction each,
same concurrency, no HTTP or GraphQL), and our rate as a ratio of it; the same through
SQLAlchemy is reported beside it. Then the oversell check per configuration: 500 requests
race for 100 units; more than 100 held would be an oversell."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import text
from sqlalchemy.engine import make_url

from adapters.db.engine import Database
from bench.load_client import LoadClient
from bench.support import (
    ENGINES,
    EngineUnavailableError,
    Throughput,
    engine_version,
    fresh_database,
    latency_ms,
    median,
    ratio,
    seeding,
    server,
    throughput,
    timed_gather,
)
from domain.access import Caller, Role
from domain.location import LocationKind
from domain.movement import Movement, MovementType
from services import catalog
from services.movements import record_movements

NAME = "reservations"
WAREHOUSE = "wh-bench"
HOT = "HOT-0001"
SPREAD = [f"SPREAD-{k:04d}" for k in range(500)]
RACES = {1: "RACE-1", 2: "RACE-2"}
STOCK, RACE_STOCK, RACE_REQUESTS = 1_000_000, 100, 500
CLIENTS, PER_ROUND, ROUNDS = 32, 1_000, 7
TARGET_SPREAD_PG_RATIO, TARGET_HOT_MIN = 0.40, 300.0
SEEDER = Caller("bench-seed", Role.ADMIN)

RESERVE = """mutation($input: ReserveInput!) { reserve(input: $input) { __typename
  ... on InvalidInput { message } } }"""
RAW = ("UPDATE stock_level SET reserved = reserved + 1, updated_at = :now "
       "WHERE sku = :sku AND location_id = :loc "
       "AND on_hand - reserved - safety_stock - unsellable >= 1")


async def run(out_dir: Path) -> dict[str, object]:
    engines: dict[str, object] = {}
    for engine in ENGINES:
        try:
            async with fresh_database(engine) as url:
                engines[engine] = await _measure(url, out_dir / "logs" / NAME / engine)
        except EngineUnavailableError as exc:
            print(f"   {engine}: skipped ({exc})", flush=True)
            engines[engine] = {"skipped": str(exc)}
    return {
        "workload": {"clients": CLIENTS, "requests_per_round": PER_ROUND, "rounds": ROUNDS,
                     "quantity": 1, "hot_skus": 1, "spread_skus": len(SPREAD),
                     "oversell_race": f"{RACE_REQUESTS} requests for {RACE_STOCK} units"},
        "engines": engines,
        "targets": _targets(engines),
        "table": _table(engines),
    }


async def _measure(url: str, log_dir: Path) -> dict[str, Any]:
    async with seeding(url) as services:
        await _seed(services)
    found: dict[str, Any] = {"version": await engine_version(url),
                             "raw": {"via_sqlalchemy": await _via_sqlalchemy(url)}}
    keys = itertools.count()
    for count in (1, 2):
        env = {"STOCKGRAPH_RATE_LIMIT": "0"}
        (log_dir / f"{count}-servers").mkdir(parents=True, exist_ok=True)
        async with server(url, log_dir / f"{count}-servers", env, count) as urls, \
                _driver(url) as update:
            clients = [LoadClient(u, connections=CLIENTS) for u in urls]
            try:
                found[f"{count}_servers"] = await _serve_rates(clients, keys, update)
                found[f"{count}_servers"]["oversell"] = await _race(clients, RACES[count], keys)
            finally:
                for c in clients:
                    await c.__aexit__()
        cell = found[f"{count}_servers"]
        print(f"   {found['version']}, {count} server(s): hot {cell['hot']['per_s_median']:,.0f}/s"
              f", spread {cell['spread']['per_s_median']:,.0f}/s, "
              f"oversold {cell['oversell']['oversold']}", flush=True)
    return found


async def _serve_rates(clients: list[LoadClient], keys: Any,
                       update: Callable[[str], Awaitable[int]]) -> dict[str, Any]:
    """Our rounds alternate with rounds of the driver ceiling, so that the host's drift (these
    machines are shared) weighs on both sides of the ratio alike."""
    rng = random.Random(7)
    await _round(clients, keys, lambda: HOT, 2 * CLIENTS)  # warm-up: connections, caches
    await _raw_round(update, lambda: HOT)
    out: dict[str, Any] = {}
    for pattern, pick in (("hot", lambda: HOT), ("spread", lambda: rng.choice(SPREAD))):
        for c in clients:
            c.take_latencies()
        done: list[Throughput] = []
        raw: list[float] = []
        for _ in range(ROUNDS):
            raw.append(await _raw_round(update, pick))
            done.append(await _round(clients, keys, pick, PER_ROUND))
        rates = [d.per_second for d in done]
        latencies = [x for c in clients for x in c.take_latencies()]
        out[pattern] = {"per_s_median": round(median(rates), 1),
                        "per_s_rounds": [round(x, 1) for x in rates], **latency_ms(latencies),
                        "server_cpu_us_per_reservation": round(
                            median([d.server_cpu_us for d in done])),
                        "raw_ceiling": _rates(raw),
                        "of_raw_ceiling": ratio(median(rates), median(raw))}
    return out


async def _round(clients: list[LoadClient], keys: Any, sku: Any, requests: int
                 ) -> Throughput:
    """`requests` single-unit reservations from CLIENTS tasks split over the servers."""
    todo = iter(range(requests))
    kinds: Counter[str] = Counter()

    async def client(gql: LoadClient) -> None:
        for _ in todo:
            data = await gql.data(RESERVE, input=_input(next(keys), sku()))
            kinds[data["reserve"]["__typename"]] += 1

    done = await throughput(requests, *(client(clients[k % len(clients)])
                                        for k in range(CLIENTS)))
    if set(kinds) != {"Reservation"}:
        raise AssertionError(f"not every reservation held: {dict(kinds)}")
    return done


async def _race(clients: list[LoadClient], sku: str, keys: Any) -> dict[str, int]:
    """RACE_REQUESTS single-unit reservations for RACE_STOCK units, all at once."""
    todo = iter(range(RACE_REQUESTS))
    kinds: Counter[str] = Counter()

    async def client(gql: LoadClient) -> None:
        for _ in todo:
            data = await gql.data(RESERVE, input=_input(next(keys), sku))
            kinds[data["reserve"]["__typename"]] += 1

    await asyncio.gather(*(client(clients[k % len(clients)]) for k in range(CLIENTS)))
    level = await clients[0].data(
        'query($s: ID!) { stockLevel(sku: $s, locationId: "wh-bench") { reserved atp } }', s=sku)
    reserved = level["stockLevel"]["reserved"]
    return {"held": kinds["Reservation"], "refused": kinds["InsufficientStock"],
            "other": sum(kinds.values()) - kinds["Reservation"] - kinds["InsufficientStock"],
            "reserved": reserved,
            "oversold": max(0, kinds["Reservation"] - RACE_STOCK, reserved - RACE_STOCK)}


def _input(n: int, sku: str) -> dict[str, Any]:
    return {"idempotencyKey": f"bench-{n}",
            "lines": [{"sku": sku, "locationId": WAREHOUSE, "quantity": 1}]}


async def _via_sqlalchemy(url: str) -> dict[str, Any]:
    """The conditional update alone through SQLAlchemy as the server's engine issues it (for
    reference; the ceiling itself is the bare driver's, `_driver`)."""
    rng = random.Random(11)
    picks = {"hot": lambda: HOT, "spread": lambda: rng.choice(SPREAD)}
    db = Database(url, pool_size=CLIENTS)
    try:
        async def through_engine(sku: str) -> int:
            async with db.writer.begin() as conn:
                done = await conn.execute(text(RAW), {"sku": sku, "loc": WAREHOUSE,
                                                      "now": datetime.now(UTC)})
                return done.rowcount
        return {pattern: _rates([await _raw_round(through_engine, pick) for _ in range(ROUNDS)])
                for pattern, pick in picks.items()}
    finally:
        await db.dispose()


def _rates(rates: list[float]) -> dict[str, Any]:
    return {"per_s_median": round(median(rates), 1), "per_s_rounds": [round(x, 1) for x in rates]}


@contextlib.asynccontextmanager
async def _driver(url: str) -> AsyncIterator[Callable[[str], Awaitable[int]]]:
    """`update(sku)` -> rows updated, one transaction each, on the bare driver: the raw
    ceiling (asyncpg; sqlite3 on one aiosqlite connection that the tasks take turns on,
    SQLite's best from one process)."""
    if url.startswith("sqlite"):
        conn = await aiosqlite.connect(make_url(url).database or "", isolation_level=None)
        turn = asyncio.Lock()

        async def sqlite_update(sku: str) -> int:
            async with turn:
                await conn.execute("BEGIN IMMEDIATE")
                done = await conn.execute(RAW, {"sku": sku, "loc": WAREHOUSE,
                                                "now": _sqlite_time()})
                await conn.execute("COMMIT")
                return done.rowcount

        await conn.execute("PRAGMA synchronous=NORMAL")  # as the server's connections
        try:
            yield sqlite_update
        finally:
            await conn.close()
        return
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    pool = await asyncpg.create_pool(dsn, min_size=CLIENTS, max_size=CLIENTS)
    statement = RAW.replace(":now", "$1").replace(":sku", "$2").replace(":loc", "$3")

    async def pg_update(sku: str) -> int:
        async with pool.acquire() as conn, conn.transaction():
            status = await conn.execute(statement, datetime.now(UTC), sku, WAREHOUSE)
            return int(status.rsplit(" ", 1)[1])

    try:
        yield pg_update
    finally:
        await pool.close()


def _sqlite_time() -> str:
    """A timestamp as SQLAlchemy stores one in SQLite (the servers read these rows after)."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


async def _raw_round(update: Callable[[str], Awaitable[int]], sku: Any) -> float:
    todo = iter(range(PER_ROUND))

    async def client() -> None:
        for _ in todo:
            if await update(sku()) != 1:
                raise AssertionError("the raw conditional update found no stock")

    return PER_ROUND / await timed_gather(*(client() for _ in range(CLIENTS)))


async def _seed(services: Any) -> None:
    now = datetime.now(UTC)
    await catalog.upsert_location(services.catalog, services.reader, catalog.LocationChange(
        WAREHOUSE, "Bench warehouse", LocationKind.WAREHOUSE, 52.0, 13.0, False, True), now)
    skus = [HOT, *SPREAD, *RACES.values()]
    for sku in skus:
        await catalog.upsert_sku(services.catalog, sku, f"Bench {sku}", None, now)
    opening = [Movement(f"open-{sku}", MovementType.RECEIVE, sku, WAREHOUSE,
                        RACE_STOCK if sku in RACES.values() else STOCK) for sku in skus]
    await record_movements(services.ledger, services.publisher, opening, SEEDER, now,
                           services.limits)


def _targets(engines: dict[str, Any]) -> dict[str, object]:
    pg = engines.get("postgresql", {})
    spread = {k: pg[k]["spread"]["of_raw_ceiling"] for k in ("1_servers", "2_servers")
              if k in pg}
    hot = {f"{e} {k}": v[k]["hot"]["per_s_median"] for e, v in engines.items()
           for k in ("1_servers", "2_servers") if k in v}
    oversold = sum(v[k]["oversell"]["oversold"] for v in engines.values()
                   for k in ("1_servers", "2_servers") if k in v)
    return {
        "spread_pg_min_ratio": TARGET_SPREAD_PG_RATIO, "hot_min_per_s": TARGET_HOT_MIN,
        "spread_pg_met": {k: r >= TARGET_SPREAD_PG_RATIO for k, r in spread.items()},
        "hot_met": {k: r >= TARGET_HOT_MIN for k, r in hot.items()},
        "oversold_total": oversold, "oversell_met": oversold == 0,
    }


def _table(engines: dict[str, Any]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for engine, found in engines.items():
        for count in (1, 2):
            cell = found.get(f"{count}_servers")
            if cell is None:
                continue
            for pattern in ("hot", "spread"):
                m = cell[pattern]
                rows.append({
                    "engine": engine, "servers": count, "skus": pattern,
                    "reservations/s": m["per_s_median"],
                    "raw ceiling/s": m["raw_ceiling"]["per_s_median"],
                    "raw via SQLAlchemy/s": found["raw"]["via_sqlalchemy"][pattern][
                        "per_s_median"],
                    "of ceiling": m["of_raw_ceiling"],
                    "server CPU us/res": m["server_cpu_us_per_reservation"], "p50 ms": m["p50_ms"],
                    "p99 ms": m["p99_ms"], "oversold": cell["oversell"]["oversold"],
                })
    return rows
