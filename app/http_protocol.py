"""uvicorn's httptools protocol, with a response's writes sent together.

uvicorn writes a response's status line and headers on `http.response.start` and its body on
`http.response.body`: two send() calls and two TCP segments for every GraphQL answer. On
loopback the kernel work of a send is charged to the sender, and measured it was a quarter of
a small request's server CPU (2026-12-07, py-spy). Here the writes made in one event-loop step
are joined and sent once, at the end of that step; nothing waits longer than that. A
connection upgraded to a WebSocket gets the bare transport back (the fan-out writes frames to
it directly, app/fanout/direct.py).

Selected by `stockgraph serve` (uvicorn's `http=` option); leans on uvicorn's protocol keeping
its transport in `self.transport` (checked by tests/integration/test_http_protocol.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _Joined:
    """The transport, with writes buffered until the loop step ends (or a close/pause)."""

    __slots__ = ("_loop", "_parts", "bare")

    def __init__(self, bare: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.bare = bare
        self._parts: list[bytes] = []
        self._loop = loop

    def write(self, data: bytes) -> None:
        if not self._parts:
            self._loop.call_soon(self.flush)
        self._parts.append(bytes(data))

    def flush(self) -> None:
        if self._parts:
            data = b"".join(self._parts) if len(self._parts) > 1 else self._parts[0]
            self._parts.clear()
            if not self.bare.is_closing():
                self.bare.write(data)

    def close(self) -> None:
        self.flush()
        self.bare.close()

    def get_write_buffer_size(self) -> int:
        return self.bare.get_write_buffer_size() + sum(len(p) for p in self._parts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.bare, name)


class JoinedWritesHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_Joined(transport, self.loop))  # type: ignore[arg-type]

    def handle_websocket_upgrade(self) -> None:
        joined = self.transport
        if isinstance(joined, _Joined):
            joined.flush()
            self.transport = joined.bare
        super().handle_websocket_upgrade()
