"""Operation shapes kept by text: a document no variable can change is measured once; one with
a list or count argument is measured on every request, with that request's variables."""

from __future__ import annotations

from typing import Any

from graphql import OperationDefinitionNode, get_operation_ast, parse

from app.auth.shape import Shapes, measure

STATIC = ('mutation($input: ReserveInput!) { reserve(input: $input) { __typename '
          "... on InvalidInput { message } } }")
LISTED = "query($s: [ID!]!) { availabilities(skus: $s) { sku atp onHand } }"


def _operation(text: str) -> OperationDefinitionNode:
    operation = get_operation_ast(parse(text))
    assert operation is not None
    return operation


def _of(shapes: Shapes, text: str, variables: dict[str, Any]) -> Any:
    return shapes.of(text, None, _operation(text), {}, variables)


def test_a_document_no_variable_can_change_is_measured_once() -> None:
    shapes = Shapes()
    first = _of(shapes, STATIC, {"input": {"lines": []}})
    assert _of(shapes, STATIC, {"input": {"lines": [1, 2, 3]}}) is first
    assert (first.cost, first.depth) == (measure(_operation(STATIC), {}, {}).cost, 2)


def test_a_list_argument_is_measured_with_each_requests_variables() -> None:
    shapes = Shapes()
    small = _of(shapes, LISTED, {"s": ["A"] * 2})
    large = _of(shapes, LISTED, {"s": ["A"] * 70})
    assert (small.cost, large.cost) == (2 * 4, 70 * 4)


def test_the_oldest_text_goes_when_the_shapes_are_full() -> None:
    shapes = Shapes(kept=2)
    texts = [f"{{ availability(sku: \"S-{n}\") {{ atp }} }}" for n in range(3)]
    first = _of(shapes, texts[0], {})
    for text in texts[1:]:
        _of(shapes, text, {})
    assert _of(shapes, texts[0], {}) is not first  # measured again
    assert _of(shapes, texts[2], {}) is _of(shapes, texts[2], {})
