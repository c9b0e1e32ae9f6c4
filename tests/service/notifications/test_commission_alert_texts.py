"""Commission alerts name the order by its number (never the internal id), and a refund
that takes commission back is followed by a correction to each promoter it touched."""

from __future__ import annotations

from typing import Any

import pytest

from backend.notifications.messages import alert_text
from backend.notifications.service import list_outbox
from tests.orders_factories import OrdersFactory


@pytest.fixture()
def orders(app: Any, sandbox: Any) -> OrdersFactory:
    return OrdersFactory(app, sandbox)


def _alerts(tenant: Any, member: Any, kind: str) -> list[dict[str, Any]]:
    return [m.payload for m in list_outbox(tenant_id=tenant.id, member_id=member.id) if m.kind == kind]


def test_a_refund_after_a_commission_alert_sends_a_correction_naming_the_order_number(
        client: Any, factory: Any, orders: OrdersFactory, sandbox: Any) -> None:
    tenant = factory.tenant()
    orders.plan(tenant)  # the deck's 30/20/10 % of profit
    promoter = factory.member(tenant)
    buyer = factory.member(tenant, parent=promoter)
    _, sku = orders.product(tenant, price_fen=15_000, cost_fen=5_000)
    order = orders.paid_order(tenant, buyer, [(sku, 1)])

    (alert,) = _alerts(tenant, promoter, "commission")
    assert alert["order_no"] == order.order_no and alert["amount_fen"] == 3_000
    text = alert_text("commission", alert)
    assert order.order_no in text and f"订单 {order.id} " not in text

    boss = factory.staff_headers(factory.staff(tenant, "boss"))
    refund = client.post(f"/api/v1/admin/shop/orders/{order.id}/refunds", headers=boss, json={"reason": "退货"})
    orders.deliver(sandbox.complete_refund(refund.json["refund_no"]))
    (correction,) = _alerts(tenant, promoter, "commission_reversed")
    assert correction == {"order_no": order.order_no, "amount_fen": 3_000, "settled": False}
    assert alert_text("commission_reversed", correction) == (
        f"佣金调整：订单 {order.order_no} 已退款，冻结中的 ¥30.00 佣金已取消。")
    assert _alerts(tenant, buyer, "commission_reversed") == []  # the buyer earned nothing
