"""The `stockgraph` command."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from adapters.db.migrate import is_current
from adapters.db.migrate import migrate as run_migrations
from adapters.db.queries import SqlAlchemyStockReader
from app.auth import AccessConfigError, load_keys
from app.auth.keys import KeyFileError, read_key_file
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

    os.environ["STOCKGRAPH_HOST"] = host  # the app allows open mode on loopback only
    try:
        Settings()
    except ValidationError as exc:  # e.g. a webhook URL that is not http(s)
        typer.echo(f"invalid settings: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        load_keys(Settings())
    except AccessConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers,
                lifespan="on", log_level="info", access_log=Settings().access_log,
                ws="websockets-sansio",
                http="app.http_protocol:JoinedWritesHttpToolsProtocol",
                ws_per_message_deflate=Settings().ws_compression)


@cli.command()
def keys(
    file: Annotated[Path | None, typer.Option(
        help="Keys file; default: STOCKGRAPH_API_KEYS_FILE.")] = None,
) -> None:
    """Print the API keys of the keys file: role, name, locations, key (for demos)."""
    path = file or Settings().api_keys_file
    if path is None:
        typer.echo("no keys file (STOCKGRAPH_API_KEYS_FILE): on loopback the server runs open")
        return
    try:
        entries = read_key_file(path)
    except KeyFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(f"API keys from {path} (send 'Authorization: Bearer <key>'):")
    for e in entries:
        where = ", ".join(sorted(e.caller.locations)) if e.caller.locations else "everywhere"
        typer.echo(f"  {e.caller.role.value:<10} {e.caller.name:<26} {where:<22} {e.key}")


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
    if drift is None:
        typer.echo("the database is not migrated to this version: run `stockgraph migrate` "
                   "first", err=True)
        raise typer.Exit(2)
    for d in drift:
        typer.echo(f"DRIFT {d.sku} @ {d.location_id}: {d.field} stored {d.stored}, "
                   f"ledger says {d.from_ledger}")
    typer.echo(f"{len(drift)} drifting values" if drift else "ledger and levels agree")
    raise typer.Exit(1 if drift else 0)


@cli.command("abc")
def abc_classes(
    location: Annotated[str | None, typer.Option(
        help="Location id; default: the whole network.")] = None,
    window_days: Annotated[int, typer.Option(help="Trailing window, in days.")] = 90,
) -> None:
    """Rank SKUs by the value they moved out: ABC class and cycle-count frequency."""
    from app.abc_report import run_abc

    raise typer.Exit(asyncio.run(run_abc(Settings(), location, window_days)))


@cli.command()
def sdl() -> None:
    """Print the federation subgraph SDL."""
    typer.echo(build_schema().as_str())


@cli.command("vendor-sim")
def vendor_sim(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8100,
    push_to: Annotated[str | None, typer.Option(
        help="stockgraph's /graphql URL: vendor-alpen pushes its levels there.")] = None,
    push_every: Annotated[float, typer.Option(help="Seconds between pushes.")] = 60.0,
    push_key: Annotated[str | None, typer.Option(
        envvar="STOCKGRAPH_VENDOR_SIM_PUSH_KEY", help="API key for the pushes.")] = None,
) -> None:
    """Serve the demo vendors' stock APIs (vendor-nordic is pulled, vendor-alpen pushes)."""
    import uvicorn

    from app.demo import SKU_COUNT, sku_code
    from app.vendor_sim import Pusher, VendorSim, demo_vendors

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    nordic, alpen = demo_vendors([sku_code(k) for k in range(SKU_COUNT)])
    headers = {"Authorization": f"Bearer {push_key}"} if push_key else {}
    pusher = Pusher(alpen, push_to, push_every, headers) if push_to else None
    uvicorn.run(VendorSim([nordic, alpen]).app(pusher), host=host, port=port, log_level="warning")


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
        summary = await load_demo(build_services(db, settings), settings.demo_vendor_url)
        typer.echo(f"demo loaded: {summary.locations} locations, {summary.skus} skus, "
                   f"{summary.movements} movements")
    finally:
        await db.dispose()


async def _verify(settings: Settings) -> list[Drift] | None:
    db = build_database(settings)
    try:
        if not await is_current(db):
            return None
        return await SqlAlchemyStockReader(db).drift()
    finally:
        await db.dispose()


def main() -> None:
    cli()
