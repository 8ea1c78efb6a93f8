"""Access control and abuse limits: API keys, roles and scopes, request and operation limits."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from graphql.validation import NoSchemaIntrospectionCustomRule

from app.auth.gate import AccessConfigError, Gate, build_gate, load_keys
from app.auth.guard import AccessCheck
from app.auth.middleware import AccessMiddleware
from app.auth.shape import ShapeLimits
from app.settings import Settings
from resolvers.nul_guard import nul_refusal
from resolvers.operation_gate import OperationGate

__all__ = ["AccessConfigError", "AccessMiddleware", "Gate", "build_gate", "load_keys",
           "operation_gate"]


def operation_gate(settings: Settings, gate: Gate) -> Callable[[], OperationGate]:
    """What is done to each operation: the parser reads at most so many tokens; the access
    check refuses forbidden or oversized operations, then the NUL check bad text, before
    validation; introspection can be turned off."""
    limits = ShapeLimits(settings.max_query_depth, settings.max_query_cost, settings.max_aliases)
    return partial(  # a gate per request: Strawberry gives each its execution context
        OperationGate, checks=(AccessCheck(gate, limits), nul_refusal),
        max_tokens=settings.max_query_tokens,
        rules=() if settings.introspection else (NoSchemaIntrospectionCustomRule,))
