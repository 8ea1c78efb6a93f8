"""Liveness and readiness endpoints for compose healthchecks and orchestrators.

/healthz: the process is up and serving. /readyz: the database answers, its migrations are
current, and the broadcast (when one is configured on `app.state.broadcast`) is connected.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import JSONResponse

from adapters.db.engine import Database
from adapters.db.migrate import is_current

DATABASE_TIMEOUT = 5.0  # seconds; a hung database must not hang the orchestrator's probe
NOT_CONFIGURED = "not configured"


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    checks = {**await _database_checks(request.app.state.db),
              "broadcast": _broadcast_check(request.app.state)}
    ready = all(v in ("ok", NOT_CONFIGURED) for v in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


async def _database_checks(db: Database) -> dict[str, str]:
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT):
            async with db.reader.connect() as conn:
                await conn.execute(text("SELECT 1"))
            current = await is_current(db)
    except Exception as exc:  # readiness reports every failure instead of raising
        return {"database": f"error: {_reason(exc)}", "migrations": "unknown"}
    return {"database": "ok", "migrations": "ok" if current else "behind"}


def _reason(exc: BaseException) -> str:
    # The driver's own error, under SQLAlchemy's wrappers, names the cause best (e.g.
    # InvalidCatalogNameError); the message stays out: it may carry host or user names.
    for _ in range(10):  # bounded: a cause chain can, in principle, loop
        inner = getattr(exc, "orig", None) or exc.__cause__
        if inner is None:
            break
        exc = inner
    return type(exc).__name__


def _broadcast_check(state: State) -> str:
    broadcast = getattr(state, "broadcast", None)
    if broadcast is None:
        return NOT_CONFIGURED
    # A backend that can lose its link (Redis) says so through `connected`; one that cannot
    # (memory://) has no such attribute and is always connected.
    backend = getattr(broadcast, "backend", broadcast)
    return "ok" if getattr(backend, "connected", True) else "disconnected"
