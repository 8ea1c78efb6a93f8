"""A GraphQL load generator light enough not to be what is measured.

httpx spent more CPU per request than the server it was measuring (6-10 ms against 5 ms, 32
concurrent reservations, 2026-12-07): on a 2-core machine the client, not the server, set the
rate. This one keeps plain HTTP/1.1 keep-alive connections on asyncio streams, one per task in
flight, writes each request in one piece and reads the response by its Content-Length, as
wrk-style load generators do. It speaks only what `stockgraph serve` answers (no chunked
bodies, no redirects, no TLS)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlsplit

from bench.support import GraphQLError

_Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class LoadClient:
    """Same surface as bench.support.TimedGraphQL: `data()` and recorded latencies."""

    def __init__(self, base_url: str, connections: int = 64,
                 headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._head = (f"POST /graphql HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                      f"Content-Type: application/json\r\n{extra}Content-Length: ")
        self._idle: list[_Stream] = []
        self._slots = asyncio.Semaphore(connections)
        self.latencies: list[float] = []

    async def __aenter__(self) -> LoadClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = f"{self._head}{len(body)}\r\n\r\n".encode() + body
        async with self._slots:
            stream = self._idle.pop() if self._idle else await asyncio.open_connection(
                self.host, self.port)
            started = time.perf_counter()
            try:
                status, raw, keep = await _exchange(stream, request)
            except BaseException:
                stream[1].close()
                raise
            self.latencies.append(time.perf_counter() - started)
            if keep:
                self._idle.append(stream)
            else:
                stream[1].close()
        answer: dict[str, Any] = json.loads(raw)
        if status != 200 or answer.get("errors"):
            raise GraphQLError(f"HTTP {status}: {str(answer)[:500]}")
        found: dict[str, Any] = answer["data"]
        return found

    def take_latencies(self) -> list[float]:
        taken, self.latencies = self.latencies, []
        return taken


async def _exchange(stream: _Stream, request: bytes) -> tuple[int, bytes, bool]:
    """One request and its response on a kept-alive connection: status, body, keep-alive."""
    reader, writer = stream
    writer.write(request)
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    fields = {k.strip().lower(): v.strip()
              for k, _, v in (line.partition(":") for line in head[1:] if line)}
    if "content-length" not in fields:
        raise GraphQLError(f"HTTP {status} without Content-Length: {fields}")
    body = await reader.readexactly(int(fields["content-length"]))
    return status, body, fields.get("connection", "").lower() != "close"
