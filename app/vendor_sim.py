"""A vendor stock API simulator: what `make run` starts for the demo's dropship vendors, and
what the tests and the benchmark talk to over loopback.

It answers like a real vendor (auth header, paged level listings, per-SKU look-ups, each
vendor with its own field names) and can be switched per vendor, over HTTP, to be slow, to
fail, or to send garbage:

    GET  /{vendor}/levels?page=N&pageSize=M   or  ?cursor=C     (per the vendor's paging)
    GET  /{vendor}/levels/{sku}
    GET  /_control/{vendor}                    calls served, current switches
    POST /_control/{vendor}  {"mode": "ok"|"slow"|"fail"|"garbage", "delay": s,
                              "levels": {sku: n}, "asOf": iso|null, "extraLines": n}
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = logging.getLogger("stockgraph.vendor_sim")
MODES = ("ok", "slow", "fail", "garbage")
PUSH = """mutation Push($vendorId: ID!, $levels: [VendorLevelInput!]!) {
  pushVendorLevels(vendorId: $vendorId, levels: $levels) { accepted rejected } }"""


@dataclass
class SimVendor:
    id: str
    token: str
    auth_header: str = "X-Api-Key"
    levels: dict[str, int] = field(default_factory=dict)
    as_of: datetime | None = None  # None: "now" at each answer
    sku_field: str = "sku"
    level_field: str = "available"
    as_of_field: str = "asOf"
    items_path: str = "items"
    paging: str = "PAGE"  # PAGE, CURSOR or NONE
    mode: str = "ok"
    delay: float = 0.0
    extra_lines: int = 0  # garbage mode: this many more junk lines (a huge page)
    calls: int = 0

    def line(self, sku: str, level: object) -> dict[str, object]:
        when = (self.as_of or datetime.now(UTC)).isoformat()
        return {self.sku_field: sku, self.level_field: level, self.as_of_field: when}

    def garbage(self) -> list[object]:
        skus = sorted(self.levels)
        bad: list[object] = [
            {self.level_field: 3},  # no SKU
            "just a string",  # not an object
            self.line("NO-SUCH-SKU", 4),
            self.line(None, 1),  # type: ignore[arg-type]
        ]
        if skus:
            bad += [self.line(skus[0], -5), self.line(skus[-1], "lots"),
                    self.line(skus[-1], 2.5)]
        bad += [self.line(f"JUNK-{n}", n) for n in range(self.extra_lines)]
        return bad

    def wrap(self, items: list[object], extra: dict[str, object]) -> dict[str, object]:
        body: dict[str, object] = {**extra}
        parts = self.items_path.split(".")
        node = body
        for part in parts[:-1]:
            node = node.setdefault(part, {})  # type: ignore[assignment]
        node[parts[-1]] = items
        return body


class VendorSim:
    def __init__(self, vendors: list[SimVendor]) -> None:
        self.vendors = {v.id: v for v in vendors}
        self.released = asyncio.Event()

    def release(self) -> None:
        """End every slow answer now (before stopping)."""
        self.released.set()

    def app(self, push: Pusher | None = None) -> Starlette:
        @asynccontextmanager
        async def lifespan(_app: Starlette) -> AsyncIterator[None]:
            task = asyncio.create_task(push.run()) if push else None
            yield
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task

        return Starlette(lifespan=lifespan, routes=[
            Route("/_control/{vendor}", self.control, methods=["GET", "POST"]),
            Route("/{vendor}/levels", self.listing),
            Route("/{vendor}/levels/{sku}", self.lookup),
        ])

    async def listing(self, request: Request) -> Response:
        vendor, refusal = await self._serve(request)
        if refusal is not None:
            return refusal
        lines: list[object] = [vendor.line(s, q) for s, q in sorted(vendor.levels.items())]
        if vendor.mode == "garbage":
            lines = vendor.garbage() + lines
        if vendor.paging == "NONE":
            return JSONResponse(vendor.wrap(lines, {}))
        size = _int(request.query_params.get("pageSize"), 500)
        if vendor.paging == "CURSOR":
            start = _int(request.query_params.get("cursor"), 0)
            after = start + size
            more = str(after) if after < len(lines) else None
            return JSONResponse(vendor.wrap(lines[start:after], {"nextCursor": more}))
        page = _int(request.query_params.get("page"), 1)
        chunk = lines[(page - 1) * size: page * size]
        return JSONResponse(vendor.wrap(chunk, {"page": page}))

    async def lookup(self, request: Request) -> Response:
        vendor, refusal = await self._serve(request)
        if refusal is not None:
            return refusal
        sku = request.path_params["sku"]
        if vendor.mode == "garbage":
            return JSONResponse(vendor.line(sku, "lots"))
        if sku not in vendor.levels:
            return JSONResponse({"error": "unknown sku"}, status_code=404)
        return JSONResponse(vendor.line(sku, vendor.levels[sku]))

    async def control(self, request: Request) -> Response:
        vendor = self.vendors.get(request.path_params["vendor"])
        if vendor is None:
            return JSONResponse({"error": "unknown vendor"}, status_code=404)
        if request.method == "POST":
            body: dict[str, Any] = await request.json()
            if body.get("mode", vendor.mode) not in MODES:
                return JSONResponse({"error": f"mode is one of {MODES}"}, status_code=400)
            vendor.mode = body.get("mode", vendor.mode)
            vendor.delay = float(body.get("delay", vendor.delay))
            vendor.extra_lines = int(body.get("extraLines", vendor.extra_lines))
            vendor.levels.update({str(k): int(v) for k, v in body.get("levels", {}).items()})
            if "asOf" in body:
                vendor.as_of = datetime.fromisoformat(body["asOf"]) if body["asOf"] else None
        return JSONResponse({"calls": vendor.calls, "mode": vendor.mode, "delay": vendor.delay})

    async def _serve(self, request: Request) -> tuple[SimVendor, Response | None]:
        vendor = self.vendors.get(request.path_params["vendor"])
        if vendor is None:
            return SimVendor("", ""), JSONResponse({"error": "unknown vendor"}, status_code=404)
        vendor.calls += 1
        if request.headers.get(vendor.auth_header) != vendor.token:
            return vendor, JSONResponse({"error": "unauthorized"}, status_code=401)
        if vendor.mode == "slow":
            # Released early when the simulator stops, so no request is left hanging.
            with suppress(TimeoutError):
                await asyncio.wait_for(self.released.wait(), vendor.delay)
        if vendor.mode == "fail":
            return vendor, JSONResponse({"error": "maintenance"}, status_code=503)
        return vendor, None


@dataclass
class Pusher:
    """A push vendor's side: report its levels to stockgraph every `every` seconds, a few of
    them changed each time (sales on the vendor's own shop). While stockgraph cannot be
    reached (`make run` starts the simulator first), it tries again every `retry` seconds."""

    vendor: SimVendor
    graphql_url: str
    every: float
    headers: dict[str, str] = field(default_factory=dict)
    retry: float = 2.0

    async def run(self) -> None:
        rng = random.Random(7)
        async with httpx.AsyncClient(timeout=10.0, headers=self.headers) as client:
            while True:
                levels = [{"sku": s, "available": q,
                           "asOf": datetime.now(UTC).isoformat()}
                          for s, q in sorted(self.vendor.levels.items())]
                try:
                    answer = await client.post(self.graphql_url, json={
                        "query": PUSH, "variables": {"vendorId": self.vendor.id,
                                                     "levels": levels}})
                    log.info("pushed %s levels: %s", self.vendor.id, answer.text[:200])
                except httpx.HTTPError as exc:
                    log.warning("push of %s failed: %s", self.vendor.id, exc)
                    await asyncio.sleep(min(self.every, self.retry))
                    continue
                for sku in rng.sample(sorted(self.vendor.levels), min(5, len(self.vendor.levels))):
                    self.vendor.levels[sku] = max(0, self.vendor.levels[sku] + rng.randint(-3, 3))
                await asyncio.sleep(self.every)


def _int(raw: str | None, default: int) -> int:
    try:
        return max(0, int(raw)) if raw is not None else default
    except ValueError:
        return default


def demo_vendors(skus: list[str], seed: int = 2026) -> list[SimVendor]:
    """The demo's two vendors, each with its own API dialect, stocking most of `skus`."""
    rng = random.Random(seed)
    nordic = SimVendor(
        "vendor-nordic", token="nordic-demo-token", auth_header="X-Api-Key",
        levels={s: rng.randint(0, 60) for s in skus if rng.random() < 0.8},
        sku_field="articleNo", level_field="qty", as_of_field="lastUpdated",
        items_path="data.stock", paging="CURSOR")
    alpen = SimVendor(
        "vendor-alpen", token="alpen-demo-token", auth_header="Authorization",
        levels={s: rng.randint(0, 40) for s in skus if rng.random() < 0.6})
    return [nordic, alpen]
