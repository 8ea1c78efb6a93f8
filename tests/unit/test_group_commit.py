"""Group commit's queue (adapters/db/group_commit.py): who goes together, who waits, and how
each caller gets its own answer."""

from __future__ import annotations

import asyncio

import pytest

from adapters.db.group_commit import GroupCommit


class Runs:
    def __init__(self, fail_on: str | None = None) -> None:
        self.groups: list[list[str]] = []
        self.fail_on = fail_on
        self.release = asyncio.Event()
        self.release.set()
        self.started = asyncio.Event()

    async def __call__(self, items: list[str]) -> list[str | BaseException]:
        self.groups.append(items)
        self.started.set()
        await self.release.wait()
        if self.fail_on in items:
            raise RuntimeError("the whole group failed")
        return [ValueError(x) if x.startswith("bad") else x.upper() for x in items]


def queue(runs: Runs, limit: int = 10) -> GroupCommit[str, str]:
    return GroupCommit(runs, key=lambda x: x.split("#")[0], size=len, limit=limit)


async def _running_first() -> tuple[Runs, GroupCommit[str, str], asyncio.Future[str]]:
    """A queue whose first group ("a") is running and held until `runs.release` is set."""
    runs = Runs()
    runs.release.clear()
    q = queue(runs, limit=100)
    first = asyncio.ensure_future(q.submit("a"))
    await runs.started.wait()
    return runs, q, first


async def test_a_lone_request_runs_at_once_and_a_crowd_goes_together() -> None:
    runs = Runs()
    q = queue(runs, limit=100)
    assert await q.submit("a") == "A"
    assert await asyncio.gather(*(q.submit(x) for x in "bcd")) == ["B", "C", "D"]
    assert runs.groups == [["a"], ["b", "c", "d"]] and q.largest == 3


async def test_arrivals_during_a_run_wait_for_the_next_group() -> None:
    runs, q, first = await _running_first()
    later = [asyncio.ensure_future(q.submit(x)) for x in "bc"]
    runs.release.set()
    assert [await first, *[await x for x in later]] == ["A", "B", "C"]
    assert runs.groups == [["a"], ["b", "c"]]


async def test_one_key_twice_and_the_size_limit_split_groups() -> None:
    runs = Runs()
    q = queue(runs, limit=4)
    answers = await asyncio.gather(*(q.submit(x) for x in ("k#1", "k#2", "xy", "zw")))
    assert answers == ["K#1", "K#2", "XY", "ZW"]
    assert runs.groups == [["k#1"], ["k#2"], ["xy", "zw"]]  # k#2 + xy is 5 > 4


async def test_each_caller_gets_its_own_error_or_the_groups() -> None:
    runs = Runs(fail_on="boom")
    q = queue(runs, limit=100)
    good, bad = await asyncio.gather(q.submit("ok"), q.submit("bad"), return_exceptions=True)
    assert good == "OK" and isinstance(bad, ValueError)
    failed = await asyncio.gather(q.submit("x"), q.submit("boom"), return_exceptions=True)
    assert all(isinstance(f, RuntimeError) for f in failed)
    assert await q.submit("after") == "AFTER"  # the queue goes on


async def test_a_caller_that_gave_up_before_its_turn_is_never_run() -> None:
    runs, q, first = await _running_first()
    quitter = asyncio.ensure_future(q.submit("gone"))
    stayer = asyncio.ensure_future(q.submit("b"))
    await asyncio.sleep(0)
    quitter.cancel()
    runs.release.set()
    assert await first == "A" and await stayer == "B"
    with pytest.raises(asyncio.CancelledError):
        await quitter
    assert runs.groups == [["a"], ["b"]]
