"""Replenishment over GraphQL on both engines: rules set and listed, requests raised by
movements and vendor levels, fulfilled, cancelled; every bad input refused, nothing stored."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.db.engine import Database
from app.settings import Settings
from tests.conftest import GraphQLClient
from tests.support.auth import snapshot
from tests.support.network import LOCATIONS, SKUS

SET_RULE = """mutation($sku: ID!, $loc: ID!, $point: Int!, $target: Int!, $fixed: Int,
                       $supplier: String, $source: ID) {
  setReorderRule(sku: $sku, locationId: $loc, reorderPoint: $point, targetLevel: $target,
                 fixedQuantity: $fixed, supplier: $supplier, sourceLocationId: $source) {
    sku location { id } reorderPoint targetLevel fixedQuantity supplier sourceLocationId } }"""
REQUESTS = """query($status: ReplenishmentStatus) { replenishmentRequests(status: $status) {
  id sku location { id name } quantity status createdAt position closedBy } }"""
RECORD = """mutation($m: MovementInput!) { recordMovement(movement: $m) { status error } }"""
CANCEL = """mutation($id: ID!) { cancelReplenishmentRequest(id: $id) { id status closedBy } }"""
_events = iter(range(1_000_000))
STOCKGRAPH = str(Path(sys.executable).parent / "stockgraph")


def movement(type: str, sku: str, loc: str, q: int, **extra: Any) -> dict[str, Any]:
    return {"eventId": f"rq-{next(_events)}", "type": type, "sku": sku, "locationId": loc,
            "quantity": q, **extra}


@pytest.fixture
async def net(gql: GraphQLClient) -> GraphQLClient:
    for loc in LOCATIONS:
        await gql.data("mutation($l: LocationInput!) { upsertLocation(input: $l) { id } }",
                       l={"id": loc.id, "name": loc.name, "kind": loc.kind.name})
    for sku in SKUS:
        await gql.data("mutation($s: SkuInput!) { upsertSku(input: $s) { sku } }",
                       s={"sku": sku})
    await gql.data(RECORD, m=movement("RECEIVE", "SKU-A", "store-1", 20))
    return gql


async def test_a_sale_raises_the_request_receiving_against_it_fulfils_it(
    net: GraphQLClient
) -> None:
    # Given a rule at store-1: reorder at 5, up to 30 (20 on hand)
    rule = (await net.data(SET_RULE, sku="SKU-A", loc="store-1", point=5, target=30))
    assert rule["setReorderRule"] == {
        "sku": "SKU-A", "location": {"id": "store-1"}, "reorderPoint": 5, "targetLevel": 30,
        "fixedQuantity": None, "supplier": None, "sourceLocationId": None}
    assert (await net.data("{ reorderRules { sku location { id } } }"))["reorderRules"] == [
        {"sku": "SKU-A", "location": {"id": "store-1"}}]
    # When a sale takes store-1 to 3
    await net.data(RECORD, m=movement("SALE", "SKU-A", "store-1", 17))
    # Then one OPEN request asks for 27
    [request] = (await net.data(REQUESTS, status="OPEN"))["replenishmentRequests"]
    assert (request["location"], request["quantity"], request["position"]) == (
        {"id": "store-1", "name": "Store One"}, 27, 3)
    # And when the goods arrive with its id as reference, it is FULFILLED by that receipt
    receipt = movement("RECEIVE", "SKU-A", "store-1", 27, reference=request["id"])
    assert (await net.data(RECORD, m=receipt))["recordMovement"]["status"] == "APPLIED"
    assert (await net.data(REQUESTS, status="OPEN"))["replenishmentRequests"] == []
    [closed] = (await net.data(REQUESTS, status="FULFILLED"))["replenishmentRequests"]
    assert (closed["id"], closed["closedBy"]) == (request["id"], receipt["eventId"])


async def test_a_vendor_level_pushed_under_the_point_raises_a_request(
    net: GraphQLClient
) -> None:
    push = """mutation($levels: [VendorLevelInput!]!) {
      pushVendorLevels(vendorId: "vendor-1", levels: $levels) { accepted rejected } }"""
    await net.data('mutation { setVendorSource(input: {locationId: "vendor-1", mode: PUSH}) '
                   "{ mode } }")
    await net.data(push, levels=[{"sku": "SKU-B", "available": 50}])
    await net.data(SET_RULE, sku="SKU-B", loc="vendor-1", point=10, target=40)
    await net.data(push, levels=[{"sku": "SKU-B", "available": 8}])
    [request] = (await net.data(REQUESTS))["replenishmentRequests"]
    assert (request["sku"], request["location"]["id"], request["quantity"]) == (
        "SKU-B", "vendor-1", 32)


async def test_an_admin_cancels_an_open_request_once(net: GraphQLClient) -> None:
    await net.data(SET_RULE, sku="SKU-C", loc="wh-1", point=0, target=10)  # none there: 0
    [request] = (await net.data(REQUESTS))["replenishmentRequests"]
    cancelled = (await net.data(CANCEL, id=request["id"]))["cancelReplenishmentRequest"]
    assert (cancelled["status"], cancelled["closedBy"]) == ("CANCELLED", "open")
    again = (await net(CANCEL, id=request["id"]))["errors"][0]
    assert again["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
    assert "CANCELLED" in again["message"]
    missing = (await net(CANCEL, id="no-such-request"))["errors"][0]
    assert missing["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(("args", "code", "field"), [
    ({"point": -1, "target": 10}, "BAD_USER_INPUT", "reorderPoint"),
    ({"point": 5, "target": 5}, "BAD_USER_INPUT", "targetLevel"),
    ({"point": 5, "target": 2}, "BAD_USER_INPUT", "targetLevel"),
    ({"fixed": 0}, "BAD_USER_INPUT", "fixedQuantity"),
    ({"sku": "SKU-NOPE"}, "NOT_FOUND", "sku"),
    ({"loc": "store-nope"}, "NOT_FOUND", "locationId"),
    ({"source": "wh-nope"}, "NOT_FOUND", "sourceLocationId"),
    ({"source": "store-1"}, "BAD_USER_INPUT", "sourceLocationId"),
    ({"supplier": "s" * 201}, "BAD_USER_INPUT", "supplier"),
])
async def test_a_bad_rule_is_refused_with_a_clear_error_and_nothing_is_stored(
    net: GraphQLClient, database: Database, args: dict[str, Any], code: str, field: str
) -> None:
    # Given a store at 3 units: a valid rule there would raise a request at once
    await net.data(RECORD, m=movement("SALE", "SKU-A", "store-1", 17))
    before = await snapshot(database)
    body = await net(SET_RULE, **{"sku": "SKU-A", "loc": "store-1", "point": 5,
                                  "target": 30, **args})
    [error] = body["errors"]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (code, field)
    assert body["data"] is None
    assert await snapshot(database) == before


async def test_unit_cost_is_set_with_upsert_sku_and_must_be_an_amount(
    net: GraphQLClient
) -> None:
    upsert = "mutation($s: SkuInput!) { upsertSku(input: $s) { sku } }"
    await net.data(upsert, s={"sku": "SKU-A", "unitCost": 12.5})
    for bad in (-1.0, -0.01):
        body = await net(upsert, s={"sku": "SKU-A", "unitCost": bad})
        assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "unitCost"}
    [row] = (await net.data('{ abcClassification(locationId: "store-1") { sku unitCost } }')
             )["abcClassification"]
    assert row == {"sku": "SKU-A", "unitCost": 12.5}


def test_a_webhook_url_that_is_not_http_is_refused_at_startup() -> None:
    for url in ("ftp://purchasing.example/hook", "purchasing.example/hook", "http://"):
        with pytest.raises(ValidationError, match="must be an http:// or https:// URL"):
            Settings(STOCKGRAPH_WEBHOOK_URL=url, STOCKGRAPH_WEBHOOK_SECRET="s")
    with pytest.raises(ValidationError, match="without STOCKGRAPH_WEBHOOK_SECRET"):
        Settings(STOCKGRAPH_WEBHOOK_URL="https://purchasing.example/hook")


async def test_serve_with_a_bad_webhook_url_exits_with_the_reason(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        STOCKGRAPH, "serve", "--port", "9", env={
            **os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
            "STOCKGRAPH_WEBHOOK_URL": "ftp://purchasing.example/hook",
            "STOCKGRAPH_WEBHOOK_SECRET": "s"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 2
    assert "STOCKGRAPH_WEBHOOK_URL must be an http:// or https:// URL" in err.decode()
    assert not (tmp_path / "x.db").exists()


async def test_webhook_config_shows_the_url_never_the_secret(net: GraphQLClient) -> None:
    assert (await net.data("{ webhookConfig { configured url } }"))["webhookConfig"] == {
        "configured": False, "url": None}
