"""The federated schema, assembled from each capability's root types."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Final

import strawberry
from strawberry.tools import merge_types

from resolvers.mutation import Mutation as LedgerMutation
from resolvers.nul_guard import nul_refusal
from resolvers.operation_gate import OperationGate
from resolvers.query import Query as LedgerQuery
from resolvers.replenishment import ReplenishmentMutation, ReplenishmentQuery
from resolvers.reservation import ReservationMutation, ReservationQuery
from resolvers.routing import RoutingMutation, RoutingQuery
from resolvers.sources import SourcesMutation, SourcesQuery
from resolvers.subscription import Subscription
from schema.scalars import SCALAR_OVERRIDES
from schema.types import InvalidInput, Location, Product

FEDERATION_VERSION: Final = "2.7"
# The gate of a schema built without the app's access control: error masking, the NUL check,
# the parse and validation caches.
PLAIN_GATE: Final = partial(OperationGate, checks=(nul_refusal,))

# Each capability keeps its root fields in its own resolvers module and adds its types here.
QUERIES: tuple[type, ...] = (LedgerQuery, ReservationQuery, SourcesQuery, RoutingQuery,
                             ReplenishmentQuery)
MUTATIONS: tuple[type, ...] = (LedgerMutation, ReservationMutation, SourcesMutation,
                                RoutingMutation, ReplenishmentMutation)
SUBSCRIPTIONS: tuple[type, ...] = (Subscription,)
EXTRA_TYPES: tuple[type, ...] = (Product, Location, InvalidInput)


def build_schema(gate: Callable[[], OperationGate] = PLAIN_GATE) -> strawberry.federation.Schema:
    """`gate` makes each request's OperationGate (the app's adds access control and limits)."""
    return strawberry.federation.Schema(
        query=merge_types("Query", QUERIES),
        mutation=merge_types("Mutation", MUTATIONS),
        subscription=merge_types("Subscription", SUBSCRIPTIONS) if SUBSCRIPTIONS else None,
        types=list(EXTRA_TYPES),
        federation_version=FEDERATION_VERSION,
        scalar_overrides=SCALAR_OVERRIDES,
        extensions=[gate],
    )
