"""Orders through their states: stock reserved at creation (all or nothing), prices per
agent level, sale permission, cancellation returning stock (by the buyer and by the
timeout job, which first closes the payment at WeChat Pay), shipping, receipt and the
automatic completion job."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.catalog.errors import OutOfStock, ProductNotPermitted, ProductOffShelf, SkuNotFound
from backend.catalog.models import Sku
from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.members.models import Member
from backend.orders import jobs
from backend.orders import service as orders
from backend.orders.errors import InvalidOrderInput, OrderExpired, OrderStateConflict
from backend.orders.models import Order
from backend.payments import jobs as payment_jobs
from backend.payments import service as payments


def _sku(sku_id: int) -> Sku:
    db.session.expire_all()
    return db.session.get(Sku, sku_id)


def _order(order_id: int) -> Order:
    db.session.expire_all()
    return db.session.get(Order, order_id)


def _set_level(member: Member, level: str | None) -> None:
    with unit_of_work():
        db.session.get(Member, member.id).agent_level = level


def test_creating_an_order_reserves_its_stock_and_prices_it(factory, shop):
    t = factory.tenant()
    buyer = factory.member(t)
    _, tea = shop.product(t, price_fen=12800, cost_fen=5000, stock=10)
    _, cup = shop.product(t, price_fen=3900, cost_fen=1000, stock=5, name="茶杯")
    order = shop.order(t, buyer, [(tea, 2), (cup, 1), (tea, 1)])
    assert (order.status, order.goods_fen, order.payable_fen) == ("created", 3 * 12800 + 3900, 3 * 12800 + 3900)
    lines = orders.order_lines(tenant_id=t.id, order_ids=[order.id])[order.id]
    assert [(ln.sku_id, ln.quantity, ln.paid_fen, ln.cost_fen) for ln in lines] == [
        (tea, 3, 38400, 15000), (cup, 1, 3900, 1000)]
    assert (_sku(tea).stock, _sku(tea).sold, _sku(cup).stock) == (7, 3, 4)
    assert order.pay_deadline - order.created_at == timedelta(minutes=30)


def test_an_order_short_of_one_sku_reserves_nothing(factory, shop):
    t = factory.tenant()
    buyer = factory.member(t)
    _, tea = shop.product(t, stock=10)
    _, cup = shop.product(t, stock=1, name="茶杯")
    with pytest.raises(OutOfStock) as err:
        shop.order(t, buyer, [(tea, 2), (cup, 2)])
    assert err.value.details == [{"sku_id": cup, "available": 1}]
    assert (_sku(tea).stock, _sku(cup).stock) == (10, 1)
    assert db.session.query(Order).count() == 0


def test_an_agent_pays_its_level_price_and_others_the_retail_price(factory, shop):
    t = factory.tenant()
    shop.plan(t, {"name": "代理", "agents": {"levels": [
        {"key": "l2", "name": "二级代理", "rate": "5%"}, {"key": "l1", "name": "一级代理", "rate": "10%"}]}})
    agent, fan = factory.member(t), factory.member(t)
    _set_level(agent, "l1")
    _, sku = shop.product(t, price_fen=10000, level_prices={"l1": 7000, "l2": 8500})
    assert shop.order(t, agent, [(sku, 2)]).payable_fen == 14000
    assert shop.order(t, fan, [(sku, 2)]).payable_fen == 20000


def test_a_product_limited_to_agent_levels_refuses_other_buyers(factory, shop):
    t = factory.tenant()
    shop.plan(t, {"name": "代理", "agents": {"levels": [{"key": "l1", "name": "一级代理", "rate": "10%"}]}})
    agent, fan = factory.member(t), factory.member(t)
    _set_level(agent, "l1")
    _, sku = shop.product(t, allowed_levels=["l1"])
    with pytest.raises(ProductNotPermitted):
        shop.order(t, fan, [(sku, 1)])
    assert shop.order(t, agent, [(sku, 1)]).status == "created"


def test_off_shelf_and_unknown_skus_cannot_be_ordered(factory, shop):
    t, other = factory.tenant(), factory.tenant()
    buyer = factory.member(t)
    _, hidden = shop.product(t, on_shelf=False)
    _, foreign = shop.product(other)
    with pytest.raises(ProductOffShelf):
        shop.order(t, buyer, [(hidden, 1)])
    with pytest.raises(SkuNotFound):
        shop.order(t, buyer, [(foreign, 1)])
    assert _sku(foreign).stock == 100


def test_bad_items_are_refused_with_every_field_named(factory, shop):
    t = factory.tenant()
    buyer = factory.member(t)
    with pytest.raises(InvalidOrderInput) as err:
        shop.order(t, buyer, [(0, 1), (5, 0)], source_type="shop")
    assert [d["field"] for d in err.value.details] == ["items[0].sku_id", "items[1].quantity", "source"]


def test_the_order_remembers_the_live_room_it_was_placed_in(factory, shop):
    # Mini-shop attribution is checked against the shop (tests/service/shops).
    t = factory.tenant()
    buyer = factory.member(t)
    _, sku = shop.product(t)
    order = shop.order(t, buyer, [(sku, 1)], source_type="live", source_id=42)
    assert (order.source_type, order.source_id) == ("live", 42)


def test_the_buyer_cancels_an_unpaid_order_and_the_stock_returns(factory, shop, sandbox):
    t = factory.tenant()
    buyer = factory.member(t)
    _, sku = shop.product(t, stock=5)
    order = shop.order(t, buyer, [(sku, 2)])
    shop.prepay(t, buyer, order)
    with unit_of_work():
        payments.cancel_unpaid(tenant_id=t.id, order_id=order.id, member_id=buyer.id, now=utcnow())
    assert (_order(order.id).status, _order(order.id).cancel_reason) == ("cancelled", "buyer")
    assert (_sku(sku).stock, _sku(sku).sold) == (5, 0)
    assert sandbox.find_order(order.order_no).trade_state == "CLOSED"  # WeChat will not take the money now


def test_the_timeout_job_cancels_expired_orders_once_and_returns_their_stock(factory, shop, sandbox):
    t = factory.tenant()
    buyer = factory.member(t)
    _, sku = shop.product(t, stock=5)
    expired = shop.order(t, buyer, [(sku, 2)], now=utcnow() - timedelta(hours=1))
    shop.order(t, buyer, [(sku, 1)])  # still within its 30 minutes
    assert payment_jobs.cancel_unpaid_orders(now=utcnow()) == 1
    assert payment_jobs.cancel_unpaid_orders(now=utcnow()) == 0
    assert (_order(expired.id).status, _order(expired.id).cancel_reason) == ("cancelled", "timeout")
    assert _sku(sku).stock == 4


def test_the_timeout_job_marks_an_order_paid_when_wechat_has_the_money(factory, shop, sandbox):
    t = factory.tenant()
    shop.plan(t)
    parent = factory.member(t)
    buyer = factory.member(t, parent=parent)
    _, sku = shop.product(t, stock=5)
    order = shop.order(t, buyer, [(sku, 1)])
    shop.payment(t, buyer, order)  # paid at WeChat; the notification never arrived
    assert payment_jobs.cancel_unpaid_orders(now=shop.expire(order)) == 0
    paid = _order(order.id)
    assert paid.status == "paid" and paid.transaction_id == sandbox.find_order(order.order_no).transaction_id
    assert _sku(sku).stock == 4


def test_an_expired_order_cannot_be_paid(factory, shop):
    t = factory.tenant()
    buyer = factory.member(t)
    _, sku = shop.product(t)
    order = shop.order(t, buyer, [(sku, 1)], now=utcnow() - timedelta(hours=1))
    with pytest.raises(OrderExpired):
        shop.prepay(t, buyer, order)


def test_ship_receive_and_complete(factory, shop):
    t = factory.tenant()
    buyer = factory.member(t)
    _, sku = shop.product(t)
    order = shop.paid_order(t, buyer, [(sku, 1)])
    now = utcnow()
    with unit_of_work():
        orders.ship_order(tenant_id=t.id, order_id=order.id, company="顺丰速运", tracking_no="SF1234567890",
                          actor="staff:1", now=now)
    with unit_of_work():
        orders.confirm_receipt(tenant_id=t.id, member_id=buyer.id, order_id=order.id, now=now)
    assert _order(order.id).status == "received"
    assert jobs.complete_due_orders(now=now) == 1
    done = _order(order.id)
    assert (done.status, done.logistics_company, done.tracking_no) == ("completed", "顺丰速运", "SF1234567890")
    assert done.completed_at is not None and done.received_at is not None


def test_shipped_orders_complete_by_themselves_after_the_tenants_days(factory, shop):
    t = factory.tenant()
    buyer = factory.member(t)
    _, sku = shop.product(t)
    order = shop.paid_order(t, buyer, [(sku, 1)])
    with unit_of_work():
        orders.update_order_policy(tenant_id=t.id, changes={"auto_complete_days": 7}, actor="test")
    shipped_at = utcnow()
    with unit_of_work():
        orders.ship_order(tenant_id=t.id, order_id=order.id, company="中通", tracking_no="ZT0001",
                          actor="staff:1", now=shipped_at)
    assert jobs.complete_due_orders(now=shipped_at + timedelta(days=6, hours=23)) == 0
    assert _order(order.id).status == "shipped"
    assert jobs.complete_due_orders(now=shipped_at + timedelta(days=7)) == 1
    assert _order(order.id).status == "completed"


def test_steps_out_of_order_are_conflicts(factory, shop):
    t = factory.tenant()
    buyer = factory.member(t)
    _, sku = shop.product(t)
    order = shop.order(t, buyer, [(sku, 1)])
    with pytest.raises(OrderStateConflict), unit_of_work():
        orders.ship_order(tenant_id=t.id, order_id=order.id, company="中通", tracking_no="ZT0001", actor="x",
                          now=utcnow())
    with pytest.raises(OrderStateConflict), unit_of_work():
        orders.confirm_receipt(tenant_id=t.id, member_id=buyer.id, order_id=order.id, now=utcnow())
    paid = shop.paid_order(t, buyer, [(sku, 1)])
    with pytest.raises(OrderStateConflict), unit_of_work():
        payments.cancel_unpaid(tenant_id=t.id, order_id=paid.id, now=utcnow())
