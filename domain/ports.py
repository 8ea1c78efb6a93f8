"""The interfaces services need from the outside world."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from domain.availability import Freshness
from domain.events import LowStockRaised, StockChanged
from domain.location import Location, LocationKind
from domain.movement import Effect, Movement, StockView
from domain.reservation import Reservation, Shortage
from domain.stock import StockLevel

T = TypeVar("T")
Pair = tuple[str, str]


class LedgerBatch(StockView, Protocol):
    """State loaded (and on PostgreSQL row-locked) for one transaction, and the changes it holds."""

    def recorded_fingerprint(self, event_id: str) -> str | None: ...
    def record(self, m: Movement, fingerprint: str, effects: Sequence[Effect]) -> None: ...
    def set_safety_stock(self, sku: str, location_id: str, quantity: int) -> None: ...
    def existing_level(self, sku: str, location_id: str) -> StockLevel | None: ...
    def set_on_hand(
        self, sku: str, location_id: str, quantity: int, cause: str, source_id: str | None,
        occurred_at: datetime | None = None,
    ) -> bool:
        """Make on hand `quantity` through a ledger entry of the difference (no movement
        behind it: a level another system reports). False when nothing changed."""
        ...


@dataclass(frozen=True, slots=True)
class BatchKeys:
    pairs: frozenset[Pair]
    event_ids: frozenset[str] = frozenset()
    skus: frozenset[str] = frozenset()
    location_ids: frozenset[str] = frozenset()


class Ledger(Protocol):
    async def apply(
        self, keys: BatchKeys, actor: str, now: datetime, decide: Callable[[LedgerBatch], T]
    ) -> tuple[T, list[StockChanged]]:
        """Load state for `keys`, let `decide` record changes, commit them atomically.
        `decide` must be pure: it is run again if the database asks for a retry."""
        ...


class ChangePublisher(Protocol):
    async def publish(self, changes: Sequence[StockChanged]) -> None: ...


class AlertPublisher(Protocol):
    """Announces replenishment requests to `lowStock` subscribers, after their commit."""

    async def publish_low_stock(self, alerts: Sequence[LowStockRaised]) -> None: ...


@dataclass(frozen=True, slots=True)
class Drift:
    sku: str
    location_id: str
    field: str
    stored: int
    from_ledger: int


class StockReader(Protocol):
    async def levels_for_skus(
        self, skus: Sequence[str]
    ) -> Mapping[str, list[tuple[StockLevel, Location]]]: ...
    async def levels_with_freshness(
        self, skus: Sequence[str]
    ) -> tuple[Mapping[str, list[tuple[StockLevel, Location]]], Freshness]:
        """The levels and, read with them, what decides which may be sold now."""
        ...
    async def level(self, sku: str, location_id: str) -> tuple[StockLevel, Location] | None: ...
    async def locations(
        self, kind: LocationKind | None = None, ids: Iterable[str] | None = None
    ) -> list[Location]: ...
    async def known_skus(self, skus: Iterable[str]) -> set[str]: ...
    async def drift(self) -> list[Drift]: ...


class Catalog(Protocol):
    async def upsert_location(self, location: Location, now: datetime) -> Location: ...
    async def upsert_sku(
        self, sku: str, name: str | None, barcodes: Sequence[str] | None, now: datetime,
        unit_cost: float | None = None,
    ) -> None: ...


class Holds(Protocol):
    async def refresh_shortfalls(
        self, pairs: Collection[Pair], actor: str, now: datetime
    ) -> list[StockChanged]:
        """Mark the live holds at `pairs` that the sellable units no longer cover (newest
        first), clear marks that are covered again; the changes announce newly short holds."""
        ...


class ReservationStore(Holds, Protocol):
    async def reserve(
        self, draft: Reservation, admit: Callable[[Mapping[str, Location]], None]
    ) -> tuple[Reservation | Shortage, list[StockChanged]]:
        """Hold every line of `draft` or none. `admit` is shown the lines' locations first, in
        the same transaction, and may refuse (raise). A known idempotency key returns the
        reservation stored under it (whatever it holds); a short answer lists `available` per
        short line."""
        ...

    async def release(
        self, reservation_id: str, actor: str, now: datetime
    ) -> tuple[Reservation, list[StockChanged]]: ...
    async def commit(
        self, reservation_id: str, actor: str, now: datetime
    ) -> tuple[Reservation, list[StockChanged]]: ...
    async def get(self, reservation_id: str) -> Reservation | None: ...
    async def expire_due(self, now: datetime, limit: int) -> tuple[int, list[StockChanged]]:
        """Expire up to `limit` ACTIVE reservations past expiresAt; how many, and the changes."""
        ...
