"""API keys: read from the TOML keys file, kept in memory only as SHA-256 digests.

A request's key is hashed and looked up by digest, then compared with `hmac.compare_digest`;
the secret itself is never stored past loading and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import tomllib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from domain.access import Caller, Role

SCOPED_ROLES = frozenset({Role.ASSOCIATE, Role.VENDOR})
_FIELDS = frozenset({"key", "role", "name", "locations"})


class KeyFileError(Exception):
    """The keys file cannot be used; the message says which entry and why."""


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """One `[[keys]]` table as read from the file, secret included (for `stockgraph keys`)."""

    key: str
    caller: Caller


class KeyRing:
    def __init__(self, entries: Iterable[KeyEntry]) -> None:
        self._by_digest: dict[bytes, tuple[bytes, Caller]] = {}
        for e in entries:
            digest = _digest(e.key)
            self._by_digest[digest] = (digest, e.caller)

    @classmethod
    def from_file(cls, path: Path) -> KeyRing:
        return cls(read_key_file(path))

    def authenticate(self, secret: str) -> Caller | None:
        digest = _digest(secret)
        found = self._by_digest.get(digest)
        # The lookup is by digest, so its timing says nothing about the secret; the
        # constant-time comparison keeps the final check independent of dict internals.
        if found is None or not hmac.compare_digest(found[0], digest):
            return None
        return found[1]

    def callers(self) -> Iterator[Caller]:
        return (caller for _, caller in self._by_digest.values())

    def __len__(self) -> int:
        return len(self._by_digest)


def read_key_file(path: Path) -> list[KeyEntry]:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise KeyFileError(f"API keys file {path} does not exist") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise KeyFileError(f"API keys file {path} cannot be read: {exc}") from None
    tables = data.get("keys")
    if not isinstance(tables, list) or not tables:
        raise KeyFileError(f"API keys file {path} has no [[keys]] entries")
    entries = [_entry(path, n, table) for n, table in enumerate(tables, start=1)]
    _check_unique(path, entries)
    return entries


def _entry(path: Path, n: int, table: object) -> KeyEntry:
    where = f"{path}, [[keys]] entry {n}"
    if not isinstance(table, Mapping):
        raise KeyFileError(f"{where}: not a table")
    unknown = set(table) - _FIELDS
    if unknown:
        raise KeyFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; "
                           f"expected {', '.join(sorted(_FIELDS))}")
    key = table.get("key")
    if not isinstance(key, str) or not key.strip() or key != key.strip():
        raise KeyFileError(f"{where}: key must be a non-empty string without surrounding spaces")
    role = _role(where, table.get("role"))
    name = table.get("name", f"{role.value}-{n}")
    if not isinstance(name, str) or not name.strip():
        raise KeyFileError(f"{where}: name must be a non-empty string")
    return KeyEntry(key, Caller(name, role, _locations(where, role, table.get("locations"))))


def _role(where: str, value: object) -> Role:
    try:
        return Role(value)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise KeyFileError(f"{where}: role must be one of {roles}, not {value!r}") from None


def _locations(where: str, role: Role, value: object) -> frozenset[str] | None:
    if role not in SCOPED_ROLES:
        if value is not None:
            raise KeyFileError(f"{where}: locations apply to associate and vendor keys only; "
                               f"a {role.value} key acts everywhere")
        return None
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, str) and v.strip() for v in value)):
        raise KeyFileError(f"{where}: a {role.value} key needs locations, a non-empty list of "
                           "location ids")
    return frozenset(value)


def _check_unique(path: Path, entries: list[KeyEntry]) -> None:
    names = Counter(e.caller.name for e in entries)
    twice = sorted(n for n, c in names.items() if c > 1)
    if twice:
        raise KeyFileError(f"{path}: key names must be unique; repeated: {', '.join(twice)}")
    secrets = Counter(e.key for e in entries)
    if any(c > 1 for c in secrets.values()):
        shared = sorted(e.caller.name for e in entries if secrets[e.key] > 1)
        raise KeyFileError(f"{path}: the same key is given twice (entries {', '.join(shared)})")


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()
