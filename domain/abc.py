"""ABC classification: rank SKUs by the value they moved out, class them by cumulative share.

A SKU's class is decided by the share of the total value held by the SKUs ranked above it:
A while that share is below `a_share`, B while below `b_share`, else C. So the SKU that
crosses a threshold still belongs to the class it started in, and the top SKU is always A
(if anything moved at all). SKUs that moved nothing of value are C.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from domain.errors import InvalidInputError

MAX_WINDOW_DAYS = 3660


class AbcClass(enum.Enum):
    A = "A"
    B = "B"
    C = "C"


DEFAULT_COUNT_EVERY_DAYS: Mapping[AbcClass, int] = {
    AbcClass.A: 30, AbcClass.B: 91, AbcClass.C: 365}


@dataclass(frozen=True, slots=True)
class AbcPolicy:
    a_share: float = 0.80
    b_share: float = 0.95
    # Suggested cycle count frequency per class: A monthly, B quarterly, C yearly.
    count_every_days: Mapping[AbcClass, int] = field(
        default_factory=lambda: dict(DEFAULT_COUNT_EVERY_DAYS))

    def check(self) -> None:
        if not (math.isfinite(self.a_share) and 0 < self.a_share < 1):
            raise InvalidInputError(f"aShare must be between 0 and 1, got {self.a_share}",
                                    field="aShare")
        if not (math.isfinite(self.b_share) and self.a_share < self.b_share <= 1):
            raise InvalidInputError(
                f"bShare must be above aShare ({self.a_share}) and at most 1, got "
                f"{self.b_share}", field="bShare")
        if any(days <= 0 for days in self.count_every_days.values()):
            raise InvalidInputError("cycle count frequencies must be positive days")


@dataclass(frozen=True, slots=True)
class Outflow:
    """Units of one SKU moved out over the window, and its unit cost (None: not set)."""

    sku: str
    units: int
    unit_cost: float | None

    @property
    def value(self) -> float:
        return self.units * (self.unit_cost or 0.0)


@dataclass(frozen=True, slots=True)
class Ranked:
    rank: int
    sku: str
    units: int
    unit_cost: float | None
    value: float
    share: float
    cumulative_share: float
    abc_class: AbcClass
    count_every_days: int


def check_window(days: int) -> None:
    if not 0 < days <= MAX_WINDOW_DAYS:
        raise InvalidInputError(f"windowDays must be 1 to {MAX_WINDOW_DAYS}, got {days}",
                                field="windowDays")


def classify(outflows: Sequence[Outflow], policy: AbcPolicy) -> list[Ranked]:
    """Highest value first (ties: more units, then SKU), each with its class."""
    ordered = sorted(outflows, key=lambda o: (-o.value, -o.units, o.sku))
    total = sum(o.value for o in ordered)
    ranked: list[Ranked] = []
    before = 0.0
    for rank, o in enumerate(ordered, start=1):
        share = o.value / total if total > 0 else 0.0
        cls = _class(before, o.value, policy)
        before += share
        ranked.append(Ranked(rank, o.sku, o.units, o.unit_cost, o.value, share,
                             min(1.0, before), cls, policy.count_every_days[cls]))
    return ranked


def _class(share_above: float, value: float, policy: AbcPolicy) -> AbcClass:
    if value <= 0:
        return AbcClass.C
    # A hair of tolerance: shares are summed in floating point (0.1 + 0.7 is 0.7999...).
    if share_above < policy.a_share - 1e-9:
        return AbcClass.A
    if share_above < policy.b_share - 1e-9:
        return AbcClass.B
    return AbcClass.C
