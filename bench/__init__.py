"""Benchmarks for stockgraph: `make bench` or `python -m bench [scenario ...]`.

Each `bench/scenario_<name>.py` module is one scenario. It exposes

    NAME: str                                                # results file: results/<NAME>.json
    async def run(out_dir: pathlib.Path) -> dict[str, object]

`run` returns a JSON-serialisable summary. If the summary holds a key "table" (a list of flat
dicts with the same keys), the harness prints it as the run's short table. The harness adds the
machine facts (bench.support.machine_facts) under "machine" and writes the file.

Shared helpers (statistics, fresh databases on SQLite and PostgreSQL, seeding, real servers, a
timed GraphQL client) live in bench/support.py. Quote medians of several rounds and ratios
against a baseline measured in the same run: these machines are shared and noisy.
"""
