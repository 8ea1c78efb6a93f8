"""Runtime configuration, read from the environment (and `.env`) by pydantic-settings."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
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
    # One log line per HTTP request (uvicorn's access log). Off by default: at a few thousand
    # requests/s it is a tenth of the server's CPU, and a proxy in front usually logs requests.
    access_log: bool = Field(default=False, alias="STOCKGRAPH_ACCESS_LOG")
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

    # Subscriptions (docs/subscriptions.md). Pub/sub ignores Redis db numbers: instances that
    # must not see each other's changes need different channel prefixes.
    broadcast_channel_prefix: str = Field(default="stockgraph:",
                                          alias="STOCKGRAPH_BROADCAST_CHANNEL_PREFIX")
    # Messages the hub may leave unread on the broadcast before it resubscribes and catches up.
    broadcast_max_queue: int = Field(default=10_000, ge=1, alias="STOCKGRAPH_BROADCAST_MAX_QUEUE")
    # Messages waiting for one slow WebSocket connection before it is cut off.
    subscription_send_queue: int = Field(default=1000, ge=1,
                                         alias="STOCKGRAPH_SUBSCRIPTION_SEND_QUEUE")
    # Changes a resuming availabilityChanged(after:) may be behind; more is an error.
    subscription_max_replay: int = Field(default=10_000, ge=1,
                                         alias="STOCKGRAPH_SUBSCRIPTION_MAX_REPLAY")
    # How often the hub compares the ledger's tail with what it delivered (lost messages).
    subscription_tail_check_seconds: float = Field(
        default=1.0, gt=0, alias="STOCKGRAPH_SUBSCRIPTION_TAIL_CHECK")
    # graphql-transport-ws `ping` / graphql-ws `ka` every this many seconds; 0: none.
    ws_keepalive_seconds: float = Field(default=15.0, ge=0, alias="STOCKGRAPH_WS_KEEPALIVE")
    # permessage-deflate costs ~30 KiB of zlib state per connection and CPU per message.
    ws_compression: bool = Field(default=False, alias="STOCKGRAPH_WS_COMPRESSION")

    # Replenishment (docs/replenishment.md): new requests are POSTed here, signed with the
    # secret (HMAC-SHA256), from the outbox, by a sender on every instance. No URL: no webhook.
    webhook_url: str | None = Field(default=None, alias="STOCKGRAPH_WEBHOOK_URL")
    webhook_secret: SecretStr | None = Field(default=None, alias="STOCKGRAPH_WEBHOOK_SECRET")
    webhook_connect_timeout_seconds: float = Field(
        default=2.0, gt=0, alias="STOCKGRAPH_WEBHOOK_CONNECT_TIMEOUT")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, alias="STOCKGRAPH_WEBHOOK_TIMEOUT")
    # How often each instance's sender looks for due deliveries.
    webhook_poll_seconds: float = Field(default=1.0, gt=0, alias="STOCKGRAPH_WEBHOOK_POLL_INTERVAL")
    # Retries wait backoff * 2^(attempt-1), at most the cap, times a jitter in [0.5, 1].
    webhook_backoff_seconds: float = Field(default=1.0, gt=0, alias="STOCKGRAPH_WEBHOOK_BACKOFF")
    webhook_backoff_cap_seconds: float = Field(
        default=300.0, gt=0, alias="STOCKGRAPH_WEBHOOK_BACKOFF_CAP")
    # 4xx answers (the receiver refuses the request itself) before a delivery is parked FAILED.
    webhook_max_rejections: int = Field(default=5, ge=1, alias="STOCKGRAPH_WEBHOOK_MAX_REJECTIONS")
    # A claimed delivery is another sender's to retry after this long (a crashed sender's).
    webhook_lease_seconds: float = Field(default=60.0, gt=0, alias="STOCKGRAPH_WEBHOOK_LEASE")
    webhook_batch: int = Field(default=20, ge=1, le=500, alias="STOCKGRAPH_WEBHOOK_BATCH")
    # ABC classification: suggested days between cycle counts per class.
    abc_count_days_a: int = Field(default=30, ge=1, alias="STOCKGRAPH_ABC_COUNT_DAYS_A")
    abc_count_days_b: int = Field(default=91, ge=1, alias="STOCKGRAPH_ABC_COUNT_DAYS_B")
    abc_count_days_c: int = Field(default=365, ge=1, alias="STOCKGRAPH_ABC_COUNT_DAYS_C")

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"STOCKGRAPH_WEBHOOK_URL must be an http:// or https:// URL with "
                             f"a host, got {url!r}")
        return url.strip()

    @model_validator(mode="after")
    def _webhook_complete(self) -> Settings:
        if self.webhook_url and not (self.webhook_secret and
                                     self.webhook_secret.get_secret_value()):
            raise ValueError("STOCKGRAPH_WEBHOOK_URL is set without STOCKGRAPH_WEBHOOK_SECRET: "
                             "the purchasing system could not tell our requests from forgeries")
        if self.webhook_lease_seconds <= self.webhook_connect_timeout_seconds + \
                self.webhook_timeout_seconds:
            raise ValueError("STOCKGRAPH_WEBHOOK_LEASE must be longer than the webhook's "
                             "connect and read timeouts together")
        return self
