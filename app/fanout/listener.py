"""What feeds the hub: the broadcast channel (one subscription per process, whatever the number
of subscribers) and a periodic tail check of the ledger.

Anything that may have lost messages makes the hub catch up from the ledger: (re)subscribing,
a Redis reconnect (StreamGap), this listener falling behind (its queue cut off), an
unreadable message. While Redis is unreachable the tail check alone keeps subscribers served.
"""

from __future__ import annotations

import asyncio
import logging

from adapters.broadcast import (
    BroadcastUnavailableError,
    SafeBroadcast,
    StreamGap,
    SubscriberOverflowError,
)
from adapters.broadcast.wire import WireError, decode
from app.fanout.hub import CATCH_UP, TICK, Hub

log = logging.getLogger("stockgraph.fanout")
BACKOFF_FIRST, BACKOFF_MAX = 0.05, 2.0
# Items waiting for the hub past which the listener stops decoding and has it catch up.
INBOX_LIMIT = 10_000


class Listener:
    def __init__(self, broadcast: SafeBroadcast, channel: str, hub: Hub) -> None:
        self.broadcast = broadcast
        self.channel = channel
        self.hub = hub
        self.subscribed = False
        self.resubscribes = 0
        self._flooded = False

    async def listen(self) -> None:
        backoff = BACKOFF_FIRST
        while True:
            try:
                async with self.broadcast.subscribe(self.channel) as subscriber:
                    self.subscribed, backoff = True, BACKOFF_FIRST
                    self.hub.inbox.put_nowait(CATCH_UP)  # whatever came before we listened
                    async for event in subscriber:
                        self._take(event)
                return  # the broadcast disconnected: the app is stopping
            except SubscriberOverflowError:
                log.warning("subscription hub fell behind the broadcast; catching up")
            except BroadcastUnavailableError as exc:
                log.info("broadcast unavailable (%s); retrying in %.2fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
            finally:
                self.subscribed = False
            self.resubscribes += 1

    def _take(self, event: object) -> None:
        inbox = self.hub.inbox
        if inbox.qsize() >= INBOX_LIMIT or (self._flooded and inbox.qsize() > INBOX_LIMIT // 2):
            self._flooded = True  # drop messages meanwhile: the ledger has them all
            return
        if self._flooded:
            self._flooded = False
            inbox.put_nowait(CATCH_UP)
        if isinstance(event, StreamGap):
            inbox.put_nowait(CATCH_UP)
            return
        try:
            found = decode(str(getattr(event, "message", "")))
        except WireError as exc:
            log.warning("%s; catching up from the ledger", exc)
            inbox.put_nowait(CATCH_UP)
            return
        if found.changes:
            inbox.put_nowait(found.changes)
        if found.alerts:
            inbox.put_nowait(found.alerts)


async def tail_checks(hub: Hub, interval: float) -> None:
    """Every `interval` seconds, have the hub compare the ledger's tail with its cursor."""
    while True:
        await asyncio.sleep(interval)
        hub.inbox.put_nowait(TICK)
