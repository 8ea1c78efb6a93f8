"""A purchasing system's webhook endpoint on loopback: a real Starlette app under uvicorn that
checks the signature, answers as told (up, 503 while "down", 4xx while "refusing") and keeps
what it accepted by Idempotency-Key, so duplicates are seen, not hidden."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.server import free_port

SECRET = "whsec-test-7f3a"


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    answer: int = 200  # what it says to the next POSTs
    posts: Counter[str] = field(default_factory=Counter)  # every POST, by key
    accepted: Counter[str] = field(default_factory=Counter)  # answered 2xx, by key
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    bad_signatures: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/replenishment"

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        key = request.headers.get("Idempotency-Key", "")
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Stockgraph-Signature", "")):
            self.bad_signatures += 1
            return JSONResponse({"error": "bad signature"}, status_code=401)
        self.posts[key] += 1
        if self.answer >= 300:
            return JSONResponse({"error": f"told to answer {self.answer}"},
                                status_code=self.answer)
        if key not in self.accepted:  # a repeat of an accepted key is acknowledged, not kept
            self.bodies[key] = json.loads(body)
        self.accepted[key] += 1
        return JSONResponse({"ok": True})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hooks/replenishment", self.hook, methods=["POST"])])


@contextlib.asynccontextmanager
async def listening(receiver: Receiver) -> AsyncIterator[Receiver]:
    """The receiver up on its port while the block runs."""
    server = uvicorn.Server(uvicorn.Config(receiver.app(), host="127.0.0.1", port=receiver.port,
                                           log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # raises why it could not start
            await asyncio.sleep(0.01)
        yield receiver
    finally:
        server.should_exit = True
        await task


def webhook_env(receiver: Receiver, **extra: str) -> dict[str, str]:
    """Settings for a server that posts to `receiver`, with backoff kept small for tests."""
    return {"STOCKGRAPH_WEBHOOK_URL": receiver.url, "STOCKGRAPH_WEBHOOK_SECRET": SECRET,
            "STOCKGRAPH_WEBHOOK_POLL_INTERVAL": "0.05", "STOCKGRAPH_WEBHOOK_BACKOFF": "0.05",
            "STOCKGRAPH_WEBHOOK_BACKOFF_CAP": "0.3", "STOCKGRAPH_WEBHOOK_CONNECT_TIMEOUT": "1",
            "STOCKGRAPH_WEBHOOK_TIMEOUT": "2", "STOCKGRAPH_WEBHOOK_LEASE": "10", **extra}


async def until(condition: Callable[[], Awaitable[bool]], what: str,
                within: float = 60.0) -> None:
    """Poll an async condition until it holds; fail naming `what` after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
