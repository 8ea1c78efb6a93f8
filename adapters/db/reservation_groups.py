"""Reservations that arrived together, held in one transaction (group commit).

One reservation alone costs about eight statements and a commit; on a hot SKU each one also
waits for the previous one's commit to get the level's row. A group costs the same eight
statements and one commit for all of its reservations:

- the levels the group touches are read and locked once (PostgreSQL: FOR UPDATE in key order,
  so two groups never deadlock; SQLite: the writer's BEGIN IMMEDIATE), with their per-channel
  safety stock;
- the reservations are then decided one by one, in the order they arrived, against the levels
  as the earlier ones left them: each one all or nothing, by the one ATP rule
  (StockLevel.atp_for), exactly as if they had run one after the other;
- a refused reservation leaves no row behind: its claim (the idempotency key's row) is deleted
  in the same transaction, so nothing it asked for is held.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import tables as t
from adapters.db.channel_safety import ChannelSafety, attach
from adapters.db.group_statements import (
    CoreStatements,
    DriverStatements,
    GroupStatements,
    Read,
)
from adapters.db.posting import Posting
from adapters.db.replenishment import raise_requests
from adapters.db.reservation_rows import load_reservation
from domain import reservation as rules
from domain.events import StockChanged
from domain.location import Location
from domain.movement import Effect
from domain.ports import Pair
from domain.reservation import Reservation, Shortage, ShortLine
from domain.stock import Delta, StockLevel

Outcome = tuple[Reservation | Shortage, list[StockChanged]]
Expirer = Callable[[AsyncConnection, Sequence[Pair], datetime], Awaitable[list[StockChanged]]]
r = t.reservation.c


@dataclass(frozen=True, slots=True)
class Asked:
    draft: Reservation
    admit: Callable[[Mapping[str, Location]], None]


async def hold_group(
    conn: AsyncConnection, dialect: str, lock: bool, group: Sequence[Asked],
    expire_overdue: Expirer,
) -> list[Outcome | Exception]:
    """Every reservation of `group` held or refused, in one transaction the caller opened:
    per reservation, its outcome, or the exception meant for its caller alone."""
    answers: list[Outcome | Exception | None] = [None] * len(group)
    statements: GroupStatements = (
        DriverStatements(conn) if dialect == "postgresql" else CoreStatements(conn, dialect))
    # Claimed and read before admission, in one statement: a draft its caller may not make
    # is answered with the refusal, and its claim is taken back in the same transaction.
    drafts = [a.draft for a in group]
    opened = await statements.claim_and_read(
        drafts, {(x.sku, x.location_id) for d in drafts for x in d.lines}, lock)
    holding: list[int] = []
    unclaimed: list[str] = []
    for i, asked in enumerate(group):
        fresh = asked.draft.id in opened.claimed
        try:
            asked.admit(opened.places)
        except Exception as exc:  # this caller's bad input: the others go on
            answers[i] = exc
            if fresh:
                unclaimed.append(asked.draft.id)
            continue
        if fresh:
            holding.append(i)
        else:  # a retry: answer what its key holds
            found = await load_reservation(conn, r.idempotency_key == asked.draft.idempotency_key)
            assert found is not None, "a conflicting key is visible once its holder commits"
            answers[i] = (found, [])
    if holding:
        decided = await _hold(conn, statements, dialect, lock,
                              [group[i].draft for i in holding], opened.read, unclaimed,
                              expire_overdue)
        for i, outcome in zip(holding, decided, strict=True):
            answers[i] = outcome
    elif unclaimed:  # only refused callers' claims to take back
        await statements.write([], unclaimed, {}, [], [], max(d.created_at for d in drafts))
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


async def _hold(
    conn: AsyncConnection, statements: GroupStatements, dialect: str, lock: bool,
    drafts: Sequence[Reservation], read: Read, unclaimed: Sequence[str],
    expire_overdue: Expirer,
) -> list[Outcome]:
    """`drafts` held or refused against the levels `read`; the claims of the refused and of
    `unclaimed` taken back."""
    now = max(d.created_at for d in drafts)
    pairs = {(x.sku, x.location_id) for d in drafts for x in d.lines}
    safety = read.safety
    decided = _decide(drafts, read.levels, safety, now)
    expired: list[StockChanged] = []
    short_pairs = sorted({(x.sku, x.location_id) for d in decided.refused.values()
                          for x in d.lines})
    if short_pairs:  # lapsed holds may be in the way: give them back, then decide again
        expired = await expire_overdue(conn, short_pairs, now)
        if expired:
            decided = _decide(drafts, (await statements.read(pairs, lock=lock)).levels, safety,
                              now)
    held = [d for d in drafts if d.id not in decided.refused]
    postings = [Posting(rules.RESERVE, d.id, Effect(x.sku, x.location_id,
                                                    Delta(reserved=x.quantity)))
                for d in held for x in d.lines]
    sequences = await statements.write(
        held, [*decided.refused.keys(), *unclaimed], decided.totals, postings,
        [d.actor for d in held for _ in d.lines], now)
    changes = expired + [StockChanged(seq, level, rules.RESERVE, now)
                         for seq, level in zip(sequences, decided.after, strict=True)]
    changes = await raise_requests(conn, dialect, now, changes, decided.totals.keys(),
                                   read.rules)
    return _answers(drafts, decided, changes, len(expired))


@dataclass(frozen=True, slots=True)
class _Decided:
    refused: dict[str, Shortage]  # by reservation id
    after: list[StockLevel]  # the level after each held line, in order
    totals: dict[Pair, int]  # units newly held per level


def _decide(drafts: Sequence[Reservation], levels: Mapping[Pair, StockLevel],
            safety: Mapping[Pair, ChannelSafety], now: datetime) -> _Decided:
    """Each draft in turn against the levels the earlier ones left: all of it, or refused."""
    running = dict(levels)
    refused: dict[str, Shortage] = {}
    after: list[StockLevel] = []
    totals: dict[Pair, int] = {}
    for d in drafts:
        short: list[ShortLine] = []
        for x in d.lines:
            level = running.get((x.sku, x.location_id))
            if level is None:
                short.append(ShortLine(x.sku, x.location_id, x.quantity, 0, stocked=False))
                continue
            available = attach(level, safety).atp_for(d.channel)
            if available < x.quantity:
                short.append(ShortLine(x.sku, x.location_id, x.quantity, available))
        if short:
            refused[d.id] = Shortage(tuple(short))
            continue
        for x in d.lines:
            pair = (x.sku, x.location_id)
            running[pair] = replace(running[pair], reserved=running[pair].reserved + x.quantity,
                                    updated_at=now)
            after.append(running[pair])
            totals[pair] = totals.get(pair, 0) + x.quantity
    return _Decided(refused, after, totals)


def _answers(drafts: Sequence[Reservation], decided: _Decided, changes: list[StockChanged],
             expired: int) -> list[Outcome]:
    """Each draft's own changes (the expiries, if any, go out with the first answer)."""
    out: list[Outcome] = []
    at = expired
    for n, d in enumerate(drafts):
        mine = changes[:expired] if n == 0 else []
        if d.id in decided.refused:
            out.append((decided.refused[d.id], mine))
            continue
        out.append((d, mine + changes[at:at + len(d.lines)]))
        at += len(d.lines)
    return out
