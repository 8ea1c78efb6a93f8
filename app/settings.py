"""Runtime configuration, read from the environment (and `.env`) by pydantic-settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite+aiosqlite:///./var/stockgraph.db"
    broadcast_url: str = "memory://"
    # The bind address (`stockgraph serve --host` sets it): without a keys file the server
    # runs open only on a loopback address and refuses to start on any other.
    host: str = Field(default="127.0.0.1", alias="STOCKGRAPH_HOST")
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

    # Access limits (docs/access.md explains each one).
    max_query_depth: int = Field(default=12, ge=1, alias="STOCKGRAPH_MAX_QUERY_DEPTH")
    max_query_cost: int = Field(default=50_000, ge=1, alias="STOCKGRAPH_MAX_QUERY_COST")
    max_aliases: int = Field(default=100, ge=0, alias="STOCKGRAPH_MAX_ALIASES")
    max_query_tokens: int = Field(default=10_000, ge=100, alias="STOCKGRAPH_MAX_QUERY_TOKENS")
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024,
                                alias="STOCKGRAPH_MAX_BODY_BYTES")
    # Per key and per process; 0 turns the rate limit off.
    rate_limit_per_second: float = Field(default=50.0, ge=0, alias="STOCKGRAPH_RATE_LIMIT")
    rate_limit_burst: int = Field(default=100, ge=1, alias="STOCKGRAPH_RATE_LIMIT_BURST")
    max_subscriptions_per_connection: int = Field(
        default=100, ge=1, alias="STOCKGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION")
    max_connections_per_key: int = Field(
        default=200, ge=1, alias="STOCKGRAPH_MAX_CONNECTIONS_PER_KEY")
    ws_init_timeout_seconds: float = Field(default=10.0, gt=0, alias="STOCKGRAPH_WS_INIT_TIMEOUT")
    introspection: bool = Field(default=True, alias="STOCKGRAPH_INTROSPECTION")

    # Sources of reported levels (docs/sources.md). Per-source terms (max age, deadline, poll
    # interval) are set with setVendorSource; these are the HTTP client's and poller's.
    vendor_poller: bool = Field(default=True, alias="STOCKGRAPH_VENDOR_POLLER")
    vendor_poll_tick_seconds: float = Field(default=1.0, gt=0, alias="STOCKGRAPH_VENDOR_POLL_TICK")
    vendor_connect_timeout_seconds: float = Field(
        default=2.0, gt=0, alias="STOCKGRAPH_VENDOR_CONNECT_TIMEOUT")
    vendor_read_timeout_seconds: float = Field(
        default=5.0, gt=0, alias="STOCKGRAPH_VENDOR_READ_TIMEOUT")
    vendor_retries: int = Field(default=2, ge=0, le=10, alias="STOCKGRAPH_VENDOR_RETRIES")
    vendor_retry_backoff_seconds: float = Field(
        default=0.2, ge=0, alias="STOCKGRAPH_VENDOR_RETRY_BACKOFF")
    vendor_breaker_failures: int = Field(
        default=5, ge=1, alias="STOCKGRAPH_VENDOR_BREAKER_FAILURES")
    vendor_breaker_cooldown_seconds: float = Field(
        default=30.0, gt=0, alias="STOCKGRAPH_VENDOR_BREAKER_COOLDOWN")
    vendor_max_lines: int = Field(default=5000, ge=1, alias="STOCKGRAPH_VENDOR_MAX_LINES")
    vendor_max_response_bytes: int = Field(
        default=5_000_000, ge=1024, alias="STOCKGRAPH_VENDOR_MAX_RESPONSE_BYTES")
    # Where `stockgraph demo` points the demo's pull vendor (the vendor simulator of `make run`).
    demo_vendor_url: str = Field(
        default="http://127.0.0.1:8100", alias="STOCKGRAPH_DEMO_VENDOR_URL")

    # Routing (docs/routing.md): most lines an order given to pickupOptions/routeOrder may hold.
    max_order_lines: int = Field(default=200, ge=1, alias="STOCKGRAPH_MAX_ORDER_LINES")
