"""docker-compose.yml stays a valid Compose file that runs two gateways sharing Redis.

Needs only the `docker-compose` tool (Debian's package; scripts/services.sh installs it when
run as root), no Docker engine: `config` parses, validates and prints the resolved file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
GATEWAYS = ("gateway-1", "gateway-2")


def compose(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("docker-compose")
    if tool is None:
        message = "docker-compose is not installed (Debian: apt-get install docker-compose)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return subprocess.run(
        [tool, "-f", str(COMPOSE_FILE), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the KEY=VALUE list form
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def test_compose_file_is_valid() -> None:
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_two_gateways_share_redis_and_postgres() -> None:
    result = compose("config")
    assert result.returncode == 0, result.stderr
    services: dict[str, Any] = yaml.safe_load(result.stdout)["services"]

    for name in GATEWAYS:
        assert name in services, f"no {name} service"
        env = environment(services[name])
        assert env.get("BROADCAST_URL", "").startswith("redis://redis:"), env
        assert env.get("DATABASE_URL", "").startswith("postgresql+asyncpg://"), env
        assert env.get("STOCKGRAPH_API_KEYS_FILE"), env
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("redis", "postgres"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
