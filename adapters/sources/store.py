"""Source configuration and the reported-at times of levels, in the same database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, select

from adapters.db import tables as t
from adapters.db.engine import Database
from adapters.db.rows import aware
from adapters.db.sql import chunks, insert_for
from domain.source import FieldMapping, Paging, SourceMode, VendorSource

_MAPPING_FIELDS = {f.name for f in fields(FieldMapping)}


class SqlAlchemySourceStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def sources(self, ids: Iterable[str] | None = None) -> list[VendorSource]:
        query = select(t.vendor_source).order_by(t.vendor_source.c.location_id)
        if ids is not None:
            query = query.where(t.vendor_source.c.location_id.in_(sorted(set(ids))))
        async with self.db.reader.connect() as conn:
            return [_source_from_row(r) for r in await conn.execute(query)]

    async def save(self, source: VendorSource, now: datetime) -> None:
        row = _row(source, now)
        stmt = insert_for(self.db.dialect, t.vendor_source).values(row)
        async with self.db.writer.begin() as conn:
            await conn.execute(stmt.on_conflict_do_update(
                index_elements=[t.vendor_source.c.location_id],
                set_={k: v for k, v in row.items() if k != "location_id"}))

    async def reported_as_of(
        self, location_id: str, skus: Iterable[str]
    ) -> Mapping[str, datetime]:
        c = t.vendor_level.c
        found: dict[str, datetime] = {}
        async with self.db.reader.connect() as conn:
            for part in chunks(sorted(set(skus))):
                rows = await conn.execute(select(c.sku, c.as_of).where(
                    c.location_id == location_id, c.sku.in_(part)))
                found.update({r.sku: aware(r.as_of) for r in rows})
        return found

    async def mark_reported(
        self, location_id: str, as_of: Mapping[str, datetime], checked_at: datetime
    ) -> None:
        """Record when each SKU's level was vouched for; an as-of never moves back."""
        if not as_of:
            return
        rows = [{"sku": sku, "location_id": location_id, "as_of": _utc(when),
                 "checked_at": _utc(checked_at)} for sku, when in sorted(as_of.items())]
        ins = insert_for(self.db.dialect, t.vendor_level)
        stmt = ins.on_conflict_do_update(
            index_elements=[t.vendor_level.c.sku, t.vendor_level.c.location_id],
            set_={"as_of": case((t.vendor_level.c.as_of < ins.excluded.as_of,
                                 ins.excluded.as_of), else_=t.vendor_level.c.as_of),
                  "checked_at": ins.excluded.checked_at})
        async with self.db.writer.begin() as conn:
            for part in chunks(rows):
                await conn.execute(stmt, list(part))


def _utc(when: datetime) -> datetime:
    # SQLite keeps no offset: every stored time is UTC.
    return when.astimezone(UTC)


def _row(source: VendorSource, now: datetime) -> dict[str, Any]:
    mapping = {**asdict(source.mapping), "paging": source.mapping.paging.value}
    return {
        "location_id": source.location_id, "mode": source.mode.value,
        "base_url": source.base_url, "auth_header": source.auth_header,
        "auth_value": source.auth_value, "mapping": mapping,
        "poll_interval_s": source.poll_interval.total_seconds(),
        "max_age_s": source.max_age.total_seconds(),
        "deadline_ms": round(source.deadline.total_seconds() * 1000), "updated_at": now,
    }


def _source_from_row(r: Any) -> VendorSource:
    stored = {k: v for k, v in dict(r.mapping or {}).items() if k in _MAPPING_FIELDS}
    if "paging" in stored:
        stored["paging"] = Paging(stored["paging"])
    return VendorSource(
        location_id=r.location_id, mode=SourceMode(r.mode), base_url=r.base_url,
        auth_header=r.auth_header, auth_value=r.auth_value, mapping=FieldMapping(**stored),
        poll_interval=timedelta(seconds=r.poll_interval_s),
        max_age=timedelta(seconds=r.max_age_s),
        deadline=timedelta(milliseconds=r.deadline_ms),
    )
