"""A circuit breaker per source: stop calling a source that keeps failing, try again later.

Small enough to keep here (the async breaker libraries on PyPI either hide their state, which
the read path must see without making a call, or tie the cool-down to the wall clock, which
tests cannot steer): CLOSED lets calls through and counts consecutive failures; at the
threshold it turns OPEN and refuses every call for the cool-down; then HALF_OPEN lets one
trial call through: success closes it, failure opens it again for another cool-down.
"""

from __future__ import annotations

import time
from collections.abc import Callable

CLOSED = "CLOSED"
OPEN = "OPEN"
HALF_OPEN = "HALF_OPEN"


class CircuitBreaker:
    def __init__(self, failures: int, cooldown: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = failures
        self.cooldown = cooldown
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.trial_running = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return CLOSED
        if self.clock() - self.opened_at < self.cooldown:
            return OPEN
        return HALF_OPEN

    def allow(self) -> bool:
        """May a call go out now? In HALF_OPEN only one trial at a time."""
        state = self.state
        if state == CLOSED:
            return True
        if state == OPEN or self.trial_running:
            return False
        self.trial_running = True
        return True

    def succeeded(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.trial_running = False

    def failed(self) -> None:
        self.failures += 1
        if self.trial_running or self.failures >= self.threshold:
            self.opened_at = self.clock()
        self.trial_running = False

    def abandoned(self) -> None:
        """The call was cancelled before it could tell: let another trial go."""
        self.trial_running = False


class BreakerBoard:
    """One breaker per source, made on first use."""

    def __init__(self, failures: int, cooldown: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.failures = failures
        self.cooldown = cooldown
        self.clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def __getitem__(self, source_id: str) -> CircuitBreaker:
        found = self._breakers.get(source_id)
        if found is None:
            found = self._breakers[source_id] = CircuitBreaker(
                self.failures, self.cooldown, self.clock)
        return found
