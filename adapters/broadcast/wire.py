"""What travels on the broadcast channel: one JSON text per publish, a list of change references
or of low-stock alerts. Levels are not sent: each instance reads them once when it delivers
(so a subscriber never sees a level older than one it was already sent)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.events import ChangeRef, LowStockRaised, ReplenishmentStatus
from domain.stock import StockLevel

VERSION = 1


class WireError(ValueError):
    """A message on the channel that this version cannot read."""


@dataclass(frozen=True, slots=True)
class Decoded:
    changes: list[ChangeRef]
    alerts: list[LowStockRaised]


def encode_changes(changes: Sequence[ChangeRef]) -> str:
    rows = [[c.sequence, c.sku, c.location_id, c.cause, c.occurred_at.isoformat()]
            for c in changes]
    return json.dumps({"v": VERSION, "changes": rows}, separators=(",", ":"))


def encode_alerts(alerts: Sequence[LowStockRaised]) -> str:
    rows = [{"id": a.request_id, "sku": a.sku, "location": a.location_id,
             "quantity": a.quantity, "status": a.status.value,
             "created_at": a.created_at.isoformat(), "level": _level(a.level)} for a in alerts]
    return json.dumps({"v": VERSION, "alerts": rows}, separators=(",", ":"))


def decode(text: str) -> Decoded:
    try:
        body = json.loads(text)
        if body.get("v") != VERSION:
            raise WireError(f"unknown message version {body.get('v')!r}")
        changes = [ChangeRef(int(s), str(sku), str(loc), str(cause), datetime.fromisoformat(at))
                   for s, sku, loc, cause, at in body.get("changes", ())]
        alerts = [_alert(a) for a in body.get("alerts", ())]
    except WireError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise WireError(f"unreadable broadcast message: {exc!r}") from exc
    return Decoded(changes, alerts)


def _level(lv: StockLevel) -> dict[str, Any]:
    return {"on_hand": lv.on_hand, "reserved": lv.reserved, "safety_stock": lv.safety_stock,
            "inbound": lv.inbound, "unsellable": lv.unsellable,
            "updated_at": lv.updated_at.isoformat() if lv.updated_at else None}


def _alert(a: dict[str, Any]) -> LowStockRaised:
    lv = a["level"]
    updated = lv.get("updated_at")
    level = StockLevel(
        str(a["sku"]), str(a["location"]), int(lv["on_hand"]), int(lv["reserved"]),
        int(lv["safety_stock"]), int(lv["inbound"]), int(lv["unsellable"]),
        datetime.fromisoformat(updated) if updated else None)
    return LowStockRaised(str(a["id"]), str(a["sku"]), str(a["location"]), int(a["quantity"]),
                          ReplenishmentStatus(a["status"]), datetime.fromisoformat(a["created_at"]),
                          level)
