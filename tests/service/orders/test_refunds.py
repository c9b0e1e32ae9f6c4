"""Refunds per line or whole: a buyer's request waits for the operator; an approved
refund goes to WeChat Pay after commit; the REFUND.* notification finishes it once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from backend.catalog.models import Sku
from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.orders import service as orders
from backend.orders.errors import NothingToRefund, OrderStateConflict, RefundStateConflict
from backend.orders.models import Order, OrderLine, Refund
from backend.payments import service as payments
from backend.payments.models import PaymentIssue


def _fresh(model: Any, id_: int) -> Any:
    db.session.expire_all()
    return db.session.get(model, id_)


def _two_line_order(factory: Any, shop: Any) -> tuple[Any, Any, Any, list[OrderLine]]:
    t = factory.tenant()
    buyer = factory.member(t)
    _, tea = shop.product(t, price_fen=12800, stock=10)
    _, cup = shop.product(t, price_fen=3900, stock=10, name="茶杯")
    order = shop.paid_order(t, buyer, [(tea, 2), (cup, 1)])
    lines = orders.order_lines(tenant_id=t.id, order_ids=[order.id])[order.id]
    return t, buyer, order, lines


def _operator_refund(t: Any, order: Any, line_id: int | None) -> Refund:
    with unit_of_work():
        return payments.refund_order(tenant_id=t.id, order_id=order.id, order_line_id=line_id, reason="缺货",
                                     actor="staff:1", now=utcnow())


def test_an_operator_refunds_one_line_and_the_notification_finishes_it(factory, shop, sandbox):
    t, _, order, (tea, cup) = _two_line_order(factory, shop)
    refund = _operator_refund(t, order, cup.id)
    r = _fresh(Refund, refund.id)
    assert (r.status, r.amount_fen, r.wechat_status) == ("processing", 3900, "PROCESSING")
    assert r.submitted_at is not None and _fresh(OrderLine, cup.id).status == "refunding"
    (d,) = shop.deliver(sandbox.complete_refund(r.refund_no))
    assert d.result.status_code == 204
    assert _fresh(Refund, refund.id).status == "succeeded"
    assert (_fresh(OrderLine, cup.id).status, _fresh(OrderLine, cup.id).refunded_fen) == ("refunded", 3900)
    assert _fresh(OrderLine, tea.id).status == "normal"
    o = _fresh(Order, order.id)
    assert (o.status, o.refunded_fen) == ("paid", 3900)
    assert _fresh(Sku, cup.sku_id).stock == 10  # not shipped: the piece is back in stock


def test_a_whole_refund_moves_the_order_to_refunding_then_refunded(factory, shop, sandbox):
    t, _, order, lines = _two_line_order(factory, shop)
    refund = _operator_refund(t, order, None)
    assert _fresh(Order, order.id).status == "refunding"
    assert _fresh(Refund, refund.id).amount_fen == 2 * 12800 + 3900
    n = sandbox.complete_refund(refund.refund_no)
    shop.deliver(n)
    shop.deliver(n, times=2)  # repeats change nothing
    o = _fresh(Order, order.id)
    assert (o.status, o.refunded_fen) == ("refunded", 29500)
    assert [_fresh(OrderLine, ln.id).status for ln in lines] == ["refunded", "refunded"]
    assert _fresh(Sku, lines[0].sku_id).stock == 10


def test_a_buyer_request_waits_for_the_operator_and_a_rejection_restores_the_order(factory, shop, sandbox):
    t, buyer, order, (tea, _) = _two_line_order(factory, shop)
    with unit_of_work():
        refund = payments.request_refund(tenant_id=t.id, member_id=buyer.id, order_id=order.id, order_line_id=None,
                                         reason="不想要了", now=utcnow())
    assert (_fresh(Refund, refund.id).status, _fresh(Order, order.id).status) == ("requested", "refunding")
    assert refund.refund_no not in {no for (_, no) in sandbox.refunds}  # nothing sent to WeChat yet
    with unit_of_work():
        orders.reject_refund(tenant_id=t.id, refund_id=refund.id, actor="staff:1", now=utcnow(), note="已发货")
    assert (_fresh(Refund, refund.id).status, _fresh(Order, order.id).status) == ("rejected", "paid")
    assert _fresh(OrderLine, tea.id).status == "normal"
    with pytest.raises(RefundStateConflict), unit_of_work():
        payments.approve_refund(tenant_id=t.id, refund_id=refund.id, actor="staff:1")


def test_an_approved_request_is_sent_to_wechat_once(factory, shop, sandbox):
    t, buyer, order, (tea, _) = _two_line_order(factory, shop)
    with unit_of_work():
        refund = payments.request_refund(tenant_id=t.id, member_id=buyer.id, order_id=order.id,
                                         order_line_id=tea.id, reason="破损", now=utcnow())
    with unit_of_work():
        payments.approve_refund(tenant_id=t.id, refund_id=refund.id, actor="staff:1")
    with unit_of_work():
        payments.approve_refund(tenant_id=t.id, refund_id=refund.id, actor="staff:1")
    wx = [r for (_, no), r in sandbox.refunds.items() if no == refund.refund_no]
    assert len(wx) == 1 and wx[0].refund_fen == 25600
    shop.deliver(sandbox.complete_refund(refund.refund_no))
    assert (_fresh(Order, order.id).status, _fresh(Order, order.id).refunded_fen) == ("paid", 25600)


def test_an_abnormal_refund_fails_returns_the_lines_and_is_recorded(factory, shop, sandbox):
    t, _, order, (_, cup) = _two_line_order(factory, shop)
    refund = _operator_refund(t, order, None)
    (d,) = shop.deliver(sandbox.complete_refund(refund.refund_no, status="ABNORMAL"))
    assert d.result.status_code == 204
    r = _fresh(Refund, refund.id)
    assert (r.status, r.wechat_status) == ("failed", "ABNORMAL")
    assert (_fresh(Order, order.id).status, _fresh(OrderLine, cup.id).status) == ("paid", "normal")
    assert [i.kind for i in db.session.scalars(select(PaymentIssue))] == ["refund_abnormal"]
    again = _operator_refund(t, order, cup.id)  # the line can be refunded again
    assert _fresh(Refund, again.id).status == "processing"


def test_a_refund_notification_with_another_amount_is_refused(factory, shop, sandbox):
    t, _, order, (_, cup) = _two_line_order(factory, shop)
    refund = _operator_refund(t, order, cup.id)
    wx = next(r for (_, no), r in sandbox.refunds.items() if no == refund.refund_no)
    resource = {**sandbox.refund_resource(wx), "refund_status": "SUCCESS"}
    resource["amount"] = {**resource["amount"], "refund": 1}
    n = sandbox.craft_notification(mchid=wx.mchid, event_type="REFUND.SUCCESS", resource=resource,
                                   url=f"/api/v1/pay/notify/{t.slug}")
    (d,) = shop.deliver(n)
    assert d.result.status_code == 400 and '"refund_amount_mismatch"' in d.result.body
    assert _fresh(Refund, refund.id).status == "processing"


def test_nothing_left_to_refund_and_unpaid_orders_are_conflicts(factory, shop, sandbox):
    t, _, order, (tea, cup) = _two_line_order(factory, shop)
    _operator_refund(t, order, cup.id)
    with pytest.raises(NothingToRefund):
        _operator_refund(t, order, cup.id)
    buyer = factory.member(t)
    unpaid = shop.order(t, buyer, [(tea.sku_id, 1)])
    with pytest.raises(OrderStateConflict):
        _operator_refund(t, unpaid, None)


def test_an_unreachable_wechat_leaves_the_refund_for_the_retry_job(factory, shop, sandbox, app, monkeypatch):
    from datetime import timedelta

    from backend.payments import jobs
    from backend.wechat.errors import WeChatUnavailable
    from backend.wechat.pay import PayApi

    t, _, order, (_, cup) = _two_line_order(factory, shop)

    def down(self: Any, **kwargs: Any) -> Any:
        raise WeChatUnavailable()

    with monkeypatch.context() as m:
        m.setattr(PayApi, "refund", down)
        refund = _operator_refund(t, order, cup.id)
    assert _fresh(Refund, refund.id).submitted_at is None
    assert jobs.retry_refund_submissions(now=utcnow()) == 0  # not due for a minute
    assert jobs.retry_refund_submissions(now=utcnow() + timedelta(minutes=2)) == 1
    assert _fresh(Refund, refund.id).wechat_status == "PROCESSING"
