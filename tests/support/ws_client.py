"""A small GraphQL-over-WebSocket client on `websockets`, for end-to-end tests: it speaks
graphql-transport-ws (or legacy graphql-ws), answers pings, and sorts what arrives by
operation id so that a test can wait for "the next event of subscription 3"."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

TRANSPORT_WS, LEGACY_WS = "graphql-transport-ws", "graphql-ws"
WAIT = 15.0  # seconds any single expected message may take before a test fails


class GraphQLWS:
    def __init__(self, conn: ClientConnection, protocol: str) -> None:
        self.conn = conn
        self.protocol = protocol
        self.by_id: dict[str, asyncio.Queue[dict[str, Any]]] = defaultdict(asyncio.Queue)
        self.pings = 0
        self.closed: asyncio.Future[tuple[int | None, str]] = (
            asyncio.get_running_loop().create_future())
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @asynccontextmanager
    async def connect(cls, base_url: str, authorization: str | None = None,
                      protocol: str = TRANSPORT_WS, init: bool = True,
                      **options: Any) -> AsyncIterator[GraphQLWS]:
        url = base_url.replace("http://", "ws://") + "/graphql"
        options.setdefault("compression", None)
        async with websockets.connect(url, subprotocols=[protocol],  # type: ignore[list-item]
                                      **options) as conn:
            client = cls(conn, protocol)
            try:
                if init:
                    await client.init(authorization)
                yield client
            finally:
                client._reader.cancel()
                await asyncio.wait([client._reader])

    async def init(self, authorization: str | None = None) -> dict[str, Any]:
        payload = {"authorization": authorization} if authorization else {}
        await self.send({"type": "connection_init", "payload": payload})
        return await self.next("")  # connection_ack (or connection_error)

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.conn.send(message if isinstance(message, str) else json.dumps(message))

    async def subscribe(self, op_id: str, query: str, **variables: Any) -> None:
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.send({"id": op_id, "type": kind,
                         "payload": {"query": query, "variables": variables}})

    async def complete(self, op_id: str) -> None:
        kind = "complete" if self.protocol == TRANSPORT_WS else "stop"
        await self.send({"id": op_id, "type": kind})

    async def next(self, op_id: str, within: float = WAIT) -> dict[str, Any]:
        """The next message for `op_id` ("" for those without an id)."""
        queue = self.by_id[op_id]
        getter = asyncio.ensure_future(queue.get())
        done, _ = await asyncio.wait([getter, self.closed], timeout=within,
                                     return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            return getter.result()
        getter.cancel()
        if self.closed.done():
            raise ConnectionError(f"closed {self.closed.result()} while waiting for {op_id!r}")
        raise TimeoutError(f"no message for {op_id!r} within {within}s")

    async def data(self, op_id: str, within: float = WAIT) -> dict[str, Any]:
        """The next event's data for `op_id`; fails on anything else."""
        message = await self.next(op_id, within)
        assert message["type"] in ("next", "data"), message
        assert "errors" not in message["payload"], message
        data: dict[str, Any] = message["payload"]["data"]
        return data

    async def close_code(self, within: float = WAIT) -> tuple[int | None, str]:
        return await asyncio.wait_for(asyncio.shield(self.closed), within)

    def pending(self, op_id: str) -> int:
        return self.by_id[op_id].qsize()

    async def _read(self) -> None:
        try:
            async for raw in self.conn:
                message = json.loads(raw)
                kind = message.get("type")
                if kind in ("ping", "ka"):
                    self.pings += 1
                    if kind == "ping":
                        await self.send({"type": "pong"})
                    continue
                self.by_id[str(message.get("id") or "")].put_nowait(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            if not self.closed.done():
                self.closed.set_result((self.conn.close_code, self.conn.close_reason or ""))
