"""Access over WebSocket (graphql-transport-ws) against a real server: the key travels in the
connection_init payload, a bad one closes the socket with 4403, every role meets every root
field as the policy says (queries and mutations too: the protocol allows them), and a key
holds at most its share of connections."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.auth.policy import POLICY
from domain.access import Role
from resolvers.schema import build_schema
from tests.support.auth import (
    KEYS,
    OTHER_ASSOCIATE,
    SAMPLES,
    Key,
    Server,
    bearer,
    keyed_server,
    sample_text,
    snapshot,
)

pytestmark = pytest.mark.slow

SCHEMA = build_schema()._schema
ROOTS = {t.name: t for t in (SCHEMA.query_type, SCHEMA.mutation_type, SCHEMA.subscription_type)
         if t is not None}
FIELDS = [(root, name) for root, t in ROOTS.items() for name in t.fields]
WAIT = 20.0  # seconds: a deadline for an answer, not a measure of speed
_ids = itertools.count()


class Session:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def run(self, query: str) -> tuple[str, Any]:
        """Subscribe with `query`; the first answer for it: ("next", payload) or ("error", ...)."""
        op = str(next(_ids))
        await self.ws.send(json.dumps({"id": op, "type": "subscribe",
                                       "payload": {"query": query}}))
        return await self.answer(op)

    async def answer(self, op: str) -> tuple[str, Any]:
        async with asyncio.timeout(WAIT):
            while True:
                message = json.loads(await self.ws.recv())
                if message.get("id") == op and message["type"] in ("next", "error"):
                    return message["type"], message["payload"]


@asynccontextmanager
async def session(server: Server, key: Key | str | None) -> AsyncIterator[Session]:
    secret = key.secret if isinstance(key, Key) else key
    async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        payload = {"authorization": f"Bearer {secret}"} if secret is not None else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        async with asyncio.timeout(WAIT):
            ack = json.loads(await ws.recv())
        assert ack["type"] == "connection_ack", ack
        yield Session(ws)


async def closed_with(server: Server, payload: dict[str, Any]) -> int | None:
    async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        try:
            async with asyncio.timeout(WAIT):
                await ws.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
    return None


def is_forbidden(kind: str, payload: Any) -> bool:
    errors = payload if kind == "error" else payload.get("errors") or []
    return any(e.get("extensions", {}).get("code") == "FORBIDDEN" for e in errors)


def allowed(root: str, name: str, role: Role) -> bool:
    access = POLICY[root][name]
    return role in access.roles and (role not in access.scoped_by
                                     or SAMPLES[root][name].in_scope)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    async with keyed_server(tmp_path, STOCKGRAPH_MAX_CONNECTIONS_PER_KEY="7") as s:
        yield s


async def admin_http(server: Server, query: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url, timeout=WAIT) as http:
        response = await http.post("/graphql", json={"query": query}, headers=bearer(Role.ADMIN))
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        return body


async def test_every_role_meets_every_root_field_as_the_policy_says(server: Server) -> None:
    for root, name in FIELDS:
        sample = SAMPLES[root][name]
        for role in Role:
            if sample.setup:
                await admin_http(server, sample_text(sample.setup, role))
            before = await snapshot(server.database)
            async with session(server, KEYS[role]) as s:
                op = str(next(_ids))
                await s.ws.send(json.dumps({"id": op, "type": "subscribe", "payload": {
                    "query": sample_text(sample.query, role)}}))
                if allowed(root, name, role) and sample.trigger:
                    await admin_http(server, sample_text(sample.trigger, role))
                kind, payload = await s.answer(op)
            if allowed(root, name, role):
                assert kind == "next" and not is_forbidden(kind, payload), (root, name, role)
            else:
                assert kind == "error" and is_forbidden(kind, payload), (root, name, role)
                assert await snapshot(server.database) == before, (root, name, role)


@pytest.mark.parametrize("payload", [
    {}, {"authorization": "Bearer not-a-key"}, {"authorization": KEYS[Role.ADMIN].secret},
    {"authorization": 42},
])
async def test_a_bad_key_closes_the_socket_with_4403(server: Server, payload: dict[str, Any]
                                                     ) -> None:
    assert await closed_with(server, payload) == 4403


async def test_an_operation_before_connection_init_closes_the_socket(server: Server) -> None:
    async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": "{ locations { id } }"}}))
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(WAIT):
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_the_legacy_protocol_refuses_a_bad_key_with_connection_error(server: Server
                                                                           ) -> None:
    async with connect(server.ws_url, subprotocols=["graphql-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": "x"}}))
        async with asyncio.timeout(WAIT):
            assert json.loads(await ws.recv())["type"] == "connection_error"


async def test_an_associate_socket_moves_stock_at_its_store_only(server: Server) -> None:
    move = ('mutation { recordMovement(movement: {eventId: "ws-%s", type: RECEIVE, sku: "SKU-A", '
            'locationId: "%s", quantity: 4}) { status level { onHand } } }')
    async with session(server, KEYS[Role.ASSOCIATE]) as s:
        kind, own = await s.run(move % ("own", "store-1"))
        assert kind == "next" and own["data"]["recordMovement"]["status"] == "APPLIED"
        before = await snapshot(server.database)
        kind, other = await s.run(move % ("other", "store-2"))
        assert kind == "next" and is_forbidden(kind, other) and other["data"] is None
        assert await snapshot(server.database) == before


async def test_a_key_holds_at_most_its_connections_and_gets_them_back(server: Server) -> None:
    refused_or_ack = {"authorization": f"Bearer {OTHER_ASSOCIATE.secret}"}
    async with AsyncExitStack() as all_open:
        one = AsyncExitStack()
        await one.enter_async_context(session(server, OTHER_ASSOCIATE))
        all_open.push_async_callback(one.aclose)
        for _ in range(6):
            await all_open.enter_async_context(session(server, OTHER_ASSOCIATE))
        # Given all 7 of a key's connections open, an 8th is refused; other keys are not.
        assert await closed_with(server, refused_or_ack) == 4403
        async with session(server, KEYS[Role.STOREFRONT]) as s:
            assert (await s.run("{ locations { id } }"))[0] == "next"
        # When one closes, the key may connect again once the server has seen the close.
        await one.aclose()
        async with asyncio.timeout(WAIT):
            while True:
                if await closed_with(server, refused_or_ack) is None:
                    break
                await asyncio.sleep(0.05)


async def test_operations_over_a_socket_draw_on_the_key_s_rate(tmp_path: Path) -> None:
    async with keyed_server(tmp_path, STOCKGRAPH_RATE_LIMIT="0.01",
                            STOCKGRAPH_RATE_LIMIT_BURST="3") as limited:
        async with session(limited, KEYS[Role.STOREFRONT]) as s:
            answers = [await s.run("{ locations { id } }") for _ in range(5)]
        assert [kind for kind, _ in answers[:3]] == ["next"] * 3
        assert [kind for kind, _ in answers[3:]] == ["error"] * 2
        assert answers[3][1][0]["extensions"]["code"] == "RATE_LIMITED"
        async with session(limited, OTHER_ASSOCIATE) as other:
            assert (await other.run("{ locations { id } }"))[0] == "next"
