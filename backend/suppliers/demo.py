"""The demo tenant's supplier: 山间茶园, approved, with its login `supplier` / `demo1234`
(POST /api/v1/admin/supplier/login), a bank card, and one approved product on the
shelf; a second company's application waits for the operator's review."""

from __future__ import annotations

from typing import Any

from backend.catalog.demo import product_picture
from backend.catalog.images import store_image
from backend.catalog.service import SkuSpec
from backend.db import utcnow
from backend.suppliers import service as suppliers

DEMO_SUPPLIER = ("supplier", "demo1234")


def seed(tenant: Any) -> None:
    now = utcnow()
    s, _ = suppliers.apply(
        tenant_id=tenant.id, username=DEMO_SUPPLIER[0], password=DEMO_SUPPLIER[1], now=now,
        application=suppliers.Application(
            name="山间茶园", company_name="武夷山山间茶业有限公司", license_no="91350782MA2Y00001X",
            contact_name="林山", contact_phone="13905990001",
            materials=[{"kind": "营业执照", "url": "https://example.com/demo/license.png"}]))
    suppliers.review_supplier(tenant_id=tenant.id, supplier_id=s.id, approve=True, actor="demo", now=now,
                              commission_rate="0.12")
    suppliers.set_bank_card(tenant_id=tenant.id, supplier_id=s.id, bank_name="招商银行武夷山支行",
                            account_name="武夷山山间茶业有限公司", card_no="6225880199990001", actor="demo", now=now)
    picture = store_image(tenant_id=tenant.id, actor="demo",
                          data=product_picture("大红袍", "山间茶园直供", (150, 80, 50), (70, 30, 20))).url
    row = suppliers.submit_product(
        tenant_id=tenant.id, supplier_id=s.id, actor="demo", now=now, submission=suppliers.ProductSubmission(
            name="武夷岩茶·大红袍", category="茶叶", subtitle="山间茶园直供", image_url=picture,
            skus=[SkuSpec(name="125g 罐装", price_fen=16800, cost_fen=9000, stock=200)]))
    suppliers.review_product(tenant_id=tenant.id, product_id=row.product_id, approve=True, actor="demo", now=now)
    suppliers.apply(
        tenant_id=tenant.id, username="supplier2", password=DEMO_SUPPLIER[1], now=now,
        application=suppliers.Application(
            name="云南普洱坊", company_name="勐海普洱坊茶叶有限公司", license_no="91532822MA6K00002Y",
            contact_name="岩温", contact_phone="13908690002",
            materials=[{"kind": "营业执照", "url": "https://example.com/demo/license2.png"}]))
