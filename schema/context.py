"""What schema types may ask of the request context: batched loaders only, no I/O of their own."""

from __future__ import annotations

from typing import Protocol

from strawberry.dataloader import DataLoader

from domain.availability import NetworkAvailability
from domain.location import Channel, Location


class Loaders(Protocol):
    @property
    def availability(self) -> DataLoader[tuple[str, Channel], NetworkAvailability]: ...
    @property
    def location_by_id(self) -> DataLoader[str, Location | None]: ...


class GraphContext(Protocol):
    @property
    def loaders(self) -> Loaders: ...
