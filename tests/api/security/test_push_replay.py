"""Item 1 of the outside review: official-account and WeCom pushes cannot be replayed
or forged with a leaked signature/timestamp/nonce triple."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from sqlalchemy import func, select

from backend.extensions import db
from backend.members.models import Member
from backend.wechat.sandbox import WireRequest
from backend.wechat.service import credentials


@pytest.fixture()
def oa_tenant(factory, sandbox):
    t = factory.tenant()
    sandbox.register_tenant(credentials(tenant_id=t.id), oa_push_url=f"/oa/{t.slug}")
    return t


def _send(client, w: WireRequest, query: dict | None = None, body: bytes | None = None):
    parts = urlsplit(w.url)
    q = dict(parse_qsl(parts.query)) if query is None else query
    return client.post(f"{parts.path}?{urlencode(q)}", data=w.body if body is None else body,
                       headers={"Content-Type": "text/xml"})


def _follow(sandbox, t, user):
    oa = credentials(tenant_id=t.id).official_account
    return sandbox.build_oa_push(oa.appid, {
        "ToUserName": oa.original_id, "FromUserName": sandbox.openid_for(oa.appid, user),
        "CreateTime": int(time.time()), "MsgType": "event", "Event": "subscribe"})


def _members():
    return db.session.scalar(select(func.count()).select_from(Member))


def test_a_replayed_push_is_refused_and_binds_nobody(client, sandbox, oa_tenant):
    w = _follow(sandbox, oa_tenant, "fan-replay")
    assert _send(client, w).status_code == 200
    assert _members() == 1
    again = _send(client, w)
    assert (again.status_code, again.json["code"]) == (403, "push_replayed")
    assert _members() == 1


def test_a_push_with_an_old_or_future_timestamp_is_refused(client, sandbox, oa_tenant, monkeypatch):
    for offset in (-301, 301):  # correctly signed, fresh nonce, timestamp out of the window
        monkeypatch.setattr(sandbox, "clock", lambda offset=offset: time.time() + offset)
        res = _send(client, _follow(sandbox, oa_tenant, f"fan{offset}"))
        assert (res.status_code, res.json["code"]) == (403, "push_stale")
    assert _members() == 0
    monkeypatch.setattr(sandbox, "clock", lambda: time.time() - 290)  # inside: accepted
    assert _send(client, _follow(sandbox, oa_tenant, "fan-ok")).status_code == 200
    assert _members() == 1


def test_a_plaintext_push_is_refused_for_a_tenant_with_an_aes_key(client, sandbox, oa_tenant):
    oa = credentials(tenant_id=oa_tenant.id).official_account
    assert oa.encoding_aes_key
    w = sandbox.build_oa_push(oa.appid, {
        "ToUserName": oa.original_id, "FromUserName": "forged-openid",
        "CreateTime": int(time.time()), "MsgType": "event", "Event": "subscribe"}, mode="plain")
    res = _send(client, w)
    assert (res.status_code, res.json["code"]) == (403, "push_plaintext_refused")
    assert _members() == 0


def test_a_leaked_signed_query_cannot_carry_another_encrypted_body(client, sandbox, oa_tenant):
    leaked = _follow(sandbox, oa_tenant, "fan-a")
    other = _follow(sandbox, oa_tenant, "fan-b")
    res = _send(client, leaked, body=other.body)  # msg_signature covers the ciphertext
    assert res.status_code == 403
    assert _members() == 0


def test_nested_xml_in_a_push_is_a_client_error_not_a_500(client, sandbox, factory):
    t = factory.tenant()
    from backend.db import unit_of_work
    from backend.tenants.service import update_credentials

    with unit_of_work():
        update_credentials(tenant_id=t.id, credentials={"oa_aes_key": ""}, actor="test")
    oa = credentials(tenant_id=t.id).official_account
    sandbox.register_tenant(credentials(tenant_id=t.id), oa_push_url=f"/oa/{t.slug}")
    for nested in (
            b"<xml><ToUserName>gh_x</ToUserName><FromUserName><a>1</a><b>2</b></FromUserName>"
            b"<CreateTime>1</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>",
            b"<xml><ToUserName>gh_x</ToUserName><FromUserName>u1</FromUserName>"
            b"<CreateTime>1</CreateTime><MsgType>event</MsgType><Event>subscribe</Event>"
            b"<EventKey><k>qrscene_x</k></EventKey></xml>",
            b"<xml><ToUserName>gh_x</ToUserName><FromUserName>u2</FromUserName>"
            b"<CreateTime>1</CreateTime><MsgType>text</MsgType><Content><p>hi</p></Content></xml>"):
        w = sandbox.build_oa_push(oa.appid, {"ToUserName": "x"}, mode="plain")  # a fresh nonce
        res = _send(client, w, body=nested)
        assert res.status_code == 400, res.get_data(as_text=True)
    assert _members() == 0
    deep = b"<xml>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</xml>"
    w2 = sandbox.build_oa_push(oa.appid, {"ToUserName": "x"}, mode="plain")
    assert _send(client, w2, body=deep).status_code == 400


def test_a_replayed_or_stale_wecom_callback_is_refused(client, factory, sandbox, monkeypatch):
    from tests.service.scrm.test_wecom import wecom_tenant

    t = wecom_tenant(factory, sandbox)
    corp = credentials(tenant_id=t.id).wecom
    fields = {"ToUserName": corp.corp_id, "FromUserName": "sys", "CreateTime": int(time.time()),
              "MsgType": "event", "Event": "change_external_contact",
              "ChangeType": "del_external_contact", "UserID": "nobody", "ExternalUserID": "wm1"}
    w = sandbox.build_wecom_callback(corp.corp_id, fields, url=f"/wecom/{t.slug}")
    assert _send(client, w).status_code == 200
    again = _send(client, w)
    assert (again.status_code, again.json["code"]) == (403, "push_replayed")
    monkeypatch.setattr(sandbox, "clock", lambda: time.time() - 600)
    stale = sandbox.build_wecom_callback(corp.corp_id, fields, url=f"/wecom/{t.slug}")
    res = _send(client, stale)
    assert (res.status_code, res.json["code"]) == (403, "push_stale")


def test_the_url_checks_refuse_a_stale_timestamp(client, sandbox, oa_tenant, monkeypatch):
    from backend.wechat.sandbox import flask_client_sender

    oa = credentials(tenant_id=oa_tenant.id).official_account
    send = flask_client_sender(client)
    assert sandbox.verify_oa_endpoint(oa.appid, url=f"/oa/{oa_tenant.slug}", send=send)
    monkeypatch.setattr(sandbox, "clock", lambda: time.time() - 3600)
    assert not sandbox.verify_oa_endpoint(oa.appid, url=f"/oa/{oa_tenant.slug}", send=send)
