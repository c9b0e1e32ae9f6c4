"""The pure freight rule: flat, by province (longest prefix), 满额包邮, and what a refund
gives back."""

from __future__ import annotations

import pytest

from backend.orders.rules import FreightRule, freight_for, freight_refund_fen, rule_errors

RULE = FreightRule(freight_fen=800, free_over_fen=9900, by_region={"新疆": 2000, "内蒙古": 1500, "内": 1})


@pytest.mark.parametrize(("goods", "address", "fee"), [
    (5000, "上海市黄浦区南京东路 1 号", 800),
    (5000, "  新疆维吾尔自治区乌鲁木齐市", 2000),
    (5000, "内蒙古自治区呼和浩特市", 1500),  # the longest matching name wins
    (9899, "新疆乌鲁木齐", 2000),
    (9900, "新疆乌鲁木齐", 0),  # 满 99 包邮, everywhere
    (0, "", 800),
])
def test_the_fee_follows_the_address_and_the_threshold(goods, address, fee):
    assert freight_for(RULE, goods_fen=goods, address=address) == fee


def test_no_rule_means_free_delivery_and_negative_goods_are_a_bug():
    assert freight_for(FreightRule(), goods_fen=100, address="北京") == 0
    with pytest.raises(ValueError):
        freight_for(RULE, goods_fen=-1, address="")


@pytest.mark.parametrize(("rule", "last", "shipped", "already", "back"), [
    ("unshipped", True, False, False, 800),
    ("unshipped", True, True, False, 0),
    ("unshipped", False, False, False, 0),  # goods remain: the freight stays with them
    ("unshipped", True, False, True, 0),  # once per order
    ("always", True, True, False, 800),
    ("never", True, False, False, 0),
])
def test_a_refund_returns_the_freight_by_the_rule(rule, last, shipped, already, back):
    assert freight_refund_fen(FreightRule(freight_fen=800, refund=rule), freight_paid_fen=800, last_goods=last,
                              shipped=shipped, already_refunded=already) == back


def test_bad_rules_are_named_field_by_field():
    assert rule_errors(freight_fen=800, free_over_fen=9900, by_region={"西藏": 2500}, refund="never") == []
    fields = [e["field"] for e in rule_errors(freight_fen=-1, free_over_fen=0, by_region={"x": 1, "青海": -5},
                                              refund="maybe")]
    assert fields == ["freight_fen", "free_freight_over_fen", "freight_by_region.x", "freight_by_region.青海",
                      "freight_refund"]
