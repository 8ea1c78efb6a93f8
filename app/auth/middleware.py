"""Pure ASGI middleware in front of /graphql: key check (401), rate limit (429), body cap (413).

HTTP requests to /graphql need `Authorization: Bearer <key>`, except a GET without `query`
(the GraphiQL page, which runs nothing). The authenticated Caller is put in the ASGI scope for
the GraphQL view. WebSocket connections authenticate in their connection_init payload (see
app/graphql_view.py); here they only give back their connection slot when they close.
"""

from __future__ import annotations

import json
import math
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from app.asgi_body import BodyTooLargeError, read_body
from app.auth.gate import CALLER_KEY, Gate

GUARDED_PREFIX = "/graphql"


class AccessMiddleware:
    def __init__(self, app: ASGIApp, gate: Gate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(GUARDED_PREFIX):
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            try:
                await self.app(scope, receive, send)
            finally:
                self.gate.release_websocket(scope)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = self.gate.authenticate(_header(scope, b"authorization"))
        if caller is None:
            if _is_ide_page(scope):
                await self.app(scope, receive, send)
                return
            await _refuse(send, 401, "UNAUTHENTICATED", "a valid API key is required: send "
                          "'Authorization: Bearer <key>'", {"www-authenticate": "Bearer"})
            return
        wait = self.gate.throttle(caller)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            await _refuse(send, 429, "RATE_LIMITED", f"too many requests for this key; retry "
                          f"in {seconds} s", {"retry-after": str(seconds)})
            return
        try:
            receive = await _buffered(scope, receive, self.gate.max_body_bytes)
        except BodyTooLargeError:
            await _refuse(send, 413, "PAYLOAD_TOO_LARGE", "the request body is larger than "
                          f"{self.gate.max_body_bytes} bytes", {})
            return
        scope[CALLER_KEY] = caller
        await self.app(scope, receive, send)


async def _buffered(scope: Scope, receive: Receive, limit: int) -> Receive:
    """Read the whole body (refusing more than `limit` bytes) and replay it to the app."""
    declared = _header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    _, again = await read_body(receive, limit)
    return again


def _is_ide_page(scope: Scope) -> bool:
    if scope["method"] != "GET":
        return False
    return "query" not in parse_qs(scope.get("query_string", b"").decode("latin-1"))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def _refuse(
    send: Send, status: int, code: str, message: str, headers: dict[str, str]
) -> None:
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
           *((k.encode(), v.encode()) for k, v in headers.items())]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
