"""`Server-Timing: app;dur=<ms>` on every HTTP response: the server's own time for the request.

Measured from the moment the app is handed the request (uvicorn has parsed its head) to the
moment the response starts; the body is complete by then (every response here is rendered
before it starts), and what is left is handing its bytes to the transport. So a client sees
what the request cost the server, apart from the network and its own side: the figure the
benchmarks judge latency targets by (bench/support.py reads it). WebSocket and lifespan
traffic pass untouched.
"""

from __future__ import annotations

from time import perf_counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"server-timing"
METRIC = "app"


class ServerTimingMiddleware:
    """Put first (outermost) in the middleware list, so the time covers all the others."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                took = (perf_counter() - started) * 1000
                message["headers"] = [*message.get("headers", ()),
                                      (HEADER, f"{METRIC};dur={took:.2f}".encode())]
            await send(message)

        await self.app(scope, receive, timed)


def server_ms(header: str | None) -> float | None:
    """The `app` duration in a Server-Timing header value, in ms; None when absent."""
    for metric in (header or "").split(","):
        name, *params = (part.strip() for part in metric.split(";"))
        if name == METRIC:
            for param in params:
                key, _, value = param.partition("=")
                if key.strip() == "dur":
                    return float(value)
    return None
