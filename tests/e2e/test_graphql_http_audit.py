"""The graphql-http audit suite (the GraphQL-over-HTTP spec's own conformance checks, locked
in tests/http_audit/package-lock.json) run by Node against a real `stockgraph serve`."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

from tests.support.server import running_servers
from tests.support.services import unavailable

AUDIT_DIR = Path(__file__).parents[1] / "http_audit"
INSTALL_TIMEOUT = 300.0
AUDIT_TIMEOUT = 120.0


async def _run(*argv: str, time_limit: float) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=AUDIT_DIR,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(time_limit):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return -1, "", f"{argv[0]} did not finish in {time_limit}s"
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def _installed_audit() -> str:
    """The node binary, with the locked graphql-http installed; skips (fails in CI) without."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable("node/npm", "not on PATH")
    assert node is not None and npm is not None
    if not (AUDIT_DIR / "node_modules" / "graphql-http").is_dir():
        code, _, err = await _run(npm, "ci", "--no-audit", "--no-fund", time_limit=INSTALL_TIMEOUT)
        if code != 0:
            unavailable("graphql-http (npm ci)", err.strip()[-500:])
    return node


async def test_the_server_passes_the_graphql_over_http_audit(tmp_path: Path) -> None:
    node = await _installed_audit()
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}",
           "BROADCAST_URL": "memory://"}

    async with running_servers(env) as [base_url]:
        code, out, err = await _run(
            node, "audit.mjs", f"{base_url}/graphql", time_limit=AUDIT_TIMEOUT)

    assert code == 0, err
    results: list[dict[str, Any]] = json.loads(out)["results"]
    failed = [r for r in results if r["status"] in ("error", "warn")]
    assert not failed, "graphql-http audit failures:\n" + "\n".join(
        f"{r['status']} {r['id']} {r['name']}: {r['reason']} "
        f"(HTTP {r.get('responseStatus')}, {r.get('contentType')})" for r in failed)
    # The suite really ran: every audit reported, each one passing or merely optional.
    assert len(results) >= 60
    assert {r["status"] for r in results} <= {"ok", "notice"}
