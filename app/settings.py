"""Runtime configuration, read from the environment (and `.env`) by pydantic-settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite+aiosqlite:///./var/stockgraph.db"
    broadcast_url: str = "memory://"
    host: str = "127.0.0.1"
    port: int = 8000
    api_keys_file: Path | None = Field(default=None, alias="STOCKGRAPH_API_KEYS_FILE")

    max_batch_size: int = Field(default=5000, ge=1, alias="STOCKGRAPH_MAX_BATCH_SIZE")
    # How far ahead of the server clock a scanner's occurredAt may be (clock skew allowance).
    max_clock_skew_seconds: int = Field(default=300, ge=0, alias="STOCKGRAPH_MAX_CLOCK_SKEW")
    db_pool_size: int = Field(default=20, ge=1, alias="STOCKGRAPH_DB_POOL_SIZE")
    sqlite_busy_timeout_seconds: float = Field(default=30.0, alias="STOCKGRAPH_SQLITE_BUSY_TIMEOUT")
    graphiql: bool = Field(default=True, alias="STOCKGRAPH_GRAPHIQL")
    run_migrations_at_start: bool = Field(default=True, alias="STOCKGRAPH_MIGRATE_AT_START")

    # Reservations (docs/reservations.md).
    reservation_default_ttl_seconds: int = Field(
        default=900, ge=1, alias="STOCKGRAPH_RESERVATION_TTL")
    max_reservation_ttl_seconds: int = Field(
        default=86_400, ge=1, alias="STOCKGRAPH_MAX_RESERVATION_TTL")
    max_reservation_lines: int = Field(default=200, ge=1, alias="STOCKGRAPH_MAX_RESERVATION_LINES")
    # How often each instance's sweeper expires lapsed holds; 0 turns the sweeper off.
    reservation_sweep_seconds: float = Field(
        default=5.0, ge=0, alias="STOCKGRAPH_RESERVATION_SWEEP_INTERVAL")
