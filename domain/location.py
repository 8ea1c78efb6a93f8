"""Locations of the network and which of them may sell on which channel."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class LocationKind(enum.Enum):
    WAREHOUSE = "WAREHOUSE"
    STORE = "STORE"
    DROPSHIP_VENDOR = "DROPSHIP_VENDOR"


class Channel(enum.Enum):
    ONLINE = "ONLINE"
    STORE = "STORE"


@dataclass(frozen=True, slots=True)
class Location:
    id: str
    name: str
    kind: LocationKind
    latitude: float | None = None
    longitude: float | None = None
    pickup_enabled: bool = False
    ship_enabled: bool = False
    active: bool = True


def sells_on(location: Location, channel: Channel) -> bool:
    """Whether stock at `location` counts toward network ATP on `channel`.

    ONLINE: warehouses and dropship vendors always; stores only when they ship to customers
    or offer pickup. STORE (walk-in sale): stores only.
    """
    if not location.active:
        return False
    if channel is Channel.STORE:
        return location.kind is LocationKind.STORE
    if location.kind is LocationKind.STORE:
        return location.ship_enabled or location.pickup_enabled
    return True
