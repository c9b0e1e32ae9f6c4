"""Demo marketing of the demo tenant: coupons (满减 and 包邮 in the coupon centre, 85 折 on tea,
the new-member gift and the invite reward), 爱丽丝 holding a coupon and points, a
points task with a claim code, a 3-person group-buy on the tea, and the material
library (copy with the promoter's link, a picture)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from backend.catalog.service import list_products, skus_of
from backend.db import utcnow
from backend.marketing import coupons, groups, materials, points
from backend.members.demo import demo_member


def seed(tenant: Any) -> None:
    """Create the demo's coupons, points, group-buy and materials (inside the demo unit of work)."""
    now = utcnow()
    full = coupons.create_coupon(tenant_id=tenant.id, actor="demo", spec=coupons.CouponSpec(
        name="满100减30", kind="threshold", amount_off_fen=3000, threshold_fen=10000, total_stock=1000,
        valid_days=30, per_member_limit=2))
    coupons.create_coupon(tenant_id=tenant.id, actor="demo", spec=coupons.CouponSpec(
        name="包邮券", kind="shipping", total_stock=1000, valid_days=30))
    coupons.create_coupon(tenant_id=tenant.id, actor="demo", spec=coupons.CouponSpec(
        name="茶叶85折", kind="percent", percent_off="0.15", max_discount_fen=5000, scope="categories",
        categories=("茶叶",), total_stock=500, valid_from=now, valid_until=now + timedelta(days=60)))
    gift = coupons.create_coupon(tenant_id=tenant.id, actor="demo", spec=coupons.CouponSpec(
        name="新人立减10元", kind="threshold", amount_off_fen=1000, threshold_fen=5000, total_stock=100000,
        valid_days=14, claimable=False))
    invite = coupons.create_coupon(tenant_id=tenant.id, actor="demo", spec=coupons.CouponSpec(
        name="邀请好友奖励20元", kind="threshold", amount_off_fen=2000, threshold_fen=8000, total_stock=100000,
        valid_days=30, per_member_limit=100, claimable=False))
    coupons.update_policy(tenant_id=tenant.id, actor="demo",
                          changes={"new_member_coupon_id": gift.id, "invite_coupon_id": invite.id})
    alice = demo_member(tenant_id=tenant.id, code="demo-alice")
    coupons.issue_coupon(tenant_id=tenant.id, coupon_id=full.id, member_id=alice.id, source="grant", now=now,
                         issued_by="demo")
    points.credit(tenant_id=tenant.id, member_id=alice.id, points=3000, kind="grant", key="demo:alice",
                  now=now, memo="开业赠送")
    points.create_task(tenant_id=tenant.id, title="参加春茶品鉴会", points=200, repeat="once",
                       claim_code="TEA2026", actor="demo")

    products = {p.name: p for p in list_products(tenant_id=tenant.id, on_shelf=True)}
    tea = products.get("明前龙井")
    if tea is not None:
        sku = skus_of(tenant_id=tenant.id, product_ids=[tea.id])[tea.id][0]
        groups.create_campaign(tenant_id=tenant.id, sku_product_id=tea.id, actor="demo", spec=groups.CampaignSpec(
            name="明前龙井三人团", product_id=tea.id, sku_id=sku.id, group_price_fen=9900, group_size=3,
            time_limit_minutes=24 * 60, starts_at=now, ends_at=now + timedelta(days=30), leader_reward_points=200))
        materials.create_material(
            tenant_id=tenant.id, kind="copy", title="春茶上新文案", category="茶叶", product_id=tea.id, actor="demo",
            media_urls=[], body="西湖明前龙井到货了，嫩芽一芽一叶，我自己也在喝。{nickname}推荐，点这里下单：{link}")
        if tea.image_url.startswith("https://"):
            materials.create_material(tenant_id=tenant.id, kind="image", title="明前龙井产品图", category="茶叶",
                                      product_id=tea.id, media_urls=[tea.image_url], body="", actor="demo")
