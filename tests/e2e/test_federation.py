"""stockgraph as an Apollo Federation v2 subgraph: composed with a small catalog subgraph by
@apollo/composition, served by @apollo/gateway, queried end to end over HTTP.

The Node side lives in tests/federation (locked versions; `npm ci` runs when node_modules is
missing). Without Node or npm the test is skipped locally and fails in CI."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import free_port, running_servers
from tests.support.services import unavailable

NODE_PROJECT = Path(__file__).resolve().parents[1] / "federation"
START_TIMEOUT = 60.0
PRODUCTS = [
    {"sku": "FED-TENT", "name": "Dome tent, 2 persons"},
    {"sku": "FED-LAMP", "name": "Head lamp"},
    {"sku": "FED-BOOT", "name": "Hiking boot"},
]
RECEIVED = {("FED-TENT", "wh-fed"): 12, ("FED-TENT", "store-fed"): 3, ("FED-LAMP", "wh-fed"): 5}
SEED = """mutation {
  w: upsertLocation(input: {id: "wh-fed", name: "Fed DC", kind: WAREHOUSE,
                            shipEnabled: true}) { id }
  s: upsertLocation(input: {id: "store-fed", name: "Fed Store", kind: STORE,
                            pickupEnabled: true}) { id }
  a: upsertSku(input: {sku: "FED-TENT"}) { sku }
  b: upsertSku(input: {sku: "FED-LAMP"}) { sku }
  c: upsertSku(input: {sku: "FED-BOOT"}) { sku }
}"""
RECORD = """mutation($m: [MovementInput!]!) { recordMovements(movements: $m) { status error } }"""


@pytest.fixture(scope="module")
def node_project() -> Path:
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        unavailable("Node.js and npm", "not on PATH")
        raise AssertionError("unreachable")
    if not (NODE_PROJECT / "node_modules" / "@apollo" / "gateway").is_dir():
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_PROJECT,
                              capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            unavailable("npm ci in tests/federation", done.stderr[-2000:])
    return NODE_PROJECT


@asynccontextmanager
async def node_process(project: Path, *args: str) -> AsyncIterator[None]:
    """Run `node ARGS` in the project; yield once it prints "ready", stop it after."""
    proc = await asyncio.create_subprocess_exec(
        "node", *args, cwd=project, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    assert proc.stdout is not None
    said: list[str] = []
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while True:
                line = (await proc.stdout.readline()).decode()
                if not line:
                    await proc.wait()
                    pytest.fail(f"node {args[0]} exited with {proc.returncode}:\n"
                                + "".join(said), pytrace=False)
                said.append(line)
                if line.startswith("ready"):
                    break
        yield
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()


async def graphql(http: httpx.AsyncClient, url: str, query: str, **variables: Any) -> Any:
    response = await http.post(url, json={"query": query, "variables": variables},
                               headers={"Accept": "application/json"})
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]


async def seed(http: httpx.AsyncClient, url: str) -> None:
    await graphql(http, url, SEED)
    movements = [{"eventId": f"fed-{sku}-{loc}", "type": "RECEIVE", "sku": sku,
                  "locationId": loc, "quantity": q} for (sku, loc), q in RECEIVED.items()]
    done = await graphql(http, url, RECORD, m=movements)
    assert {r["status"] for r in done["recordMovements"]} == {"APPLIED"}


def by_sku(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    return {r["sku"]: r["availability"]["atp"] if "availability" in r else r["atp"]
            for r in rows}


async def test_a_supergraph_query_joins_catalog_names_with_our_availability(
    node_project: Path, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'fed.db'}",
           "BROADCAST_URL": "memory://", "STOCKGRAPH_VENDOR_POLLER": "false"}
    catalog_port, gateway_port = free_port(), free_port()
    async with running_servers(env) as [base], httpx.AsyncClient(timeout=30) as http:
        ours = f"{base}/graphql"
        await seed(http, ours)
        async with node_process(node_project, "catalog.mjs", str(catalog_port),
                                json.dumps(PRODUCTS)), \
                node_process(node_project, "gateway.mjs", str(gateway_port), ours,
                             f"http://127.0.0.1:{catalog_port}/"):
            federated = await graphql(http, f"http://127.0.0.1:{gateway_port}/",
                                      "{ products { sku name availability { atp } } }")
        direct = await graphql(http, ours, "query($s: [ID!]!) { availabilities(skus: $s) "
                               "{ sku atp } }", s=[p["sku"] for p in PRODUCTS])
    products = federated["products"]
    assert [(p["sku"], p["name"]) for p in products] == [(p["sku"], p["name"]) for p in PRODUCTS]
    assert by_sku(products) == by_sku(direct["availabilities"])
    assert by_sku(products) == {"FED-TENT": 15, "FED-LAMP": 5, "FED-BOOT": 0}
