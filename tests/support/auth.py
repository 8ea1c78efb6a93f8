"""Test keys for the small network (tests/support/network.py), an app that requires them, and
one sample operation per root field for the access matrix.

A new root field needs an entry in app/auth/policy.py POLICY *and* a sample here:
tests/integration/test_access_matrix.py fails until both exist.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import inspect, text

from adapters.db.engine import Database
from adapters.db.migrate import migrate
from app.container import build_services
from app.main import create_app
from app.settings import Settings
from domain.access import Role
from resolvers.context import Services
from tests.support.network import build_network
from tests.support.server import running_servers


@dataclass(frozen=True)
class Key:
    secret: str
    name: str
    locations: tuple[str, ...] = ()


KEYS: dict[Role, Key] = {
    Role.STOREFRONT: Key("sf-7Yq2-secret-storefront", "test-storefront"),
    Role.ROUTER: Key("rt-Lp93-secret-router", "test-router"),
    Role.ASSOCIATE: Key("as-Qw81-secret-associate", "test-store-1-tablet", ("store-1",)),
    Role.VENDOR: Key("vd-Xe55-secret-vendor", "test-vendor-1", ("vendor-1",)),
    Role.ADMIN: Key("ad-Mn40-secret-admin", "test-admin"),
}
# A second associate, for "another key is still served" and per-key limits.
OTHER_ASSOCIATE = Key("as-Zz02-secret-other-associate", "test-store-2-tablet", ("store-2",))


def write_keys_file(directory: Path) -> Path:
    lines = []
    for role, key in [*KEYS.items(), (Role.ASSOCIATE, OTHER_ASSOCIATE)]:
        lines += ["[[keys]]", f'key = "{key.secret}"', f'role = "{role.value}"',
                  f'name = "{key.name}"']
        if key.locations:
            lines.append("locations = [" + ", ".join(f'"{x}"' for x in key.locations) + "]")
        lines.append("")
    path = directory / "api-keys.toml"
    path.write_text("\n".join(lines))
    return path


def bearer(key: Key | Role) -> dict[str, str]:
    secret = (KEYS[key] if isinstance(key, Role) else key).secret
    return {"Authorization": f"Bearer {secret}"}


@dataclass
class KeyedApp:
    http: httpx.AsyncClient
    services: Services
    database: Database

    async def call(self, key: Key | Role | None, query: str,
                   variables: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        headers = bearer(key) if key is not None else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        body: dict[str, Any] = response.json()
        return response.status_code, body


@asynccontextmanager
async def keyed_app(settings: Settings, directory: Path, **limits: Any) -> AsyncIterator[KeyedApp]:
    """The whole ASGI app (middleware included) with the test keys, over the test network."""
    keyed = settings.model_copy(update={"api_keys_file": write_keys_file(directory), **limits})
    app = create_app(keyed)
    async with app.router.lifespan_context(app):
        await build_network(app.state.services)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield KeyedApp(http, app.state.services, app.state.db)


async def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: equal before and after means nothing changed."""
    async with database.reader.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
        return {
            name: sorted((tuple(r) for r in await conn.execute(text(f'SELECT * FROM "{name}"'))),
                         key=repr)
            for name in sorted(names) if name != "alembic_version"
        }


def forbidden(body: dict[str, Any]) -> bool:
    return any(e.get("extensions", {}).get("code") == "FORBIDDEN" for e in body.get("errors", []))


@dataclass(frozen=True)
class Sample:
    """One operation using a root field. `TAG` in the text becomes the role's name (unique ids).
    `in_scope`: its location arguments are within the scoped role's locations (store-1 for the
    associate, vendor-1 for the vendor). Subscriptions: `setup` runs (as admin) before they
    subscribe, `trigger` after, so that an allowed one has an event to send."""

    query: str
    in_scope: bool = True
    setup: str | None = None
    trigger: str | None = None


LINES = '[{sku: "SKU-A", quantity: 1}]'
NEAR = "{latitude: 52.5, longitude: 13.4}"
RECEIVE = ('mutation { recordMovement(movement: {eventId: "trigger-TAG", type: RECEIVE, '
           'sku: "SKU-A", locationId: "store-1", quantity: 3}) { status } }')
