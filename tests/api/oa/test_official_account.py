"""A whole journey offline: a promoter's OA QR → a follower scans → bound."""

import pytest
from sqlalchemy import func, select

from backend.extensions import db
from backend.members.models import Binding, Member
from backend.wechat.sandbox import flask_client_sender
from backend.wechat.service import credentials


@pytest.fixture()
def oa_tenant(factory, sandbox, client):
    t = factory.tenant()
    sandbox.register_tenant(credentials(tenant_id=t.id), oa_push_url=f"/oa/{t.slug}")
    return t


def compatible_mode(t):
    from backend.db import unit_of_work
    from backend.tenants.service import update_credentials

    with unit_of_work():
        update_credentials(tenant_id=t.id, credentials={"oa_message_mode": "compatible"},
                           actor="test")


def appid(t):
    return credentials(tenant_id=t.id).official_account.appid


@pytest.mark.parametrize("mode", ["plain", "aes"])
def test_scanning_a_promoters_qr_and_following_binds_the_follower(client, factory, sandbox,
                                                                  oa_tenant, mode):
    if mode == "plain":  # a tenant with an AES key accepts plaintext only in compatible mode
        compatible_mode(oa_tenant)
    promoter = factory.member(oa_tenant, nickname="推广达人")
    qr = client.get("/api/v1/mp/me/oa-qrcode", headers=factory.member_headers(promoter)).json
    assert qr["scene"] == f"i={promoter.invite_code}"
    result = sandbox.scan_oa_qrcode(qr["ticket"], "follower-1", mode=mode,
                                    send=flask_client_sender(client))
    assert result.result.status_code == 200
    assert "推广达人" in result.reply_text
    follower = db.session.scalar(select(Member).where(Member.parent_id == promoter.id))
    assert follower is not None and follower.oa_openid
    binding = db.session.scalar(select(Binding).where(Binding.member_id == follower.id))
    assert (binding.source, binding.scene) == ("oa_qrcode", f"i={promoter.invite_code}")


def test_the_same_person_in_the_mini_program_is_the_same_member(client, factory, sandbox,
                                                               oa_tenant):
    promoter = factory.member(oa_tenant)
    qr = client.get("/api/v1/mp/me/oa-qrcode", headers=factory.member_headers(promoter)).json
    sandbox.scan_oa_qrcode(qr["ticket"], "u-same", send=flask_client_sender(client))
    body = client.post("/api/v1/mp/login", json={"tenant": oa_tenant.slug, "code": "u-same"}).json
    assert body["member"]["parent_id"] == promoter.id  # joined by unionid


def test_text_messages_get_the_invite_code_or_help(client, factory, sandbox, oa_tenant):
    sandbox.oa_event(appid(oa_tenant), "fan-7", "subscribe", send=flask_client_sender(client))
    reply = sandbox.oa_text(appid(oa_tenant), "fan-7", "我的邀请码", send=flask_client_sender(client))
    member = db.session.scalar(select(Member).where(Member.oa_openid.is_not(None)))
    assert member.invite_code in reply.reply_text
    help_reply = sandbox.oa_text(appid(oa_tenant), "fan-7", "你好", send=flask_client_sender(client))
    assert "邀请码" in help_reply.reply_text


def test_unknown_events_are_acknowledged_and_ignored(client, sandbox, oa_tenant):
    result = sandbox.oa_event(appid(oa_tenant), "fan-8", "CLICK", event_key="MENU_1",
                              send=flask_client_sender(client))
    assert result.result.status_code == 200 and result.reply is None


def test_the_url_check_echoes_and_a_bad_signature_is_403_and_changes_nothing(client, sandbox,
                                                                              oa_tenant):
    assert sandbox.verify_oa_endpoint(appid(oa_tenant), send=flask_client_sender(client))
    body = ("<xml><ToUserName>gh_x</ToUserName><FromUserName>evil</FromUserName>"
            "<CreateTime>1</CreateTime><MsgType>event</MsgType><Event>subscribe</Event>"
            "<EventKey>qrscene_i=ABCDEF</EventKey></xml>")
    resp = client.post(f"/oa/{oa_tenant.slug}?signature=deadbeef&timestamp=1&nonce=2", data=body)
    assert resp.status_code == 403 and resp.json["code"] == "bad_signature"
    assert client.get(f"/oa/{oa_tenant.slug}?signature=x&timestamp=1&nonce=2&echostr=9").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Member)) == 0


def test_an_unknown_tenant_slug_is_404(client):
    assert client.post("/oa/nobody", data="<xml/>").status_code == 404
