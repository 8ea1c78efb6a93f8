"""Collector pauses worth knowing about, logged: a full collection walks every object the
process holds, and with thousands of subscribers that can stall every socket for a second."""

from __future__ import annotations

import gc
import logging
from time import perf_counter
from typing import Any

log = logging.getLogger("stockgraph.gc")
SLOW_SECONDS = 0.1


class PauseLog:
    def __init__(self, slow_seconds: float = SLOW_SECONDS) -> None:
        self.slow = slow_seconds
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = perf_counter()
            return
        took = perf_counter() - self._started
        if took >= self.slow:
            log.warning("garbage collection of generation %d took %.0f ms (%d collected)",
                        info["generation"], took * 1000, info["collected"])


def watching() -> PauseLog:
    watch = PauseLog()
    gc.callbacks.append(watch)
    return watch
