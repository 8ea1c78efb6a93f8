"""GraphQL over HTTP as its spec says: content negotiation, status codes and the shape of
request errors, through the real ASGI app (in process, SQLite)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from strawberry.http.streaming import SSETransport
from strawberry.subscriptions import GRAPHQL_SSE_PROTOCOL

from app import http_spec
from app.http_spec import GraphQLOverHTTP
from app.main import create_app
from app.plain_post import plain_media_type, plain_operation
from app.settings import Settings

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
TYPENAME = {"query": "{ __typename }"}
CREATE_LOCATION = """mutation { upsertLocation(input: {id: "store-9", name: "Nine", kind: STORE})
                     { id } }"""
LOCATION_IDS = "{ locations { id } }"


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'sg.db'}",
                        broadcast_url="memory://")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def post(http: httpx.AsyncClient, body: Any, accept: str | None = GRAPHQL_RESPONSE,
               content_type: str | None = JSON) -> httpx.Response:
    headers = {k: v for k, v in (("accept", accept), ("content-type", content_type)) if v}
    content = body if isinstance(body, str | bytes) else json.dumps(body)
    return await http.post("/graphql", content=content, headers=headers)


def media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


async def location_ids(http: httpx.AsyncClient) -> list[str]:
    response = await post(http, {"query": LOCATION_IDS})
    return [loc["id"] for loc in response.json()["data"]["locations"]]


# Content negotiation ---------------------------------------------------------------------

@pytest.mark.parametrize(("accept", "expected"), [
    (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
    (JSON, JSON),
    (None, JSON),  # no Accept: a legacy client
    ("*/*", JSON),
    ("application/*", JSON),
    (f"{GRAPHQL_RESPONSE}, {JSON}", GRAPHQL_RESPONSE),
    (f"{JSON}, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
    (f"{GRAPHQL_RESPONSE};q=0.5, {JSON}", JSON),
    (f"{JSON};q=0.2, {GRAPHQL_RESPONSE};q=0.9", GRAPHQL_RESPONSE),
    (f"{GRAPHQL_RESPONSE}, */*;q=0.1", GRAPHQL_RESPONSE),
    (f"text/html, {GRAPHQL_RESPONSE};charset=utf-8", GRAPHQL_RESPONSE),
    (f"{GRAPHQL_RESPONSE};q=0, */*", JSON),
    (f"{GRAPHQL_RESPONSE};charset=iso-8859-1, {JSON}", JSON),
])
async def test_the_response_has_the_media_type_the_client_prefers(
    http: httpx.AsyncClient, accept: str | None, expected: str
) -> None:
    response = await post(http, TYPENAME, accept=accept)

    assert response.status_code == 200
    assert media_type(response) == expected
    assert response.headers["content-type"].endswith("charset=utf-8")
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("accept", [
    "text/html", "application/xml", f"{GRAPHQL_RESPONSE};q=0, {JSON};q=0", "image/*",
])
async def test_a_client_accepting_neither_type_gets_406_and_nothing_is_executed(
    http: httpx.AsyncClient, accept: str
) -> None:
    response = await post(http, {"query": CREATE_LOCATION}, accept=accept)

    assert response.status_code == 406
    assert response.json()["errors"][0]["message"]
    assert "store-9" not in await location_ids(http)


async def test_graphiql_is_still_served_to_a_browser(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", headers={"accept": "text/html"})

    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


# Status codes and request errors ---------------------------------------------------------

# body, and what the error message names
REQUEST_ERRORS = {
    "unparsable document": ({"query": "{"}, "Syntax Error"),
    "invalid document": ({"query": "{ noSuchField }"}, "noSuchField"),
    "variables that do not coerce": ({
        "query": "query($id: ID!) { stockLevel(sku: $id, locationId: $id) { onHand } }",
        "variables": {"id": None}}, "$id"),
}


@pytest.mark.parametrize(("body", "names"), REQUEST_ERRORS.values(), ids=REQUEST_ERRORS.keys())
async def test_request_errors_are_400_without_data_for_graphql_response_json(
    http: httpx.AsyncClient, body: dict[str, Any], names: str
) -> None:
    response = await post(http, body, accept=GRAPHQL_RESPONSE)

    assert response.status_code == 400
    assert media_type(response) == GRAPHQL_RESPONSE
    assert "data" not in response.json()
    assert names in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(("body", "names"), REQUEST_ERRORS.values(), ids=REQUEST_ERRORS.keys())
async def test_request_errors_are_200_without_data_for_legacy_json(
    http: httpx.AsyncClient, body: dict[str, Any], names: str
) -> None:
    response = await post(http, body, accept=JSON)

    assert response.status_code == 200
    assert media_type(response) == JSON
    assert "data" not in response.json()
    assert names in response.json()["errors"][0]["message"]


async def test_an_execution_error_is_200_with_data(http: httpx.AsyncClient) -> None:
    # Given a field that fails while executing (the location does not exist)
    query = 'mutation { setSafetyStock(sku: "SKU-A", locationId: "no", quantity: 1) { onHand } }'

    response = await post(http, {"query": query}, accept=GRAPHQL_RESPONSE)

    # Then it is an execution result: 200, `data` present (null), the error has a path
    assert response.status_code == 200
    body = response.json()
    assert "data" in body
    assert body["data"] is None
    assert body["errors"][0]["path"] == ["setSafetyStock"]


async def test_a_mutation_over_get_is_405_and_changes_nothing(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", params={"query": CREATE_LOCATION},
                              headers={"accept": GRAPHQL_RESPONSE})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert media_type(response) == GRAPHQL_RESPONSE
    assert response.json()["errors"][0]["message"]
    assert "store-9" not in await location_ids(http)


async def test_a_query_over_get_with_json_variables_runs(http: httpx.AsyncClient) -> None:
    params = {"query": "query($kind: LocationKind) { locations(kind: $kind) { id } }",
              "variables": json.dumps({"kind": "STORE"})}
    response = await http.get("/graphql", params=params, headers={"accept": GRAPHQL_RESPONSE})

    assert response.status_code == 200
    assert response.json() == {"data": {"locations": []}}


async def test_a_mutation_over_post_runs(http: httpx.AsyncClient) -> None:
    response = await post(http, {"query": CREATE_LOCATION})

    assert response.status_code == 200
    assert response.json() == {"data": {"upsertLocation": {"id": "store-9"}}}
    assert "store-9" in await location_ids(http)


@pytest.mark.parametrize("content_type", [
    None, "text/plain", "application/x-www-form-urlencoded", "application/graphql",
    f"{JSON}; charset=iso-8859-1",
])
async def test_a_post_body_that_is_not_utf8_json_is_415_and_changes_nothing(
    http: httpx.AsyncClient, content_type: str | None
) -> None:
    response = await post(http, {"query": CREATE_LOCATION}, content_type=content_type)

    assert response.status_code == 415
    assert response.json()["errors"][0]["message"]
    assert "store-9" not in await location_ids(http)


async def test_json_with_an_explicit_utf8_charset_is_accepted(http: httpx.AsyncClient) -> None:
    response = await post(http, TYPENAME, content_type=f"{JSON}; charset=UTF-8")

    assert response.status_code == 200


MALFORMED = {
    "empty body": "",
    "invalid JSON": '{ "not a JSON',
    "JSON that is not an object": "5",
    "no query": {"notquery": "{ __typename }"},
    "query not a string": {"query": {"obj": "ect"}},
    "operationName not a string": {"query": "query Q { __typename }", "operationName": 0},
    "variables not an object": {"query": "{ __typename }", "variables": "string"},
    "variables an array": {"query": "{ __typename }", "variables": ["array"]},
    "extensions not an object": {"query": "{ __typename }", "extensions": False},
}


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, JSON])
@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_request_is_400_with_a_graphql_error_body(
    http: httpx.AsyncClient, body: Any, accept: str
) -> None:
    response = await post(http, body, accept=accept)

    assert response.status_code == 400
    assert media_type(response) == accept
    payload = response.json()
    assert "data" not in payload
    assert payload["errors"][0]["message"]


@pytest.mark.parametrize("parameter", ["variables", "operationName", "extensions"])
async def test_null_optional_parameters_are_allowed(
    http: httpx.AsyncClient, parameter: str
) -> None:
    response = await post(http, {**TYPENAME, parameter: None})

    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


# The short path for a POST of one JSON operation (app/plain_post.py) ----------------------

ANSWERED_ALIKE = {
    "a query": {"query": LOCATION_IDS},
    "a mutation": {"query": CREATE_LOCATION},
    **{name: body for name, (body, _) in REQUEST_ERRORS.items()},
    "an execution error": {"query": 'mutation { setSafetyStock(sku: "SKU-A", locationId: "no", '
                                    "quantity: 1) { onHand } }"},
    "a subscription over POST": {"query": "subscription { availabilityChanged { sequence } }"},
    "two operations and no name": {"query": "query A { __typename } query B { __typename }"},
    "an unknown operation name": {"query": "query A { __typename }", "operationName": "B"},
    "null extensions": {**TYPENAME, "extensions": None},
}


# What clients send: graphql-http's, Apollo Client's with @defer, urql's (no HTTP streaming
# transport is configured, so these stay plain answers either way)
ACCEPTS = [GRAPHQL_RESPONSE, JSON, None,
           f"multipart/mixed;deferSpec=20220824, {GRAPHQL_RESPONSE}, {JSON}",
           f"{GRAPHQL_RESPONSE}, {JSON}, text/event-stream, multipart/mixed"]


@pytest.fixture
def general_path(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """[n]: how many requests Strawberry's general path (`_respond`) has answered."""
    answered = [0]
    respond = GraphQLOverHTTP._respond

    async def counted(view: GraphQLOverHTTP[Any, Any], request: Any) -> Any:
        answered[0] += 1
        return await respond(view, request)

    monkeypatch.setattr(GraphQLOverHTTP, "_respond", counted)
    return answered


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("body", ANSWERED_ALIKE.values(), ids=ANSWERED_ALIKE.keys())
async def test_the_short_path_answers_as_the_general_path_does(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, general_path: list[int],
    body: dict[str, Any], accept: str | None
) -> None:
    short = await post(http, body, accept=accept)
    assert general_path == [0]  # the short path answered

    monkeypatch.setattr(http_spec, "plain_media_type", lambda headers: None)
    long = await post(http, body, accept=accept)
    assert general_path == [1]  # the general path answered

    assert (short.status_code, short.headers.get("content-type"), short.headers.get("allow")) \
        == (long.status_code, long.headers.get("content-type"), long.headers.get("allow"))
    assert short.json() == long.json()


