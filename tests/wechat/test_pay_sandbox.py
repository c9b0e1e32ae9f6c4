"""WeChat Pay v3 through wechatpayv3 (public-key mode) against the sandbox, and the
sandbox's notifications delivered over HTTP to a receiver using parse_pay_notification."""

from __future__ import annotations

from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from backend.wechat.credentials import TenantWeChatCredentials
from backend.wechat.errors import (
    PayeeNameRequired,
    PayOrderNotFound,
    PayRequestRejected,
    PayResponseUnverified,
)
from backend.wechat.gateway import PayApi, WeChatGateway
from backend.wechat.keys import load_private_key, private_key_pem, public_key_pem
from backend.wechat.sandbox import SandboxServer
from backend.wechat.v3crypto import verify_lines
from tests.wechat.conftest import Receiver


def _pay(gw: WeChatGateway, creds: TenantWeChatCredentials) -> PayApi:
    assert creds.pay is not None
    return gw.pay(creds.pay)


def _openid(gw: WeChatGateway, creds: TenantWeChatCredentials, user: str = "buyer") -> str:
    return gw.mini_program(creds.mini_program).code_to_session(user).openid  # type: ignore[arg-type]


def _prepay(gw: WeChatGateway, creds: TenantWeChatCredentials, no: str, fen: int = 9900) -> str:
    pay = _pay(gw, creds)
    return pay.jsapi_prepay(out_trade_no=no, description="思语测试商品", amount_fen=fen,
                            payer_openid=_openid(gw, creds), attach="order:1").prepay_id


