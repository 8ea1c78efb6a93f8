"""Access control and abuse limits: API keys, roles and scopes, request and operation limits."""

from __future__ import annotations

from collections.abc import Callable

from strawberry.extensions import DisableIntrospection, SchemaExtension

from app.auth.gate import AccessConfigError, Gate, build_gate, load_keys
from app.auth.guard import RequestGuard
from app.auth.middleware import AccessMiddleware
from app.auth.shape import ShapeLimits
from app.settings import Settings

__all__ = ["AccessConfigError", "AccessMiddleware", "Gate", "build_gate", "load_keys",
           "schema_extensions"]


def schema_extensions(settings: Settings, gate: Gate) -> list[Callable[[], SchemaExtension]]:
    """Per-request extensions: the guard caps the tokens parsed and refuses forbidden or
    oversized operations before validation; introspection can be turned off."""
    limits = ShapeLimits(settings.max_query_depth, settings.max_query_cost, settings.max_aliases)
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: RequestGuard(gate, limits, settings.max_query_tokens),
    ]
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    return extensions
