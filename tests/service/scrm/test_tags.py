"""Tag groups and tags, manual tagging with exclusive groups, rules by channel and keyword,
the bot's tagging by names, and the WeCom mirror."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.scrm import tags as tagging
from backend.scrm.errors import InvalidTagField, InvalidTagRule, TagNameTaken, TagNotFound
from backend.scrm.models import Tag, TagGroup
from tests.scrm_factories import add_customer, events, rule, tag_group, tag_names


def tag(tenant: Any, staff: Any, customer: Any, add: list[int] = (), remove: list[int] = ()) -> list[str]:
    with unit_of_work():
        tags = tagging.tag_customer(tenant_id=tenant.id, staff_id=staff.id, customer_id=customer.id,
                                    add=list(add), remove=list(remove), now=utcnow())
    return [t.name for t in tags]


def test_a_group_is_created_with_its_tags_audited_and_names_stay_unique(factory: Any) -> None:
    tenant = factory.tenant()
    ids = tag_group(tenant, "客户等级", ["A类", "B类", "C类"], exclusive=True)
    groups = tagging.list_tag_groups(tenant_id=tenant.id)
    assert [(g["name"], g["exclusive"], [t["name"] for t in g["tags"]]) for g in groups] == [
        ("客户等级", True, ["A类", "B类", "C类"])]
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "scrm.tag_group.create"))
    assert audit.after == {"name": "客户等级", "exclusive": True, "tags": ["A类", "B类", "C类"]}
    group_id = groups[0]["id"]
    with pytest.raises(TagNameTaken), unit_of_work():
        tagging.create_tag_group(tenant_id=tenant.id, name="客户等级", actor="test")
    with pytest.raises(TagNameTaken), unit_of_work():
        tagging.create_tag(tenant_id=tenant.id, group_id=group_id, name="A类", actor="test")
    with pytest.raises(InvalidTagField), unit_of_work():
        tagging.create_tag_group(tenant_id=tenant.id, name="重复", tag_names=["x", "x"], actor="test")
    with unit_of_work():
        tagging.rename_tag(tenant_id=tenant.id, tag_id=ids["C类"], name="D类", actor="test")
    assert [t["name"] for t in tagging.list_tag_groups(tenant_id=tenant.id)[0]["tags"]] == [
        "A类", "B类", "D类"]


def test_tagging_by_hand_adds_and_removes_and_writes_the_timeline(factory: Any) -> None:
    tenant = factory.tenant()
    sales = factory.staff(tenant, "sales")
    customer = add_customer(tenant, sales)
    hobby = tag_group(tenant, "爱好", ["喝茶", "咖啡", "养生"])
    assert tag(tenant, sales, customer, add=[hobby["喝茶"], hobby["养生"]]) == ["喝茶", "养生"]
    assert tag(tenant, sales, customer, add=[hobby["咖啡"]], remove=[hobby["喝茶"]]) == ["咖啡", "养生"]
    assert tag(tenant, sales, customer, add=[hobby["咖啡"]]) == ["咖啡", "养生"]  # no-op
    assert [(e.kind, e.content, e.staff_id) for e in events(customer.id) if e.kind != "added"] == [
        ("tag_add", "喝茶、养生", sales.id), ("tag_add", "咖啡", sales.id),
        ("tag_remove", "喝茶", sales.id)]
    counts = {t["name"]: t["customers"] for t in tagging.list_tag_groups(tenant_id=tenant.id)[0]["tags"]}
    assert counts == {"喝茶": 0, "咖啡": 1, "养生": 1}


def test_an_exclusive_group_keeps_one_tag_per_customer(factory: Any) -> None:
    tenant = factory.tenant()
    sales = factory.staff(tenant, "sales")
    customer = add_customer(tenant, sales)
    level = tag_group(tenant, "客户等级", ["A类", "B类"], exclusive=True)
    other = tag_group(tenant, "爱好", ["喝茶"])
    assert tag(tenant, sales, customer, add=[level["A类"], other["喝茶"]]) == ["A类", "喝茶"]
    assert tag(tenant, sales, customer, add=[level["B类"]]) == ["B类", "喝茶"]
    assert tag(tenant, sales, customer, add=[level["A类"], level["B类"]]) == ["B类", "喝茶"]


def test_unknown_or_foreign_tags_are_refused_naming_them(factory: Any) -> None:
    tenant, other = factory.tenant(), factory.tenant()
    sales = factory.staff(tenant, "sales")
    customer = add_customer(tenant, sales)
    foreign = tag_group(other, "乙方", ["机密"])["机密"]
    with pytest.raises(TagNotFound) as err:
        tag(tenant, sales, customer, add=[foreign, 99999])
    assert err.value.details == {"tag_ids": sorted([foreign, 99999])}
    assert tag_names(tenant, customer.id) == []


def test_deleting_a_tag_or_group_takes_it_off_every_customer(factory: Any) -> None:
    tenant = factory.tenant()
    sales = factory.staff(tenant, "sales")
    c1, c2 = add_customer(tenant, sales, name="一"), add_customer(tenant, sales, name="二")
    ids = tag_group(tenant, "爱好", ["喝茶", "咖啡"])
    tag(tenant, sales, c1, add=[ids["喝茶"], ids["咖啡"]])
    tag(tenant, sales, c2, add=[ids["喝茶"]])
    rule(tenant, ids["喝茶"], "keyword", {"keywords": ["茶"]})
    with unit_of_work():
        assert tagging.delete_tag(tenant_id=tenant.id, tag_id=ids["喝茶"], actor="test") == 2
    assert tag_names(tenant, c1.id) == ["咖啡"] and tag_names(tenant, c2.id) == []
    assert tagging.list_tag_rules(tenant_id=tenant.id) == []
    group_id = db.session.scalar(select(TagGroup.id).where(TagGroup.name == "爱好"))
    with unit_of_work():
        assert tagging.delete_tag_group(tenant_id=tenant.id, group_id=group_id, actor="test") == 1
    assert tag_names(tenant, c1.id) == [] and tagging.list_tag_groups(tenant_id=tenant.id) == []


def test_keyword_rules_tag_a_customer_from_their_message(factory: Any) -> None:
    tenant = factory.tenant()
    sales = factory.staff(tenant, "sales")
    customer = add_customer(tenant, sales)
    ids = tag_group(tenant, "意向", ["问价", "会员"])
    rule(tenant, ids["问价"], "keyword", {"keywords": ["多少钱", "价格"]})
    off = rule(tenant, ids["会员"], "keyword", {"keywords": ["VIP"]})
    with unit_of_work():
        tagging.update_tag_rule(tenant_id=tenant.id, rule_id=off.id, active=False, actor="test")
    with unit_of_work():
        added = tagging.apply_keyword_rules(tenant_id=tenant.id, customer_id=customer.id,
                                            text="ＶＩＰ价格多少钱？", now=utcnow())
    assert [t.name for t in added] == ["问价"]
    with unit_of_work():
        assert tagging.apply_keyword_rules(tenant_id=tenant.id, customer_id=customer.id,
                                           text="价格呢", now=utcnow()) == []
    [event] = events(customer.id, "tag_add")
    assert (event.staff_id, event.data["source"]) == (None, "rule")


def test_a_rule_with_bad_params_is_refused_listing_every_problem(factory: Any) -> None:
    tenant = factory.tenant()
    tag_id = tag_group(tenant, "来源", ["门店"])["门店"]
    with pytest.raises(InvalidTagRule) as err:
        rule(tenant, tag_id, "purchase", {"min_orders": -2, "colour": "red"})
    assert sorted(p["field"] for p in err.value.details) == ["params.colour", "params.min_orders"]
    with pytest.raises(TagNotFound):
        rule(tenant, 424242, "channel", {"channels": ["门店"]})


def test_the_bot_tags_by_names_reusing_tags_and_creating_missing_ones(factory: Any) -> None:
    tenant = factory.tenant()
    sales = factory.staff(tenant, "sales")
    customer = add_customer(tenant, sales)
    existing = tag_group(tenant, "爱好", ["喝茶"])["喝茶"]
    with unit_of_work():
        got = tagging.tag_customer_by_names(tenant_id=tenant.id, customer_id=customer.id,
                                            names=["喝茶", "问价", "问价"], now=utcnow())
    assert [t.name for t in got] == ["喝茶", "问价"] and got[0].id == existing
    auto = db.session.scalar(select(TagGroup).where(TagGroup.name == tagging.AUTO_GROUP))
    assert [t.name for t in db.session.scalars(select(Tag).where(Tag.group_id == auto.id))] == ["问价"]
    with unit_of_work():
        tagging.tag_customer_by_names(tenant_id=tenant.id, customer_id=customer.id, names=["包邮"],
                                      now=utcnow())
    assert tag_names(tenant, customer.id) == ["喝茶", "问价", "包邮"]
