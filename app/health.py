"""Liveness and readiness endpoints for compose healthchecks and orchestrators."""

from __future__ import annotations

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from adapters.db.engine import Database
from adapters.db.migrate import is_current


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    db: Database = request.app.state.db
    checks: dict[str, str] = {}
    try:
        async with db.reader.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        checks["migrations"] = "ok" if await is_current(db) else "behind"
    except Exception as exc:  # readiness reports every failure instead of raising
        checks["database"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)
