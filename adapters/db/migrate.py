"""Apply Alembic migrations, safely when several instances start at once."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from adapters.db.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# Arbitrary constant: the PostgreSQL advisory lock that serialises concurrent upgrades.
PG_MIGRATION_LOCK = 7_201_311


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def migrate(db: Database) -> None:
    async with db.writer.begin() as conn:
        if not db.is_sqlite:
            await conn.execute(text(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})"))
        await conn.run_sync(_upgrade)


async def is_current(db: Database) -> bool:
    async with db.reader.connect() as conn:
        return await conn.run_sync(_is_current)


def _upgrade(conn: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, "head")


def _is_current(conn: Connection) -> bool:
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    return set(MigrationContext.configure(conn).get_current_heads()) == heads
