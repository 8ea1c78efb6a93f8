"""How big an operation is, measured on the parsed document before validation runs.

Validation itself is the expensive step for hostile documents (graphql-core spends seconds
on a few thousand aliased or repeated fields), so depth, cost and aliases are measured first,
in one pass that remembers each fragment's figures: a fragment spread many times, or nested
fragments that fan out, are counted as expanded without being walked again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    value_from_ast_untyped,
)

# Arguments whose size multiplies the work of a field: lists of things asked or written,
# and page sizes.
LIST_ARGUMENTS = frozenset({"skus", "movements", "lines", "levels", "representations"})
COUNT_ARGUMENTS = frozenset({"limit", "first"})
INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
CODE = "QUERY_TOO_COMPLEX"


@dataclass(frozen=True, slots=True)
class ShapeLimits:
    max_depth: int
    max_cost: int
    max_aliases: int


@dataclass(frozen=True, slots=True)
class Shape:
    """`cost`: fields as executed (each alias counts, list arguments multiply);
    `depth`: the longest chain of nested fields; `aliases`: aliased fields plus fields asked
    again under a response name already used in the same selection."""

    cost: int = 0
    depth: int = 0
    aliases: int = 0
    names: Counter[str] = field(default_factory=Counter)


def measure(
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: dict[str, Any] | None,
) -> Shape:
    return _Meter(fragments, variables or {}).closed(operation.selection_set)


class Shapes:
    """Shapes kept by operation text, for the documents no variable can change: those without a
    list or count argument (most of them: a storefront sends the same few texts all day). Each
    of those is measured once, not on every request."""

    def __init__(self, kept: int = 512) -> None:
        self._kept: dict[tuple[str, str | None], Shape] = {}
        self._most = kept

    def of(
        self, query: str | None, operation_name: str | None, operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode], variables: dict[str, Any] | None,
    ) -> Shape:
        if query is None:
            return measure(operation, fragments, variables)
        key = (query, operation_name)
        found = self._kept.get(key)
        if found is not None:
            return found
        meter = _Meter(fragments, variables or {})
        shape = meter.closed(operation.selection_set)
        if not meter.weighed:
            if len(self._kept) >= self._most:
                del self._kept[next(iter(self._kept))]  # the oldest
            self._kept[key] = shape
        return shape


def refusals(shape: Shape, limits: ShapeLimits) -> list[GraphQLError]:
    checks = (("depth", shape.depth, limits.max_depth), ("cost", shape.cost, limits.max_cost),
              ("aliases", shape.aliases, limits.max_aliases))
    return [
        GraphQLError(
            f"the operation's {what} is {value}, above the limit of {limit}",
            extensions={"code": CODE, "measure": what, "value": value, "limit": limit},
        )
        for what, value, limit in checks if value > limit
    ]


class _Meter:
    def __init__(
        self, fragments: Mapping[str, FragmentDefinitionNode], variables: dict[str, Any]
    ) -> None:
        self._fragments = fragments
        self._variables = variables
        self._memo: dict[str, Shape] = {}
        self._open: set[str] = set()
        self.weighed = False  # a list or count argument was met: variables may change the shape

    def closed(self, selection_set: SelectionSetNode) -> Shape:
        """A field's (or the operation's) selection: repeated response names count here."""
        level = self._level(selection_set)
        repeats = sum(n - 1 for n in level.names.values())
        return Shape(level.cost, level.depth, level.aliases + repeats)

    def _level(self, selection_set: SelectionSetNode) -> Shape:
        cost = depth = aliases = 0
        names: Counter[str] = Counter()
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                below = self.closed(node.selection_set) if node.selection_set else Shape()
                cost += self._weight(node) * (1 + below.cost)
                if node.name.value not in INTROSPECTION_ROOTS:
                    depth = max(depth, 1 + below.depth)
                aliases += below.aliases + (1 if node.alias else 0)
                names[(node.alias or node.name).value] += 1
                continue
            if isinstance(node, InlineFragmentNode):
                part = self._level(node.selection_set)
            else:
                assert isinstance(node, FragmentSpreadNode)
                part = self._fragment(node.name.value)
            cost, depth = cost + part.cost, max(depth, part.depth)
            aliases += part.aliases
            names.update(part.names)
        return Shape(cost, depth, aliases, names)

    def _fragment(self, name: str) -> Shape:
        if name in self._memo:
            return self._memo[name]
        definition = self._fragments.get(name)
        if definition is None or name in self._open:
            return Shape()  # unknown or cyclic: validation reports it
        self._open.add(name)
        self._memo[name] = self._level(definition.selection_set)
        self._open.discard(name)
        return self._memo[name]

    def _weight(self, node: FieldNode) -> int:
        weight = 1
        for argument in node.arguments or ():
            name = argument.name.value
            if name in LIST_ARGUMENTS or name in COUNT_ARGUMENTS:
                self.weighed = True
                value = value_from_ast_untyped(argument.value, self._variables)
                weight *= _size(value, name in LIST_ARGUMENTS)
        return weight


def _size(value: object, is_list: bool) -> int:
    if is_list:
        return max(1, len(value)) if isinstance(value, list) else 1
    return max(1, value) if isinstance(value, int) and not isinstance(value, bool) else 1
