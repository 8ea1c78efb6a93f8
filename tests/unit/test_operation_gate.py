"""The one extension around every operation (resolvers/operation_gate.py): bugs masked, refusals
standing for validation, the parser's token cap, extra validation rules."""

from __future__ import annotations

from functools import partial

import strawberry
from graphql import DocumentNode, GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.types import ExecutionContext

from resolvers.operation_gate import MASKED, Check, OperationGate


@strawberry.type
class Query:
    @strawberry.field
    def ok(self) -> int:
        return 1

    @strawberry.field
    def bug(self) -> int | None:
        raise RuntimeError("password=hunter2")

    @strawberry.field
    def refused(self) -> int | None:
        raise GraphQLError("not enough stock", extensions={"code": "BAD_USER_INPUT"})


def schema(*checks: Check, **options: object) -> strawberry.Schema:
    return strawberry.Schema(Query, extensions=[partial(OperationGate, checks, **options)])


async def test_a_bug_is_masked_and_a_meant_error_is_not() -> None:
    result = await schema().execute("{ ok bug refused }")
    messages = sorted(e.message for e in result.errors or [])
    assert messages == sorted([MASKED, "not enough stock"])
    assert result.data == {"ok": 1, "bug": None, "refused": None}


async def test_the_first_refusal_stands_and_nothing_is_validated_or_run() -> None:
    asked: list[str] = []

    def refuse(_ctx: ExecutionContext, _doc: DocumentNode) -> list[GraphQLError]:
        asked.append("refuse")
        return [GraphQLError("forbidden", extensions={"code": "FORBIDDEN"})]

    def never(_ctx: ExecutionContext, _doc: DocumentNode) -> list[GraphQLError]:
        asked.append("never")
        return []

    result = await schema(refuse, never).execute("{ ok nope }")  # `nope` would not validate
    assert [e.message for e in result.errors or []] == ["forbidden"]
    assert result.data is None and asked == ["refuse"]


async def test_validation_runs_where_no_check_refused() -> None:
    result = await schema(lambda _c, _d: []).execute("{ ok nope }")
    assert result.errors and "nope" in result.errors[0].message


async def test_the_parser_stops_past_the_token_cap() -> None:
    capped = schema(max_tokens=10)
    assert not (await capped.execute("{ ok }")).errors
    result = await capped.execute("{ " + "ok " * 20 + "}")
    assert result.errors and "more than 10 tokens" in result.errors[0].message


async def test_extra_rules_apply() -> None:
    result = await schema(rules=(NoSchemaIntrospectionCustomRule,)).execute(
        "{ __schema { queryType { name } } }")
    assert result.errors and "introspection" in result.errors[0].message.lower()
    assert not (await schema().execute("{ __schema { queryType { name } } }")).errors
