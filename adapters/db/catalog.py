"""Locations and SKUs: reference data written by admins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from adapters.db import tables as t
from adapters.db.engine import Database
from adapters.db.sql import insert_for
from domain.location import Location


class SqlAlchemyCatalog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert_location(self, location: Location, now: datetime) -> Location:
        row = {**asdict(location), "kind": location.kind.value, "updated_at": now}
        stmt = insert_for(self.db.dialect, t.location).values(row)
        async with self.db.writer.begin() as conn:
            await conn.execute(stmt.on_conflict_do_update(
                index_elements=[t.location.c.id],
                set_={k: v for k, v in row.items() if k != "id"},
            ))
        return location

    async def upsert_sku(
        self, sku: str, name: str | None, barcodes: Sequence[str] | None, now: datetime,
        unit_cost: float | None = None,
    ) -> None:
        row = {"sku": sku, "name": name, "barcodes": list(barcodes or []), "updated_at": now,
               "unit_cost": unit_cost}
        stmt = insert_for(self.db.dialect, t.sku).values(row)
        changes: dict[str, object] = {"updated_at": now}
        if name is not None:
            changes["name"] = name
        if barcodes is not None:
            changes["barcodes"] = list(barcodes)
        if unit_cost is not None:
            changes["unit_cost"] = unit_cost
        async with self.db.writer.begin() as conn:
            await conn.execute(stmt.on_conflict_do_update(
                index_elements=[t.sku.c.sku], set_=changes))
