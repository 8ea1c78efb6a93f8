"""Stock quantities for one SKU at one location, and the available-to-promise rule."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from domain.location import Channel


@dataclass(frozen=True, slots=True)
class Delta:
    """A change to the ledgered buckets of one level. Every ledger entry carries one."""

    on_hand: int = 0
    reserved: int = 0
    inbound: int = 0
    unsellable: int = 0

    def __add__(self, other: Delta) -> Delta:
        return Delta(
            self.on_hand + other.on_hand,
            self.reserved + other.reserved,
            self.inbound + other.inbound,
            self.unsellable + other.unsellable,
        )

    @property
    def is_zero(self) -> bool:
        return not (self.on_hand or self.reserved or self.inbound or self.unsellable)


@dataclass(frozen=True, slots=True)
class StockLevel:
    sku: str
    location_id: str
    on_hand: int = 0
    reserved: int = 0
    safety_stock: int = 0
    inbound: int = 0
    unsellable: int = 0
    updated_at: datetime | None = None
    # Safety stock set for one channel, overriding `safety_stock` there (stored beside the level).
    channel_safety: tuple[tuple[Channel, int], ...] = ()

    @property
    def atp(self) -> int:
        return atp(self.on_hand, self.reserved, self.safety_stock, self.unsellable)

    def safety_for(self, channel: Channel) -> int:
        for ch, quantity in self.channel_safety:
            if ch is channel:
                return quantity
        return self.safety_stock

    def atp_for(self, channel: Channel) -> int:
        """ATP on `channel`: the one rule, with that channel's safety stock."""
        return atp(self.on_hand, self.reserved, self.safety_for(channel), self.unsellable)

    def on_channel(self, channel: Channel) -> StockLevel:
        """This level as `channel` sees it: `safety_stock` and `atp` are the channel's."""
        safety = self.safety_for(channel)
        # Most levels have no per-channel override: skip the copy (hot on wide reads).
        return self if safety == self.safety_stock else replace(self, safety_stock=safety)

    @property
    def sellable(self) -> int:
        """Units physically here that are not damaged or quarantined."""
        return self.on_hand - self.unsellable

    def apply(self, delta: Delta, at: datetime | None = None) -> StockLevel:
        return replace(
            self,
            on_hand=self.on_hand + delta.on_hand,
            reserved=self.reserved + delta.reserved,
            inbound=self.inbound + delta.inbound,
            unsellable=self.unsellable + delta.unsellable,
            updated_at=at or self.updated_at,
        )


def atp(on_hand: int, reserved: int, safety_stock: int, unsellable: int) -> int:
    """The one ATP rule (API.md): max(0, onHand - reserved - safetyStock - unsellable)."""
    return max(0, on_hand - reserved - safety_stock - unsellable)
