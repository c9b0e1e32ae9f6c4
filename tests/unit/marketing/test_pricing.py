"""The pure pricing rules: a coupon's discount and its allocation over the lines."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backend.marketing.pricing import CouponRule, Line, allocate, coupon_discount, points_cap_fen


@pytest.mark.parametrize(("total", "weights", "expected"), [
    (100, [100, 200, 700], [10, 20, 70]),
    (100, [100, 100, 100], [33, 33, 34]),  # the remainder on the last line
    (2, [1, 1, 1], [0, 1, 1]),
    (1000, [3333, 3333, 3334], [333, 333, 334]),
    (0, [500, 500], [0, 0]),
    (7, [10], [7]),
    (6, [3, 3, 1], [2, 3, 1]),  # the last line would take 2 of its 1: the excess moves up
    (7, [3, 3, 1], [3, 3, 1]),  # everything off
    (5, [0, 10, 0], [0, 5, 0]),
])
def test_a_discount_is_split_in_proportion_to_the_fen_with_the_remainder_last(total, weights, expected):
    shares = allocate(total, weights)
    assert shares == expected
    assert sum(shares) == total
    assert all(0 <= s <= w for s, w in zip(shares, weights, strict=True))


def test_allocation_refuses_more_than_the_lines_cost_and_negative_amounts():
    with pytest.raises(ValueError):
        allocate(11, [5, 5])
    with pytest.raises(ValueError):
        allocate(1, [-1, 5])


def test_every_allocation_of_many_random_cases_sums_and_fits():
    import random

    rng = random.Random(7)
    for _ in range(2000):
        weights = [rng.randrange(0, 5000) for _ in range(rng.randrange(1, 8))]
        total = rng.randrange(0, sum(weights) + 1)
        shares = allocate(total, weights)
        assert sum(shares) == total
        assert all(0 <= s <= w for s, w in zip(shares, weights, strict=True))


LINES = [Line(1, product_id=10, category="茶", amount_fen=6000), Line(2, product_id=20, category="器", amount_fen=4000)]


def test_an_amount_off_coupon_spreads_over_every_line():
    r = coupon_discount(CouponRule(kind="amount", amount_off_fen=1000), LINES)
    assert (r.discount_fen, r.lines, r.reason) == (1000, {1: 600, 2: 400}, "")


def test_a_threshold_coupon_needs_the_covered_lines_to_reach_it():
    rule = CouponRule(kind="threshold", amount_off_fen=2000, threshold_fen=5000, scope="categories",
                      categories=frozenset({"器"}))
    r = coupon_discount(rule, LINES)
    assert r.discount_fen == 0 and r.reason == "适用商品满 50.00 元可用"
    r = coupon_discount(CouponRule(kind="threshold", amount_off_fen=2000, threshold_fen=10000), LINES)
    assert r.discount_fen == 2000 and r.lines == {1: 1200, 2: 800}


def test_a_percent_coupon_rounds_down_and_stops_at_its_ceiling():
    rule = CouponRule(kind="percent", percent_off=Decimal("0.15"))
    assert coupon_discount(rule, [Line(1, 1, "", 999)]).discount_fen == 149  # 149.85 down
    capped = CouponRule(kind="percent", percent_off=Decimal("0.15"), max_discount_fen=1000)
    assert coupon_discount(capped, LINES).discount_fen == 1000  # 15% of 100 yuan is 15, capped at 10


def test_scopes_cover_products_categories_or_all_but_excluded():
    only = CouponRule(kind="amount", amount_off_fen=500, scope="products", product_ids=frozenset({20}))
    assert coupon_discount(only, LINES).lines == {2: 500}
    excluded = CouponRule(kind="amount", amount_off_fen=500, scope="excluded", product_ids=frozenset({20}))
    assert coupon_discount(excluded, LINES).lines == {1: 500}
    none = CouponRule(kind="amount", amount_off_fen=500, scope="categories", categories=frozenset({"酒"}))
    assert coupon_discount(none, LINES).reason == "订单中没有适用此券的商品"


def test_a_coupon_worth_more_than_the_lines_takes_only_what_they_cost():
    r = coupon_discount(CouponRule(kind="amount", amount_off_fen=99999), LINES)
    assert r.discount_fen == 10000 and r.lines == {1: 6000, 2: 4000}


def test_a_free_shipping_coupon_needs_freight():
    rule = CouponRule(kind="shipping")
    assert coupon_discount(rule, LINES).reason == "本单无运费"
    r = coupon_discount(rule, LINES, freight_fen=800)
    assert (r.discount_fen, r.freight_fen, r.lines) == (800, 800, {})


def test_points_pay_at_most_their_share_and_never_the_last_fen():
    assert points_cap_fen(remaining_fen=10000, max_ratio=Decimal("0.5")) == 5000
    assert points_cap_fen(remaining_fen=10000, max_ratio=Decimal("1")) == 9999
    assert points_cap_fen(remaining_fen=1, max_ratio=Decimal("1")) == 0
