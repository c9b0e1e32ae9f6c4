"""The payment path end to end: prepay through the gateway, the sandbox's signed
notification delivered into the app, the order paid once with its rewards."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from backend.extensions import db
from backend.members.models import Member
from backend.orders.models import Order
from backend.payments.models import PaymentIssue
from backend.rewards.models import Payout, RewardLine
from backend.wechat.pay import Transaction


def _order(order_id: int) -> Order:
    db.session.expire_all()
    return db.session.get(Order, order_id)


def _rewards(order_id: int) -> dict[int | None, int]:
    out: dict[int | None, int] = {}
    for p in db.session.scalars(select(Payout).where(Payout.order_id == order_id)):
        out[p.beneficiary_id] = out.get(p.beneficiary_id, 0) + p.amount_fen
    return out


def _count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_prepay_returns_parameters_wechat_accepts_and_paying_marks_the_order_paid(factory, shop, sandbox):
    t = factory.tenant()
    buyer = factory.member(t)
    _, sku = shop.product(t, price_fen=12800)
    order = shop.order(t, buyer, [(sku, 2)])
    params = shop.prepay(t, buyer, order)
    assert params["amount_fen"] == 25600 and params["order_no"] == order.order_no
    assert set(params["request_payment"]) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    # WeChat checks the paySign with the merchant's key, then takes the money.
    n = sandbox.request_payment(params["request_payment"], appid=params["appid"])
    (d,) = shop.deliver(n)
    assert d.result.status_code == 204
    paid = _order(order.id)
    assert paid.status == "paid" and paid.paid_fen == 25600 and paid.transaction_id.startswith("4200")


def test_a_second_prepay_re_signs_the_same_wechat_payment(factory, shop, sandbox):
    t = factory.tenant()
    buyer = factory.member(t)
    _, sku = shop.product(t)
    order = shop.order(t, buyer, [(sku, 1)])
    first = shop.prepay(t, buyer, order)["request_payment"]["package"]
    second = shop.prepay(t, buyer, order)["request_payment"]["package"]
    assert first == second and _order(order.id).prepay_id == first.removeprefix("prepay_id=")


def test_payment_records_rewards_on_the_upline_as_it_stands_at_payment(factory, shop):
    t = factory.tenant()
    shop.plan(t)
    a, b, c = factory.chain(t, 3)
    buyer = factory.member(t, parent=c)
    _, sku = shop.product(t, price_fen=10000, cost_fen=4000)
    order = shop.paid_order(t, buyer, [(sku, 2)])
    # Profit 2 × 60.00 = 120.00: C 30% = 36.00, B 20% = 24.00, A 10% = 12.00, merchant the rest.
    assert _rewards(order.id) == {c.id: 3600, b.id: 2400, a.id: 1200, None: 4800}
    line = db.session.scalar(select(RewardLine).where(RewardLine.order_id == order.id))
    assert [m["id"] for m in line.chain] == [c.id, b.id, a.id]


def test_a_repeated_notification_answers_success_and_changes_nothing(factory, shop):
    t = factory.tenant()
    shop.plan(t)
    parent = factory.member(t)
    buyer = factory.member(t, parent=parent)
    _, sku = shop.product(t)
    order = shop.order(t, buyer, [(sku, 1)])
    n = shop.payment(t, buyer, order)
    shop.deliver(n)
    before = (_order(order.id).paid_at, _count(Payout, Payout.order_id == order.id))
    deliveries = shop.deliver(n, times=3)
    assert [d.result.status_code for d in deliveries] == [204, 204, 204]
    after = (_order(order.id).paid_at, _count(Payout, Payout.order_id == order.id))
    assert after == before and before[1] == 2  # parent's 30% line and the merchant remainder


def test_forged_tampered_and_stale_notifications_get_401_and_change_nothing(factory, shop):
    t = factory.tenant()
    shop.plan(t)
    buyer = factory.member(t, parent=factory.member(t))
    _, sku = shop.product(t)
    order = shop.order(t, buyer, [(sku, 1)])
    n = shop.payment(t, buyer, order)
    results = {variant: shop.deliver(n, **{variant: True})[0].result for variant in
               ("forge_signature", "tamper", "stale")}
    assert {k: r.status_code for k, r in results.items()} == {"forge_signature": 401, "tamper": 401, "stale": 401}
    assert '"stale_notification"' in results["stale"].body and '"bad_signature"' in results["tamper"].body
    assert _order(order.id).status == "created"
    assert _count(Payout, Payout.order_id == order.id) == 0 and _count(PaymentIssue) == 0
    assert shop.deliver(n, age_seconds=290)[0].result.status_code == 204  # within 5 minutes is fine
    assert _order(order.id).status == "paid"


def test_an_amount_mismatch_is_refused_recorded_once_and_the_order_stays_unpaid(factory, shop):
    t = factory.tenant()
    shop.plan(t)
    buyer = factory.member(t, parent=factory.member(t))
    _, sku = shop.product(t, price_fen=9900)
    order = shop.order(t, buyer, [(sku, 1)])
    n = shop.payment(t, buyer, order, paid_fen=1)  # validly signed, claims 0.01
    deliveries = shop.deliver(n, times=3)
    assert {d.result.status_code for d in deliveries} == {400}
    assert '"amount_mismatch"' in deliveries[0].result.body
    assert _order(order.id).status == "created" and _count(Payout, Payout.order_id == order.id) == 0
    (issue,) = db.session.scalars(select(PaymentIssue)).all()
    assert (issue.kind, issue.order_id, issue.expected_fen, issue.reported_fen, issue.deliveries) == (
        "amount_mismatch", order.id, 9900, 1, 3)


def test_a_notification_for_another_merchant_is_refused_and_recorded(factory, shop, sandbox):
    t = factory.tenant()
    buyer = factory.member(t)
    _, sku = shop.product(t)
    order = shop.order(t, buyer, [(sku, 1)])
    shop.payment(t, buyer, order)
    tx = sandbox.transaction_resource(sandbox.find_order(order.order_no))
    n = sandbox.craft_notification(mchid=sandbox.find_order(order.order_no).mchid, event_type="TRANSACTION.SUCCESS",
                                   resource={**tx, "mchid": "1999999999"}, url=f"/api/v1/pay/notify/{t.slug}")
    (d,) = shop.deliver(n)
    assert d.result.status_code == 400 and '"mchid_mismatch"' in d.result.body
    assert _order(order.id).status == "created"
    assert [i.kind for i in db.session.scalars(select(PaymentIssue))] == ["mchid_mismatch"]


def test_a_notification_for_an_unknown_order_is_refused_and_recorded(factory, shop, sandbox):
    t = factory.tenant()
    buyer = factory.member(t)
    _, sku = shop.product(t)
    order = shop.order(t, buyer, [(sku, 1)])
    shop.payment(t, buyer, order)
    wx_order = sandbox.find_order(order.order_no)
    tx = sandbox.transaction_resource(wx_order)
    n = sandbox.craft_notification(mchid=wx_order.mchid, event_type="TRANSACTION.SUCCESS",
                                   resource={**tx, "out_trade_no": "20260101000000NOSUCHORDER"},
                                   url=f"/api/v1/pay/notify/{t.slug}")
    (d,) = shop.deliver(n)
    assert d.result.status_code == 404 and '"order_not_found"' in d.result.body
    assert [i.kind for i in db.session.scalars(select(PaymentIssue))] == ["unknown_order"]


def test_a_notification_to_an_unknown_tenant_is_404(factory, shop):
    t = factory.tenant()
    buyer = factory.member(t)
    _, sku = shop.product(t)
    order = shop.order(t, buyer, [(sku, 1)])
    n = shop.payment(t, buyer, order)
    (d,) = shop.deliver(n, url="/api/v1/pay/notify/no-such-brand")
    assert d.result.status_code == 404 and _order(order.id).status == "created"


def test_paying_confirms_a_binding_parked_until_the_first_purchase(factory, shop):
    from backend.db import unit_of_work, utcnow
    from backend.members import service as members

    t = factory.tenant(bind_on="purchase")
    shop.plan(t)
    promoter = factory.member(t)
    buyer = factory.member(t)
    with unit_of_work():
        members.bind_member(tenant_id=t.id, member_id=buyer.id, parent_id=promoter.id, source="share", scene=None,
                            now=utcnow())
    db.session.expire_all()
    assert db.session.get(Member, buyer.id).parent_id is None
    _, sku = shop.product(t, price_fen=10000, cost_fen=4000)
    order = shop.paid_order(t, buyer, [(sku, 1)])
    assert db.session.get(Member, buyer.id).parent_id == promoter.id
    assert _rewards(order.id) == {promoter.id: 1800, None: 4200}


def test_a_brand_without_an_active_plan_is_paid_without_rewards(factory, shop):
    t = factory.tenant()
    buyer = factory.member(t, parent=factory.member(t))
    _, sku = shop.product(t)
    order = shop.paid_order(t, buyer, [(sku, 1)])
    assert _order(order.id).status == "paid" and _count(Payout, Payout.order_id == order.id) == 0


def test_money_arriving_for_a_cancelled_order_is_recorded_for_the_operator(factory, shop, sandbox, app):
    from backend.db import unit_of_work, utcnow
    from backend.orders import service as orders

    t = factory.tenant()
    buyer = factory.member(t)
    _, sku = shop.product(t)
    order = shop.order(t, buyer, [(sku, 1)])
    n = shop.payment(t, buyer, order)
    with unit_of_work():  # cancelled behind WeChat's back (no close): the worst case
        orders.cancel_order(tenant_id=t.id, order_id=order.id, reason="operator", now=utcnow())
    (d,) = shop.deliver(n)
    assert d.result.status_code == 204  # answering an error would only bring the same money back again
    assert _order(order.id).status == "cancelled"
    assert [i.kind for i in db.session.scalars(select(PaymentIssue))] == ["paid_after_cancel"]


def test_unpaid_transactions_are_ignored(factory, shop, app):
    from backend.db import unit_of_work, utcnow
    from backend.payments import service as payments
    from backend.wechat.service import pay_credentials

    t = factory.tenant()
    buyer = factory.member(t)
    _, sku = shop.product(t)
    order = shop.order(t, buyer, [(sku, 1)])
    with unit_of_work():
        creds = pay_credentials(tenant_id=t.id)
        tx = Transaction.from_resource({"out_trade_no": order.order_no, "trade_state": "NOTPAY", "mchid": creds.mchid,
                                        "appid": creds.appid, "amount": {"total": order.payable_fen}})
        outcome = payments.apply_transaction(tenant_id=t.id, creds=creds, tx=tx, source_key="x", now=utcnow())
    assert outcome.result == "ignored" and _order(order.id).status == "created"


def test_notifications_delivered_shuffled_and_late_leave_every_order_right(factory, shop, sandbox):
    import random

    from backend.db import unit_of_work, utcnow
    from backend.payments import service as payments

    t = factory.tenant()
    shop.plan(t)
    buyer = factory.member(t, parent=factory.member(t))
    _, sku = shop.product(t, price_fen=10000, cost_fen=4000)
    placed = [shop.order(t, buyer, [(sku, 1)]) for _ in range(5)]
    notes = [shop.payment(t, buyer, o) for o in placed]
    batch = notes * 2
    random.Random(5).shuffle(batch)
    assert {d.result.status_code for n in batch for d in shop.deliver(n)} == {204}
    assert {_order(o.id).status for o in placed} == {"paid"}
    with unit_of_work():
        refund = payments.refund_order(tenant_id=t.id, order_id=placed[0].id, order_line_id=None, reason="退货",
                                       actor="staff:1", now=utcnow())
    refunded = sandbox.complete_refund(refund.refund_no)
    shop.deliver(refunded)
    # The payment notification of a refunded order arrives again, then the refund's:
    # neither brings the order back or pays its rewards twice.
    assert shop.deliver(notes[0])[0].result.status_code == 204
    assert shop.deliver(refunded)[0].result.status_code == 204
    assert _order(placed[0].id).status == "refunded"
    assert _count(Payout, Payout.order_id.in_([o.id for o in placed])) == 10  # 2 lines of payout each
    assert _count(RewardLine) == 5


def test_rotated_wechat_pay_keys_are_picked_up_at_the_first_notification_they_sign(factory, shop, sandbox):
    """The notify endpoint caches a tenant's pay credentials per process: a notification
    the cached keys cannot verify is checked against the stored ones before it is refused."""
    from backend.db import unit_of_work
    from backend.tenants.service import update_credentials
    from backend.wechat.credentials import TenantWeChatCredentials
    from backend.wechat.service import cached_pay_credentials, credentials

    t = factory.tenant(slug="rotating-keys")
    buyer = factory.member(t)
    _, sku = shop.product(t)
    shop.paid_order(t, buyer, [(sku, 1)])  # the keys are cached now
    assert cached_pay_credentials(slug=t.slug) is not None
    # WeChat Pay issues a new platform key; the operator stores it.
    pay = credentials(tenant_id=t.id).pay
    from cryptography.hazmat.primitives import serialization

    from backend.wechat.sandbox.core import load_private_key

    merchant_public = load_private_key(pay.private_key_pem).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    new_pem, new_id = sandbox.register_merchant(mchid=pay.mchid, merchant_public_key_pem=merchant_public,
                                                cert_serial_no=pay.cert_serial_no, apiv3_key=pay.apiv3_key)
    assert new_id != pay.public_key_id
    with unit_of_work():
        update_credentials(tenant_id=t.id, credentials={"pay_public_key": new_pem, "pay_public_key_id": new_id},
                           actor="test")
    assert isinstance(credentials(tenant_id=t.id), TenantWeChatCredentials)
    order = shop.order(t, buyer, [(sku, 1)])
    (d,) = shop.deliver(shop.payment(t, buyer, order))
    assert d.result.status_code == 204
    assert _order(order.id).status == "paid"
    # A forgery is still refused, cached keys or not.
    other = shop.order(t, buyer, [(sku, 1)])
    (forged,) = shop.deliver(shop.payment(t, buyer, other), forge_signature=True)
    assert forged.result.status_code == 401 and _order(other.id).status == "created"


def test_storing_new_credentials_drops_this_processs_cached_pay_credentials(factory, shop, client):
    from backend.wechat.service import cached_pay_credentials

    t = factory.tenant()
    buyer = factory.member(t)
    _, sku = shop.product(t)
    shop.paid_order(t, buyer, [(sku, 1)])
    assert cached_pay_credentials(slug=t.slug) is not None
    resp = client.put(f"/api/v1/platform/tenants/{t.id}/credentials",
                      headers={"Authorization": "Bearer test-platform-token"}, json={"pay_mchid": "1900000109"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert cached_pay_credentials(slug=t.slug) is None
