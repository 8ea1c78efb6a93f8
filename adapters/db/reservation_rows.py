"""Reservations as rows: the statements every way of holding stock shares (one reservation at
a time, a group committed together, a route's holds), and the reading back."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import tables as t
from adapters.db.channel_safety import attach, channel_safety
from adapters.db.posting import LedgerWriter
from adapters.db.rows import aware
from adapters.db.sql import insert_for
from domain import reservation as rules
from domain.location import Channel
from domain.reservation import Reservation, ReservationLine, ReservationStatus, Shortage

ACTIVE = ReservationStatus.ACTIVE.value
r, ln = t.reservation.c, t.reservation_line.c

LOCATIONS = select(t.location).where(t.location.c.id.in_(bindparam("ids", expanding=True)))


@cache
def claim_statement(dialect: str) -> Any:
    """Built once (per request it cost more SQLAlchemy work than running it); values bound.
    RETURNING names the rows inserted: a key already stored returns nothing."""
    return (insert_for(dialect, t.reservation)
            .on_conflict_do_nothing(index_elements=[r.idempotency_key]).returning(r.id))


def reservation_row(draft: Reservation) -> dict[str, Any]:
    return {
        "id": draft.id, "idempotency_key": draft.idempotency_key,
        "fingerprint": draft.fingerprint, "status": draft.status.value,
        "channel": draft.channel.value, "order_ref": draft.order_ref, "actor": draft.actor,
        "created_at": draft.created_at, "expires_at": draft.expires_at,
    }


def line_rows(draft: Reservation) -> list[dict[str, Any]]:
    return [{"reservation_id": draft.id, "sku": x.sku, "location_id": x.location_id,
             "quantity": x.quantity, "short_by": 0, "status": ACTIVE,
             "expires_at": draft.expires_at} for x in draft.lines]


async def load_reservation(conn: AsyncConnection, where: ColumnElement[bool]
                           ) -> Reservation | None:
    found = (await conn.execute(select(t.reservation).where(where))).first()
    if found is None:
        return None
    lines = await conn.execute(
        select(ln.sku, ln.location_id, ln.quantity, ln.short_by)
        .where(ln.reservation_id == found.id).order_by(ln.sku, ln.location_id))
    return Reservation(
        id=found.id, idempotency_key=found.idempotency_key, fingerprint=found.fingerprint,
        status=ReservationStatus(found.status),
        lines=tuple(ReservationLine(x.sku, x.location_id, x.quantity, x.short_by)
                    for x in lines),
        channel=Channel(found.channel), order_ref=found.order_ref, actor=found.actor,
        created_at=aware(found.created_at), expires_at=aware(found.expires_at),
    )


async def shortage(writer: LedgerWriter, short: Sequence[ReservationLine],
                   channel: Channel) -> Shortage:
    """What each short line could have had, as the database has it now."""
    levels = await writer.levels({(x.sku, x.location_id) for x in short}, lock=False)
    safety = await channel_safety(writer.conn, sorted({x.sku for x in short}))
    return Shortage(tuple(
        rules.ShortLine(x.sku, x.location_id, x.quantity,
                        attach(levels[(x.sku, x.location_id)], safety).atp_for(channel))
        if (x.sku, x.location_id) in levels
        else rules.ShortLine(x.sku, x.location_id, x.quantity, 0, stocked=False)
        for x in short))
