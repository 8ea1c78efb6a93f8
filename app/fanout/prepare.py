"""From a subscribe message to what the hub needs: the operation checked exactly as Strawberry
checks any operation (token cap, access policy and limits, validation, through the schema's
extensions), then its root field, its arguments, and the signature of its selection.

Queries and mutations sent over the WebSocket, and syntax errors, are left to Strawberry's
own handler (None), so they behave exactly as before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    get_operation_ast,
    parse,
    print_ast,
    visit,
)
from graphql.execution import Executor
from graphql.execution.values import get_argument_values
from graphql.language import Visitor
from strawberry.schema import Schema
from strawberry.types.graphql import OperationType as StrawberryOperationType

from app.auth.guard import root_fields

FANOUT_FIELDS = frozenset({"availabilityChanged", "networkAvailability", "lowStock"})


@dataclass(frozen=True)
class Prepared:
    field: str
    arguments: dict[str, Any]
    executor: Executor[Any]
    # What, besides the topic and the caller's scope, decides the bytes sent: the root
    # field's alias, directives and selection (fragments included) and the variables it uses.
    signature: str


async def prepare(
    schema: Schema, query: object, variables: object, operation_name: object, context: Any,
    max_tokens: int,
) -> Prepared | list[GraphQLError] | None:
    """None: not a subscription the hub serves (Strawberry's handler takes it)."""
    if not isinstance(query, str) or not isinstance(operation_name, str | None) \
            or not isinstance(variables, dict | None):
        return None
    try:
        document = parse(query, max_tokens=max_tokens)
    except GraphQLError:
        return None
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.SUBSCRIPTION:
        return None
    errors = await _checked(schema, document, query, variables, operation_name, context)
    if errors:
        return errors
    built = schema.execution_context_class.build(
        schema._schema, document, raw_variable_values=variables, operation_name=operation_name,
        operation_extensions=None)
    if isinstance(built, list):
        return built
    return _prepared(document, operation, built, variables or {})


async def _checked(schema: Schema, document: DocumentNode, query: str,
                   variables: dict[str, Any] | None, operation_name: str | None,
                   context: Any) -> list[GraphQLError]:
    # Strawberry's own pre-execution pipeline (private API, pinned strawberry-graphql 0.341):
    # every schema extension sees this operation as it would see any other.
    ctx = schema._create_execution_context(
        query, (StrawberryOperationType.SUBSCRIPTION,), variables, context, None,
        operation_name)
    ctx.graphql_document = document  # parsed above, under the same token cap
    extensions = schema.get_extensions()
    for extension in extensions:
        extension.execution_context = ctx
    runner = schema.create_extensions_runner(ctx, extensions)
    async with runner.operation():
        failed = await schema._prepare_operation_async(ctx, runner)
    if failed is None or not failed.errors:
        return []
    schema._process_errors(failed.errors, ctx)
    return list(failed.errors)


def _prepared(document: DocumentNode, operation: OperationDefinitionNode, executor: Executor[Any],
              raw: dict[str, Any]) -> Prepared | list[GraphQLError]:
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    node = next(iter(root_fields(operation.selection_set, fragments)))
    name = node.name.value
    if name not in FANOUT_FIELDS:
        return [GraphQLError(f"Subscription.{name} is not served here", [node])]
    root = executor.schema.subscription_type
    assert root is not None
    arguments = get_argument_values(root.fields[name], node, executor.variable_values)
    return Prepared(name, arguments, executor, _signature(node, fragments, raw))


def _signature(node: FieldNode, fragments: dict[str, FragmentDefinitionNode],
               raw: dict[str, Any]) -> str:
    selection = [node.selection_set, *(node.directives or ()), *fragments.values()]
    used = _variables_in(selection)
    parts = [node.alias.value if node.alias else node.name.value,
             *(print_ast(part) for part in selection if part is not None),
             json.dumps({k: raw.get(k) for k in sorted(used)}, sort_keys=True, default=str)]
    return "\n".join(parts)


def _variables_in(nodes: list[Any]) -> set[str]:
    names: set[str] = set()

    class Collect(Visitor):
        def enter_variable(self, variable: VariableNode, *_: object) -> None:
            names.add(variable.name.value)

    for node in nodes:
        if node is not None:
            visit(node, Collect())
    return names
