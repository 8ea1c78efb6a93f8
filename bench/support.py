"""What every benchmark scenario shares: statistics, machine facts, fresh databases on each
engine, seeding through the services, real server processes, and a timed GraphQL client."""

from __future__ import annotations

import asyncio
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from adapters.db.engine import Database
from adapters.db.migrate import migrate
from app.container import build_services
from app.server_timing import server_ms
from app.settings import Settings
from resolvers.context import Services
from tests.support.server import running_servers
from tests.support.services import fresh_pg_database

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "var" / "bench-logs"  # var/ is git-ignored; server output lands here
# STOCKGRAPH_BENCH_ENGINES=sqlite runs scenarios on SQLite only (while iterating on a change).
ENGINES = tuple(os.environ.get("STOCKGRAPH_BENCH_ENGINES", "sqlite,postgresql").split(","))


class EngineUnavailableError(Exception):
    """The engine a scenario asked for cannot be reached; the scenario reports it as skipped."""


# -- statistics ---------------------------------------------------------------------------------

def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100), linear between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50 / p99 / max of request latencies given in seconds, as milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {"p50_ms": round(percentile(ms, 50), 2), "p99_ms": round(percentile(ms, 99), 2),
            "max_ms": round(max(ms), 2) if ms else float("nan"), "requests": len(ms)}


def ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 2) if denominator else float("nan")


# -- machine facts -----------------------------------------------------------------------------

def machine_facts(command: str) -> dict[str, object]:
    cpuinfo = _read("/proc/cpuinfo")
    models = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
              if line.startswith("model name")]
    meminfo = dict(line.split(":", 1) for line in _read("/proc/meminfo").splitlines()
                   if ":" in line)
    mem_kb = int(meminfo.get("MemTotal", "0 kB").split()[0])
    return {
        "cpu_model": models[0] if models else platform.processor() or "unknown",
        "cpu_count": len(models) or os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load_average_at_end": load_average(),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
    }


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages: how busy the (shared) machine was."""
    return [round(x, 2) for x in os.getloadavg()]


def children_cpu_seconds() -> float:
    """CPU seconds used so far by this process's live child processes (the servers a scenario
    started), every thread included. On a shared machine CPU per unit of work is steadier than
    wall-clock throughput, which also measures what the neighbours were doing."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in _read(str(task / "children")).split():
            fields = _read(f"/proc/{pid}/stat").rsplit(")", 1)[-1].split()
            if len(fields) > 12:
                total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


# -- databases, seeding, servers ----------------------------------------------------------------

@asynccontextmanager
async def fresh_database(engine: str) -> AsyncIterator[str]:
    """A new, empty database on `engine` ("sqlite" or "postgresql"); yields its URL."""
    if engine == "sqlite":
        with tempfile.TemporaryDirectory(prefix="stockgraph-bench-") as tmp:
            yield f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        return
    try:
        async with fresh_pg_database() as url:
            yield url
    except pytest.skip.Exception as exc:  # the suite's "service missing" signal
        raise EngineUnavailableError(str(exc)) from exc


@asynccontextmanager
async def seeding(url: str) -> AsyncIterator[Services]:
    """Migrated database and the services over it, as the test suite seeds; disposed after."""
    db = Database(url, pool_size=10)
    try:
        await migrate(db)
        yield build_services(db, Settings(database_url=url, broadcast_url="memory://"))
    finally:
        await db.dispose()


async def engine_version(url: str) -> str:
    if url.startswith("sqlite"):
        return f"SQLite {sqlite3.sqlite_version}"
    db = Database(url, pool_size=1)
    try:
        async with db.reader.connect() as conn:
            found = (await conn.execute(text("SHOW server_version"))).scalar_one()
        return f"PostgreSQL {found}"
    finally:
        await db.dispose()


def log_dir(*parts: str) -> Path:
    """A directory for one run's server logs, e.g. log_dir("movements", "sqlite")."""
    path = LOGS.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


@asynccontextmanager
async def server(url: str, logs: Path, env: dict[str, str] | None = None,
                 count: int = 1) -> AsyncIterator[list[str]]:
    """`count` real `stockgraph serve` processes on `url` (output to `logs`/server-N.log);
    yields their base URLs."""
    async with running_servers({"DATABASE_URL": url, "BROADCAST_URL": "memory://",
                                **(env or {})}, count, logs) as urls:
        yield urls


# -- the client side ----------------------------------------------------------------------------

class GraphQLError(Exception):
    pass


class TimedGraphQL:
    """One HTTP client for many concurrent tasks; records every request's latency: the round
    trip as this client saw it and, where the response has one, the server's own time from
    its `Server-Timing` header (app/server_timing.py)."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None,
                 connections: int = 64) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=120.0,
            limits=httpx.Limits(max_connections=connections,
                                max_keepalive_connections=connections))
        self.latencies: list[float] = []
        self.server_times: list[float] = []

    async def __aenter__(self) -> TimedGraphQL:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.http.aclose()

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        started = time.perf_counter()
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        self.latencies.append(time.perf_counter() - started)
        server = server_ms(response.headers.get("server-timing"))
        if server is not None:
            self.server_times.append(server / 1000)
        body: dict[str, Any] = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise GraphQLError(f"HTTP {response.status_code}: {str(body)[:500]}")
        found: dict[str, Any] = body["data"]
        return found

    def take_latencies(self) -> list[float]:
        """The round trips (seconds) recorded since the last take."""
        return self.take_timings()[0]

    def take_timings(self) -> tuple[list[float], list[float]]:
        """The round trips and the server times (seconds) recorded since the last take."""
        taken = self.latencies, self.server_times
        self.latencies, self.server_times = [], []
        return taken


async def timed_gather(*jobs: Any) -> float:
    """Run the awaitables concurrently; the wall-clock seconds they took together."""
    started = time.perf_counter()
    await asyncio.gather(*jobs)
    return time.perf_counter() - started


@dataclass(frozen=True)
class Throughput:
    per_second: float  # units of work per wall-clock second
    server_cpu_us: float  # CPU microseconds the servers spent per unit


async def throughput(units: int, *jobs: Any) -> Throughput:
    """Run `jobs` concurrently; `units` of work per wall second and per server CPU."""
    cpu = children_cpu_seconds()
    seconds = await timed_gather(*jobs)
    cpu = children_cpu_seconds() - cpu
    return Throughput(units / seconds, cpu / units * 1e6)


def bench_command(args: Sequence[str]) -> str:
    """How this run was started, as one would type it from the repository root."""
    python = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) \
        else sys.executable
    return " ".join([python, "-m", "bench", *args])
