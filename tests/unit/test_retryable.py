"""Which database errors a writer retries: the same ones whether SQLAlchemy wrapped them or
asyncpg raised them itself (a reservation group's statements go to the driver)."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.exc import DBAPIError

from adapters.db.sql import is_retryable


def test_deadlocks_and_key_races_are_retried_however_they_arrive() -> None:
    for raised in (asyncpg.exceptions.DeadlockDetectedError("deadlock"),
                   asyncpg.exceptions.SerializationError("could not serialize"),
                   asyncpg.exceptions.UniqueViolationError("duplicate key")):
        assert is_retryable(raised)
        assert is_retryable(DBAPIError("stmt", {}, raised))


def test_other_errors_are_not() -> None:
    assert not is_retryable(asyncpg.exceptions.CheckViolationError("reserved >= 0"))
    assert not is_retryable(DBAPIError("stmt", {}, asyncpg.exceptions.CheckViolationError("x")))
    assert not is_retryable(ValueError("no"))
