"""SQLAlchemy Core tables. Quantities live in `stock_level`; `ledger_entry` explains them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid alias).
Serial = BigInteger().with_variant(Integer(), "sqlite")
Timestamp = DateTime(timezone=True)
Text = String(200)
# `stamp` columns: set by triggers on every insert and update (migration 0006), never by us;
# what the levels read kept is checked against (adapters/db/queries.py `_fingerprint`).

location = Table(
    "location",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("pickup_enabled", Boolean, nullable=False, default=False),
    Column("ship_enabled", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", Timestamp, nullable=False),
    Column("stamp", BigInteger, nullable=False, server_default=text("0")),
)

sku = Table(
    "sku",
    metadata,
    Column("sku", Text, primary_key=True),
    Column("name", Text),
    Column("barcodes", JSON, nullable=False, default=list),
    Column("updated_at", Timestamp, nullable=False),
    # What one unit is worth (ABC classification values outflows with it); NULL: not known.
    Column("unit_cost", Float),
)

stock_level = Table(
    "stock_level",
    metadata,
    Column("sku", Text, ForeignKey("sku.sku"), primary_key=True),
    Column("location_id", Text, ForeignKey("location.id"), primary_key=True),
    Column("on_hand", Integer, nullable=False, default=0),
    Column("reserved", Integer, nullable=False, default=0),
    Column("safety_stock", Integer, nullable=False, default=0),
    Column("inbound", Integer, nullable=False, default=0),
    Column("unsellable", Integer, nullable=False, default=0),
    Column("updated_at", Timestamp, nullable=False),
    Column("stamp", BigInteger, nullable=False, server_default=text("0")),
    CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    CheckConstraint("safety_stock >= 0", name="safety_stock_not_negative"),
    CheckConstraint("inbound >= 0", name="inbound_not_negative"),
    CheckConstraint("unsellable >= 0 AND unsellable <= on_hand", name="unsellable_within_on_hand"),
    Index("ix_stock_level_location_id", "location_id"),
)

bin_level = Table(
    "bin_level",
    metadata,
    Column("sku", Text, primary_key=True),
    Column("location_id", Text, primary_key=True),
    Column("bin", Text, primary_key=True),
    Column("quantity", Integer, nullable=False),
    CheckConstraint("quantity >= 0", name="quantity_not_negative"),
)

movement = Table(
    "movement",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("event_id", Text, nullable=False, unique=True),
    Column("fingerprint", String(64), nullable=False),
    Column("type", String(20), nullable=False),
    Column("sku", Text, nullable=False),
    Column("location_id", Text, nullable=False),
    Column("to_location_id", Text),
    Column("bin", Text),
    Column("to_bin", Text),
    Column("quantity", Integer, nullable=False),
    Column("occurred_at", Timestamp),
    Column("recorded_at", Timestamp, nullable=False),
    Column("reference", Text),
    Column("device_id", Text),
    Column("actor", Text, nullable=False),
)

# One row per change to one level; its id is the `sequence` that orders every change.
ledger_entry = Table(
    "ledger_entry",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("cause", String(30), nullable=False),
    # The movement's eventId, or the reservation's id, behind this change.
    Column("source_id", Text),
    Column("sku", Text, nullable=False),
    Column("location_id", Text, nullable=False),
    Column("d_on_hand", Integer, nullable=False, default=0),
    Column("d_reserved", Integer, nullable=False, default=0),
    Column("d_inbound", Integer, nullable=False, default=0),
    Column("d_unsellable", Integer, nullable=False, default=0),
    Column("bins", JSON, nullable=False, default=dict),
    Column("occurred_at", Timestamp, nullable=False),
    Column("recorded_at", Timestamp, nullable=False),
    Column("actor", Text, nullable=False),
    Index("ix_ledger_entry_sku_location_id", "sku", "location_id"),
)

reservation = Table(
    "reservation",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("idempotency_key", Text, nullable=False, unique=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status", String(10), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("order_ref", Text),
    Column("actor", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp),
    Index("ix_reservation_status_expires_at", "status", "expires_at"),
)

# `status` and `expires_at` repeat the reservation's so that the hot reads (live holds at a
# level, read-time expiry) use one partial index over ACTIVE lines only.
reservation_line = Table(
    "reservation_line",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("reservation_id", String(36), ForeignKey("reservation.id"), nullable=False),
    Column("sku", Text, nullable=False),
    Column("location_id", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("short_by", Integer, nullable=False, default=0),
    Column("status", String(10), nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("stamp", BigInteger, nullable=False, server_default=text("0")),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint("short_by >= 0 AND short_by <= quantity", name="short_by_within_quantity"),
    UniqueConstraint("reservation_id", "sku", "location_id"),
    Index("ix_reservation_line_active", "sku", "location_id", "expires_at",
          sqlite_where=text("status = 'ACTIVE'"), postgresql_where=text("status = 'ACTIVE'")),
)

# Where a location's levels come from when another system reports them (domain/source.py).
# `auth_value` is a secret: the API never returns it and nothing logs it.
vendor_source = Table(
    "vendor_source",
    metadata,
    Column("location_id", Text, ForeignKey("location.id"), primary_key=True),
    Column("mode", String(10), nullable=False),
    Column("base_url", String(500)),
    Column("auth_header", Text),
    Column("auth_value", String(1000)),
    Column("mapping", JSON, nullable=False, default=dict),
    Column("poll_interval_s", Float, nullable=False),
    Column("max_age_s", Float, nullable=False),
    Column("deadline_ms", Integer, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("stamp", BigInteger, nullable=False, server_default=text("0")),
    CheckConstraint("mode IN ('PUSH', 'PULL')", name="mode_known"),
)

# When a source last vouched for its level of one SKU (its asOf, else when we fetched it),
# read together with the levels to decide freshness.
vendor_level = Table(
    "vendor_level",
    metadata,
    Column("sku", Text, primary_key=True),
    Column("location_id", Text, ForeignKey("location.id"), primary_key=True),
    Column("as_of", Timestamp, nullable=False),
    Column("checked_at", Timestamp, nullable=False),
    Column("stamp", BigInteger, nullable=False, server_default=text("0")),
)

# Routing knobs per location (domain/routing.py LocationPolicy); no row: the defaults.
location_policy = Table(
    "location_policy",
    metadata,
    Column("location_id", Text, ForeignKey("location.id"), primary_key=True),
    Column("daily_shipment_capacity", Integer),
    Column("priority", Integer, nullable=False, default=0),
    Column("handling_cost", Float, nullable=False, default=0.0),
    Column("updated_at", Timestamp, nullable=False),
    CheckConstraint("daily_shipment_capacity IS NULL OR daily_shipment_capacity >= 0",
                    name="capacity_not_negative"),
    CheckConstraint("priority >= 0", name="priority_not_negative"),
    CheckConstraint("handling_cost >= 0", name="handling_cost_not_negative"),
)

# Safety stock for one channel, overriding stock_level.safety_stock there (StockLevel.atp_for).
channel_safety_stock = Table(
    "channel_safety_stock",
    metadata,
    Column("sku", Text, ForeignKey("sku.sku"), primary_key=True),
    Column("location_id", Text, ForeignKey("location.id"), primary_key=True),
    Column("channel", String(10), primary_key=True),
    Column("quantity", Integer, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("stamp", BigInteger, nullable=False, server_default=text("0")),
    CheckConstraint("quantity >= 0", name="quantity_not_negative"),
)

# Shipments reserveRoute reserved per location and UTC day, against the daily capacity.
shipment_count = Table(
    "shipment_count",
    metadata,
    Column("location_id", Text, ForeignKey("location.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("shipments", Integer, nullable=False),
    CheckConstraint("shipments >= 0", name="shipments_not_negative"),
)

# Replenishment (domain/replenishment.py, docs/replenishment.md).
reorder_rule = Table(
    "reorder_rule",
    metadata,
    Column("sku", Text, ForeignKey("sku.sku"), primary_key=True),
    Column("location_id", Text, ForeignKey("location.id"), primary_key=True),
    Column("reorder_point", Integer, nullable=False),
    Column("target_level", Integer, nullable=False),
    Column("fixed_quantity", Integer),
    Column("supplier", Text),
    Column("source_location_id", Text, ForeignKey("location.id")),
    Column("updated_at", Timestamp, nullable=False),
    CheckConstraint("reorder_point >= 0", name="reorder_point_not_negative"),
    CheckConstraint("target_level > reorder_point", name="target_above_point"),
    CheckConstraint("fixed_quantity IS NULL OR fixed_quantity > 0", name="fixed_positive"),
)

OPEN_REQUEST = text("status = 'OPEN'")
replenishment_request = Table(
    "replenishment_request",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("sku", Text, ForeignKey("sku.sku"), nullable=False),
    Column("location_id", Text, ForeignKey("location.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("status", String(10), nullable=False),
    Column("reorder_point", Integer, nullable=False),
    Column("target_level", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("supplier", Text),
    Column("source_location_id", Text),
    Column("created_at", Timestamp, nullable=False),
    Column("closed_at", Timestamp),
    Column("closed_by", Text),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint("status IN ('OPEN', 'FULFILLED', 'CANCELLED')", name="status_known"),
    # At most one OPEN request per SKU and location, however many writers race.
    Index("uq_replenishment_request_open", "sku", "location_id", unique=True,
          sqlite_where=OPEN_REQUEST, postgresql_where=OPEN_REQUEST),
    Index("ix_replenishment_request_status_created_at", "status", "created_at"),
)

# Webhook deliveries, written in the transaction that raised the request (adapters/webhooks).
# `body` is the exact JSON text sent and signed, so every retry sends the same bytes.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(100), nullable=False, unique=True),
    Column("kind", String(40), nullable=False),
    Column("body", String, nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    # Answers that said the request itself is wrong (4xx): bounded before the row is parked.
    Column("rejections", Integer, nullable=False, default=0),
    Column("next_attempt_at", Timestamp, nullable=False),
    # Set when a sender claims the row; its answer is recorded only under the same token.
    Column("claim_token", String(36)),
    Column("last_status_code", Integer),
    Column("last_error", String(500)),
    Column("created_at", Timestamp, nullable=False),
    Column("delivered_at", Timestamp),
    CheckConstraint("status IN ('PENDING', 'DELIVERED', 'FAILED')", name="status_known"),
    Index("ix_outbox_pending", "next_attempt_at",
          sqlite_where=text("status = 'PENDING'"), postgresql_where=text("status = 'PENDING'")),
)

# Radius searches narrow locations by a latitude/longitude box first (domain/geo.py).
Index("ix_location_latitude_longitude", location.c.latitude, location.c.longitude)
