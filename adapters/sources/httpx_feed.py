"""The pull adapter: one shared httpx.AsyncClient reading vendors' HTTP APIs.

Every call has connect/read timeouts, is retried a bounded number of times with exponential
backoff (connection errors, timeouts, 429 and 5xx only), and passes through the source's
circuit breaker. A response is read up to a byte limit and a line limit, so a vendor cannot
make us hold an unbounded page."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from adapters.sources.breaker import BreakerBoard
from adapters.sources.payload import items_of, next_cursor, read_line, read_lines
from domain.source import (
    FeedPage,
    Paging,
    ReportedLevel,
    SourceUnavailableError,
    VendorSource,
)


@dataclass(frozen=True, slots=True)
class FeedLimits:
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    retries: int = 2
    backoff: float = 0.2  # seconds before the first retry; doubled for each next one
    breaker_failures: int = 5
    breaker_cooldown: float = 30.0
    max_lines: int = 5000
    max_bytes: int = 5_000_000
    max_connections: int = 200
    lookups_at_once: int = 8


class _Retryable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HttpxVendorFeed:
    def __init__(self, limits: FeedLimits,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.limits = limits
        self.clock = clock
        self.breakers = BreakerBoard(limits.breaker_failures, limits.breaker_cooldown)
        self._client: httpx.AsyncClient | None = None

    def circuit(self, location_id: str) -> str:
        return self.breakers[location_id].state

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch_page(self, source: VendorSource, cursor: str | None) -> FeedPage:
        m = source.mapping
        params: dict[str, str] = {}
        if m.paging is Paging.PAGE:
            params = {m.page_param: cursor or "1", m.page_size_param: str(m.page_size)}
        elif m.paging is Paging.CURSOR:
            params = {m.page_size_param: str(m.page_size)}
            if cursor is not None:
                params[m.cursor_param] = cursor
        async with self._guard(source):
            status, body = await self._get(source, m.list_path, params)
            if status != 200:
                raise SourceUnavailableError(f"HTTP {status}")
            items = items_of(body, m)
        page = read_lines(items, m, self.clock(), self.limits.max_lines)
        if m.paging is Paging.CURSOR:
            return replace(page, next_cursor=next_cursor(body, m))
        if m.paging is Paging.PAGE and items and len(items) >= m.page_size:
            return replace(page, next_cursor=str(int(cursor or "1") + 1))
        return page

    async def fetch_skus(self, source: VendorSource, skus: Sequence[str]) -> FeedPage:
        """Per-SKU look-ups; a SKU the vendor does not know (404) is reported as 0 on hand."""
        gate = asyncio.Semaphore(self.limits.lookups_at_once)

        async def one(sku: str) -> ReportedLevel | str:
            async with gate:
                path = source.mapping.item_path.replace("{sku}", quote(sku, safe=""))
                status, body = await self._get(source, path, {})
            if status == 404:
                return ReportedLevel(sku, 0, None)
            if status != 200:
                raise SourceUnavailableError(f"HTTP {status}")
            line = read_line(body, source.mapping)
            if isinstance(line, ReportedLevel) and line.sku != sku:
                return f"{sku!r}: the vendor answered for another sku {line.sku!r}"
            return line

        async with self._guard(source):
            found = await asyncio.gather(*(one(s) for s in skus))
        return FeedPage([x for x in found if isinstance(x, ReportedLevel)],
                        [x for x in found if isinstance(x, str)], self.clock())

    @asynccontextmanager
    async def _guard(self, source: VendorSource) -> AsyncIterator[None]:
        breaker = self.breakers[source.location_id]
        if not breaker.allow():
            raise SourceUnavailableError("circuit open")
        try:
            yield
        except SourceUnavailableError:
            breaker.failed()
            raise
        except BaseException:
            breaker.abandoned()
            raise
        breaker.succeeded()

    async def _get(self, source: VendorSource, path: str,
                   params: dict[str, str]) -> tuple[int, Any]:
        """Status and decoded JSON body (None unless 200), retried as the limits say."""
        url = (source.base_url or "").rstrip("/") + path
        headers = {source.auth_header: source.auth_value} \
            if source.auth_header and source.auth_value else {}
        for attempt in range(self.limits.retries + 1):
            try:
                return await self._get_once(url, params, headers)
            except _Retryable as exc:
                if attempt == self.limits.retries:
                    raise SourceUnavailableError(exc.reason) from exc
                delay = self.limits.backoff * 2 ** attempt
                await asyncio.sleep(delay * (0.5 + random.random() / 2))
        raise AssertionError("unreachable")

    async def _get_once(self, url: str, params: dict[str, str],
                        headers: dict[str, str]) -> tuple[int, Any]:
        try:
            async with self._http().stream("GET", url, params=params, headers=headers) as resp:
                if resp.status_code == 429 or resp.status_code >= 500:
                    raise _Retryable(f"HTTP {resp.status_code}")
                if resp.status_code != 200:
                    return resp.status_code, None
                raw = await self._read_bounded(resp)
        except httpx.TimeoutException as exc:
            raise _Retryable("timeout") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"connection failed: {type(exc).__name__}") from exc
        try:
            return 200, json.loads(raw)
        except ValueError as exc:
            raise SourceUnavailableError("bad response: not JSON") from exc

    async def _read_bounded(self, resp: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > self.limits.max_bytes:
                raise SourceUnavailableError(
                    f"bad response: larger than {self.limits.max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            lim = self.limits
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(lim.read_timeout, connect=lim.connect_timeout),
                limits=httpx.Limits(max_connections=lim.max_connections,
                                    max_keepalive_connections=lim.max_connections),
                follow_redirects=False,
            )
        return self._client
