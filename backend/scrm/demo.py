"""Demo SCRM: a sales staff account (sales / demo1234) with a mini-program code, the
brand's tag groups and rules, and a few customers with tags, remarks and a reminder."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from backend.db import utcnow
from backend.staff.service import create_staff

DEMO_SALES = ("sales", "demo1234")


def seed(tenant: Any) -> None:
    """Seed SCRM for the demo tenant (called once, inside the demo unit of work)."""
    from backend.scrm import service as scrm
    from backend.scrm import tags as tagging

    now = utcnow()
    sales = create_staff(tenant_id=tenant.id, username=DEMO_SALES[0], password=DEMO_SALES[1],
                         display_name="小王", role="sales", actor="demo")
    scrm.create_staff_code(tenant_id=tenant.id, staff_id=sales.id, kind="mp", channel="门店",
                           actor="demo")
    groups = {
        "客户等级": (True, ["A类", "B类", "C类"]),
        "来源": (False, ["门店客户", "展会客户", "直播客户"]),
        "意向": (False, ["问价", "高意向", "已购", "高消费"]),
    }
    ids: dict[str, int] = {}
    for name, (exclusive, tags) in groups.items():
        group = tagging.create_tag_group(tenant_id=tenant.id, name=name, exclusive=exclusive,
                                         tag_names=tags, actor="demo")
        for row in tagging.list_tag_groups(tenant_id=tenant.id):
            if row["id"] == group.id:
                ids.update({t["name"]: t["id"] for t in row["tags"]})
    rules = [("门店客户", "channel", {"channels": ["门店"]}),
             ("展会客户", "channel", {"channels": ["展会"]}),
             ("问价", "keyword", {"keywords": ["多少钱", "价格", "优惠"]}),
             ("已购", "purchase", {"min_orders": 1}),
             ("高消费", "purchase", {"min_total_fen": 50000})]
    for tag_name, kind, params in rules:
        tagging.create_tag_rule(tenant_id=tenant.id, tag_id=ids[tag_name], kind=kind,
                                params=params, actor="demo")
    first = scrm.add_customer(tenant_id=tenant.id, staff_id=sales.id, name="陈女士",
                              phone="13800001111", channel="门店", remark="喜欢龙井，想买礼盒送人",
                              tag_ids=[ids["A类"], ids["高意向"]], now=now)
    scrm.add_customer(tenant_id=tenant.id, staff_id=sales.id, name="刘先生", phone="13800002222",
                      channel="展会", remark="展会上试饮过", tag_ids=[ids["B类"]], now=now)
    scrm.create_reminder(tenant_id=tenant.id, staff_id=sales.id, customer_id=first.id,
                         due_at=now + timedelta(days=1), note="礼盒到货后告诉陈女士", now=now)
