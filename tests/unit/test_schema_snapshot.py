"""schema.graphql is the committed SDL; clients and the contract check read it."""

from __future__ import annotations

from pathlib import Path

from resolvers.schema import build_schema

SNAPSHOT = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_snapshot_is_current() -> None:
    current = build_schema().as_str() + "\n"
    assert SNAPSHOT.read_text() == current, (
        "schema.graphql is stale: run `.venv/bin/stockgraph sdl > schema.graphql`")
