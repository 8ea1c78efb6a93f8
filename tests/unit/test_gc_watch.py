"""Collector pauses (app/gc_watch.py): a slow one is logged and a slow full one freezes its
survivors; the thaw gives them back to the collector."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from app.gc_watch import PauseLog, watching


async def test_a_slow_full_collection_is_logged_and_its_survivors_frozen(
    caplog: pytest.LogCaptureFixture,
) -> None:
    frozen_before = gc.get_freeze_count()
    slow = PauseLog(asyncio.get_running_loop(), slow_seconds=0.0)
    quick = PauseLog(asyncio.get_running_loop(), slow_seconds=3600.0)
    gc.callbacks.extend([slow, quick])
    try:
        with caplog.at_level(logging.WARNING, logger="stockgraph.gc"):
            gc.collect()
        await asyncio.sleep(0)  # the freeze runs on the loop, after the collection
        [record] = [r for r in caplog.records if r.name == "stockgraph.gc"]
        assert record.getMessage().startswith("garbage collection of generation 2 took")
        assert slow.freezes == 1 and quick.freezes == 0
        assert gc.get_freeze_count() > frozen_before
    finally:
        gc.callbacks.remove(slow)
        gc.callbacks.remove(quick)
        gc.unfreeze()


async def test_the_thaw_gives_frozen_objects_back() -> None:
    gc.freeze()
    assert gc.get_freeze_count() > 0
    async with watching(thaw_seconds=0.01) as watch, asyncio.timeout(10):
        while gc.get_freeze_count():  # noqa: ASYNC110 (the thaw has no event to wait on)
            await asyncio.sleep(0.01)
        assert watch in gc.callbacks
    assert watch not in gc.callbacks
