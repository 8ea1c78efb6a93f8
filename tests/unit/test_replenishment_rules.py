"""Reorder rules, ABC classes and webhook verdicts as pure rules (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain import abc, webhook
from domain import replenishment as rules
from domain.errors import InvalidInputError
from domain.stock import StockLevel

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RULE = rules.ReorderRule("SKU-A", "store-1", reorder_point=5, target_level=30)


def level(on_hand: int, inbound: int = 0, reserved: int = 0) -> StockLevel:
    return StockLevel("SKU-A", "store-1", on_hand=on_hand, reserved=reserved, inbound=inbound)


def test_position_counts_inbound_and_takes_off_reserved() -> None:
    assert rules.position(level(10, inbound=4, reserved=3)) == 11


@pytest.mark.parametrize(("lv", "due"), [
    (level(6), None),                      # above the point: nothing due
    (level(5), 25),                        # at the point: up to the target
    (level(0), 30),
    (level(3, inbound=3), None),           # inbound units count toward the position
    (level(8, reserved=4), 26),            # reserved units do not
])
def test_a_request_is_due_at_or_below_the_point_for_the_gap_to_target(
    lv: StockLevel, due: int | None
) -> None:
    assert rules.due_quantity(RULE, lv) == due


def test_a_fixed_quantity_rule_asks_for_that_quantity() -> None:
    fixed = rules.ReorderRule("SKU-A", "store-1", 5, 30, fixed_quantity=12)
    assert rules.due_quantity(fixed, level(1)) == 12


@pytest.mark.parametrize(("rule", "field"), [
    (rules.ReorderRule("S", "L", -1, 10), "reorderPoint"),
    (rules.ReorderRule("S", "L", 5, 5), "targetLevel"),
    (rules.ReorderRule("S", "L", 5, 4), "targetLevel"),
    (rules.ReorderRule("S", "L", 5, 10, fixed_quantity=0), "fixedQuantity"),
    (rules.ReorderRule("S", "L", 5, 10, supplier="  "), "supplier"),
    (rules.ReorderRule("S", "L", 5, 10, source_location_id="L"), "sourceLocationId"),
    (rules.ReorderRule("S", "L", 5, 10, supplier="ACME", source_location_id="W"),
     "sourceLocationId"),
])
def test_rules_that_cannot_be_meant_are_refused_naming_the_argument(
    rule: rules.ReorderRule, field: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        rules.check_rule(rule)
    assert refused.value.field == field


def test_the_webhook_body_says_what_to_order_and_why() -> None:
    request = rules.new_request("r-1", RULE, level(4, inbound=1), 25, NOW)
    body = rules.webhook_body(request, level(4, inbound=1))
    assert body["request"] == {
        "id": "r-1", "sku": "SKU-A", "locationId": "store-1", "quantity": 25, "status": "OPEN",
        "createdAt": NOW.isoformat(), "supplier": None, "sourceLocationId": None,
        "kind": "PURCHASE"}
    assert body["level"]["position"] == 5


def outflows(*values: tuple[str, int, float | None]) -> list[abc.Outflow]:
    return [abc.Outflow(sku, units, cost) for sku, units, cost in values]


def test_abc_classes_follow_the_cumulative_share_of_the_skus_above() -> None:
    # Values 6000, 2500, 1000, 300, 200 (of 10,000) and two that moved nothing of value
    ranked = abc.classify(outflows(("E", 20, 10.0), ("A", 600, 10.0), ("C", 100, 10.0),
                                   ("B", 250, 10.0), ("D", 30, 10.0), ("F", 40, None),
                                   ("G", 0, 99.0)), abc.AbcPolicy())
    assert [(r.sku, r.abc_class.value) for r in ranked] == [
        ("A", "A"), ("B", "A"), ("C", "B"), ("D", "C"), ("E", "C"), ("F", "C"), ("G", "C")]
    assert [r.rank for r in ranked] == list(range(1, 8))
    assert ranked[1].cumulative_share == pytest.approx(0.85)
    assert [r.count_every_days for r in ranked[:4]] == [30, 30, 91, 365]


def test_the_sku_that_reaches_a_threshold_exactly_starts_the_next_class() -> None:
    # Values 70, 10, 10, 10: the SKUs above the third hold exactly 80 % (0.7 + 0.1 sums to
    # 0.7999... in floating point), so it is B; ties rank more units first.
    ranked = abc.classify(outflows(("X", 7, 10.0), ("Y", 1, 10.0), ("U", 5, 2.0),
                                   ("V", 10, 1.0)), abc.AbcPolicy())
    assert [(r.sku, r.abc_class.value) for r in ranked] == [
        ("X", "A"), ("V", "A"), ("U", "B"), ("Y", "B")]


def test_nothing_moved_means_every_sku_is_c() -> None:
    ranked = abc.classify(outflows(("A", 0, 1.0), ("B", 5, None)), abc.AbcPolicy())
    assert {r.abc_class for r in ranked} == {abc.AbcClass.C}
    assert all(r.share == 0 for r in ranked)


@pytest.mark.parametrize("policy", [abc.AbcPolicy(0, 0.9), abc.AbcPolicy(0.9, 0.8),
                                    abc.AbcPolicy(0.8, 1.2), abc.AbcPolicy(float("nan"), 0.9)])
def test_thresholds_out_of_order_are_refused(policy: abc.AbcPolicy) -> None:
    with pytest.raises(InvalidInputError):
        policy.check()


POLICY = webhook.RetryPolicy(backoff=timedelta(seconds=1), cap=timedelta(seconds=60),
                             max_rejections=3)


@pytest.mark.parametrize(("code", "verdict"), [
    (200, webhook.Verdict.DELIVERED), (204, webhook.Verdict.DELIVERED),
    (None, webhook.Verdict.RETRY), (500, webhook.Verdict.RETRY), (503, webhook.Verdict.RETRY),
    (429, webhook.Verdict.RETRY), (408, webhook.Verdict.RETRY), (400, webhook.Verdict.RETRY),
    (301, webhook.Verdict.RETRY),
])
def test_answers_are_delivered_or_retried(code: int | None, verdict: webhook.Verdict) -> None:
    assert webhook.judge(webhook.Answer(code), 0, POLICY) is verdict


def test_a_refusal_is_parked_after_the_bounded_number_but_an_outage_never_is() -> None:
    assert webhook.judge(webhook.Answer(422), 1, POLICY) is webhook.Verdict.RETRY
    assert webhook.judge(webhook.Answer(422), 2, POLICY) is webhook.Verdict.PARK
    assert webhook.judge(webhook.Answer(503), 1000, POLICY) is webhook.Verdict.RETRY
    assert webhook.is_rejection(webhook.Answer(404))
    assert not webhook.is_rejection(webhook.Answer(None, "ConnectError"))


def test_backoff_doubles_up_to_the_cap_scaled_by_jitter() -> None:
    waits = [webhook.backoff(n, POLICY, 1.0).total_seconds() for n in range(1, 10)]
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert webhook.backoff(3, POLICY, 0.5) == timedelta(seconds=2)
    assert webhook.backoff(10_000, POLICY, 1.0) == timedelta(seconds=60)
    with pytest.raises(ValueError, match="jitter"):
        webhook.backoff(1, POLICY, 0.1)