async def test_a_view_with_an_http_streaming_transport_leaves_every_post_to_strawberry(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, general_path: list[int]
) -> None:
    # Given a view configured with SSE (ours is not): Strawberry picks it by the Accept header
    monkeypatch.setattr(GraphQLOverHTTP, "_stream_transport_map",
                        property(lambda view: {GRAPHQL_SSE_PROTOCOL: SSETransport()}))

    response = await post(http, TYPENAME, accept=JSON)

    assert response.json() == {"data": {"__typename": "Query"}}
    assert general_path == [1]


@pytest.mark.parametrize("headers", [
    {"content-type": "text/plain"},
    {"content-type": f"{JSON}; charset=iso-8859-1"},
    {"content-type": JSON, "accept": "text/html"},  # neither of our types: 406
    {"accept": JSON},  # no content type
])
def test_headers_in_doubt_take_the_general_path(headers: dict[str, str]) -> None:
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    assert plain_media_type(raw) is None


@pytest.mark.parametrize("body", [*MALFORMED.values(), [TYPENAME], b'{"query": "\xff"}'],
                         ids=[*MALFORMED.keys(), "a batch", "not UTF-8"])
def test_bodies_in_doubt_take_the_general_path(body: Any) -> None:
    raw = body if isinstance(body, bytes) else (
        body.encode() if isinstance(body, str) else json.dumps(body).encode())
    assert plain_operation(raw) is None
