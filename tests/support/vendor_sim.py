"""The vendor simulator (app/vendor_sim.py) served in-process by uvicorn on a loopback port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from app.vendor_sim import Pusher, SimVendor, VendorSim
from domain.source import FieldMapping, Paging, SourceMode, VendorSource
from tests.support.server import free_port

START_TIMEOUT = 10.0


@asynccontextmanager
async def running_vendor_sim(
    vendors: list[SimVendor], pusher: Pusher | None = None
) -> AsyncIterator[tuple[VendorSim, str]]:
    """Yield the simulator (switch its vendors directly) and its base URL; with `pusher`, a
    push vendor reports to stockgraph from the simulator's lifespan."""
    sim = VendorSim(vendors)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(
        sim.app(pusher), host="127.0.0.1", port=port, log_level="warning", lifespan="on",
        ws="none", timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield sim, f"http://127.0.0.1:{port}"
    finally:
        sim.release()
        server.should_exit = True
        await task


def sim_vendor(vendor_id: str, levels: dict[str, int], **switches: Any) -> SimVendor:
    """A simulated vendor in a dialect of its own: nested items, its own field names."""
    return SimVendor(vendor_id, token=f"{vendor_id}-token", auth_header="X-Vendor-Key",
                     levels=dict(levels), sku_field="article", level_field="onHand",
                     as_of_field="countedAt", items_path="data.stock", paging="CURSOR",
                     **switches)


def pull_source(base_url: str, vendor: SimVendor, **terms: Any) -> VendorSource:
    """The source configuration that reads `vendor` from the simulator at `base_url`."""
    mapping = FieldMapping(
        sku_field=vendor.sku_field, level_field=vendor.level_field,
        as_of_field=vendor.as_of_field, items_path=vendor.items_path,
        paging=Paging(vendor.paging), page_size=2)
    return VendorSource(vendor.id, SourceMode.PULL, base_url=f"{base_url}/{vendor.id}",
                        auth_header=vendor.auth_header, auth_value=vendor.token,
                        mapping=mapping, **terms)
