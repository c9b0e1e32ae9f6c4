"""What an authorization covers (backend/agents/rules.py): products by id, by category,
or both as a union; regions by province and city."""

from backend.agents import rules

CATS = {1: "茶叶", 2: "茶具", 3: "", 4: "茶叶"}


def test_no_products_and_no_categories_cover_everything():
    assert rules.outside_products(None, None, [1, 2, 3], CATS) == []
    assert rules.scope_text(None, None, []) == "全部商品"


def test_a_category_list_covers_only_products_of_those_categories():
    assert rules.outside_products(None, ["茶叶"], [1, 2, 3, 4], CATS) == [2, 3]


def test_products_and_categories_cover_their_union():
    assert rules.outside_products([2], ["茶叶"], [1, 2, 3, 4], CATS) == [3]
    assert rules.scope_text([2], ["茶叶"], ["紫砂壶"]) == "茶叶类、紫砂壶"


def test_a_product_without_a_category_is_not_covered_by_an_empty_category_name():
    assert rules.outside_products(None, [""], [3], CATS) == [3]


def test_regions_match_by_province_and_optionally_city():
    zj = [{"province": "浙江省"}, {"province": "江苏省", "city": "南京市"}]
    assert rules.region_matches(zj, "浙江省", "宁波市")
    assert rules.region_matches(zj, "江苏省", "南京市")
    assert not rules.region_matches(zj, "江苏省", "苏州市")
    assert not rules.region_matches(zj, None, None)
    assert rules.region_matches(None, None, None)


def test_place_names_compare_without_their_suffixes():
    assert rules.short_place("广西壮族自治区") == "广西" and rules.short_place("上海市") == "上海"
    assert rules.region_matches([{"province": "浙江省", "city": "杭州市"}], "浙江", "杭州")
    assert rules.region_matches([{"province": "上海"}], "上海市", "上海市")
    assert not rules.region_matches([{"province": "浙江省"}], "江西省", None)
