"""API keys: the keys file, open mode, and what a request without a valid key gets."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.auth.gate import AccessConfigError, build_gate, is_loopback, load_keys
from app.auth.keys import KeyFileError, KeyRing, read_key_file
from app.main import create_app
from app.settings import Settings
from domain.access import OPEN_CALLER, Role
from tests.support.auth import KEYS, KeyedApp, keyed_app, write_keys_file

ROOT = Path(__file__).resolve().parents[2]
LOCATIONS = "{ locations { id } }"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """Keys do not depend on the storage engine: SQLite only."""
    return f"sqlite+aiosqlite:///{tmp_path / 'stockgraph.db'}"


@pytest.fixture
async def app(settings: Settings, tmp_path: Path) -> AsyncIterator[KeyedApp]:
    async with keyed_app(settings, tmp_path) as keyed:
        yield keyed


def keys_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "keys.toml"
    path.write_text(body)
    return path


def test_a_key_is_known_by_its_hash_and_maps_to_its_role_name_and_locations(
    tmp_path: Path,
) -> None:
    ring = KeyRing.from_file(write_keys_file(tmp_path))
    caller = ring.authenticate(KEYS[Role.ASSOCIATE].secret)
    assert caller is not None
    assert (caller.name, caller.role, caller.locations) == (
        "test-store-1-tablet", Role.ASSOCIATE, frozenset({"store-1"}))
    assert ring.authenticate("as-Qw81-secret-associatE") is None
    assert ring.authenticate("") is None


def test_names_default_to_role_and_position(tmp_path: Path) -> None:
    entries = read_key_file(keys_file(tmp_path, '[[keys]]\nkey = "k1"\nrole = "router"\n'
                                                '[[keys]]\nkey = "k2"\nrole = "admin"\n'))
    assert [e.caller.name for e in entries] == ["router-1", "admin-2"]


@pytest.mark.parametrize(("body", "says"), [
    ("", "no [[keys]] entries"),
    ("[[keys]\n", "cannot be read"),
    ('[[keys]]\nkey = "k"\nrole = "owner"\n', "role must be one of"),
    ('[[keys]]\nrole = "admin"\n', "key must be a non-empty string"),
    ('[[keys]]\nkey = " k"\nrole = "admin"\n', "without surrounding spaces"),
    ('[[keys]]\nkey = "k"\nrole = "associate"\n', "needs locations"),
    ('[[keys]]\nkey = "k"\nrole = "vendor"\nlocations = []\n', "needs locations"),
    ('[[keys]]\nkey = "k"\nrole = "router"\nlocations = ["store-1"]\n', "associate and vendor"),
    ('[[keys]]\nkey = "k"\nrole = "admin"\nlocation = ["x"]\n', "unknown field(s) location"),
    ('[[keys]]\nkey = "k"\nrole = "admin"\n[[keys]]\nkey = "k"\nrole = "router"\n',
     "the same key is given twice"),
    ('[[keys]]\nkey = "a"\nrole = "admin"\nname = "n"\n[[keys]]\nkey = "b"\nrole = "router"\n'
     'name = "n"\n', "names must be unique"),
])
def test_a_bad_keys_file_is_a_clear_startup_error(tmp_path: Path, body: str, says: str) -> None:
    path = keys_file(tmp_path, body)
    with pytest.raises(KeyFileError, match=str(path)) as caught:
        read_key_file(path)
    assert says in str(caught.value)
    with pytest.raises(AccessConfigError, match="refusing to start"):
        create_app(Settings(api_keys_file=path))


def test_a_missing_keys_file_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(AccessConfigError, match="does not exist"):
        create_app(Settings(api_keys_file=tmp_path / "nope.toml"))


@pytest.mark.parametrize("name", ["deploy/demo-keys.toml", "deploy/api-keys.example.toml"])
def test_the_shipped_keys_files_load_with_one_key_per_role(name: str) -> None:
    callers = list(KeyRing.from_file(ROOT / name).callers())
    assert sorted(c.role.value for c in callers) == sorted(r.value for r in Role)


def test_without_keys_file_a_non_loopback_bind_refuses_to_start() -> None:
    for host in ("0.0.0.0", "192.168.1.20", "::", "gateway.example.com"):
        with pytest.raises(AccessConfigError, match="not a loopback address"):
            create_app(Settings(host=host))


def test_without_keys_file_on_loopback_every_caller_is_admin_and_the_log_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "127.0.0.9"))
    with caplog.at_level(logging.WARNING, logger="stockgraph.access"):
        gate = build_gate(Settings(host="127.0.0.1"))
    assert gate.is_open and gate.authenticate(None) is OPEN_CALLER
    assert "running OPEN" in caplog.text
    assert load_keys(Settings(host="0.0.0.0", api_keys_file=ROOT / "deploy/demo-keys.toml"))


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer wrong-key", "Basic " + KEYS[Role.ADMIN].secret,
    KEYS[Role.ADMIN].secret, "Bearer " + KEYS[Role.ADMIN].secret + "x",
])
async def test_a_request_without_a_valid_key_gets_401_as_a_graphql_error(
    app: KeyedApp, authorization: str | None,
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await app.http.post("/graphql", json={"query": LOCATIONS}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in response.json()


async def test_a_get_operation_needs_a_key_but_the_graphiql_page_does_not(app: KeyedApp) -> None:
    page = await app.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    run = await app.http.get("/graphql", params={"query": LOCATIONS})
    assert run.status_code == 401
    keyed = await app.http.get("/graphql", params={"query": LOCATIONS},
                               headers={"Authorization": f"Bearer {KEYS[Role.STOREFRONT].secret}"})
    assert keyed.status_code == 200 and keyed.json()["data"]["locations"]


async def test_health_endpoints_need_no_key(app: KeyedApp) -> None:
    assert (await app.http.get("/healthz")).status_code == 200


async def test_the_scheme_is_case_insensitive(app: KeyedApp) -> None:
    response = await app.http.post("/graphql", json={"query": LOCATIONS}, headers={
        "Authorization": f"bearer  {KEYS[Role.ROUTER].secret} "})
    assert response.status_code == 200


async def test_secrets_never_reach_the_log(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        async with keyed_app(settings, tmp_path) as app:
            for role in Role:
                await app.call(role, LOCATIONS)
                await app.call(role, 'mutation { upsertSku(input: {sku: "S"}) { sku } }')
            await app.http.post("/graphql", json={"query": LOCATIONS},
                                headers={"Authorization": "Bearer not-a-key-but-secret-ish"})
    assert caplog.records
    assert not any(k.secret in caplog.text for k in KEYS.values())
    assert "not-a-key-but-secret-ish" not in caplog.text
