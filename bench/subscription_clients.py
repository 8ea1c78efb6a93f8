"""Thousands of graphql-transport-ws subscribers in one process, for the subscriptions
benchmark: `python -m bench.subscription_clients URL COUNT QUERY_JSON`.

Each connection is an asyncio.Protocol over websockets' sans-I/O client (no task or queue per
connection), so one process holds thousands. It prints {"ready": n} once every connection is
subscribed, then, for each event round r, {"round": r, "times": [...]} with the
time.monotonic() at which each connection held its r-th event (CLOCK_MONOTONIC is one clock
for every process of the machine, so the coordinator compares it with its own).
Stdin closing ends it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

CONNECT_AT_ONCE = 100


class Subscriber(asyncio.Protocol):
    def __init__(self, uri: str, subscribe: str, on_event: Callable[[Subscriber], None],
                 ready: asyncio.Future[None]) -> None:
        self.ws = ClientProtocol(parse_uri(uri), subprotocols=[Subprotocol("graphql-transport-ws")])
        self.request = self.ws.connect()
        self.subscribe = subscribe
        self.on_event = on_event
        self.ready = ready
        self.times: list[float] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.ws.send_request(self.request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                self._send('{"type":"connection_init","payload":{}}')
            elif event.opcode is Opcode.TEXT:
                self._message(bytes(event.data), now)
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"lost before subscribing: {exc!r}"))

    def _message(self, data: bytes, now: float) -> None:
        if data.startswith(b'{"id"'):  # next (or error) for our one subscription
            if b'"type":"next"' not in data:
                raise RuntimeError(f"subscription failed: {data[:300]!r}")
            self.times.append(now)
            self.on_event(self)
            return
        kind = json.loads(data)["type"]
        if kind == "connection_ack":
            self._send(self.subscribe)
            self.ready.set_result(None)
        elif kind == "ping":
            self._send('{"type":"pong"}')

    def _send(self, text: str) -> None:
        self.ws.send_text(text.encode())

    def _flush(self) -> None:
        assert self.transport is not None
        for chunk in self.ws.data_to_send():
            if chunk:
                self.transport.write(chunk)


class Crowd:
    def __init__(self, url: str, count: int, query: str) -> None:
        self.uri = url.replace("http://", "ws://") + "/graphql"
        self.count = count
        self.subscribe = json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}})
        self.members: list[Subscriber] = []
        self.rounds: Counter[int] = Counter()

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        host, port = urlsplit(self.uri).hostname, urlsplit(self.uri).port
        for start in range(0, self.count, CONNECT_AT_ONCE):
            batch = []
            for _ in range(start, min(start + CONNECT_AT_ONCE, self.count)):
                ready: asyncio.Future[None] = loop.create_future()
                member = Subscriber(self.uri, self.subscribe, self._held, ready)
                await loop.create_connection(lambda m=member: m, host, port)
                self.members.append(member)
                batch.append(ready)
            await asyncio.gather(*batch)

    def _held(self, member: Subscriber) -> None:
        r = len(member.times)
        self.rounds[r] += 1
        if self.rounds[r] == self.count:
            _emit({"round": r, "times": [m.times[r - 1] for m in self.members]})


def _emit(record: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


async def main(url: str, count: int, query: str) -> None:
    crowd = Crowd(url, count, query)
    await crowd.connect()
    # The connected crowd lives to the end: out of the collector's reach, so that a full
    # collection in this process (up to a second over thousands of sockets) is not measured
    # as the server's delivery time.
    gc.collect()
    gc.freeze()
    _emit({"ready": count})
    # Wait for the coordinator to close our stdin; the event loop keeps receiving meanwhile.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for member in crowd.members:
        if member.transport is not None:
            member.transport.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])))
