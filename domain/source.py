"""Sources of stock levels this service hears about but does not record itself.

A location with a source has its levels reported by another system: a dropship vendor that
pushes (`pushVendorLevels`) or a system stockgraph pulls from over HTTP (a vendor API, a 3PL,
a store chain's own inventory service). A pull-sourced location is read-only here: its
movements are recorded over there. Whether a reported level may be sold now is decided by
`domain.availability.sellable_now`, from the `SourceTerms` and the reported `as_of` below.
"""

from __future__ import annotations

import enum
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from domain.errors import DomainError, InvalidInputError

MAX_LINES_PER_PUSH = 5000
MAX_FIELD = 100
# What a reported level may be at most; anything larger is garbage, not stock.
MAX_LEVEL = 10_000_000
VENDOR_LEVEL_CAUSE = "VENDOR_LEVEL"


class SourceMode(enum.Enum):
    PUSH = "PUSH"
    PULL = "PULL"


class Paging(enum.Enum):
    NONE = "NONE"      # one response holds every line
    PAGE = "PAGE"      # ?page=1,2,... until a page comes back short or empty
    CURSOR = "CURSOR"  # the response names the cursor of the next page, null on the last


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """Where a vendor's API keeps what we need: configuration, not code."""

    sku_field: str = "sku"
    level_field: str = "available"
    as_of_field: str | None = "asOf"
    items_path: str = "items"  # dotted path to the list of lines; "" when the body is the list
    list_path: str = "/levels"
    item_path: str = "/levels/{sku}"
    paging: Paging = Paging.NONE
    page_param: str = "page"
    page_size_param: str = "pageSize"
    page_size: int = 500
    cursor_field: str = "nextCursor"
    cursor_param: str = "cursor"


@dataclass(frozen=True, slots=True)
class SourceTerms:
    """What freshness and the read path need to know of a location's source."""

    mode: SourceMode
    max_age: timedelta
    deadline: timedelta


@dataclass(frozen=True, slots=True)
class VendorSource:
    location_id: str
    mode: SourceMode
    base_url: str | None = None
    auth_header: str | None = None
    auth_value: str | None = field(default=None, repr=False)  # a secret: never logged
    mapping: FieldMapping = FieldMapping()
    poll_interval: timedelta = timedelta(seconds=60)
    max_age: timedelta = timedelta(minutes=15)
    deadline: timedelta = timedelta(milliseconds=300)

    @property
    def terms(self) -> SourceTerms:
        return SourceTerms(self.mode, self.max_age, self.deadline)


@dataclass(frozen=True, slots=True)
class ReportedLevel:
    """One line a source reported: units available at its location, as of when it says."""

    sku: str
    available: int
    as_of: datetime | None = None


@dataclass(frozen=True, slots=True)
class FeedPage:
    """Lines read from one response; `rejected` explains each line that could not be read."""

    lines: list[ReportedLevel]
    rejected: list[str]
    fetched_at: datetime
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    accepted: int
    rejected: list[str]
    changed: int = 0


class VendorScopeError(DomainError):
    """The caller's key may not act for this vendor location."""


class SourceUnavailableError(Exception):
    """A source could not be read now ("timeout", "circuit open", "HTTP 503", ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_source(source: VendorSource, is_vendor: bool) -> None:
    """Rules for a source's configuration. Raises InvalidInputError."""
    if source.mode is SourceMode.PUSH and not is_vendor:
        raise InvalidInputError("only a DROPSHIP_VENDOR location can push its levels",
                                field="mode")
    if source.mode is SourceMode.PULL:
        url = urlsplit(source.base_url or "")
        if url.scheme not in ("http", "https") or not url.netloc:
            raise InvalidInputError("a pull source needs an http(s) baseUrl", field="baseUrl")
    if (source.auth_header is None) != (source.auth_value is None):
        raise InvalidInputError("give authHeader and authValue together", field="authHeader")
    for name, value in (("pollIntervalSeconds", source.poll_interval),
                        ("maxAgeSeconds", source.max_age), ("deadlineMs", source.deadline)):
        if value <= timedelta(0):
            raise InvalidInputError(f"{name} must be positive", field=name)
    m = source.mapping
    names = [m.sku_field, m.level_field, m.list_path, m.item_path]
    if any(not n.strip() or len(n) > MAX_FIELD for n in names):
        raise InvalidInputError("mapping fields and paths must be 1 to 100 characters",
                                field="mapping")
    if "{sku}" not in m.item_path:
        raise InvalidInputError("mapping.itemPath must contain {sku}", field="mapping")
    if not 1 <= m.page_size <= 5000:
        raise InvalidInputError("mapping.pageSize must be 1 to 5000", field="mapping")


def check_reported(
    line: ReportedLevel, known_skus: Container[str], now: datetime, max_skew: timedelta
) -> str | None:
    """Why a reported line cannot be taken, or None. The message names the SKU."""
    label = repr(line.sku[:MAX_FIELD])
    if not line.sku.strip() or len(line.sku) > 200:
        return f"{label}: sku must be 1 to 200 characters"
    if isinstance(line.available, bool) or not isinstance(line.available, int):
        return f"{label}: available must be an integer"
    if line.available < 0:
        return f"{label}: available cannot be negative, got {line.available}"
    if line.available > MAX_LEVEL:
        return f"{label}: available {line.available} is beyond {MAX_LEVEL}"
    if line.sku not in known_skus:
        return f"{label}: unknown sku"
    if line.as_of is not None:
        if line.as_of.tzinfo is None or line.as_of.utcoffset() is None:
            return f"{label}: asOf needs a UTC offset"
        if line.as_of > now + max_skew:
            return f"{label}: asOf is in the future"
    return None


def latest_lines(lines: Sequence[ReportedLevel]) -> tuple[list[ReportedLevel], list[str]]:
    """One line per SKU: the later report wins; the others are named as superseded."""
    by_sku: dict[str, ReportedLevel] = {}
    rejected: list[str] = []
    for line in lines:
        held = by_sku.get(line.sku)
        if held is not None:
            loser = line if _older(line, held) else held
            rejected.append(f"{line.sku!r}: reported twice; the earlier report was ignored")
            if loser is held:
                by_sku[line.sku] = line
            continue
        by_sku[line.sku] = line
    return list(by_sku.values()), rejected


def _older(a: ReportedLevel, b: ReportedLevel) -> bool:
    if a.as_of is None or b.as_of is None:
        return False
    return a.as_of < b.as_of


class VendorFeed(Protocol):
    """The pull adapter: reads a source's levels. Raises SourceUnavailableError."""

    async def fetch_page(self, source: VendorSource, cursor: str | None) -> FeedPage: ...
    async def fetch_skus(self, source: VendorSource, skus: Sequence[str]) -> FeedPage: ...
    def circuit(self, location_id: str) -> str: ...
    async def aclose(self) -> None: ...


class SourceStore(Protocol):
    async def sources(self, ids: Iterable[str] | None = None) -> list[VendorSource]: ...
    async def save(self, source: VendorSource, now: datetime) -> None: ...
    async def reported_as_of(
        self, location_id: str, skus: Iterable[str]
    ) -> Mapping[str, datetime]: ...
    async def mark_reported(
        self, location_id: str, as_of: Mapping[str, datetime], checked_at: datetime
    ) -> None: ...
