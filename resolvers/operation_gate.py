"""One schema extension for everything done to an operation around its execution.

Strawberry builds, for every request, a context manager per hook per extension (each looked
up with `inspect`, each hook a generator wrapped by `contextlib`). With error masking, the
access guard, the NUL guard, validation by text and the parse cache as five extensions that
was a third of the GraphQL layer's cost of a small operation. Here they are one extension
with one hook, on the operation. Before it runs:

- the configured validation rules are added;
- the document is parsed once per distinct operation text (a bounded LRU, as Strawberry's
  ParserCache), the parser reading no more than the token cap (as Strawberry's
  MaxTokensLimiter); a text that does not parse is left to Strawberry's own parse, given the
  same cap, which reports it as usual;
- the checks, in order, the first refusal standing for the answer (nothing is validated or
  executed: a forbidden mutation changes nothing), then validation by text
  (resolvers/validation_cache.py) where none refused. Strawberry reports what they found
  where it would report validation errors, after its own checks of the operation (its name,
  a mutation over GET), as when this ran in the validation hook.

After it runs, the errors that are bugs are masked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import Final

from graphql import DocumentNode, GraphQLError, parse
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from resolvers.validation_cache import validated

# A refusal of the operation before validation, or [] to let it through.
Check = Callable[[ExecutionContext, DocumentNode], list[GraphQLError]]

PARSED_KEPT: Final = 512  # parsed documents kept by operation text
MASKED: Final = "Unexpected error."


@lru_cache(maxsize=PARSED_KEPT)
def _parsed(query: str, max_tokens: int | None) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


class OperationGate(SchemaExtension):
    def __init__(self, checks: Sequence[Check] = (), max_tokens: int | None = None,
                 rules: Sequence[type[ASTValidationRule]] = ()) -> None:
        self.checks = checks
        self.max_tokens = max_tokens
        self.rules = tuple(rules)

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        if self.rules:
            ctx.validation_rules = ctx.validation_rules + self.rules
        if ctx.query and ctx.graphql_document is None:
            try:
                ctx.graphql_document = _parsed(ctx.query, self.max_tokens)
            except GraphQLError:
                if self.max_tokens is not None:
                    ctx.parse_options = {**ctx.parse_options, "max_tokens": self.max_tokens}
        if ctx.graphql_document is not None:
            self._check(ctx, ctx.graphql_document)
        yield
        errors = getattr(ctx.result, "errors", None)
        if errors:
            ctx.result.errors = [_masked(e) if is_bug(e) else e  # type: ignore[union-attr]
                                 for e in errors]

    def _check(self, ctx: ExecutionContext, document: DocumentNode) -> None:
        if ctx.pre_execution_errors is not None:
            return
        for check in self.checks:
            refused = check(ctx, document)
            if refused:
                ctx.pre_execution_errors = refused
                return
        if ctx.query and ctx.validation_rules:
            ctx.pre_execution_errors = validated(ctx.schema._schema, ctx.query, document,
                                                 ctx.validation_rules)


def is_bug(error: GraphQLError) -> bool:
    """Errors we raise on purpose (GraphQLErrors with a code, validation and syntax errors) reach
    the client; an error wrapping any other exception is a bug: logged by Strawberry, and the
    client sees no internals."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def _masked(error: GraphQLError) -> GraphQLError:
    return GraphQLError(MASKED, nodes=error.nodes, source=error.source,
                        positions=error.positions, path=error.path, original_error=None)
