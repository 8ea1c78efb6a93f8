"""Validation answered once per operation text: the answer is the same every time, and the
guards' refusals (access, NUL) still stand for a text an allowed caller sent first."""

from __future__ import annotations

from pathlib import Path

from app.settings import Settings
from domain.access import Role
from tests.support.auth import forbidden, keyed_app

RESERVE = """mutation($key: ID!) { reserve(input: {idempotencyKey: $key,
  lines: [{sku: "SKU-A", locationId: "wh-1", quantity: 1}]}) { __typename } }"""


async def test_a_text_an_admin_sent_is_still_forbidden_to_a_storefront(
    settings: Settings, tmp_path: Path
) -> None:
    async with keyed_app(settings, tmp_path) as app:
        status, body = await app.call(Role.ADMIN, RESERVE, {"key": "k-1"})
        assert status == 200 and body["data"]["reserve"]["__typename"] == "InsufficientStock"
        _, refused = await app.call(Role.STOREFRONT, RESERVE, {"key": "k-2"})
        assert forbidden(refused) and refused.get("data") is None
        _, nul = await app.call(Role.ADMIN, RESERVE, {"key": "k-\x00"})
        assert nul["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_an_invalid_text_gets_the_same_errors_every_time(
    settings: Settings, tmp_path: Path
) -> None:
    async with keyed_app(settings, tmp_path) as app:
        answers = [await app.call(Role.ADMIN, "{ locations { id nope } }") for _ in range(3)]
    messages = [[e["message"] for e in body["errors"]] for _, body in answers]
    assert messages[0] == messages[1] == messages[2]
    assert "nope" in messages[0][0]
