"""The gate every request passes: which caller a key belongs to, and that caller's limits.

Without a keys file the gate is open (every caller is the admin `OPEN_CALLER`, no per-key
limits), which `build_gate` allows only on a loopback bind address.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from app.auth.keys import KeyFileError, KeyRing
from app.auth.limits import ConnectionCounter, RateLimiter
from app.settings import Settings
from domain.access import OPEN_CALLER, Caller, Role

log = logging.getLogger("stockgraph.access")

CALLER_KEY = "stockgraph.caller"  # ASGI scope entry: the authenticated Caller
WS_HOLD_KEY = "stockgraph.ws_key"  # ASGI scope entry: the key name holding a WS connection slot
# Stands in before a WebSocket has authenticated: a vendor of no location may do nothing.
NOBODY = Caller("unauthenticated", Role.VENDOR, locations=frozenset())


class AccessConfigError(Exception):
    """The server must not start with this access configuration."""


@dataclass
class Gate:
    keys: KeyRing | None  # None: open mode
    rate: RateLimiter
    connections: ConnectionCounter
    max_body_bytes: int

    @property
    def is_open(self) -> bool:
        return self.keys is None

    def authenticate(self, authorization: object) -> Caller | None:
        if self.keys is None:
            return OPEN_CALLER
        secret = bearer_secret(authorization)
        return self.keys.authenticate(secret) if secret else None

    def throttle(self, caller: Caller) -> float:
        """0.0 when `caller` may make one more request now, else seconds to wait."""
        return 0.0 if self.is_open else self.rate.take(caller.name)

    def caller_in(self, scope: Mapping[str, Any]) -> Caller:
        found = scope.get(CALLER_KEY)
        if isinstance(found, Caller):
            return found
        return OPEN_CALLER if self.is_open else NOBODY

    def admit_websocket(
        self, scope: MutableMapping[str, Any], params: Mapping[str, Any]
    ) -> Caller | None:
        """The caller named by a connection_init payload, holding one of its connection
        slots until `release_websocket`; None when the key is bad or has no slot left."""
        caller = self.authenticate(params.get("authorization"))
        if caller is None or self.is_open:
            return caller
        if WS_HOLD_KEY in scope or not self.connections.acquire(caller.name):
            return None
        scope[WS_HOLD_KEY] = caller.name
        return caller

    def release_websocket(self, scope: MutableMapping[str, Any]) -> None:
        name = scope.pop(WS_HOLD_KEY, None)
        if isinstance(name, str):
            self.connections.release(name)


def bearer_secret(authorization: object) -> str | None:
    if not isinstance(authorization, str):
        return None
    scheme, _, secret = authorization.strip().partition(" ")
    secret = secret.strip()
    return secret if scheme.lower() == "bearer" and secret else None


def load_keys(settings: Settings) -> KeyRing | None:
    """The key ring, or None for open mode; AccessConfigError when the server must not start."""
    if settings.api_keys_file is None:
        if not is_loopback(settings.host):
            raise AccessConfigError(
                f"refusing to start: bound to {settings.host}, which is not a loopback "
                "address, and no STOCKGRAPH_API_KEYS_FILE is set. Give a keys file "
                "(see docs/access.md) or bind to 127.0.0.1.")
        return None
    try:
        return KeyRing.from_file(settings.api_keys_file)
    except KeyFileError as exc:
        raise AccessConfigError(f"refusing to start: {exc}") from None


def build_gate(settings: Settings) -> Gate:
    keys = load_keys(settings)
    if keys is None:
        log.warning("no STOCKGRAPH_API_KEYS_FILE: running OPEN on %s, every caller is admin "
                    "and per-key limits are off", settings.host)
    else:
        log.info("access: %d API keys loaded from %s", len(keys), settings.api_keys_file)
    return Gate(
        keys=keys,
        rate=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
        connections=ConnectionCounter(settings.max_connections_per_key),
        max_body_bytes=settings.max_body_bytes,
    )


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere
