"""Reality wins over promises: which live holds the sellable units at a level no longer
cover (domain.reservation.shortfalls), kept on the reservation lines as `short_by`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, false, or_, select

from adapters.db import tables as t
from adapters.db.posting import LedgerWriter, Posting
from domain import reservation as rules
from domain.events import StockChanged
from domain.movement import Effect
from domain.ports import Pair
from domain.stock import Delta, StockLevel

ACTIVE = rules.ReservationStatus.ACTIVE.value
ln = t.reservation_line.c


async def refresh_marks(
    writer: LedgerWriter, pairs: set[Pair], lock: bool = False
) -> list[StockChanged]:
    """Re-mark shortfalls at `pairs`; newly short holds are announced as HOLD_SHORT."""
    levels = await writer.levels(pairs, lock=lock)
    tight = {p for p, lv in levels.items() if lv.reserved > lv.sellable}
    conn = writer.conn
    if pairs - tight:
        await conn.execute(t.reservation_line.update()
                           .where(ln.status == ACTIVE, ln.short_by > 0,
                                  at_pairs(sorted(pairs - tight)))
                           .values(short_by=0))
    if not tight:
        return []
    lines = (await conn.execute(
        select(ln.id, ln.reservation_id, ln.sku, ln.location_id, ln.quantity, ln.short_by)
        .where(ln.status == ACTIVE, ln.expires_at > writer.now, at_pairs(sorted(tight)))
        .order_by(ln.id.desc()))).all()
    marks = _marks(levels, lines)
    changed = [x for x in lines if marks[x.id] != x.short_by]
    if changed:
        await conn.execute(
            t.reservation_line.update().where(ln.id == bindparam("k_id"))
            .values(short_by=bindparam("v_short")),
            [{"k_id": x.id, "v_short": marks[x.id]} for x in changed])
    newly = [x for x in changed if marks[x.id] > x.short_by]
    postings = [Posting(rules.HOLD_SHORT, x.reservation_id,
                        Effect(x.sku, x.location_id, Delta())) for x in newly]
    sequences = await writer.entries(postings)
    return [StockChanged(seq, levels[(p.effect.sku, p.effect.location_id)], rules.HOLD_SHORT,
                         writer.now) for seq, p in zip(sequences, postings, strict=True)]


def _marks(levels: Mapping[Pair, StockLevel], lines: Sequence[Any]) -> dict[int, int]:
    """`short_by` per line id; `lines` are the live holds, newest first."""
    by_pair: dict[Pair, list[rules.Hold]] = {}
    for x in lines:
        by_pair.setdefault((x.sku, x.location_id), []).append(rules.Hold(x.id, x.quantity))
    marks: dict[int, int] = {}
    for pair, holds in by_pair.items():
        marks |= rules.shortfalls(levels[pair].sellable, holds)
    return marks


def at_pairs(pairs: Sequence[Pair]) -> ColumnElement[bool]:
    """Lines at any of `pairs`, in a form both engines answer from the line index."""
    if not pairs:
        return false()
    return or_(*[and_(ln.sku == sku, ln.location_id == loc) for sku, loc in pairs])
