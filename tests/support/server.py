"""Real server processes for end-to-end tests: `stockgraph serve` on loopback ports."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path

import httpx

STOCKGRAPH = str(Path(sys.executable).parent / "stockgraph")
# PostgreSQL allows 100 connections: two servers at pool 10 (+10 overflow) leave room for the
# test's own, where the default 20 (+20) could exhaust it while requests race.
TEST_DEFAULTS = {"STOCKGRAPH_DB_POOL_SIZE": "10"}
# Generous: a loaded 2-core machine can take long to import and migrate.
START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def running_servers(
    env: dict[str, str], count: int = 1, log_dir: Path | None = None
) -> AsyncIterator[list[str]]:
    """Start `count` server processes with `env` added to ours; yield their base URLs once
    each answers /healthz. Stops them (and reports their output on a failed start) after."""
    procs: list[tuple[asyncio.subprocess.Process, str]] = []
    with ExitStack() as logs:
        try:
            for n in range(count):
                port = free_port()
                log = (logs.enter_context((log_dir / f"server-{n}.log").open("wb"))
                       if log_dir else subprocess.DEVNULL)
                proc = await asyncio.create_subprocess_exec(
                    STOCKGRAPH, "serve", "--host", "127.0.0.1", "--port", str(port),
                    env={**os.environ, **TEST_DEFAULTS, **env}, stdout=log,
                    stderr=subprocess.STDOUT,
                )
                procs.append((proc, f"http://127.0.0.1:{port}"))
            await asyncio.gather(*(_wait_healthy(p, url) for p, url in procs))
            yield [url for _, url in procs]
        finally:
            await asyncio.gather(*(_stop(proc) for proc, _ in procs))


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), timeout=10)
    except TimeoutError:
        proc.kill()
        await proc.wait()


async def _wait_healthy(proc: asyncio.subprocess.Process, url: str) -> None:
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT
    async with httpx.AsyncClient(timeout=1.0) as client:
        while True:
            if proc.returncode is not None:
                raise RuntimeError(f"server {url} exited with {proc.returncode} at start")
            try:
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"server {url} did not answer /healthz in {START_TIMEOUT}s")
            await asyncio.sleep(0.05)
