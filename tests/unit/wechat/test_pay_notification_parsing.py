"""parse_pay_notification on wire requests built by the sandbox (no HTTP)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from backend.wechat.credentials import PayCredentials
from backend.wechat.demo import demo_credentials
from backend.wechat.errors import NotificationBadSignature, NotificationMalformed, NotificationStale
from backend.wechat.pay import parse_pay_notification
from backend.wechat.sandbox import Notification, Sandbox, WireRequest

RESOURCE = {"appid": "wxapp", "mchid": "", "out_trade_no": "ORD1", "trade_state": "SUCCESS",
            "transaction_id": "4200000000000000000000000001", "payer": {"openid": "o" * 28},
            "amount": {"total": 2590, "payer_total": 2590, "currency": "CNY"},
            "success_time": "2026-11-20T13:29:35+08:00"}


@pytest.fixture(scope="module")
def pay() -> PayCredentials:
    creds = demo_credentials("wechat-tests", pay_notify_url="https://example.test/notify").pay
    assert creds is not None
    return creds


@pytest.fixture()
def sb() -> Sandbox:
    return Sandbox()


@pytest.fixture()
def note(sb: Sandbox, pay: PayCredentials) -> Notification:
    return sb.craft_notification(mchid=pay.mchid, event_type="TRANSACTION.SUCCESS",
                                 resource=dict(RESOURCE, mchid=pay.mchid), url=pay.notify_url,
                                 summary="支付成功")


def _parse(pay: PayCredentials, w: WireRequest, now: datetime | None = None):  # type: ignore[no-untyped-def]
    return parse_pay_notification(pay, headers=w.headers, body=w.body,
                                  now=now or datetime.now(timezone.utc))


def test_a_signed_notification_decrypts_to_its_transaction(
        sb: Sandbox, pay: PayCredentials, note: Notification) -> None:
    n = _parse(pay, sb.build_notification_request(note))
    assert (n.id, n.event_type, n.kind, n.summary) == (note.id, "TRANSACTION.SUCCESS",
                                                       "transaction", "支付成功")
    t = n.transaction()
    assert (t.out_trade_no, t.amount_total_fen, t.mchid, t.paid) == ("ORD1", 2590, pay.mchid, True)
    assert t.success_time == datetime(2026, 11, 20, 5, 29, 35, tzinfo=timezone.utc)


def test_header_names_in_any_case_or_wsgi_form_are_accepted(
        sb: Sandbox, pay: PayCredentials, note: Notification) -> None:
    w = sb.build_notification_request(note)
    lower = {k.lower(): v for k, v in w.headers.items()}
    wsgi = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in w.headers.items()}
    for headers in (lower, wsgi):
        assert parse_pay_notification(pay, headers=headers, body=w.body,
                                      now=datetime.now(timezone.utc)).id == note.id


def test_every_spoiled_variant_gets_its_own_error(sb: Sandbox, pay: PayCredentials,
                                                  note: Notification) -> None:
    with pytest.raises(NotificationBadSignature) as tampered:
        _parse(pay, sb.build_notification_request(note, tamper=True))
    with pytest.raises(NotificationBadSignature):
        _parse(pay, sb.build_notification_request(note, forge_signature=True))
    with pytest.raises(NotificationStale) as stale:
        _parse(pay, sb.build_notification_request(note, stale=True))
    assert (tampered.value.code, tampered.value.http_status) == ("bad_signature", 401)
    assert (stale.value.code, stale.value.http_status) == ("stale_notification", 401)


def test_a_forged_and_stale_notification_is_reported_as_forged(
        sb: Sandbox, pay: PayCredentials, note: Notification) -> None:
    with pytest.raises(NotificationBadSignature):
        _parse(pay, sb.build_notification_request(note, forge_signature=True, stale=True))


def test_the_five_minute_window_holds_both_ways(sb: Sandbox, pay: PayCredentials,
                                                note: Notification) -> None:
    w = sb.build_notification_request(note)
    sent = datetime.fromtimestamp(int(w.headers["Wechatpay-Timestamp"]), timezone.utc)
    assert _parse(pay, w, sent + timedelta(seconds=300)).id == note.id
    assert _parse(pay, w, sent - timedelta(seconds=300)).id == note.id
    for now in (sent + timedelta(seconds=301), sent - timedelta(seconds=301)):
        with pytest.raises(NotificationStale):
            _parse(pay, w, now)
    naive_utc = (sent + timedelta(seconds=10)).replace(tzinfo=None)
    assert _parse(pay, w, naive_utc).id == note.id


def test_missing_headers_or_another_serial_are_bad_signatures(
        sb: Sandbox, pay: PayCredentials, note: Notification) -> None:
    w = sb.build_notification_request(note)
    with pytest.raises(NotificationBadSignature):
        parse_pay_notification(pay, headers={}, body=w.body, now=datetime.now(timezone.utc))
    with pytest.raises(NotificationBadSignature):
        parse_pay_notification(pay, headers=dict(w.headers, **{"Wechatpay-Serial": "PUB_KEY_ID_X"}),
                               body=w.body, now=datetime.now(timezone.utc))


def test_a_signed_notification_we_cannot_decrypt_is_malformed(
        sb: Sandbox, pay: PayCredentials, note: Notification) -> None:
    wrong_key = replace(pay, apiv3_key="0" * 32)
    with pytest.raises(NotificationMalformed) as err:
        _parse(wrong_key, sb.build_notification_request(note))
    assert (err.value.code, err.value.http_status) == ("bad_notification", 400)
