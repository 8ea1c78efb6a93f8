"""Choosing the fewest supplies that cover a demand, then the lightest: set multicover.

A demand is units per line; a supply can give up to `caps[i]` units of line i and costs
`weight` (compared lexicographically, summed over the chosen supplies, every part >= 0).
`cover` first fixes the target: per line, the demand or everything all supplies hold together,
whichever is smaller, so the most units that can be covered are covered. Then it looks for the
fewest supplies reaching that target, and among those the smallest total weight:

- `greedy`: take the supply giving the most still-missing units (lighter first on ties) until
  the target is met, then drop supplies the others make redundant. At most H(n) <= ln(n) + 1
  times the minimum number of supplies, n = units in the target (docs/routing.md).
- `exact`: branch and bound seeded with the greedy answer, proven minimal unless it runs out of
  its node budget (then the best plan found so far is returned, marked not exact).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

Weight = tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Supply:
    caps: tuple[int, ...]
    weight: Weight


@dataclass(frozen=True, slots=True)
class Cover:
    target: tuple[int, ...]
    chosen: tuple[int, ...]  # indexes into the supplies given, lightest first
    exact: bool


class _BudgetSpentError(Exception):
    pass


def cover(
    demand: Sequence[int], supplies: Sequence[Supply], exact: bool, node_budget: int = 20_000
) -> Cover:
    target = tuple(min(d, sum(s.caps[i] for s in supplies)) for i, d in enumerate(demand))
    useful = [
        Supply(tuple(min(c, t) for c, t in zip(s.caps, target, strict=True)), s.weight)
        for s in supplies
    ]
    keys = [k for k, s in enumerate(useful) if any(s.caps)]
    greedy_pick = _irredundant(target, useful, _greedy(target, useful, keys))
    chosen, proven = greedy_pick, False
    if exact:
        chosen, proven = _Search(target, useful, keys, greedy_pick, node_budget).run()
    return Cover(target, tuple(sorted(chosen, key=lambda k: (useful[k].weight, k))), proven)


def _gain(caps: Sequence[int], missing: Sequence[int]) -> int:
    return sum(min(c, m) for c, m in zip(caps, missing, strict=True) if c and m)


def _take(caps: Sequence[int], missing: Sequence[int]) -> list[int]:
    return [max(0, m - c) for c, m in zip(caps, missing, strict=True)]


def _greedy(target: Sequence[int], supplies: Sequence[Supply], keys: Sequence[int]) -> list[int]:
    """Lazy greedy: a supply's gain only shrinks as others are taken, so a stale heap entry
    is an upper bound and only the top needs recomputing."""
    missing = list(target)
    heap = [(-_gain(supplies[k].caps, missing), supplies[k].weight, k) for k in keys]
    heapq.heapify(heap)
    chosen: list[int] = []
    while any(missing) and heap:
        _, weight, k = heapq.heappop(heap)
        entry = (-_gain(supplies[k].caps, missing), weight, k)
        if entry[0] == 0:
            continue
        if heap and entry > heap[0]:
            heapq.heappush(heap, entry)
            continue
        chosen.append(k)
        missing = _take(supplies[k].caps, missing)
    return chosen


def _covers(target: Sequence[int], supplies: Sequence[Supply], chosen: Sequence[int]) -> bool:
    return all(sum(supplies[k].caps[i] for k in chosen) >= t for i, t in enumerate(target))


def _irredundant(
    target: Sequence[int], supplies: Sequence[Supply], chosen: list[int]
) -> list[int]:
    """Drop, heaviest first, every supply the rest can do without."""
    kept = list(chosen)
    for k in sorted(chosen, key=lambda k: supplies[k].weight, reverse=True):
        rest = [j for j in kept if j != k]
        if _covers(target, supplies, rest):
            kept = rest
    return kept


def add(a: Weight, b: Weight) -> Weight:
    return tuple(x + y for x, y in zip(a, b, strict=True))


class _Search:
    """Depth-first branch and bound over supply *types* (equal caps): copies of one type differ
    only in weight, so a type's copies are taken lightest first and never in another order."""

    def __init__(self, target: tuple[int, ...], supplies: Sequence[Supply],
                 keys: Sequence[int], seed: list[int], budget: int) -> None:
        self.target = target
        self.supplies = supplies
        copies: dict[tuple[int, ...], list[int]] = {}
        for k in sorted(keys, key=lambda k: (supplies[k].weight, k)):
            same = copies.setdefault(supplies[k].caps, [])
            if len(same) < max(1, len(seed)):  # a plan never needs more copies than that
                same.append(k)
        self.types = list(copies.values())
        self.caps = [supplies[c[0]].caps for c in self.types]
        lines = range(len(target))
        self.by_line = [[t for t, caps in enumerate(self.caps) if caps[i]] for i in lines]
        # Largest caps per line, and largest total, for lower bounds on supplies still needed.
        self.line_caps = [
            sorted((self.caps[t][i] for t, same in enumerate(self.types) for _ in same
                    if self.caps[t][i]), reverse=True)
            for i in lines]
        self.max_total = max((sum(c) for c in self.caps), default=1) or 1
        self.best = seed
        self.best_key = (len(seed), self._weight(seed))
        self.budget = budget
        self.seen: set[tuple[int, ...]] = set()

    def run(self) -> tuple[list[int], bool]:
        try:
            self._visit([0] * len(self.types), list(self.target), 0)
        except _BudgetSpentError:
            return self.best, False
        return self.best, True

    def _weight(self, chosen: Sequence[int]) -> Weight:
        total: Weight | None = None
        for k in chosen:
            w = self.supplies[k].weight
            total = w if total is None else add(total, w)
        return total if total is not None else ()

    def _visit(self, used: list[int], missing: list[int], size: int) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise _BudgetSpentError
        if not any(missing):
            self._consider(used, size)
            return
        need = size + self._lower_bound(missing)
        if need > self.best_key[0]:
            return
        if need == self.best_key[0] and self._partial_weight(used) >= self.best_key[1]:
            return
        line = min((i for i, m in enumerate(missing) if m),
                   key=lambda i: len(self.by_line[i]))
        for t in sorted(self.by_line[line],
                        key=lambda t: -_gain(self.caps[t], missing)):
            if used[t] >= len(self.types[t]):
                continue
            used[t] += 1
            state = tuple(used)
            if state not in self.seen:
                self.seen.add(state)
                self._visit(used, _take(self.caps[t], missing), size + 1)
            used[t] -= 1

    def _lower_bound(self, missing: Sequence[int]) -> int:
        bound = -(-sum(missing) // self.max_total)
        for i, m in enumerate(missing):
            covered, count = 0, 0
            for c in self.line_caps[i]:
                if covered >= m:
                    break
                covered, count = covered + c, count + 1
            bound = max(bound, count)
        return bound

    def _chosen(self, used: Sequence[int]) -> list[int]:
        return [k for t, n in enumerate(used) for k in self.types[t][:n]]

    def _partial_weight(self, used: Sequence[int]) -> Weight:
        return self._weight(self._chosen(used))

    def _consider(self, used: Sequence[int], size: int) -> None:
        chosen = self._chosen(used)
        key = (size, self._weight(chosen))
        if key < self.best_key:
            self.best, self.best_key = chosen, key
