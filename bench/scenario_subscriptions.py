"""Subscription fan-out: 100, 1,000, 5,000 and 10,000 subscribers of availabilityChanged on one
server process (the same selection and filter, so one group), held by 1-3 client processes.

Per size, on a fresh pair of servers sharing one SQLite database and one Redis channel:
server RSS before and after the subscribers connect (memory per idle subscriber), then rounds
of one mutation each, first on the subscribers' own server, then on the other one (through
Redis): the time from the mutation's response to each subscriber holding the event (p50,
p99, max over subscribers and rounds; and per round, when the last one held it). Last, one
subscriber and 200 mutations on the other instance: single-subscriber latency via Redis.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.support import (
    TimedGraphQL,
    fresh_database,
    log_dir,
    median,
    percentile,
    seeding,
    server,
)
from domain.location import LocationKind
from services import catalog
from tests.support.services import REDIS_URL

NAME = "subscriptions"
SIZES = (100, 1_000, 5_000, 10_000)
ROUNDS = 10
SINGLE_ROUNDS = 200
SKU, LOCATION = "BENCH-SUB", "wh-bench"
QUERY = ('subscription { availabilityChanged(skus: ["BENCH-SUB"]) { sequence sku networkAtp '
         "cause occurredAt level { onHand reserved atp location { id name } } } }")
MOVE = ("mutation($m: MovementInput!) { recordMovement(movement: $m) { status } }")
CLIENT = [sys.executable, "-m", "bench.subscription_clients"]
TARGET_P99_MS, TARGET_KIB, TARGET_SINGLE_P50_MS = 500, 30, 10


class Crowd:
    """Client processes holding `count` subscribers of one server between them."""

    def __init__(self, url: str, count: int) -> None:
        self.url = url
        self.count = count
        self.procs: list[asyncio.subprocess.Process] = []
        self.split = 1 if count <= 1_000 else 3

    async def __aenter__(self) -> Crowd:
        shares = [self.count // self.split + (i < self.count % self.split)
                  for i in range(self.split)]
        for share in shares:
            self.procs.append(await asyncio.create_subprocess_exec(
                *CLIENT, self.url, str(share), json.dumps(QUERY), stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, limit=2**26))
        for proc in self.procs:
            line = await asyncio.wait_for(self._line(proc), 600)
            assert "ready" in line, line
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.close()
        await asyncio.gather(*(asyncio.wait_for(p.wait(), 60) for p in self.procs))

    async def held(self, round_no: int) -> list[float]:
        """When each subscriber held its `round_no`-th event (time.monotonic())."""
        times: list[float] = []
        for proc in self.procs:
            line = await asyncio.wait_for(self._line(proc), 120)
            assert line["round"] == round_no, line
            times.extend(line["times"])
        return times

    @staticmethod
    async def _line(proc: asyncio.subprocess.Process) -> dict[str, Any]:
        assert proc.stdout is not None
        raw = await proc.stdout.readline()
        if not raw:
            raise RuntimeError(f"client process exited with {await proc.wait()}")
        found: dict[str, Any] = json.loads(raw)
        return found


async def _stats(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        found: dict[str, Any] = (await http.get("/debug/subscriptions")).json()
        return found


async def _until_subscribed(url: str, count: int) -> None:
    async with asyncio.timeout(600):
        while True:
            if (await _stats(url))["subscriptions"] >= count:
                return
            await asyncio.sleep(0.2)


@asynccontextmanager
async def _pair(tag: str) -> AsyncIterator[list[str]]:
    async with fresh_database("sqlite") as url:
        async with seeding(url) as services:
            now = datetime.now(UTC)
            await catalog.upsert_location(services.catalog, services.reader, catalog.LocationChange(
                LOCATION, "Bench warehouse", LocationKind.WAREHOUSE), now)
            await catalog.upsert_sku(services.catalog, SKU, "Bench SKU", None, now)
        env = {"BROADCAST_URL": REDIS_URL, "STOCKGRAPH_VENDOR_POLLER": "false",
               "STOCKGRAPH_BROADCAST_CHANNEL_PREFIX": f"bench-{uuid.uuid4().hex[:8]}:",
               "STOCKGRAPH_RESERVATION_SWEEP_INTERVAL": "0"}
        async with server(url, log_dir(NAME, tag), env, count=2) as urls:
            yield urls


async def _rounds(crowd: Crowd, mutate_on: str, first: int, tag: str,
                  rounds: int = ROUNDS) -> tuple[list[float], list[float]]:
    """(every subscriber's latency in ms, the last subscriber's latency per round)."""
    latencies: list[float] = []
    last: list[float] = []
    async with TimedGraphQL(mutate_on) as client:
        for n in range(first, first + rounds):
            await client.data(MOVE, m=_movement(f"{tag}-{n}"))
            responded = time.monotonic()
            held = [(t - responded) * 1000 for t in await crowd.held(n)]
            latencies.extend(held)
            last.append(max(held))
    return latencies, last


def _summary(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(ms, 50), 1), "p99_ms": round(percentile(ms, 99), 1),
            "max_ms": round(max(ms), 1)}


async def _size(count: int) -> dict[str, Any]:
    async with _pair(f"n{count}") as (home, other):
        before = (await _stats(home))["rss_kib"]
        async with Crowd(home, count) as crowd:
            await _until_subscribed(home, count)
            after = (await _stats(home))["rss_kib"]
            local, local_last = await _rounds(crowd, home, 1, f"l{count}")
            remote, remote_last = await _rounds(crowd, other, ROUNDS + 1, f"r{count}")
    return {"subscribers": count, "kib_per_idle_subscriber": round((after - before) / count, 1),
            "server_rss_mib": round(after / 1024, 1),
            "same_instance": {**_summary(local), "last_subscriber_median_ms":
                              round(median(local_last), 1),
                              "last_subscriber_per_round_ms": [round(x, 1) for x in local_last]},
            "via_redis": {**_summary(remote), "last_subscriber_median_ms":
                          round(median(remote_last), 1),
                          "last_subscriber_per_round_ms": [round(x, 1) for x in remote_last]}}


async def _single() -> dict[str, float]:
    async with _pair("single") as (home, other), Crowd(home, 1) as crowd:
        await _until_subscribed(home, 1)
        latencies, _ = await _rounds(crowd, other, 1, "single", SINGLE_ROUNDS)
    return _summary(latencies)


async def run(out_dir: Path) -> dict[str, object]:
    sizes = [await _size(n) for n in SIZES]
    single = await _single()
    table = [{"subscribers": s["subscribers"], "p50_ms": s["same_instance"]["p50_ms"],
              "p99_ms": s["same_instance"]["p99_ms"], "max_ms": s["same_instance"]["max_ms"],
              "redis_p99_ms": s["via_redis"]["p99_ms"], "redis_max_ms": s["via_redis"]["max_ms"],
              "KiB_per_sub": s["kib_per_idle_subscriber"]} for s in sizes]
    biggest = sizes[-1]
    return {
        "workload": {"sizes": list(SIZES), "rounds": ROUNDS, "query": QUERY,
                     "database": "sqlite", "broadcast": "redis", "single_rounds": SINGLE_ROUNDS},
        "sizes": sizes,
        "single_subscriber_via_redis": single,
        "targets": {
            "p99_10k_under_500ms": biggest["same_instance"]["p99_ms"] < TARGET_P99_MS,
            "kib_per_idle_subscriber_at_most_30": biggest["kib_per_idle_subscriber"]
            <= TARGET_KIB,
            "single_p50_under_10ms": single["p50_ms"] < TARGET_SINGLE_P50_MS,
        },
        "table": table,
    }


def _movement(event_id: str) -> dict[str, object]:
    return {"eventId": event_id, "type": "RECEIVE", "sku": SKU, "locationId": LOCATION,
            "quantity": 1}
