"""GET /debug/subscriptions: what the subscription machinery holds right now (connections,
subscriptions, groups, asyncio tasks, the hub's cursor and counters), for leak checks and
operators. Admin keys only (anyone in open mode, which is loopback only)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from app.auth import Gate
from domain.access import Role


async def subscriptions_debug(request: Request) -> JSONResponse:
    gate: Gate = request.app.state.gate
    caller = gate.authenticate(request.headers.get("authorization"))
    if caller is None or caller.role is not Role.ADMIN:
        return JSONResponse({"error": "an admin API key is required"}, status_code=403)
    fanout = getattr(request.app.state, "fanout", None)
    if fanout is None:
        return JSONResponse({"error": "not started"}, status_code=503)
    return JSONResponse(fanout.stats())
