"""Federation entities on both engines: a supergraph resolves Product and Location by reference,
and asking for 100 of them costs the same few SQL statements as asking for 10 (DataLoaders,
no N+1). The same holds for the `availabilities` list field."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from starlette.applications import Starlette

from adapters.db.engine import Database
from app.main import create_app
from app.settings import Settings
from domain.movement import MovementType
from resolvers.context import Services
from services import catalog
from tests.conftest import GraphQLClient
from tests.support.network import NOW, build_network, mv, record

SKUS = [f"FED-{n:03d}" for n in range(100)]
ENTITIES = """query($r: [_Any!]!) { _entities(representations: $r) {
  __typename
  ... on Product { sku availability { atp onHand levels { location { id name } atp } } }
  ... on Location { id name kind } } }"""
_COUNTED = ContextVar("counted", default=False)
AVAILABILITIES = """query($s: [ID!]!) { availabilities(skus: $s) {
  sku atp levels { location { id } atp } } }"""


@dataclass
class Supergraph:
    """What a gateway sees of this subgraph, and a counter of the SQL it causes."""

    gql: GraphQLClient
    db: Database

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        """Statements run on behalf of requests made inside the block (the app's background
        loops, started earlier, do not carry the context variable set here)."""
        statements: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if _COUNTED.get():
                statements.append(statement)

        engines = {id(e): e for e in (self.db.reader.sync_engine, self.db.writer.sync_engine)}
        for engine in engines.values():
            event.listen(engine, "before_cursor_execute", count)
        token = _COUNTED.set(True)
        try:
            yield statements
        finally:
            _COUNTED.reset(token)
            for engine in engines.values():
                event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
async def supergraph(db_url: str, services: Services) -> AsyncIterator[Supergraph]:
    """The network of tests/support with 100 more SKUs, each with stock at wh-1 and store-1;
    background loops off so that only requests run SQL."""
    await build_network(services)
    for sku in SKUS:
        await catalog.upsert_sku(services.catalog, sku, None, None, NOW)
    await record(services, *[mv(MovementType.RECEIVE, sku, loc, 1 + n)
                             for n, sku in enumerate(SKUS) for loc in ("wh-1", "store-1")])
    settings = Settings(database_url=db_url, broadcast_url="memory://", vendor_poller=False,
                        reservation_sweep_seconds=0, rate_limit_per_second=0)
    app: Starlette = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield Supergraph(GraphQLClient(http), app.state.db)


def products(skus: list[str]) -> list[dict[str, str]]:
    return [{"__typename": "Product", "sku": s} for s in skus]


def locations(ids: list[str]) -> list[dict[str, str]]:
    return [{"__typename": "Location", "id": i} for i in ids]


async def test_products_by_reference_carry_their_availability(supergraph: Supergraph) -> None:
    data = await supergraph.gql.data(ENTITIES, r=products(["FED-007", "SKU-A", "FED-099"]))
    first, unstocked, last = data["_entities"]
    assert first["__typename"] == "Product"
    assert (first["sku"], first["availability"]["atp"]) == ("FED-007", 16)
    assert [(lv["location"]["id"], lv["atp"]) for lv in first["availability"]["levels"]] == [
        ("store-1", 8), ("wh-1", 8)]
    assert first["availability"]["levels"][1]["location"]["name"] == "Warehouse One"
    assert (unstocked["sku"], unstocked["availability"]["atp"]) == ("SKU-A", 0)
    assert (last["sku"], last["availability"]["onHand"]) == ("FED-099", 200)


async def test_locations_by_reference_and_null_for_an_unknown_one(
    supergraph: Supergraph,
) -> None:
    data = await supergraph.gql.data(ENTITIES, r=locations(["store-2", "nowhere", "wh-1"]))
    assert data["_entities"] == [
        {"__typename": "Location", "id": "store-2", "name": "Store Two", "kind": "STORE"},
        None,
        {"__typename": "Location", "id": "wh-1", "name": "Warehouse One", "kind": "WAREHOUSE"},
    ]


async def statements_for(sg: Supergraph, query: str, **variables: Any) -> int:
    with sg.counting() as statements:
        data = await sg.gql.data(query, **variables)
    assert data and statements  # the counter sees the request's reads
    return len(statements)


async def test_a_hundred_products_cost_no_more_sql_than_ten(supergraph: Supergraph) -> None:
    ten = await statements_for(supergraph, ENTITIES, r=products(SKUS[:10]))
    hundred = await statements_for(supergraph, ENTITIES, r=products(SKUS))
    assert hundred == ten
    assert hundred <= 3  # one read of levels (and channel safety stock) for them all


async def test_a_hundred_locations_cost_no_more_sql_than_ten(supergraph: Supergraph) -> None:
    ids = ["wh-1", "store-1", "store-2", "vendor-1", "nowhere"]
    ten = await statements_for(supergraph, ENTITIES, r=locations(ids * 2))
    hundred = await statements_for(supergraph, ENTITIES, r=locations(ids * 20))
    assert hundred == ten
    assert hundred <= 2  # one read of locations for them all


async def test_mixed_entities_are_batched_per_type(supergraph: Supergraph) -> None:
    mixed = [rep for pair in zip(products(SKUS), locations(["wh-1", "store-2"] * 50),
                                 strict=True) for rep in pair]
    few = await statements_for(supergraph, ENTITIES, r=mixed[:10])
    many = await statements_for(supergraph, ENTITIES, r=mixed)
    assert many == few


async def test_availabilities_of_a_hundred_skus_is_not_n_plus_one(supergraph: Supergraph) -> None:
    ten = await statements_for(supergraph, AVAILABILITIES, s=SKUS[:10])
    hundred = await statements_for(supergraph, AVAILABILITIES, s=SKUS)
    assert hundred == ten
    assert hundred <= 5  # known SKUs, then their levels (BEGIN counts on SQLite)
    data = await supergraph.gql.data(AVAILABILITIES, s=SKUS)
    assert [a["atp"] for a in data["availabilities"]] == [2 * (1 + n) for n in range(100)]
