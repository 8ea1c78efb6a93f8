"""Keep-alive pings go out a slice of the connections at a time, spread over the interval, and
every connection still gets exactly one per interval."""

from __future__ import annotations

from collections import Counter

from app.fanout.connections import PING_SLICES, Connections
from app.fanout.group import TRANSPORT_WS

CONNECTIONS = 1_600


async def test_every_connection_gets_one_ping_per_round_and_no_slice_takes_them_all() -> None:
    connections = Connections(send_queue=10)
    pinged: Counter[int] = Counter()
    for n in range(CONNECTIONS):
        async def send(text: str, n: int = n) -> None:
            assert text == TRANSPORT_WS.ping
            pinged[n] += 1

        async def close(code: int, reason: str) -> None:
            raise AssertionError("no connection is closed")

        connections.connect(send, close, TRANSPORT_WS, lambda _: None)
    per_slice = []
    for k in range(PING_SLICES):
        before = sum(pinged.values())
        connections.ping_slice(k, PING_SLICES)
        per_slice.append(sum(pinged.values()) - before)
    assert set(pinged.values()) == {1} and len(pinged) == CONNECTIONS
    assert max(per_slice) <= 3 * CONNECTIONS // PING_SLICES  # spread, not one burst
    assert connections.pings == 1
