"""Builders for catalog, orders and payments tests: they go through the real services
and the WeChat sandbox (notifications delivered into the Flask test client)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from backend.db import unit_of_work, utcnow

DECK_PLAN = {"name": "三级分销", "distribution": {"depth": 3, "base": "profit", "tiers": [
    {"key": "normal", "name": "普通推广员", "rates": ["30%", "20%", "10%"]}]}}

RECEIVER = {"name": "张三", "phone": "13800138000", "address": "上海市黄浦区南京东路 1 号"}


class OrdersFactory:
    def __init__(self, app: Any, sandbox: Any) -> None:
        from backend.wechat.sandbox import flask_client_sender

        self.app = app
        self.sandbox = sandbox
        # A test client per delivery: concurrent deliveries must not share one.
        self.send = lambda wire: flask_client_sender(app.test_client())(wire)

    # -------------------------------------------------------------- catalog and plan

    def product(self, tenant: Any, *, price_fen: int = 10000, cost_fen: int = 4000, stock: int = 100,
                level_prices: dict[str, int] | None = None, allowed_levels: list[str] | None = None,
                on_shelf: bool = True, name: str = "明前龙井") -> tuple[int, int]:
        """A product with one SKU; returns (product_id, sku_id)."""
        from backend.catalog import service as catalog
        from backend.flows import catalog as catalog_flow

        with unit_of_work():
            p = catalog_flow.create_product(
                tenant_id=tenant.id, name=name, on_shelf=on_shelf, allowed_levels=allowed_levels, actor="test",
                skus=[catalog.SkuSpec(name="250g 礼盒", price_fen=price_fen, cost_fen=cost_fen, stock=stock,
                                      level_prices=level_prices)])
            sku = catalog.skus_of(tenant_id=tenant.id, product_ids=[p.id])[p.id][0]
            return p.id, sku.id

    def plan(self, tenant: Any, document: dict[str, Any] | None = None) -> int:
        """Save and activate a reward plan (the deck's 30/20/10% of profit by default)."""
        from backend.rewards import service as rewards

        with unit_of_work():
            row = rewards.save_plan_version(tenant_id=tenant.id, document=document or DECK_PLAN, actor="test")
            rewards.activate_plan(tenant_id=tenant.id, version=row.version, actor="test", now=utcnow())
            return row.version

    # -------------------------------------------------------------- orders

    def order(self, tenant: Any, member: Any, items: list[tuple[int, int]], *, now: datetime | None = None,
              **kwargs: Any) -> Any:
        """Place an order of (sku_id, quantity) items (as the checkout does: a shop is
        credited only if it shows the products); returns the Order row."""
        from backend.flows import checkout
        from backend.orders import service as orders

        with unit_of_work():
            return checkout.place_order(
                tenant_id=tenant.id, member_id=member.id,
                items=[orders.LineRequest(sku_id=s, quantity=q) for s, q in items],
                receiver=orders.Receiver(**RECEIVER), now=now or utcnow(), **kwargs)

    def prepay(self, tenant: Any, member: Any, order: Any) -> dict[str, Any]:
        from backend.payments import service as payments

        with unit_of_work():
            return payments.prepay(tenant_id=tenant.id, member_id=member.id, order_id=order.id, now=utcnow())

    def payment(self, tenant: Any, member: Any, order: Any, *, paid_fen: int | None = None) -> Any:
        """Prepay, then the buyer pays at the sandbox: the TRANSACTION.SUCCESS
        notification (not delivered yet)."""
        self.prepay(tenant, member, order)
        return self.sandbox.pay_order(order.order_no, paid_fen=paid_fen)

    def deliver(self, notification: Any, **kwargs: Any) -> list[Any]:
        """Deliver a notification into the app (kwargs: times, concurrency, tamper, …)."""
        return self.sandbox.deliver(notification, send=self.send, **kwargs)

    def paid_order(self, tenant: Any, member: Any, items: list[tuple[int, int]], **kwargs: Any) -> Any:
        """An order paid through the sandbox and its delivered notification."""
        order = self.order(tenant, member, items, **kwargs)
        n = self.payment(tenant, member, order)
        (d,) = self.deliver(n)
        assert d.result.status_code == 204, d.result.body
        return order

    def expire(self, order: Any) -> datetime:
        """A moment just past the order's payment deadline."""
        return order.pay_deadline + timedelta(seconds=1)
