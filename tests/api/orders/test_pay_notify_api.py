"""The notify endpoint refuses anything WeChat Pay did not sign, with a code, and
changes nothing."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("headers, body", [
    ({}, b""),
    ({}, b"not json at all"),
    ({"Wechatpay-Signature": "abc", "Wechatpay-Timestamp": "1", "Wechatpay-Nonce": "n",
      "Wechatpay-Serial": "PUB_KEY_ID_0"}, b'{"id": "x", "resource": {}}'),
    ({"Wechatpay-Signature": "abc", "Wechatpay-Timestamp": "not-a-time", "Wechatpay-Nonce": "n"}, b"{}"),
    ({}, "\udcff".encode("utf-8", "surrogatepass")),
])
def test_unsigned_or_garbled_notifications_get_401_with_a_code(client, factory, headers, body):
    t = factory.tenant()
    resp = client.post(f"/api/v1/pay/notify/{t.slug}", headers=headers, data=body)
    assert resp.status_code == 401 and resp.json["code"] == "bad_signature"


def test_the_refund_notify_path_checks_signatures_the_same_way(client, factory):
    t = factory.tenant()
    resp = client.post(f"/api/v1/pay/refund-notify/{t.slug}", data=b"{}")
    assert resp.status_code == 401 and resp.json["code"] == "bad_signature"


def test_notify_only_accepts_post(client, factory):
    t = factory.tenant()
    assert client.get(f"/api/v1/pay/notify/{t.slug}").status_code == 405
