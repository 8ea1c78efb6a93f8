"""Who may use which root field: the one table of access rules, checked before execution.

A root field missing from the table is admin-only, so a new capability is closed until its
entry says otherwise (a test asserts every root field of the schema has an entry).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from domain.access import Caller, Role

S, R, A, V, ADMIN = Role.STOREFRONT, Role.ROUTER, Role.ASSOCIATE, Role.VENDOR, Role.ADMIN
READERS = frozenset({S, R, A, ADMIN})  # read availability, subscribe to it
ROUTING = frozenset({R, A, ADMIN})  # plan orders, hold and release stock
ADMINS = frozenset({ADMIN})
# Every authenticated key may introspect (unless introspection is turned off) and ask
# for `__typename`.
INTROSPECTION = frozenset({"__schema", "__type", "__typename"})


@dataclass(frozen=True, slots=True)
class Access:
    roles: frozenset[Role]
    # For these roles, the named argument must be given and name only locations listed on
    # the caller's key.
    scoped_by: Mapping[Role, str] = field(default_factory=dict)


# Read access for vendors is limited to their own levels: a vendor key is a third party's.
# pickupOptions is a storefront read (stores near the shopper with the SKUs in stock), it
# moves nothing. replenishmentRequests is supply planning, not an order router's concern and
# has no location argument to scope an associate by: admin only.
POLICY: Mapping[str, Mapping[str, Access]] = {
    "Query": {
        "availability": Access(READERS),
        "availabilities": Access(READERS),
        "stockLevel": Access(READERS | {V}, {V: "locationId"}),
        "locations": Access(READERS),
        "pickupOptions": Access(READERS),
        "routeOrder": Access(ROUTING),
        "reservation": Access(ROUTING),
        "replenishmentRequests": Access(ADMINS),
        # Replenishment's configuration, its outbox and ABC analysis are supply planning.
        "reorderRules": Access(ADMINS),
        "webhookDeliveries": Access(ADMINS),
        "webhookConfig": Access(ADMINS),
        "abcClassification": Access(ADMINS),
        "vendorSources": Access(ADMINS),  # their configuration, not their levels
        "locationPolicy": Access(ADMINS),
        "_entities": Access(READERS),
        "_service": Access(READERS),
    },
    "Mutation": {
        "upsertLocation": Access(ADMINS),
        "upsertSku": Access(ADMINS),
        "setSafetyStock": Access(ADMINS),
        "setReorderRule": Access(ADMINS),
        "removeReorderRule": Access(ADMINS),
        "cancelReplenishmentRequest": Access(ADMINS),
        "retryWebhookDelivery": Access(ADMINS),
        # An associate's movements are checked per event against its stores in
        # services.movements (a batch applies the events in scope and rejects the others).
        "recordMovement": Access(frozenset({A, ADMIN})),
        "recordMovements": Access(frozenset({A, ADMIN})),
        "reserve": Access(ROUTING),
        "releaseReservation": Access(ROUTING),
        "commitReservation": Access(ROUTING),
        "reserveRoute": Access(ROUTING),
        "pushVendorLevels": Access(frozenset({V, ADMIN}), {V: "vendorId"}),
        "setVendorSource": Access(ADMINS),
        "refreshVendorSource": Access(ADMINS),
        "setLocationPolicy": Access(ADMINS),
        "setChannelSafetyStock": Access(ADMINS),
    },
    "Subscription": {
        "availabilityChanged": Access(READERS),
        "networkAvailability": Access(READERS),
        "lowStock": Access(frozenset({A, ADMIN}), {A: "locationIds"}),
    },
}
ADMIN_ONLY = Access(ADMINS)


def refusal(
    caller: Caller, root: str, name: str, argument: Callable[[str], object]
) -> str | None:
    """Why `caller` may not use `root.name` (None: it may). `argument` gives the raw value of
    one of the field's arguments, for the location scope."""
    if name in INTROSPECTION:
        return None
    access = POLICY.get(root, {}).get(name, ADMIN_ONLY)
    if caller.role not in access.roles:
        return f"a {caller.role.value} key may not use {root}.{name}"
    scope_argument = access.scoped_by.get(caller.role)
    if scope_argument is None:
        return None
    ids = _ids(argument(scope_argument))
    if ids and all(caller.may_act_at(i) for i in ids):
        return None
    own = ", ".join(sorted(caller.locations or ()))
    return f"{name}: {scope_argument} must name only this key's locations ({own})"


def _ids(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v is not None]
    return [str(value)]
