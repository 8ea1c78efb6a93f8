"""`stockgraph serve` writes a line per HTTP request only when STOCKGRAPH_ACCESS_LOG says so
(off by default: the line costs a tenth of the server's CPU at a few thousand requests/s)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.server import running_servers


@pytest.mark.parametrize("setting", [None, "true"])
async def test_the_access_log_follows_its_setting(tmp_path: Path, setting: str | None) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'log.db'}",
           "BROADCAST_URL": "memory://"}
    if setting is not None:
        env["STOCKGRAPH_ACCESS_LOG"] = setting
    async with running_servers(env, 1, tmp_path) as [base_url], \
            httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        response = await http.post("/graphql", json={"query": "{ __typename }"})
        assert response.status_code == 200
    log = (tmp_path / "server-0.log").read_text()
    assert "stockgraph ready" in log  # the server's own lines are written either way
    assert ('"POST /graphql HTTP/1.1" 200' in log) == (setting == "true"), log
