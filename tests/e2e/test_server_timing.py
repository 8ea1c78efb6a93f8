"""`Server-Timing: app;dur=<ms>` on a real server's responses: present once, and plausible (more
than nothing, no more than the client's own round trip). The benchmarks judge latency targets
by it (bench/support.py)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from app.server_timing import server_ms
from tests.support.server import running_servers

TIMING = re.compile(r"^app;dur=\d+\.\d{2}$")


async def test_graphql_responses_carry_the_server_time(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'timing.db'}",
           "BROADCAST_URL": "memory://"}
    async with running_servers(env) as [base_url], \
            httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        for query in ["{ locations { id } }", '{ availability(sku: "NO-SUCH-SKU") { atp } }']:
            started = time.perf_counter()
            response = await http.post("/graphql", json={"query": query})
            round_trip_ms = (time.perf_counter() - started) * 1000
            assert response.status_code == 200 and response.headers["content-type"].startswith(
                "application/json")
            [header] = response.headers.get_list("server-timing")
            assert TIMING.match(header), header
            took = server_ms(header)
            assert took is not None and 0 < took <= round_trip_ms

        # Refusals before GraphQL (here a body that is not JSON: 415) are timed as well.
        refused = await http.post("/graphql", content=b"{", headers={"content-type": "text/plain"})
        assert refused.status_code == 415
        assert TIMING.match(refused.headers["server-timing"])


def test_the_app_duration_is_read_from_a_header_with_other_metrics() -> None:
    assert server_ms('db;dur=1.5, app;desc="stockgraph";dur=12.25') == 12.25
    assert server_ms("db;dur=1.5") is None
    assert server_ms(None) is None
