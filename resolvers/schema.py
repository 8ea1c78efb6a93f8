"""The federated schema, assembled from the roots."""

from __future__ import annotations

from typing import Final

import strawberry
from strawberry.extensions import MaskErrors

from resolvers.mutation import Mutation
from resolvers.query import Query
from schema.types import InvalidInput, Location, Product

FEDERATION_VERSION: Final = "2.7"


def build_schema() -> strawberry.federation.Schema:
    return strawberry.federation.Schema(
        query=Query,
        mutation=Mutation,
        types=[Product, Location, InvalidInput],
        federation_version=FEDERATION_VERSION,
        # Anything that is not a GraphQLError is a bug: log it, show the client no internals.
        extensions=[lambda: MaskErrors()],
    )
