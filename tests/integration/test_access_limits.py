"""Limits that keep one client from hurting all, in the whole ASGI app: each refusal is clear,
comes before any work is done, and leaves other callers served."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.auth.limits import ConnectionCounter, RateLimiter
from app.settings import Settings
from domain.access import Role
from tests.support.auth import OTHER_ASSOCIATE, KeyedApp, bearer, keyed_app, open_app

AVAILABILITY = '{ availability(sku: "SKU-A") { atp } }'
LOCATIONS = "{ locations { id } }"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """Limits do not depend on the storage engine: SQLite only."""
    return f"sqlite+aiosqlite:///{tmp_path / 'stockgraph.db'}"


@pytest.fixture
async def app(settings: Settings, tmp_path: Path) -> AsyncIterator[KeyedApp]:
    async with keyed_app(settings, tmp_path, max_query_depth=4, max_query_cost=300,
                         max_aliases=5, max_query_tokens=2000, max_body_bytes=64 * 1024,
                         # a token per 100 s: the burst is all a test gets
                         rate_limit_per_second=0.01, rate_limit_burst=4) as keyed:
        yield keyed


def refusal(body: dict[str, object]) -> dict[str, object]:
    errors = body["errors"]
    assert isinstance(errors, list) and body.get("data") is None
    extensions: dict[str, object] = errors[0]["extensions"]
    return extensions


async def test_a_deep_query_is_refused_before_validation(app: KeyedApp) -> None:
    deep = "{ availability(sku: \"SKU-A\") { levels { location { a { b { c } } } } } }"
    _, body = await app.call(Role.ADMIN, deep)
    assert refusal(body) == {"code": "QUERY_TOO_COMPLEX", "measure": "depth", "value": 6,
                             "limit": 4}


async def test_list_arguments_multiply_the_cost_even_through_variables(app: KeyedApp) -> None:
    query = "query($s: [ID!]!) { availabilities(skus: $s) { sku atp onHand } }"
    _, ok = await app.call(Role.STOREFRONT, query, {"s": ["SKU-A"] * 70})  # 70 x 4 = 280
    assert "errors" not in ok
    _, body = await app.call(Role.STOREFRONT, query, {"s": ["SKU-A"] * 80})  # 80 x 4 = 320
    assert refusal(body)["measure"] == "cost"


async def test_aliases_and_repeated_fields_count_against_the_alias_limit(app: KeyedApp) -> None:
    aliased = "{ " + " ".join(f'a{i}: availability(sku: "SKU-A") {{ atp }}' for i in range(6)) + "}"
    _, body = await app.call(Role.STOREFRONT, aliased)
    assert refusal(body) == {"code": "QUERY_TOO_COMPLEX", "measure": "aliases", "value": 6,
                             "limit": 5}
    repeated = '{ availability(sku: "SKU-A") { ' + "atp " * 7 + "} }"
    _, body = await app.call(Role.STOREFRONT, repeated)
    assert refusal(body)["measure"] == "aliases"


async def test_fragments_fanning_out_are_counted_as_expanded_and_refused(app: KeyedApp) -> None:
    # Each fragment spreads the next twice: 2^40 fields once expanded, from a tiny document
    # (a library depth limiter walking it naively would never finish).
    fragments = "".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }} "
                        for i in range(40))
    document = "query { ...F0 } " + fragments + "fragment F40 on Query { locations { id } }"
    _, body = await app.call(Role.ADMIN, document)
    assert refusal(body)["measure"] == "cost"


async def test_a_document_over_the_token_limit_is_refused_while_parsing(app: KeyedApp) -> None:
    big = "{ " + "locations { id } " * 600 + "}"
    _, body = await app.call(Role.ADMIN, big)
    assert "more than 2000 tokens" in body["errors"][0]["message"]


async def test_a_body_over_the_limit_gets_413_before_it_is_read(app: KeyedApp) -> None:
    padding = " " * (64 * 1024)
    response = await app.http.post("/graphql", json={"query": LOCATIONS + padding},
                                   headers=bearer(Role.ADMIN))
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_key_over_its_rate_gets_429_with_retry_after_and_others_are_served(
    app: KeyedApp,
) -> None:
    statuses = [(await app.call(Role.ROUTER, AVAILABILITY))[0] for _ in range(6)]
    assert statuses[:4] == [200] * 4 and statuses[4:] == [429, 429]
    response = await app.http.post("/graphql", json={"query": AVAILABILITY},
                                   headers=bearer(Role.ROUTER))
    assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
    assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    other, _ = await app.call(OTHER_ASSOCIATE, AVAILABILITY)
    assert other == 200


async def test_introspection_can_be_turned_off(settings: Settings, tmp_path: Path) -> None:
    query = "{ __schema { queryType { name } } }"
    async with keyed_app(settings, tmp_path) as on:
        _, body = await on.call(Role.STOREFRONT, query)
        assert body["data"]["__schema"]["queryType"]["name"] == "Query"
    async with keyed_app(settings, tmp_path, introspection=False) as off:
        _, body = await off.call(Role.ADMIN, query)
        assert "introspection" in body["errors"][0]["message"].lower()
        _, body = await off.call(Role.ADMIN, "{ __typename locations { id } }")
        assert body["data"]["__typename"] == "Query"


async def test_open_mode_keeps_operation_limits_but_has_no_per_key_rate(
    settings: Settings,
) -> None:
    async with open_app(settings.model_copy(update={
            "rate_limit_per_second": 1.0, "rate_limit_burst": 1, "max_query_depth": 2})) as app:
        statuses = [(await app.call(None, AVAILABILITY))[0] for _ in range(5)]
        assert statuses == [200] * 5
        _, body = await app.call(None, '{ availability(sku: "SKU-A") { levels { atp } } }')
        assert refusal(body)["measure"] == "depth"


def test_the_token_bucket_refills_at_its_rate() -> None:
    now = [100.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("k") == pytest.approx(0.5)
    assert limiter.take("other") == 0.0
    now[0] += 0.5
    assert limiter.take("k") == 0.0
    assert limiter.take("k") == pytest.approx(0.5)
    now[0] += 60
    assert [limiter.take("k") for _ in range(4)][-1] > 0  # never more than the burst


def test_connections_are_counted_per_key() -> None:
    counter = ConnectionCounter(limit=2)
    assert [counter.acquire("a"), counter.acquire("a"), counter.acquire("a")] == [
        True, True, False]
    assert counter.acquire("b")
    counter.release("a")
    assert counter.acquire("a") and counter.open("a") == 2

