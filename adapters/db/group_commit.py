"""Group commit: requests that arrive while a transaction is running wait, then go together in
the next one. Nothing waits on a timer: a lone request runs at once, and under load each
transaction takes whatever queued while the previous one ran (up to a limit)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass(slots=True)
class Waiting(Generic[In, Out]):
    item: In
    future: asyncio.Future[Out] = field(repr=False)


# The runner answers every item it was given: a result, or the exception for that item alone.
Runner = Callable[[list[In]], Awaitable[list[Out | BaseException]]]


class GroupCommit(Generic[In, Out]):
    def __init__(self, run: Runner[In, Out], key: Callable[[In], Hashable],
                 size: Callable[[In], int], limit: int) -> None:
        """`key`: two items with one key never share a group (the second waits for the next);
        `size` and `limit` cap a group's work (at least one item always goes)."""
        self._run, self._key, self._size, self._limit = run, key, size, limit
        self._queue: list[Waiting[In, Out]] = []
        self._worker: asyncio.Task[None] | None = None
        self.largest = 0  # the most items one group has held so far (logs, tests)

    @property
    def waiting(self) -> int:
        """Items queued for a later group."""
        return len(self._queue)

    async def submit(self, item: In) -> Out:
        waiting: Waiting[In, Out] = Waiting(item, asyncio.get_running_loop().create_future())
        self._queue.append(waiting)
        if self._worker is None:
            self._worker = asyncio.create_task(self._drain(), name="group-commit")
        return await waiting.future

    async def _drain(self) -> None:
        try:
            while self._queue:
                group = self._take()
                if not group:
                    continue
                self.largest = max(self.largest, len(group))
                try:
                    answers = await self._run([w.item for w in group])
                except BaseException as exc:
                    for w in group:
                        if not w.future.done():
                            w.future.set_exception(exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    continue
                for w, answer in zip(group, answers, strict=True):
                    if w.future.done():  # its caller gave up (cancelled) meanwhile
                        continue
                    if isinstance(answer, BaseException):
                        w.future.set_exception(answer)
                    else:
                        w.future.set_result(answer)
        finally:
            self._worker = None
            for w in self._queue:  # only when cancelled: nobody is left to run them
                if not w.future.done():
                    w.future.cancel()
            self._queue.clear()

    def _take(self) -> list[Waiting[In, Out]]:
        group: list[Waiting[In, Out]] = []
        later: list[Waiting[In, Out]] = []
        keys: set[Hashable] = set()
        work = 0
        for w in self._queue:
            if w.future.done():  # cancelled before its turn: never run
                continue
            key, size = self._key(w.item), self._size(w.item)
            if key in keys or (group and work + size > self._limit):
                later.append(w)
                continue
            keys.add(key)
            work += size
            group.append(w)
        self._queue = later
        return group
