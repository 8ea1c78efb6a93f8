"""Who is calling: a role and, for associates and vendors, the locations they may act on."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.Enum):
    STOREFRONT = "storefront"
    ROUTER = "router"
    ASSOCIATE = "associate"
    VENDOR = "vendor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Caller:
    """`name` is what ledger entries record (never the secret key)."""

    name: str
    role: Role
    # None: every location. Associates and vendors are limited to the ones listed on their key.
    locations: frozenset[str] | None = None

    def may_act_at(self, location_id: str) -> bool:
        return self.locations is None or location_id in self.locations


OPEN_CALLER = Caller(name="open", role=Role.ADMIN)
SYSTEM_CALLER = Caller(name="system", role=Role.ADMIN)
