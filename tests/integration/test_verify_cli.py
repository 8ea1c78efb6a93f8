"""`stockgraph verify`, the real console script, against a real database on each engine: it
agrees with an honest ledger and names every value someone changed behind its back."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from sqlalchemy import text

from adapters.db.engine import Database
from domain.movement import MovementType
from resolvers.context import Services
from tests.support.network import build_network, mv, record
from tests.support.server import STOCKGRAPH

T = MovementType


async def run_cli(database_url: str, *args: str, within: float = 60) -> tuple[int, str]:
    """Run `stockgraph *args` on `database_url` for at most `within` seconds; its exit code
    and output."""
    proc = await asyncio.create_subprocess_exec(
        STOCKGRAPH, *args, env={**os.environ, "DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), within)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def tamper(db: Database, statement: str) -> None:
    async with db.writer.begin() as conn:
        await conn.execute(text(statement))


@pytest.fixture
async def traded(services: Services) -> Services:
    """A network with receipts, a transfer, damage, a bin move and a sale behind it."""
    await build_network(services)
    await record(
        services,
        mv(T.RECEIVE, "SKU-A", "wh-1", 20),
        mv(T.PUTAWAY, "SKU-A", "wh-1", 8, to_bin="A-01"),
        mv(T.TRANSFER_OUT, "SKU-A", "wh-1", 5, to_location_id="store-1"),
        mv(T.RECEIVE, "SKU-B", "store-1", 6),
        mv(T.DAMAGE, "SKU-B", "store-1", 1),
        mv(T.SALE, "SKU-B", "store-1", 2),
        mv(T.RECEIVE, "SKU-C", "store-2", 4),
    )
    return services


async def test_verify_says_an_honest_ledger_and_its_levels_agree(
    traded: Services, db_url: str
) -> None:
    code, out = await run_cli(db_url, "verify")
    assert (code, out.strip()) == (0, "ledger and levels agree")


TAMPERING = [
    "UPDATE stock_level SET on_hand = on_hand + 3 WHERE sku = 'SKU-B' AND location_id = 'store-1'",
    "UPDATE stock_level SET unsellable = 0 WHERE sku = 'SKU-B' AND location_id = 'store-1'",
    "UPDATE stock_level SET inbound = 0 WHERE sku = 'SKU-A' AND location_id = 'store-1'",
    "UPDATE bin_level SET quantity = 2 WHERE sku = 'SKU-A' AND location_id = 'wh-1' "
    "AND bin = 'A-01'",
    "DELETE FROM stock_level WHERE sku = 'SKU-C' AND location_id = 'store-2'",
]


async def test_verify_names_every_value_changed_behind_the_ledgers_back(
    traded: Services, database: Database, db_url: str
) -> None:
    # Given levels changed by raw SQL, none of it in the ledger
    for statement in TAMPERING:
        await tamper(database, statement)
    # When verify runs, then it fails and names each SKU, location and field
    code, out = await run_cli(db_url, "verify")
    assert code == 1
    assert sorted(out.strip().splitlines()) == sorted([
        "DRIFT SKU-B @ store-1: on_hand stored 7, ledger says 4",
        "DRIFT SKU-B @ store-1: unsellable stored 0, ledger says 1",
        # 7 on hand but the bins (written by the ledger) hold only 4
        "DRIFT SKU-B @ store-1: bins stored 4, ledger says 7",
        "DRIFT SKU-A @ store-1: inbound stored 0, ledger says 5",
        "DRIFT SKU-A @ wh-1: bins stored 9, ledger says 15",
        # a level deleted while its ledger remains
        "DRIFT SKU-C @ store-2: on_hand stored 0, ledger says 4",
        "DRIFT SKU-C @ store-2: bins stored 4, ledger says 0",
        "7 drifting values",
    ])


async def test_verify_on_a_database_never_migrated_says_so(tmp_path: Path) -> None:
    code, out = await run_cli(f"sqlite+aiosqlite:///{tmp_path / 'blank.db'}", "verify")
    assert code == 2
    assert "stockgraph migrate" in out
    assert "Traceback" not in out
