"""The ChangePublisher (and AlertPublisher) the services call after a commit: one message per
call on the one channel every instance listens to.

A failed publish (Redis down or slow) is logged and swallowed: the change is committed, the
mutation succeeded, and subscribers recover what they missed through the sequence replay
(app/fanout notices the gap when Redis is back, or at its next tail check).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from broadcaster import Broadcast

from adapters.broadcast.wire import encode_alerts, encode_changes
from domain.events import ChangeRef, LowStockRaised, StockChanged

log = logging.getLogger("stockgraph.broadcast")


def channel_name(prefix: str) -> str:
    return f"{prefix}events"


class BroadcastPublisher:
    def __init__(self, broadcast: Broadcast, prefix: str) -> None:
        self.broadcast = broadcast
        self.channel = channel_name(prefix)
        self.failures = 0

    async def publish(self, changes: Sequence[StockChanged]) -> None:
        if changes:
            await self._send(encode_changes([ChangeRef.of(c) for c in changes]))

    async def publish_low_stock(self, alerts: Sequence[LowStockRaised]) -> None:
        if alerts:
            await self._send(encode_alerts(alerts))

    async def _send(self, message: str) -> None:
        try:
            await self.broadcast.publish(self.channel, message)
        except Exception as exc:  # the commit stands whatever the broadcast does
            self.failures += 1
            log.warning("publish to %s failed (%s: %s); subscribers will replay it",
                        self.channel, type(exc).__name__, exc)
