"""The fan-out's fast path: a ready-made WebSocket frame written straight to the connection's
transport, when the server is uvicorn's websockets-sansio protocol (`stockgraph serve`).

Through ASGI every message costs a chain of coroutines (Starlette's WebSocket, middleware
wrappers, uvicorn's send) and its own frame encoding; for 10,000 sockets that is most of an
event's delivery time. Server frames are not masked, so the frame of one text is the same
bytes on every connection without an extension (permessage-deflate is off by default): the
hub encodes it once and writes it to each transport. Anything else (another server, a
connection that negotiated compression, a socket whose buffers are full, a closing one)
takes the ordinary ASGI send, which this falls back to.

`RawSendMiddleware` records the send uvicorn gives the app, before any middleware wraps it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from websockets.frames import Frame, Opcode

RAW_SEND = "stockgraph.raw_send"
_PROTOCOL_ATTRIBUTES = ("conn", "transport", "writable", "close_sent", "disconnected",
                        "handshake_complete")


class RawSendMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[RAW_SEND] = send
        await self.app(scope, receive, send)


def text_frame(text: str) -> bytes:
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


class DirectWriter:
    written = 0  # frames written directly, and
    declined = 0  # the times a connection could not take one (for /debug)

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol

    @classmethod
    def of(cls, scope: Mapping[str, Any]) -> DirectWriter | None:
        """A writer for this connection, or None where the fast path does not apply."""
        protocol = getattr(scope.get(RAW_SEND), "__self__", None)
        if protocol is None or not all(hasattr(protocol, a) for a in _PROTOCOL_ATTRIBUTES):
            return None
        if getattr(protocol.conn, "extensions", None):  # e.g. permessage-deflate
            return None
        if protocol.handshake_complete and hasattr(protocol, "response"):
            # uvicorn keeps the handshake's request and response (their headers) for the
            # connection's life and never reads them once it completed: ~3 KiB per subscriber.
            protocol.request = protocol.response = None
        return cls(protocol)

    def write(self, frame: bytes) -> bool:
        """Written now (True), or not at all: the caller takes the ordinary path."""
        p = self._protocol
        if p.close_sent or p.disconnected or not p.handshake_complete \
                or not p.writable.is_set() or p.transport.is_closing():
            DirectWriter.declined += 1
            return False
        p.transport.write(frame)
        DirectWriter.written += 1
        return True
