"""`stockgraph abc`: the ABC classification as a table (the abcClassification query's rows)."""

from __future__ import annotations

import typer

from app.container import build_database, build_services, utc_now
from app.settings import Settings
from domain.abc import Ranked
from domain.errors import DomainError
from services.replenishment import classify

HEADER = ("rank", "sku", "units out", "unit cost", "value", "share", "cum.", "class",
          "count every")


async def run_abc(settings: Settings, location: str | None, window_days: int) -> int:
    """Print the table; the exit code (2 for bad input, such as an unknown location)."""
    db = build_database(settings)
    try:
        s = build_services(db, settings)
        try:
            ranked = await classify(s.replenishment, s.reader, location, window_days,
                                    s.replenishment.abc_policy, utc_now())
        except DomainError as exc:
            typer.echo(exc.message, err=True)
            return 2
    finally:
        await db.dispose()
    where = f"at {location}" if location else "network-wide"
    typer.echo(f"ABC classification {where}, value moved out over the last {window_days} days")
    typer.echo(table(ranked))
    return 0


def table(ranked: list[Ranked]) -> str:
    rows = [HEADER] + [
        (str(r.rank), r.sku, str(r.units),
         "-" if r.unit_cost is None else f"{r.unit_cost:.2f}", f"{r.value:.2f}",
         f"{r.share:.1%}", f"{r.cumulative_share:.1%}", r.abc_class.value,
         f"{r.count_every_days} days") for r in ranked]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    left = {1}  # the sku; numbers align right
    return "\n".join(
        "  ".join(cell.ljust(w) if i in left else cell.rjust(w)
                  for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
        for row in rows)
