"""Choosing the fewest supplies that cover a demand, then the lightest: set multicover.

A demand is units per line; a supply can give up to `caps[i]` units of line i (a sparse map:
a location holds few of an order's SKUs) and costs `weight` (compared lexicographically,
summed over the chosen supplies, every part >= 0).
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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

Weight = tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Supply:
    caps: Mapping[int, int] = field(hash=False)  # line index -> units; lines it has some of
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
    held = [0] * len(demand)
    for s in supplies:
        for i, c in s.caps.items():
            held[i] += c
    target = tuple(min(d, h) for d, h in zip(demand, held, strict=True))
    types = _types(target, supplies)
    greedy_pick = _irredundant(target, supplies, _greedy(target, supplies, types))
    chosen, proven = greedy_pick, False
    if exact:
        chosen, proven = _Search(target, supplies, types, greedy_pick, node_budget).run()
    return Cover(target, tuple(sorted(chosen, key=lambda k: (supplies[k].weight, k))), proven)


@dataclass(frozen=True, slots=True)
class _Type:
    """Supplies giving the same units toward the target; `copies` lightest first."""

    caps: Mapping[int, int] = field(hash=False)
    copies: list[int] = field(hash=False)


def _types(target: Sequence[int], supplies: Sequence[Supply]) -> list[_Type]:
    """Supplies grouped by what they give toward `target` (caps capped by it); the ones that
    give nothing are left out. Copies of a type differ only in weight."""
    groups: dict[tuple[tuple[int, int], ...], list[int]] = {}
    for k, s in enumerate(supplies):
        key = tuple(sorted((i, min(c, target[i])) for i, c in s.caps.items() if c and target[i]))
        if key:
            groups.setdefault(key, []).append(k)
    return [_Type(dict(key), sorted(ks, key=lambda k: (supplies[k].weight, k)))
            for key, ks in groups.items()]


def _gain(caps: Mapping[int, int], missing: Sequence[int]) -> int:
    return sum(min(c, missing[i]) for i, c in caps.items())


def _take(caps: Mapping[int, int], missing: Sequence[int]) -> list[int]:
    left = list(missing)
    for i, c in caps.items():
        left[i] = max(0, left[i] - c)
    return left


def _greedy(target: Sequence[int], supplies: Sequence[Supply], types: Sequence[_Type]
            ) -> list[int]:
    """Lazy greedy over types: a type's gain only shrinks as others are taken, so a stale heap
    entry is an upper bound and only the top needs recomputing. Ties: the lighter copy."""
    missing = list(target)
    taken = [0] * len(types)
    heap = [(-_gain(x.caps, missing), supplies[x.copies[0]].weight, t)
            for t, x in enumerate(types)]
    heapq.heapify(heap)
    chosen: list[int] = []
    while any(missing) and heap:
        _, weight, t = heapq.heappop(heap)
        entry = (-_gain(types[t].caps, missing), weight, t)
        if entry[0] == 0:
            continue
        if heap and entry > heap[0]:
            heapq.heappush(heap, entry)
            continue
        chosen.append(types[t].copies[taken[t]])
        taken[t] += 1
        missing = _take(types[t].caps, missing)
        if taken[t] < len(types[t].copies):
            heapq.heappush(heap, (entry[0], supplies[types[t].copies[taken[t]]].weight, t))
    return chosen


def _covers(target: Sequence[int], supplies: Sequence[Supply], chosen: Sequence[int]) -> bool:
    got = [0] * len(target)
    for k in chosen:
        for i, c in supplies[k].caps.items():
            got[i] += c
    return all(g >= t for g, t in zip(got, target, strict=True))


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
                 types: Sequence[_Type], seed: list[int], budget: int) -> None:
        self.target = target
        self.supplies = supplies
        # A plan never needs more copies of one type than the seed has supplies.
        self.types = [x.copies[:max(1, len(seed))] for x in types]
        self.caps = [x.caps for x in types]
        self.by_line: list[list[int]] = [[] for _ in target]
        # Largest caps per line, and largest total, for lower bounds on supplies still needed.
        self.line_caps: list[list[int]] = [[] for _ in target]
        for t, caps in enumerate(self.caps):
            for i, c in caps.items():
                self.by_line[i].append(t)
                self.line_caps[i] += [c] * len(self.types[t])
        for found in self.line_caps:
            found.sort(reverse=True)
        self.max_total = max((sum(c.values()) for c in self.caps), default=1) or 1
        self.best = seed
        self.best_key = (len(seed), _total(supplies[k].weight for k in seed))
        self.budget = budget
        self.path: list[int] = []  # the types taken so far, in order
        self.seen: set[tuple[int, ...]] = set()

    def run(self) -> tuple[list[int], bool]:
        try:
            self._visit([0] * len(self.types), list(self.target), None)
        except _BudgetSpentError:
            return self.best, False
        return self.best, True

    def _visit(self, used: list[int], missing: list[int], weight: Weight | None) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise _BudgetSpentError
        size = len(self.path)
        if not any(missing):
            key = (size, weight or ())
            if key < self.best_key:
                self.best = [k for t, n in enumerate(used) for k in self.types[t][:n]]
                self.best_key = key
            return
        slots = self.best_key[0] - size
        bound = self._lower_bound(missing)
        # Weights are never negative: a partial weight already at the best cannot win a tie.
        if bound > slots or (bound == slots and weight is not None
                             and weight >= self.best_key[1]):
            return
        line = min((i for i, m in enumerate(missing) if m), key=lambda i: len(self.by_line[i]))
        for _, next_weight, t in self._children(line, used, missing):
            used[t] += 1
            self.path.append(t)
            state = tuple(sorted(self.path))
            if state not in self.seen:
                self.seen.add(state)
                total = next_weight if weight is None else add(weight, next_weight)
                self._visit(used, _take(self.caps[t], missing), total)
            self.path.pop()
            used[t] -= 1

    def _children(self, line: int, used: Sequence[int],
                  missing: Sequence[int]) -> list[tuple[int, Weight, int]]:
        """Types that can give to `line` with a copy left: most units first, lightest first."""
        found = []
        for t in self.by_line[line]:
            n = used[t]
            if n < len(self.types[t]):
                weight = self.supplies[self.types[t][n]].weight
                found.append((-_gain(self.caps[t], missing), weight, t))
        found.sort()
        return found

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


def _total(weights: Iterable[Weight]) -> Weight:
    total: Weight | None = None
    for w in weights:
        total = w if total is None else add(total, w)
    return total or ()
