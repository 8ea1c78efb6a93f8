"""Collector pauses past the threshold are logged (app/gc_watch.py); short ones are not."""

from __future__ import annotations

import gc
import logging

import pytest

from app.gc_watch import PauseLog


def test_a_collection_past_the_threshold_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    slow, quick = PauseLog(slow_seconds=0.0), PauseLog(slow_seconds=3600.0)
    gc.callbacks.extend([slow, quick])
    try:
        with caplog.at_level(logging.WARNING, logger="stockgraph.gc"):
            gc.collect()
    finally:
        gc.callbacks.remove(slow)
        gc.callbacks.remove(quick)
    [record] = [r for r in caplog.records if r.name == "stockgraph.gc"]
    assert record.getMessage().startswith("garbage collection of generation 2 took")
