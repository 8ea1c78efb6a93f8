"""The check that refuses text holding the NUL character (U+0000).

JSON and GraphQL carry it ("\\u0000"), but PostgreSQL cannot store it in text and raises
mid-transaction, and SQLite would store a value other systems choke on. No SKU, name, bin or
id has a use for it, so an operation carrying one, in a literal or a variable, is refused
before validation, as bad input that changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import DocumentNode, GraphQLError, StringValueNode, Visitor, visit
from strawberry.types import ExecutionContext

NUL = "\x00"
MESSAGE = "text may not contain the NUL character (U+0000)"


def nul_refusal(ctx: ExecutionContext, document: DocumentNode) -> list[GraphQLError]:
    """An OperationGate check (resolvers/operation_gate.py)."""
    if _holds_nul(ctx.variables) or _literal_holds_nul(ctx.query, document):
        return [GraphQLError(MESSAGE, extensions={"code": "BAD_USER_INPUT"})]
    return []


def _literal_holds_nul(query: str | None, document: DocumentNode) -> bool:
    # A literal's NUL can only be written as an escape (GraphQL source may not hold U+0000):
    # without a backslash-u in the text there is none, and the walk (~0.2 ms) is not needed.
    if query is not None and "\\u" not in query and NUL not in query:
        return False
    finder = _NulLiteral()
    visit(document, finder)
    return finder.found


class _NulLiteral(Visitor):
    found = False

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        if NUL in node.value:
            self.found = True


def _holds_nul(value: object) -> bool:
    # Variables come from JSON: the plain types are tested first, the Mapping ABC (a slow
    # isinstance) only for what is none of them.
    if isinstance(value, str):
        return NUL in value
    if value is None or isinstance(value, int | float):
        return False
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    if isinstance(value, dict | Mapping):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    return False
