"""The `stockgraph` command."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer

from adapters.db.migrate import migrate as run_migrations
from adapters.db.queries import SqlAlchemyStockReader
from app.container import build_database, build_services
from app.demo import load_demo
from app.settings import Settings
from domain.ports import Drift
from resolvers.schema import build_schema

cli = typer.Typer(help="stockgraph: real-time inventory visibility over GraphQL.",
                  no_args_is_help=True, add_completion=False)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve GraphQL (and GraphiQL) on /graphql; migrations run at start."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers,
                lifespan="on", log_level="info")


@cli.command()
def migrate() -> None:
    """Apply database migrations."""
    asyncio.run(_migrate(Settings()))
    typer.echo("migrations applied")


@cli.command()
def demo(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Only into an empty database.")
    ] = False,
) -> None:
    """Load the demo network (3 warehouses, 25 stores, 2 vendors, 500 SKUs)."""
    asyncio.run(_demo(Settings(), if_empty))


@cli.command()
def verify() -> None:
    """Recompute every level from the ledger and report drift (exit 1 on any)."""
    drift = asyncio.run(_verify(Settings()))
    for d in drift:
        typer.echo(f"DRIFT {d.sku} @ {d.location_id}: {d.field} stored {d.stored}, "
                   f"ledger says {d.from_ledger}")
    typer.echo(f"{len(drift)} drifting values" if drift else "ledger and levels agree")
    raise typer.Exit(1 if drift else 0)


@cli.command()
def sdl() -> None:
    """Print the federation subgraph SDL."""
    typer.echo(build_schema().as_str())


async def _migrate(settings: Settings) -> None:
    db = build_database(settings)
    try:
        await run_migrations(db)
    finally:
        await db.dispose()


async def _demo(settings: Settings, if_empty: bool) -> None:
    db = build_database(settings)
    try:
        await run_migrations(db)
        if if_empty and not await SqlAlchemyStockReader(db).is_empty():
            typer.echo("database already holds data; demo not loaded")
            return
        summary = await load_demo(build_services(db, settings))
        typer.echo(f"demo loaded: {summary.locations} locations, {summary.skus} skus, "
                   f"{summary.movements} movements")
    finally:
        await db.dispose()


async def _verify(settings: Settings) -> list[Drift]:
    db = build_database(settings)
    try:
        return await SqlAlchemyStockReader(db).drift()
    finally:
        await db.dispose()


def main() -> None:
    cli()