SAMPLES: dict[str, dict[str, Sample]] = {
    "Query": {
        "availability": Sample('{ availability(sku: "SKU-A") { atp } }'),
        "availabilities": Sample('{ availabilities(skus: ["SKU-A", "SKU-B"]) { sku atp } }'),
        "stockLevel": Sample('{ stockLevel(sku: "SKU-A", locationId: "store-1") { onHand } }',
                             in_scope=False),
        "locations": Sample("{ locations { id } }"),
        "pickupOptions": Sample(f"{{ pickupOptions(lines: {LINES}, near: {NEAR}) "
                                "{ distanceKm } }"),
        "routeOrder": Sample(f"{{ routeOrder(lines: {LINES}, shipTo: {NEAR}) {{ splitCount }} }}"),
        "reservation": Sample('{ reservation(id: "no-such-reservation") { id } }'),
        "replenishmentRequests": Sample("{ replenishmentRequests { id } }"),
        "reorderRules": Sample('{ reorderRules(locationId: "store-1") { reorderPoint } }'),
        "webhookDeliveries": Sample("{ webhookDeliveries { id status } }"),
        "webhookConfig": Sample("{ webhookConfig { configured } }"),
        "abcClassification": Sample("{ abcClassification(windowDays: 30) { sku abcClass } }"),
        "_entities": Sample('{ _entities(representations: [{__typename: "Product", '
                            'sku: "SKU-A"}]) { ... on Product { sku } } }'),
        "_service": Sample("{ _service { sdl } }"),
        "vendorSources": Sample("{ vendorSources { mode } }"),
        "locationPolicy": Sample('{ locationPolicy(locationId: "store-1") { priority } }'),
    },
    "Mutation": {
        "upsertLocation": Sample('mutation { upsertLocation(input: {id: "store-TAG", '
                                 'name: "New TAG", kind: STORE}) { id } }'),
        "upsertSku": Sample('mutation { upsertSku(input: {sku: "SKU-TAG"}) { sku } }'),
        "setSafetyStock": Sample('mutation { setSafetyStock(sku: "SKU-A", locationId: '
                                 '"store-1", quantity: 1) { safetyStock } }'),
        "setReorderRule": Sample('mutation { setReorderRule(sku: "SKU-A", locationId: '
                                 '"store-1", reorderPoint: 2, targetLevel: 10) { reorderPoint } }'),
        "removeReorderRule": Sample('mutation { removeReorderRule(sku: "SKU-B", '
                                    'locationId: "store-2") }'),
        "cancelReplenishmentRequest": Sample('mutation { cancelReplenishmentRequest('
                                             'id: "no-such-TAG") { status } }'),
        "retryWebhookDelivery": Sample('mutation { retryWebhookDelivery(id: "999999") '
                                       "{ status } }"),
        "recordMovement": Sample('mutation { recordMovement(movement: {eventId: "one-TAG", '
                                 'type: RECEIVE, sku: "SKU-A", locationId: "store-1", '
                                 "quantity: 2}) { status error } }"),
        "recordMovements": Sample('mutation { recordMovements(movements: [{eventId: "b1-TAG", '
                                  'type: RECEIVE, sku: "SKU-B", locationId: "store-1", '
                                  'quantity: 2}]) { status error } }'),
        "reserve": Sample('mutation { reserve(input: {idempotencyKey: "hold-TAG", lines: '
                          '[{sku: "SKU-A", locationId: "store-1", quantity: 1}]}) '
                          "{ __typename } }"),
        "reserveRoute": Sample('mutation { reserveRoute(input: {idempotencyKey: "route-TAG", '
                               f"lines: {LINES}, shipTo: {NEAR}}}) {{ __typename }} }}"),
        "releaseReservation": Sample('mutation { releaseReservation(id: "no-such-TAG") '
                                     "{ __typename } }"),
        "commitReservation": Sample('mutation { commitReservation(id: "no-such-TAG") '
                                    "{ __typename } }"),
        "pushVendorLevels": Sample('mutation { pushVendorLevels(vendorId: "vendor-1", levels: '
                                   '[{sku: "SKU-A", available: 7}]) { accepted rejected } }'),
        "setVendorSource": Sample('mutation { setVendorSource(input: {locationId: "vendor-1", '
                                  "mode: PUSH}) { mode } }"),
        "refreshVendorSource": Sample('mutation { refreshVendorSource(locationId: "vendor-1") '
                                      "{ accepted } }"),
        "setLocationPolicy": Sample('mutation { setLocationPolicy(locationId: "store-1", '
                                    "priority: 3) { priority } }"),
        "setChannelSafetyStock": Sample('mutation { setChannelSafetyStock(sku: "SKU-A", '
                                        'locationId: "store-1", channel: ONLINE, quantity: 1) '
                                        "{ quantity } }"),
    },
    "Subscription": {
        "availabilityChanged": Sample(
            'subscription { availabilityChanged(skus: ["SKU-A"]) { sku } }', trigger=RECEIVE),
        "networkAvailability": Sample(
            'subscription { networkAvailability(sku: "SKU-A") { atp } }'),
        "lowStock": Sample(
            'subscription { lowStock(locationIds: ["store-1"]) { level { onHand } } }',
            setup='mutation { upsertSku(input: {sku: "LOW-TAG"}) { sku } '
                  'recordMovement(movement: {eventId: "low-in-TAG", type: RECEIVE, '
                  'sku: "LOW-TAG", locationId: "store-1", quantity: 10}) { status } '
                  'setReorderRule(sku: "LOW-TAG", locationId: "store-1", reorderPoint: 5, '
                  "targetLevel: 20) { reorderPoint } }",
            trigger='mutation { recordMovement(movement: {eventId: "low-out-TAG", type: SALE, '
                    'sku: "LOW-TAG", locationId: "store-1", quantity: 8}) { status } }'),
    },
}


def sample_text(text: str, role: Role) -> str:
    return text.replace("TAG", role.value)


@asynccontextmanager
async def open_app(settings: Settings) -> AsyncIterator[KeyedApp]:
    """The app without a keys file, on loopback: open mode."""
    app = create_app(settings.model_copy(update={"api_keys_file": None, "host": "127.0.0.1"}))
    async with app.router.lifespan_context(app):
        await build_network(app.state.services)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield KeyedApp(http, app.state.services, app.state.db)


@dataclass
class Server:
    url: str
    database: Database

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"


@asynccontextmanager
async def keyed_server(directory: Path, **env: str) -> AsyncIterator[Server]:
    """A real `stockgraph serve` process with the test keys, over the test network (SQLite)."""
    db_url = f"sqlite+aiosqlite:///{directory / 'stockgraph.db'}"
    database = Database(db_url, pool_size=5)
    try:
        await migrate(database)
        await build_network(build_services(database, Settings(database_url=db_url)))
        env = {"DATABASE_URL": db_url, "BROADCAST_URL": "memory://",
               "STOCKGRAPH_API_KEYS_FILE": str(write_keys_file(directory)), **env}
        # (no log_dir: running_servers leaves its log files open)
        async with running_servers(env) as [url]:
            yield Server(url, database)
    finally:
        await database.dispose()
