"""The pure tag-rule evaluator: parameters are validated with every problem named, and
facts match exactly the rules whose conditions they meet."""

from __future__ import annotations

import pytest

from backend.scrm.rules import (
    PurchaseFacts,
    RuleInvalid,
    build_rule,
    match_channel,
    match_keywords,
    match_purchase,
    tag_ids,
    validate_params,
)


def test_params_are_canonicalised_trimmed_and_deduplicated() -> None:
    assert validate_params("channel", {"channels": [" 门店 ", "门店", "展会"]}) == {
        "channels": ["门店", "展会"]}
    assert validate_params("keyword", {"keywords": ["价格", "多少钱"]}) == {"keywords": ["价格", "多少钱"]}
    assert validate_params("purchase", {"min_orders": 2, "product_ids": [9, 3, 9]}) == {
        "min_orders": 2, "product_ids": [3, 9]}


@pytest.mark.parametrize("kind, params, fields", [
    ("channel", {"channels": []}, ["params.channels"]),
    ("channel", {"channels": ["门店"], "colour": 1}, ["params.colour"]),
    ("keyword", {"keywords": ["", "x" * 31]}, ["params.keywords[0]", "params.keywords[1]"]),
    ("keyword", "价格", ["params"]),
    ("purchase", {}, ["params"]),
    ("purchase", {"min_orders": -1, "min_total_fen": 1.5}, ["params.min_orders", "params.min_total_fen"]),
    ("purchase", {"product_ids": [0, True]}, ["params.product_ids"]),
    ("mood", {}, ["kind"]),
])
def test_bad_params_list_every_problem_by_field(kind: str, params: object, fields: list[str]) -> None:
    with pytest.raises(RuleInvalid) as err:
        validate_params(kind, params)
    assert [p["field"] for p in err.value.problems] == fields


def test_keywords_match_regardless_of_case_and_full_width_letters() -> None:
    vip = build_rule(rule_id=1, tag_id=10, kind="keyword", params={"keywords": ["VIP", "会员价"]})
    price = build_rule(rule_id=2, tag_id=11, kind="keyword", params={"keywords": ["多少钱"]})
    assert match_keywords([vip, price], "请问ｖｉｐ多少钱？") == [vip, price]
    assert match_keywords([vip, price], "会员价怎么算") == [vip]
    assert match_keywords([vip, price], "你好") == []
    assert match_keywords([vip], "") == []


def test_channel_rules_match_only_their_channels() -> None:
    store = build_rule(rule_id=1, tag_id=10, kind="channel", params={"channels": ["门店", "展会"]})
    assert match_channel([store], "展会") == [store]
    assert match_channel([store], "直播") == []
    assert match_channel([store], "") == []


def test_purchase_rules_need_every_condition_they_set() -> None:
    big = build_rule(rule_id=1, tag_id=10, kind="purchase",
                     params={"min_orders": 2, "min_total_fen": 50000})
    tea = build_rule(rule_id=2, tag_id=11, kind="purchase", params={"product_ids": [7, 8]})
    any_buyer = build_rule(rule_id=3, tag_id=12, kind="purchase", params={"min_orders": 1})
    rules = [big, tea, any_buyer]
    assert match_purchase(rules, PurchaseFacts()) == []
    assert match_purchase(rules, PurchaseFacts(1, 90000, frozenset({8}))) == [tea, any_buyer]
    assert match_purchase(rules, PurchaseFacts(2, 49999, frozenset({1}))) == [any_buyer]
    assert match_purchase(rules, PurchaseFacts(2, 50000, frozenset({7}))) == rules


def test_matched_rules_give_each_tag_once_in_rule_order() -> None:
    a = build_rule(rule_id=1, tag_id=20, kind="keyword", params={"keywords": ["a"]})
    b = build_rule(rule_id=2, tag_id=10, kind="keyword", params={"keywords": ["b"]})
    c = build_rule(rule_id=3, tag_id=20, kind="keyword", params={"keywords": ["c"]})
    assert tag_ids([a, b, c]) == [20, 10]
