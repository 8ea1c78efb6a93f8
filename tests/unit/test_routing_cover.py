"""Set multicover (domain/cover.py): the exact search against brute force, the greedy bound."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.cover import Supply, add, cover


def coverage(demand: Sequence[int], supplies: Sequence[Supply], chosen: Sequence[int]) -> int:
    return sum(min(d, sum(supplies[k].caps.get(i, 0) for k in chosen))
               for i, d in enumerate(demand))


def supply(caps: Sequence[int], weight: tuple[float, ...]) -> Supply:
    return Supply({i: c for i, c in enumerate(caps) if c}, weight)


def brute_force(demand: Sequence[int], supplies: Sequence[Supply]) -> tuple[int, tuple[float, ...]]:
    """(fewest supplies, least weight) among the subsets covering the most units."""
    best_units = coverage(demand, supplies, range(len(supplies)))
    for size in range(len(supplies) + 1):
        weights = [
            _weight(supplies, subset) for subset in itertools.combinations(range(len(supplies)),
                                                                            size)
            if coverage(demand, supplies, subset) == best_units
        ]
        if weights:
            return size, min(weights)
    raise AssertionError("the full set always reaches the best coverage")


def _weight(supplies: Sequence[Supply], chosen: Sequence[int]) -> tuple[float, ...]:
    total: tuple[float, ...] = (0, 0)
    for k in chosen:
        total = add(total, supplies[k].weight)
    return total


networks = st.integers(1, 4).flatmap(lambda lines: st.tuples(
    st.lists(st.integers(1, 4), min_size=lines, max_size=lines),
    st.lists(st.builds(supply,
                       st.lists(st.integers(0, 4), min_size=lines, max_size=lines),
                       st.tuples(st.integers(0, 5), st.integers(0, 2))),
             min_size=0, max_size=7),
))


@settings(max_examples=300, deadline=None)
@given(networks)
def test_exact_search_matches_brute_force(network: tuple[list[int], list[Supply]]) -> None:
    demand, supplies = network
    found = cover(demand, supplies, exact=True)
    assert found.exact
    assert coverage(demand, supplies, found.chosen) == sum(found.target)
    assert (len(found.chosen), _weight(supplies, found.chosen)) == brute_force(demand, supplies)


@settings(max_examples=300, deadline=None)
@given(networks)
def test_greedy_covers_the_most_units_within_the_logarithmic_bound(
    network: tuple[list[int], list[Supply]],
) -> None:
    demand, supplies = network
    found = cover(demand, supplies, exact=False)
    fewest, _ = brute_force(demand, supplies)
    units = sum(found.target)
    assert coverage(demand, supplies, found.chosen) == units
    assert units == coverage(demand, supplies, range(len(supplies)))
    harmonic = sum(1 / k for k in range(1, units + 1))
    assert len(found.chosen) <= math.floor(harmonic * fewest + 1e-9)


def test_greedy_can_miss_the_minimum_that_exact_search_finds() -> None:
    # Given the classic trap: one big supply overlapping two that together cover everything
    demand = [1] * 6
    supplies = [
        supply((1, 1, 0, 1, 1, 0), (0, 0)),
        supply((1, 1, 1, 0, 0, 0), (1, 0)),
        supply((0, 0, 0, 1, 1, 1), (1, 0)),
        supply((0, 0, 1, 0, 0, 0), (0, 0)),
        supply((0, 0, 0, 0, 0, 1), (0, 0)),
    ]
    # When covered greedily, then exactly
    greedy, exact = cover(demand, supplies, exact=False), cover(demand, supplies, exact=True)
    # Then greedy takes the big one and needs three; the search proves two suffice
    assert len(greedy.chosen) == 3 and not greedy.exact
    assert sorted(exact.chosen) == [1, 2] and exact.exact


def test_a_spent_node_budget_returns_the_best_plan_found_marked_not_exact() -> None:
    demand = [3] * 8
    supplies = [supply([(k >> i) & 1 for i in range(8)], (k % 7, 0)) for k in range(1, 256)]
    found = cover(demand, supplies, exact=True, node_budget=5)
    assert not found.exact
    assert coverage(demand, supplies, found.chosen) == sum(demand)


def test_nothing_to_cover_chooses_nothing() -> None:
    found = cover([2, 1], [supply((0, 0), (0, 0))], exact=True)
    assert (found.target, found.chosen, found.exact) == ((0, 0), (), True)