def test_prepay_returns_request_payment_params_signed_with_the_merchant_key(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    pay = _pay(gw, creds)
    result = pay.jsapi_prepay(out_trade_no="ORD10001", description="思语测试商品", amount_fen=9900,
                              payer_openid=_openid(gw, creds))
    rp = result.request_payment
    assert set(rp) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert rp["package"] == f"prepay_id={result.prepay_id}" and rp["signType"] == "RSA"
    merchant_pub = load_private_key(creds.pay.private_key_pem).public_key()  # type: ignore[union-attr]
    assert verify_lines(merchant_pub, rp["paySign"], result.appid, rp["timeStamp"], rp["nonceStr"],
                        rp["package"])
    # WeChat accepts those parameters (it checks the same signature) and the order is paid.
    sbx.request_payment(rp, appid=result.appid)
    assert pay.query_order(out_trade_no="ORD10001").trade_state == "SUCCESS"


def test_request_payment_with_a_wrong_signature_is_refused(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    result = _pay(gw, creds).jsapi_prepay(out_trade_no="ORD10002", description="x", amount_fen=1,
                                          payer_openid=_openid(gw, creds))
    forged = dict(result.request_payment, nonceStr="changed")
    with pytest.raises(ValueError):
        sbx.request_payment(forged, appid=result.appid)
    assert sbx.find_order("ORD10002").trade_state == "NOTPAY"


def test_a_request_signed_with_another_private_key_is_refused_with_sign_error(
        gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    assert creds.pay is not None
    stranger = private_key_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    impostor = gw.pay(replace(creds.pay, private_key_pem=stranger))
    with pytest.raises(PayRequestRejected) as err:
        impostor.query_order(out_trade_no="ORD10003")
    assert err.value.wechat_code == "SIGN_ERROR"


def test_an_answer_not_signed_by_the_configured_platform_key_is_not_trusted(
        gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    assert creds.pay is not None
    other_platform = public_key_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    misled = gw.pay(replace(creds.pay, public_key_pem=other_platform))
    with pytest.raises(PayResponseUnverified):
        misled.jsapi_prepay(out_trade_no="ORD10004", description="x", amount_fen=1,
                            payer_openid=_openid(gw, creds))


def test_query_of_an_unknown_order_raises_not_found(gw: WeChatGateway,
                                                    creds: TenantWeChatCredentials) -> None:
    with pytest.raises(PayOrderNotFound) as err:
        _pay(gw, creds).query_order(out_trade_no="NOSUCH001")
    assert err.value.http_status == 404 and err.value.wechat_code == "ORDER_NOT_EXIST"


def test_the_same_order_number_with_another_amount_is_refused(
        gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    first = _prepay(gw, creds, "ORD10005", fen=100)
    assert _prepay(gw, creds, "ORD10005", fen=100) == first  # a retry gets the same prepay
    with pytest.raises(PayRequestRejected) as err:
        _prepay(gw, creds, "ORD10005", fen=200)
    assert err.value.wechat_code == "OUT_TRADE_NO_USED"


def test_a_float_amount_never_reaches_wechat(gw: WeChatGateway,
                                             creds: TenantWeChatCredentials) -> None:
    with pytest.raises(ValueError):
        _pay(gw, creds).jsapi_prepay(out_trade_no="ORD10006", description="x",
                                     amount_fen=99.5,  # type: ignore[arg-type]
                                     payer_openid="o" * 28)


def test_a_payment_notification_delivered_over_http_verifies_and_decrypts(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials,
        receiver: Receiver) -> None:
    _prepay(gw, creds, "ORD20001", fen=12345)
    n = sbx.pay_order("ORD20001")
    [d] = sbx.deliver(n)
    assert d.result.status_code == 204
    [got] = receiver.pay
    assert got.id == n.id and got.kind == "transaction" and got.event_type == "TRANSACTION.SUCCESS"
    t = got.transaction()
    assert (t.out_trade_no, t.trade_state, t.amount_total_fen, t.payer_total_fen) == \
        ("ORD20001", "SUCCESS", 12345, 12345)
    assert (t.mchid, t.appid) == (creds.pay.mchid, creds.pay.appid)  # type: ignore[union-attr]
    assert t.payer_openid == _openid(gw, creds) and t.attach == "order:1"
    assert t.transaction_id and t.success_time is not None
    assert sbx.pending_notifications() == []


def test_tampered_forged_and_stale_notifications_are_refused_with_distinct_codes(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials,
        receiver: Receiver) -> None:
    _prepay(gw, creds, "ORD20002")
    n = sbx.pay_order("ORD20002")
    tampered = sbx.deliver(n, tamper=True)[0].result
    forged = sbx.deliver(n, forge_signature=True)[0].result
    stale = sbx.deliver(n, stale=True)[0].result
    assert [tampered.status_code, forged.status_code, stale.status_code] == [401, 401, 401]
    assert receiver.rejected == [(401, "bad_signature"), (401, "bad_signature"),
                                 (401, "stale_notification")]
    assert receiver.pay == []
    assert [p.id for p in sbx.pending_notifications()] == [n.id]  # WeChat would retry it


def test_a_notification_four_minutes_old_is_still_accepted(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials,
        receiver: Receiver) -> None:
    _prepay(gw, creds, "ORD20003")
    [d] = sbx.deliver(sbx.pay_order("ORD20003"), age_seconds=240)
    assert d.result.status_code == 204 and len(receiver.pay) == 1


def test_the_same_notification_sent_ten_times_at_once_arrives_ten_times_identically(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials,
        receiver: Receiver) -> None:
    _prepay(gw, creds, "ORD20004", fen=500)
    n = sbx.pay_order("ORD20004")
    deliveries = sbx.deliver(n, times=10, concurrency=10)
    assert [d.result.status_code for d in deliveries] == [204] * 10
    assert {p.id for p in receiver.pay} == {n.id} and len(receiver.pay) == 10
    assert {p.transaction().amount_total_fen for p in receiver.pay} == {500}


def test_pending_notifications_can_be_delivered_in_reverse_or_shuffled_and_repeated(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials,
        receiver: Receiver) -> None:
    made = []
    for i in range(4):
        _prepay(gw, creds, f"ORD2010{i}", fen=100 + i)
        made.append(sbx.pay_order(f"ORD2010{i}"))
    sbx.deliver_pending(order="reverse")
    assert [p.id for p in receiver.pay] == [n.id for n in reversed(made)]
    assert sbx.pending_notifications() == []
    receiver.pay.clear()
    more = []
    for i in range(4):
        _prepay(gw, creds, f"ORD2020{i}", fen=200 + i)
        more.append(sbx.pay_order(f"ORD2020{i}"))
    sbx.deliver_pending(order="shuffle", seed=7, times=2)
    arrived = [p.id for p in receiver.pay]
    assert sorted(arrived) == sorted([n.id for n in more] * 2)
    assert arrived != [n.id for n in more for _ in range(2)]  # not in creation order


def test_a_validly_signed_notification_can_claim_another_amount(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials,
        receiver: Receiver) -> None:
    _prepay(gw, creds, "ORD20005", fen=1000)
    sbx.deliver(sbx.pay_order("ORD20005", paid_fen=1))
    [got] = receiver.pay
    assert got.transaction().amount_total_fen == 1  # the product must compare with its order


def test_refund_is_processing_until_wechat_finishes_it_then_notifies(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials,
        receiver: Receiver) -> None:
    pay = _pay(gw, creds)
    _prepay(gw, creds, "ORD30001", fen=3000)
    sbx.pay_order("ORD30001")
    r = pay.refund(out_refund_no="REF30001", refund_fen=1200, total_fen=3000,
                   out_trade_no="ORD30001", reason="尺码不合适")
    assert (r.status, r.refund_fen, r.total_fen, r.out_trade_no) == \
        ("PROCESSING", 1200, 3000, "ORD30001")
    assert pay.query_refund(out_refund_no="REF30001").status == "PROCESSING"
    n = sbx.complete_refund("REF30001")
    sbx.deliver(n)
    [got] = receiver.pay
    refund = got.refund()
    assert (got.kind, got.event_type) == ("refund", "REFUND.SUCCESS")
    assert (refund.out_refund_no, refund.status, refund.refund_fen, refund.payer_refund_fen) == \
        ("REF30001", "SUCCESS", 1200, 1200)
    assert pay.query_order(out_trade_no="ORD30001").trade_state == "REFUND"


def test_refunding_more_than_was_paid_is_refused(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    pay = _pay(gw, creds)
    _prepay(gw, creds, "ORD30002", fen=1000)
    sbx.pay_order("ORD30002")
    pay.refund(out_refund_no="REF30002a", refund_fen=600, total_fen=1000, out_trade_no="ORD30002")
    with pytest.raises(PayRequestRejected) as err:
        pay.refund(out_refund_no="REF30002b", refund_fen=500, total_fen=1000,
                   out_trade_no="ORD30002")
    assert err.value.wechat_code == "INVALID_REQUEST"
    # Repeating the first request is idempotent.
    again = pay.refund(out_refund_no="REF30002a", refund_fen=600, total_fen=1000,
                       out_trade_no="ORD30002")
    assert again.refund_fen == 600 and len(sbx.refunds) == 1


def test_transfer_waits_for_the_payee_then_notifies_success(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials,
        receiver: Receiver) -> None:
    pay = _pay(gw, creds)
    openid = _openid(gw, creds, "promoter")
    bill = pay.transfer(out_bill_no="WD40001", openid=openid, amount_fen=5000, remark="佣金提现")
    assert (bill.state, bill.amount_fen) == ("WAIT_USER_CONFIRM", 5000) and bill.package_info
    rec = sbx.transfers[(creds.pay.mchid, "WD40001")]  # type: ignore[union-attr]
    assert rec.scene_id == "1005" and rec.request_body["transfer_scene_report_infos"] == [
        {"info_type": "岗位类型", "info_content": "推广员"},
        {"info_type": "报酬说明", "info_content": "推广佣金"}]
    sbx.deliver(sbx.confirm_transfer("WD40001"))
    [got] = receiver.pay
    final = got.transfer_bill()
    assert (got.kind, final.out_bill_no, final.state, final.amount_fen, final.openid) == \
        ("transfer", "WD40001", "SUCCESS", 5000, openid)
    assert pay.query_transfer(out_bill_no="WD40001").state == "SUCCESS"


def test_a_failed_transfer_returns_the_money_to_the_merchant(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials,
        receiver: Receiver) -> None:
    mchid = creds.pay.mchid  # type: ignore[union-attr]
    sbx.set_balance(mchid, 10_000)
    pay = _pay(gw, creds)
    pay.transfer(out_bill_no="WD40002", openid=_openid(gw, creds, "p2"), amount_fen=3000,
                 remark="佣金提现")
    assert sbx.merchant(mchid).balance_fen == 7000  # type: ignore[union-attr]
    sbx.deliver(sbx.fail_transfer("WD40002"))
    bill = receiver.pay[0].transfer_bill()
    assert (bill.state, bill.fail_reason) == ("FAIL", "PAYEE_ACCOUNT_ABNORMAL")
    assert sbx.merchant(mchid).balance_fen == 10_000  # type: ignore[union-attr]


def test_a_transfer_beyond_the_merchant_balance_is_refused(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    sbx.set_balance(creds.pay.mchid, 100)  # type: ignore[union-attr]
    with pytest.raises(PayRequestRejected) as err:
        _pay(gw, creds).transfer(out_bill_no="WD40003", openid=_openid(gw, creds), amount_fen=101,
                                 remark="佣金提现")
    assert err.value.wechat_code == "NOT_ENOUGH"


def test_a_transfer_the_payee_has_not_confirmed_can_be_cancelled(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials,
        receiver: Receiver) -> None:
    pay = _pay(gw, creds)
    pay.transfer(out_bill_no="WD40004", openid=_openid(gw, creds), amount_fen=800,
                 remark="佣金提现")
    assert pay.cancel_transfer(out_bill_no="WD40004").state == "CANCELING"
    sbx.deliver_pending()
    assert receiver.pay[0].transfer_bill().state == "CANCELLED"


def test_a_large_transfer_sends_the_payee_name_encrypted_for_wechat_only(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    pay = _pay(gw, creds)
    with pytest.raises(PayeeNameRequired):
        pay.transfer(out_bill_no="WD40005", openid=_openid(gw, creds), amount_fen=200_000,
                     remark="佣金提现")
    pay.transfer(out_bill_no="WD40006", openid=_openid(gw, creds), amount_fen=200_000,
                 remark="佣金提现", user_name="张三")
    rec = sbx.transfers[(creds.pay.mchid, "WD40006")]  # type: ignore[union-attr]
    assert rec.user_name == "张三" and rec.request_body["user_name"] != "张三"
