"""The federated schema, assembled from each capability's root types."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, ParserCache, SchemaExtension
from strawberry.tools import merge_types

from resolvers.mutation import Mutation as LedgerMutation
from resolvers.nul_guard import NulGuard
from resolvers.query import Query as LedgerQuery
from resolvers.replenishment import ReplenishmentMutation, ReplenishmentQuery
from resolvers.reservation import ReservationMutation, ReservationQuery
from resolvers.routing import RoutingMutation, RoutingQuery
from resolvers.sources import SourcesMutation, SourcesQuery
from resolvers.subscription import Subscription
from resolvers.validation_cache import ValidationByText
from schema.scalars import SCALAR_OVERRIDES
from schema.types import InvalidInput, Location, Product

FEDERATION_VERSION: Final = "2.7"
PARSED_KEPT: Final = 512  # parsed documents kept by operation text (parsing is per request)

# Each capability keeps its root fields in its own resolvers module and adds its types here.
QUERIES: tuple[type, ...] = (LedgerQuery, ReservationQuery, SourcesQuery, RoutingQuery,
                             ReplenishmentQuery)
MUTATIONS: tuple[type, ...] = (LedgerMutation, ReservationMutation, SourcesMutation,
                                RoutingMutation, ReplenishmentMutation)
SUBSCRIPTIONS: tuple[type, ...] = (Subscription,)
EXTRA_TYPES: tuple[type, ...] = (Product, Location, InvalidInput)


def build_schema(
    extensions: Sequence[Callable[[], SchemaExtension]] = (),
) -> strawberry.federation.Schema:
    """`extensions`: more per-request extensions, after error masking (the app adds access
    control and operation limits)."""
    return strawberry.federation.Schema(
        query=merge_types("Query", QUERIES),
        mutation=merge_types("Mutation", MUTATIONS),
        subscription=merge_types("Subscription", SUBSCRIPTIONS) if SUBSCRIPTIONS else None,
        types=list(EXTRA_TYPES),
        federation_version=FEDERATION_VERSION,
        scalar_overrides=SCALAR_OVERRIDES,
        # Anything that is not a GraphQLError is a bug: log it, show the client no internals.
        # ValidationByText last: it answers validation only where no guard refused.
        extensions=[lambda: MaskErrors(should_mask_error=_is_bug), *extensions,
                    *AFTER_THE_GUARDS],
    )


def _parser_cache() -> SchemaExtension:
    return ParserCache(maxsize=PARSED_KEPT)


# After the app's own extensions (access guard and limits): they act only where none refused.
AFTER_THE_GUARDS: tuple[Callable[[], SchemaExtension], ...] = (
    NulGuard, ValidationByText, _parser_cache)


def _is_bug(error: GraphQLError) -> bool:
    """Errors we raise on purpose (GraphQLErrors with a code, validation and syntax errors) reach
    the client; an error wrapping any other exception is a bug and is masked."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)
