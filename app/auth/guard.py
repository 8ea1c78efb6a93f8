"""The check that refuses an operation before it is validated or executed.

`OperationGate` (resolvers/operation_gate.py) asks it first at the start of validation (the
document is parsed, nothing has run): it checks every root field of the operation to be
executed, through aliases and fragments, against the policy, then the operation's shape
against the limits. Any refusal becomes the operation's pre-execution errors, so Strawberry
skips validation and execution: a forbidden mutation changes nothing. Subscriptions and
operations over WebSocket pass the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    get_operation_ast,
    value_from_ast_untyped,
)
from starlette.websockets import WebSocket
from strawberry.types import ExecutionContext

from app.auth.gate import Gate
from app.auth.policy import refusal
from app.auth.shape import ShapeLimits, Shapes, refusals
from domain.access import Caller

FORBIDDEN = "FORBIDDEN"


class AccessCheck:
    def __init__(self, gate: Gate, limits: ShapeLimits) -> None:
        self.gate = gate
        self.limits = limits
        self.shapes = Shapes()

    def __call__(self, ctx: ExecutionContext, document: DocumentNode) -> list[GraphQLError]:
        operation = get_operation_ast(document, ctx.operation_name)
        if operation is None:
            return []  # Strawberry reports the missing or ambiguous operation
        caller = getattr(ctx.context, "caller", None)
        if not isinstance(caller, Caller):
            return [GraphQLError("no caller for this operation", extensions={"code": FORBIDDEN})]
        if isinstance(getattr(ctx.context, "request", None), WebSocket):
            wait = self.gate.throttle(caller)
            if wait > 0:
                return [GraphQLError(
                    "too many operations for this key", extensions={
                        "code": "RATE_LIMITED", "retryAfter": max(1, math.ceil(wait))})]
        fragments = {d.name.value: d for d in document.definitions
                     if isinstance(d, FragmentDefinitionNode)}
        forbidden = forbidden_fields(ctx.schema._schema, operation, fragments, caller,
                                     ctx.variables or {})
        return forbidden or refusals(
            self.shapes.of(ctx.query, ctx.operation_name, operation, fragments, ctx.variables),
            self.limits)


def forbidden_fields(
    schema: GraphQLSchema, operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode], caller: Caller,
    variables: dict[str, Any],
) -> list[GraphQLError]:
    root = schema.get_root_type(operation.operation)
    if root is None:
        return []
    errors = []
    for node in root_fields(operation.selection_set, fragments):
        name = node.name.value
        if name not in root.fields and not name.startswith("__"):
            continue  # validation reports the unknown field
        reason = refusal(caller, root.name, name, _arguments(node, variables))
        if reason:
            errors.append(GraphQLError(reason, [node], extensions={"code": FORBIDDEN}))
    return errors


def root_fields(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode],
) -> Iterator[FieldNode]:
    """The operation's root fields, each fragment walked once however often it is spread."""
    seen: set[str] = set()
    pending = [selection_set]
    while pending:
        for node in pending.pop().selections:
            if isinstance(node, FieldNode):
                yield node
            elif isinstance(node, InlineFragmentNode):
                pending.append(node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                if name in fragments and name not in seen:
                    seen.add(name)
                    pending.append(fragments[name].selection_set)


def _arguments(node: FieldNode, variables: dict[str, Any]) -> Callable[[str], object]:
    def argument(name: str) -> object:
        for arg in node.arguments or ():
            if arg.name.value == name:
                value: object = value_from_ast_untyped(arg.value, variables)
                return None if value is Undefined else value
        return None

    return argument
