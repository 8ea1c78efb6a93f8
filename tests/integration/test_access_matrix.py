"""Every role against every root field over HTTP: allowed, or FORBIDDEN with nothing changed.

Data-driven from app/auth/policy.py and the samples in tests/support/auth.py; a root field
without a policy entry or a sample fails the first test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.auth.policy import POLICY
from app.settings import Settings
from domain.access import Role
from resolvers.schema import build_schema
from tests.support.auth import SAMPLES, KeyedApp, forbidden, keyed_app, sample_text, snapshot

SCHEMA = build_schema()._schema
ROOTS = {t.name: t for t in (SCHEMA.query_type, SCHEMA.mutation_type, SCHEMA.subscription_type)
         if t is not None}
HTTP_FIELDS = [(root, name) for root, t in ROOTS.items() if root != "Subscription"
               for name in t.fields]


def expected_allowed(root: str, name: str, role: Role) -> bool:
    access = POLICY[root][name]
    return role in access.roles and (role not in access.scoped_by
                                     or SAMPLES[root][name].in_scope)


@pytest.fixture
async def app(settings: Settings, tmp_path: Path) -> AsyncIterator[KeyedApp]:
    async with keyed_app(settings, tmp_path) as keyed:
        yield keyed


def test_every_root_field_has_a_policy_entry_and_a_sample() -> None:
    missing = [f"{root}.{name}" for root, t in ROOTS.items() for name in t.fields
               if name not in POLICY.get(root, {}) or name not in SAMPLES.get(root, {})]
    assert missing == [], "add these to app/auth/policy.py and tests/support/auth.py"


def test_the_issue_s_rules_are_in_the_policy() -> None:
    # A storefront key leaked in a web page must not be able to reserve or move anything.
    mutations = POLICY["Mutation"]
    assert all(Role.STOREFRONT not in a.roles for a in mutations.values())
    assert mutations["recordMovement"].roles == {Role.ASSOCIATE, Role.ADMIN}
    assert mutations["pushVendorLevels"].scoped_by == {Role.VENDOR: "vendorId"}
    assert {Role.ROUTER, Role.ASSOCIATE, Role.ADMIN} == mutations["reserve"].roles


@pytest.mark.parametrize(("root", "name"), HTTP_FIELDS, ids=[f"{r}.{n}" for r, n in HTTP_FIELDS])
async def test_each_role_is_allowed_or_forbidden_as_the_policy_says(
    app: KeyedApp, root: str, name: str
) -> None:
    for role in Role:
        # Given the state before, when this role's key runs the field's sample operation,
        before = await snapshot(app.database)
        status, body = await app.call(role, sample_text(SAMPLES[root][name].query, role))
        # then it runs, or it is FORBIDDEN and nothing was changed.
        if expected_allowed(root, name, role):
            # (It may still fail for its own reasons, e.g. NOT_FOUND for an unknown id.)
            assert status == 200 and "data" in body and not forbidden(body), (role, body)
        else:
            assert forbidden(body), (role, body)
            assert body.get("data") is None, (role, body)
            assert await snapshot(app.database) == before, role


async def test_a_forbidden_field_cannot_hide_behind_an_alias_or_a_fragment(app: KeyedApp) -> None:
    before = await snapshot(app.database)
    query = """
        mutation Sneaky { ...More  ... on Mutation { x: upsertSku(input: {sku: "SKU-Q"}) { sku } } }
        fragment More on Mutation { y: setSafetyStock(sku: "SKU-A", locationId: "store-1",
                                                      quantity: 4) { safetyStock } }
    """
    _, body = await app.call(Role.ROUTER, query)
    assert forbidden(body) and body.get("data") is None
    assert sorted(e["message"] for e in body["errors"]) == [
        "a router key may not use Mutation.setSafetyStock",
        "a router key may not use Mutation.upsertSku"]
    assert await snapshot(app.database) == before


async def test_only_the_operation_that_runs_is_judged(app: KeyedApp) -> None:
    document = ('query Read { locations { id } } '
                'mutation Write { upsertSku(input: {sku: "SKU-Q"}) { sku } }')
    response = await app.http.post("/graphql", json={"query": document, "operationName": "Read"},
                                   headers={"Authorization": "Bearer sf-7Yq2-secret-storefront"})
    assert response.json()["data"]["locations"]
    response = await app.http.post("/graphql", json={"query": document, "operationName": "Write"},
                                   headers={"Authorization": "Bearer sf-7Yq2-secret-storefront"})
    assert forbidden(response.json())
