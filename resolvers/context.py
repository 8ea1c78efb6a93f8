"""The typed per-request context: the wired services, the caller, and fresh DataLoaders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from strawberry.dataloader import DataLoader

from domain.access import Caller
from domain.availability import NetworkAvailability
from domain.location import Channel, Location
from domain.ports import Catalog, ChangePublisher, Ledger, ReservationStore, StockReader
from domain.reservation import ReservationLimits
from services.changes import ChangeStream
from services.movements import MovementLimits
from services.replenishment import Replenishment
from services.route_holds import RouteHolds
from services.routing import RoutingLimits, RoutingStore
from services.source_refresh import SourceRefresher


@dataclass(frozen=True)
class Services:
    ledger: Ledger
    reader: StockReader
    catalog: Catalog
    publisher: ChangePublisher
    limits: MovementLimits
    clock: Callable[[], datetime]
    reservations: ReservationStore
    reservation_limits: ReservationLimits
    # Sources of reported levels; availability reads through it (freshness, on-demand refresh).
    sources: SourceRefresher
    routing: RoutingStore
    routing_limits: RoutingLimits
    route_holds: RouteHolds
    replenishment: Replenishment


class RequestLoaders:
    """Built once per request so that batching and caching never leak between callers.
    Each loader is made on first use: an idle WebSocket connection holds none.

    `cache=False` for a WebSocket connection: its context lives as long as the socket and
    serves every operation sent over it, so a cached value would go stale between them
    (batching within one operation still applies)."""

    def __init__(self, services: Services, cache: bool = True) -> None:
        self._services = services
        self._cache = cache

    @cached_property
    def availability(self) -> DataLoader[tuple[str, Channel], NetworkAvailability]:
        return DataLoader(self._load_availability, cache=self._cache)

    @cached_property
    def location_by_id(self) -> DataLoader[str, Location | None]:
        return DataLoader(self._load_locations, cache=self._cache)

    async def _load_availability(
        self, keys: Sequence[tuple[str, Channel]]
    ) -> list[NetworkAvailability]:
        return await self._services.sources.availabilities(keys, self._services.clock())

    async def _load_locations(self, ids: Sequence[str]) -> list[Location | None]:
        found = {loc.id: loc for loc in await self._services.reader.locations(ids=ids)}
        return [found.get(i) for i in ids]


@dataclass
class Context:
    services: Services
    caller: Caller
    loaders: RequestLoaders
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] = field(default_factory=dict)
    changes: ChangeStream | None = None  # the subscriptions' events (app/fanout's hub)
