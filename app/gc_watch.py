"""The collector's full pauses: logged, and kept from repeating over the same objects.

A full collection walks every object the process holds. With 10,000 subscribers that is
millions of objects and 0.3-1 s in which no socket is served; it came back every few seconds
while subscribers connected, and now and then during the subscription benchmark's rounds
(a 1.3-2.0 s round in about half the runs, 2026-12-07). The objects a full collection leaves
alive are, by then, long-lived: they are frozen after a slow one (moved out of the collector's
reach, as start-up does with what it built), so the next full collection walks only what came
since. Garbage cycles among frozen objects would never be freed, so every `thaw_seconds` they
are given back to the collector, whose next full collection frees them (one pause per period).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from time import perf_counter
from typing import Any

log = logging.getLogger("stockgraph.gc")
SLOW_SECONDS = 0.1


class PauseLog:
    """A gc callback: logs a collection of `slow_seconds` or more; after a slow full one,
    freezes its survivors (on the event loop, not inside the collector)."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None,
                 slow_seconds: float = SLOW_SECONDS) -> None:
        self.loop, self.slow = loop, slow_seconds
        self.freezes = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = perf_counter()
            return
        took = perf_counter() - self._started
        if took < self.slow:
            return
        log.warning("garbage collection of generation %d took %.0f ms (%d collected)",
                    info["generation"], took * 1000, info["collected"])
        if info["generation"] == 2 and self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._freeze)

    def _freeze(self) -> None:
        gc.freeze()
        self.freezes += 1


@contextlib.asynccontextmanager
async def watching(thaw_seconds: float = 600.0) -> AsyncIterator[PauseLog]:
    watch = PauseLog(asyncio.get_running_loop())
    gc.callbacks.append(watch)

    async def thaw() -> None:
        while True:
            await asyncio.sleep(thaw_seconds)
            gc.unfreeze()

    task = asyncio.create_task(thaw(), name="gc-thaw")
    try:
        yield watch
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        gc.callbacks.remove(watch)
