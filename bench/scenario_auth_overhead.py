"""What the access layer costs on a plain `availability` query, over real HTTP.

Three server processes on one seeded SQLite database, measured in interleaved rounds so that
the machine's noise falls on all of them alike:

- `keyed`: the service as deployed, with an API keys file (key check, rate limit on but far
  above the load, policy and operation limits);
- `open`: no keys file, on loopback (no key check or rate limit; policy and limits still run);
- `bare`: the same app with the access layer taken out (no middleware, no guard, no token
  limit): the baseline the overhead is quoted against.

Each round sends SEQUENTIAL requests one after another (latency), then CONCURRENT tasks at
once (throughput), to each server, and reads the server process's CPU time before and after
(/proc/<pid>/stat): CPU per request is the figure least disturbed by other load on a shared
machine. Target: keyed within 5% of bare.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from graphql import get_operation_ast, parse
from starlette.applications import Starlette

from app.auth.gate import Gate
from app.auth.guard import forbidden_fields
from app.auth.keys import KeyRing
from app.auth.limits import ConnectionCounter, RateLimiter
from app.auth.shape import ShapeLimits, Shapes, refusals
from app.main import create_app
from app.server_timing import ServerTimingMiddleware
from bench.support import ROOT, TimedGraphQL, fresh_database, log_dir, median, ratio, seeding
from domain.access import Role
from domain.movement import MovementType
from resolvers.schema import PLAIN_GATE, build_schema
from tests.support.auth import bearer, write_keys_file
from tests.support.network import build_network, mv, record
from tests.support.server import STOCKGRAPH, free_port

NAME = "auth_overhead"
QUERY = '{ availability(sku: "SKU-A") { sku atp onHand reserved } }'
ROUNDS, SEQUENTIAL, CONCURRENT_TASKS, PER_TASK = 9, 80, 8, 15
TARGET_OVERHEAD = 0.05
START_TIMEOUT = 60.0
TICKS = os.sysconf("SC_CLK_TCK")


def bare_app() -> Starlette:
    """The app as `create_app` builds it, minus the access layer (for this benchmark only)."""
    app = create_app()
    # Server-Timing stays: it is on every server, not part of what this compares.
    app.user_middleware[:] = [m for m in app.user_middleware if m.cls is ServerTimingMiddleware]
    view = next(getattr(r, "endpoint") for r in app.routes  # noqa: B009 (BaseRoute lacks it)
                if getattr(r, "path", "") == "/graphql")
    # Error masking, the NUL check, validation and parse caches: no access check or limits
    view.schema.extensions = [PLAIN_GATE]
    return app


@dataclass
class Served:
    url: str
    pid: int
    headers: dict[str, str] | None = None
    latency_ms: list[float] = field(default_factory=list)
    throughput_rps: list[float] = field(default_factory=list)
    cpu_ms_per_request: list[float] = field(default_factory=list)


async def run(out_dir: Path) -> dict[str, object]:
    async with fresh_database("sqlite") as url:
        async with seeding(url) as services:
            await build_network(services)
            await record(services, mv(MovementType.RECEIVE, "SKU-A", "store-1", 40),
                         mv(MovementType.RECEIVE, "SKU-A", "wh-1", 60))
        keys = write_keys_file(log_dir(NAME))
        env = {"DATABASE_URL": url, "BROADCAST_URL": "memory://"}
        keyed_env = {**env, "STOCKGRAPH_API_KEYS_FILE": str(keys),
                     "STOCKGRAPH_RATE_LIMIT": "1000000", "STOCKGRAPH_RATE_LIMIT_BURST": "1000000"}
        stockgraph = [STOCKGRAPH, "serve", "--host", "127.0.0.1", "--port"]
        # uvicorn as `stockgraph serve` runs it (app/cli.py): its HTTP protocol, logs at info
        # and no access log (STOCKGRAPH_ACCESS_LOG's default).
        bare = [sys.executable, "-m", "uvicorn", f"{__name__}:bare_app", "--factory",
                "--http", "app.http_protocol:JoinedWritesHttpToolsProtocol",
                "--log-level", "info", "--no-access-log", "--host", "127.0.0.1", "--port"]
        async with AsyncExitStack() as stack:
            servers = {
                "keyed": await stack.enter_async_context(serving(stockgraph, keyed_env, "keyed")),
                "open": await stack.enter_async_context(serving(stockgraph, env, "open")),
                "bare": await stack.enter_async_context(serving(bare, env, "bare")),
            }
            servers["keyed"].headers = bearer(Role.STOREFRONT)
            await _measure(servers)
        components = _components(keys)
    return _summary(servers, components)


async def _measure(servers: dict[str, Served]) -> None:
    clients = {n: TimedGraphQL(s.url, s.headers, CONCURRENT_TASKS) for n, s in servers.items()}
    try:
        for gql in clients.values():  # warm-up: connections, caches
            for _ in range(20):
                await gql.data(QUERY)
        order = list(servers)
        for n in range(ROUNDS):
            for name in order[n % len(order):] + order[:n % len(order)]:
                await _round(servers[name], clients[name])
    finally:
        for gql in clients.values():
            await gql.http.aclose()


async def _round(served: Served, gql: TimedGraphQL) -> None:
    cpu = _cpu_seconds(served.pid)
    gql.take_latencies()
    for _ in range(SEQUENTIAL):
        await gql.data(QUERY)
    served.latency_ms.append(round(median(gql.take_latencies()) * 1000, 3))

    async def task() -> None:
        for _ in range(PER_TASK):
            await gql.data(QUERY)

    started = time.perf_counter()
    await asyncio.gather(*(task() for _ in range(CONCURRENT_TASKS)))
    gql.take_latencies()
    served.throughput_rps.append(
        round(CONCURRENT_TASKS * PER_TASK / (time.perf_counter() - started), 1))
    requests = SEQUENTIAL + CONCURRENT_TASKS * PER_TASK
    served.cpu_ms_per_request.append(
        round((_cpu_seconds(served.pid) - cpu) * 1000 / requests, 4))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of the whole process (every thread), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _components(keys: Path, n: int = 20_000) -> dict[str, float]:
    """CPU microseconds per request of the access layer's own steps, in this process: the key
    check and rate limit (middleware), then the policy and shape checks (guard)."""
    gate = Gate(KeyRing.from_file(keys), RateLimiter(1e9, 10**9), ConnectionCounter(1), 1 << 20)
    authorization = bearer(Role.STOREFRONT)["Authorization"]
    schema = build_schema()._schema
    document = parse(QUERY)
    operation = get_operation_ast(document)
    assert operation is not None
    limits = ShapeLimits(12, 50_000, 100)
    caller = gate.authenticate(authorization)
    assert caller is not None
    started = time.process_time()
    for _ in range(n):
        gate.throttle(gate.authenticate(authorization) or caller)
    keys_us = (time.process_time() - started) / n * 1e6
    shapes = Shapes()  # as the server keeps them: this text is measured once
    started = time.process_time()
    for _ in range(n):
        forbidden_fields(schema, operation, {}, caller, {})
        refusals(shapes.of(QUERY, None, operation, {}, {}), limits)
    return {"key_check_and_rate_us": round(keys_us, 2),
            "policy_and_shape_us": round((time.process_time() - started) / n * 1e6, 2)}


def _summary(servers: dict[str, Served], components: dict[str, float]) -> dict[str, object]:
    latency = {n: median(s.latency_ms) for n, s in servers.items()}
    rate = {n: median(s.throughput_rps) for n, s in servers.items()}
    # CPU in total over all rounds: the clock tick (10 ms) is too coarse for one round alone.
    cpu = {n: round(sum(s.cpu_ms_per_request) / len(s.cpu_ms_per_request), 4)
           for n, s in servers.items()}
    overhead = {"cpu_per_request": round(cpu["keyed"] / cpu["bare"] - 1, 4),
                "latency": round(latency["keyed"] / latency["bare"] - 1, 4),
                "throughput": round(1 - rate["keyed"] / rate["bare"], 4)}
    return {
        "query": QUERY,
        "workload": {"rounds": ROUNDS, "sequential_per_round": SEQUENTIAL,
                     "concurrent_tasks": CONCURRENT_TASKS, "requests_per_task": PER_TASK,
                     "engine": "sqlite", "servers": "one process each, rounds interleaved"},
        "median_latency_ms": latency,
        "median_throughput_rps": rate,
        "mean_server_cpu_ms_per_request": cpu,
        "overhead_keyed_vs_bare": overhead,
        "access_layer_steps_cpu_us_per_request": components,
        "target": {"max_overhead": TARGET_OVERHEAD, "on": "cpu_per_request",
                   "met": overhead["cpu_per_request"] < TARGET_OVERHEAD},
        "raw": {n: {"latency_ms": s.latency_ms, "throughput_rps": s.throughput_rps,
                    "cpu_ms_per_request": s.cpu_ms_per_request} for n, s in servers.items()},
        "table": [{"server": n, "cpu ms/req": cpu[n], "cpu vs bare": ratio(cpu[n], cpu["bare"]),
                   "median ms": latency[n], "req/s": rate[n],
                   "req/s vs bare": ratio(rate[n], rate["bare"])} for n in servers],
    }


@asynccontextmanager
async def serving(command: list[str], env: dict[str, str], name: str) -> AsyncIterator[Served]:
    """One server process (`command` + a free port) with `env`; yields its URL and pid."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if k != "STOCKGRAPH_API_KEYS_FILE"}
    full_env.update(env, PYTHONPATH=str(ROOT))
    with (log_dir(NAME, name) / "server.log").open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            *command, str(port), env=full_env, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            await _wait_healthy(proc, base)
            yield Served(base, proc.pid)
        finally:
            proc.terminate()
            await proc.wait()


async def _wait_healthy(proc: asyncio.subprocess.Process, base: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with httpx.AsyncClient(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise RuntimeError(f"server {base} exited with {proc.returncode}")
            try:
                if (await client.get(f"{base}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"server {base} did not start in {START_TIMEOUT}s")
