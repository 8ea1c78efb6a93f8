"""The federated schema, assembled from each capability's root types."""

from __future__ import annotations

from typing import Final

import strawberry
from strawberry.extensions import MaskErrors
from strawberry.tools import merge_types

from resolvers.mutation import Mutation as LedgerMutation
from resolvers.query import Query as LedgerQuery
from resolvers.reservation import ReservationMutation, ReservationQuery
from schema.types import InvalidInput, Location, Product

FEDERATION_VERSION: Final = "2.7"

# Each capability keeps its root fields in its own resolvers module and adds its types here.
QUERIES: tuple[type, ...] = (LedgerQuery, ReservationQuery)
MUTATIONS: tuple[type, ...] = (LedgerMutation, ReservationMutation)
SUBSCRIPTIONS: tuple[type, ...] = ()
EXTRA_TYPES: tuple[type, ...] = (Product, Location, InvalidInput)


def build_schema() -> strawberry.federation.Schema:
    return strawberry.federation.Schema(
        query=merge_types("Query", QUERIES),
        mutation=merge_types("Mutation", MUTATIONS),
        subscription=merge_types("Subscription", SUBSCRIPTIONS) if SUBSCRIPTIONS else None,
        types=list(EXTRA_TYPES),
        federation_version=FEDERATION_VERSION,
        # Anything that is not a GraphQLError is a bug: log it, show the client no internals.
        extensions=[lambda: MaskErrors()],
    )
