"""Domain errors as GraphQL errors with a machine-readable `extensions.code`."""

from __future__ import annotations

from graphql import GraphQLError

from domain.errors import DomainError, NotFoundError


def user_error(exc: DomainError) -> GraphQLError:
    code = "NOT_FOUND" if isinstance(exc, NotFoundError) else "BAD_USER_INPUT"
    extensions: dict[str, object] = {"code": code}
    if exc.field:
        extensions["field"] = exc.field
    return GraphQLError(exc.message, extensions=extensions)


def forbidden(message: str) -> GraphQLError:
    """The caller's key may not do this; nothing was changed."""
    return GraphQLError(message, extensions={"code": "FORBIDDEN"})
