"""`python -m bench` runs every scenario; `python -m bench movements ...` runs the named ones."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import pkgutil
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import bench
from bench.support import bench_command, machine_facts

RESULTS = Path(__file__).resolve().parent / "results"
PREFIX = "scenario_"


def scenario_files() -> list[str]:
    """The suffixes of every bench/scenario_*.py module."""
    return sorted(i.name.removeprefix(PREFIX) for i in pkgutil.iter_modules(bench.__path__)
                  if i.name.startswith(PREFIX))


def load(suffix: str) -> ModuleType | None:
    """Import one scenario; a scenario that does not import is reported, not fatal to others."""
    try:
        return importlib.import_module(f"bench.{PREFIX}{suffix}")
    except Exception:
        traceback.print_exc()
        print(f"== scenario_{suffix}.py does not import", flush=True)
        return None


def select(wanted: Sequence[str]) -> tuple[list[tuple[str, ModuleType]], bool]:
    """The scenarios to run (by NAME or file suffix; all when none is named), and whether
    every one that was needed imported."""
    files = scenario_files()
    suffixes = files if not wanted or any(w not in files for w in wanted) else list(wanted)
    loaded = {s: load(s) for s in suffixes}
    modules = {str(getattr(m, "NAME", s)): m for s, m in loaded.items() if m is not None}
    by_file = {s: (str(getattr(m, "NAME", s)), m) for s, m in loaded.items() if m is not None}
    if not wanted:
        return list(modules.items()), None not in loaded.values()
    chosen = []
    for name in wanted:
        if name in by_file:
            chosen.append(by_file[name])
        elif name in modules:
            chosen.append((name, modules[name]))
        else:
            raise SystemExit(f"no scenario {name!r}; known: {', '.join(sorted(modules))}")
    return chosen, True


def run_one(name: str, module: ModuleType, command: str) -> bool:
    print(f"== {name} ({module.__name__})", flush=True)
    started = time.perf_counter()
    try:
        summary = asyncio.run(module.run(RESULTS))
    except Exception:
        traceback.print_exc()
        print(f"== {name} FAILED after {time.perf_counter() - started:.0f}s", flush=True)
        return False
    record = {"scenario": name, **summary, "seconds": round(time.perf_counter() - started, 1),
              "machine": machine_facts(command)}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    print_table(summary.get("table"))
    print(f"== {name} done in {record['seconds']}s: {path}", flush=True)
    return True


def print_table(rows: object) -> None:
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        return
    columns = list(rows[0])
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return "" if value is None else str(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    args = parser.parse_args(argv)
    chosen, imported = select(args.scenarios)
    RESULTS.mkdir(parents=True, exist_ok=True)
    command = bench_command(args.scenarios)
    ok = [run_one(name, module, command) for name, module in chosen]
    return 0 if imported and all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
